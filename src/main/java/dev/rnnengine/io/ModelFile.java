package dev.rnnengine.io;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The model file contract (DESIGN.md section 3): the {@code state_dict} of one
 * {@code nn.RNN/LSTM/GRU} under PyTorch's names, with hyper-parameters as metadata.
 *
 * <p>Metadata that is missing is inferred from the tensor names and shapes where they
 * determine it (sizes, layers, bias, bidirectional, proj_size, LSTM vs GRU vs RNN); what they
 * do not determine ({@code batch_first}, and tanh vs relu for an RNN) must be given.
 * Metadata that contradicts the tensors is an error.
 *
 * @param spec      the hyper-parameters
 * @param stateDict the tensors by PyTorch name (views of the file: copy before closing it)
 */
public record ModelFile(RnnSpec spec, Map<String, Tensor> stateDict) {

    /**
     * Reads the spec and tensors of an open file. {@code overrides} takes the place of
     * metadata keys (for files that lack them, e.g. {@code batch_first}).
     *
     * @throws MalformedFileException if the file is not a usable RNN model (the message says why)
     */
    public static ModelFile read(SafetensorsFile f, Map<String, String> overrides) throws MalformedFileException {
        return read(f, overrides, "");
    }

    /**
     * Like {@link #read(SafetensorsFile, Map)} for a model stored inside a larger file: its
     * tensors and metadata keys all start with {@code prefix} (e.g. {@code "rnn."}), which the
     * returned state_dict's names no longer carry.
     *
     * @throws MalformedFileException if the prefixed part is not a usable RNN model (the message says why)
     */
    public static ModelFile read(SafetensorsFile f, Map<String, String> overrides, String p) throws MalformedFileException {
        Map<String, String> meta = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : f.metadata().entrySet()) {
            if (e.getKey().startsWith(p)) {
                meta.put(e.getKey().substring(p.length()), e.getValue());
            }
        }
        meta.putAll(overrides);
        String wih0 = p + CellMode.parameterName("weight_ih", 0, 0);
        String whh0 = p + CellMode.parameterName("weight_hh", 0, 0);
        if (!f.contains(wih0) || !f.contains(whh0)) {
            throw new MalformedFileException(f.path(), "no '" + wih0 + "'/'" + whh0 + "' tensors: "
                + "not the state_dict of an nn.RNN, nn.LSTM or nn.GRU");
        }
        int[] wih = matrix(f, wih0);
        int[] whh = matrix(f, whh0);
        int projSize = 0;
        int hidden = whh[1];
        if (f.contains(p + CellMode.parameterName("weight_hr", 0, 0))) {
            int[] whr = matrix(f, p + CellMode.parameterName("weight_hr", 0, 0));
            projSize = whr[0];
            hidden = whr[1];
        }
        if (hidden <= 0 || wih[0] % hidden != 0) {
            throw new MalformedFileException(f.path(), "weight_ih_l0 " + Arrays.toString(wih)
                + " has no whole number of gate blocks of hidden size " + hidden);
        }
        int gates = wih[0] / hidden;
        int layers = 0;
        while (f.contains(p + CellMode.parameterName("weight_ih", layers, 0))) {
            layers++;
        }
        try {
            CellMode mode = inferMode(f, meta, gates);
            int inputSize = check(f, meta, "input_size", wih[1]);
            hidden = check(f, meta, "hidden_size", hidden);
            layers = check(f, meta, "num_layers", layers);
            projSize = check(f, meta, "proj_size", projSize);
            boolean bias = checkFlag(f, meta, "bias", f.contains(p + CellMode.parameterName("bias_ih", 0, 0)));
            boolean bidirectional = checkFlag(f, meta, "bidirectional", f.contains(p + CellMode.parameterName("weight_ih", 0, 1)));
            String bf = meta.get("batch_first");
            if (bf == null) {
                throw new MalformedFileException(f.path(), "metadata '" + p + "batch_first' is missing and the tensors "
                    + "cannot tell it; add it to __metadata__ (\"true\" or \"false\")"
                    + (p.isEmpty() ? " or pass --batch-first" : ""));
            }
            boolean batchFirst = parseFlag(f, "batch_first", bf);
            RnnSpec spec = new RnnSpec(mode, inputSize, hidden, layers, bias, batchFirst, bidirectional, projSize);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : f.names()) {
                if (name.startsWith(p)) {
                    tensors.put(name.substring(p.length()), f.floats(name));
                }
            }
            return new ModelFile(spec, tensors);
        } catch (IllegalArgumentException e) {
            throw new MalformedFileException(f.path(), e.getMessage());
        }
    }

    private static int[] matrix(SafetensorsFile f, String name) throws MalformedFileException {
        int[] s = f.info(name).shape();
        if (s.length != 2) {
            throw new MalformedFileException(f.path(), name + " must be 2-D, got shape " + Arrays.toString(s));
        }
        return s;
    }

    private static CellMode inferMode(SafetensorsFile f, Map<String, String> meta, int gates)
            throws MalformedFileException {
        String nl = meta.get("nonlinearity");
        if (nl != null && !nl.equals("tanh") && !nl.equals("relu")) {
            throw new MalformedFileException(f.path(), "Unknown nonlinearity '" + nl + "'. Select from 'tanh' or 'relu'.");
        }
        String m = meta.get("mode");
        CellMode mode;
        if (m != null) {
            mode = CellMode.parse(m);
            if (mode.gates() != gates) {
                throw new MalformedFileException(f.path(), "metadata mode=" + m + " needs " + mode.gates()
                    + " gate blocks but weight_ih_l0 has " + gates);
            }
        } else if (gates == 4) {
            mode = CellMode.LSTM;
        } else if (gates == 3) {
            mode = CellMode.GRU;
        } else if (gates == 1) {
            if (nl == null) {
                throw new MalformedFileException(f.path(), "metadata 'mode' and 'nonlinearity' are missing and the "
                    + "tensors cannot tell tanh from relu; add mode=RNN_TANH or RNN_RELU to __metadata__");
            }
            mode = nl.equals("relu") ? CellMode.RNN_RELU : CellMode.RNN_TANH;
        } else {
            throw new MalformedFileException(f.path(), "weight_ih_l0 has " + gates
                + " gate blocks; RNN has 1, LSTM 4, GRU 3");
        }
        if (nl != null && !nl.equals(mode.nonlinearity())) {
            throw new MalformedFileException(f.path(), "metadata nonlinearity=" + nl + " contradicts mode=" + mode);
        }
        return mode;
    }

    private static int check(SafetensorsFile f, Map<String, String> meta, String key, int inferred)
            throws MalformedFileException {
        String v = meta.get(key);
        if (v == null) {
            return inferred;
        }
        int given;
        try {
            given = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new MalformedFileException(f.path(), "metadata " + key + "='" + v + "' is not an integer");
        }
        if (given != inferred) {
            throw new MalformedFileException(f.path(), "metadata " + key + "=" + given
                + " contradicts the tensors, which say " + inferred);
        }
        return given;
    }

    private static boolean checkFlag(SafetensorsFile f, Map<String, String> meta, String key, boolean inferred)
            throws MalformedFileException {
        String v = meta.get(key);
        if (v == null) {
            return inferred;
        }
        boolean given = parseFlag(f, key, v);
        if (given != inferred) {
            throw new MalformedFileException(f.path(), "metadata " + key + "=" + given
                + " contradicts the tensors, which say " + inferred);
        }
        return given;
    }

    private static boolean parseFlag(SafetensorsFile f, String key, String v) throws MalformedFileException {
        switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true", "1":
                return true;
            case "false", "0":
                return false;
            default:
                throw new MalformedFileException(f.path(), "metadata " + key + "='" + v + "' is not true or false");
        }
    }
}
