package dev.rnnengine.io;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.Precision;
import dev.rnnengine.core.QuantizedMatrix;
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
 * <p>A quantized file ({@code rnn quantize}) says {@code precision=int8} or {@code fp16} in its
 * metadata and holds every weight matrix as {@code I8} codes with an F32 {@code <name>.scale}
 * of one scale per row, or as {@code F16}; biases stay float.
 *
 * @param spec      the hyper-parameters
 * @param stateDict the tensors by PyTorch name (views of the file: copy before closing it); a
 *                  quantized matrix as the fp32 values its codes stand for
 * @param precision the weight matrices' precision in the file ({@link Precision#FP32} unless quantized)
 * @param quantized the quantized matrices by PyTorch name (empty in fp32)
 */
public record ModelFile(RnnSpec spec, Map<String, Tensor> stateDict, Precision precision,
                        Map<String, QuantizedMatrix> quantized) {

    /** The metadata key of a quantized file's precision. */
    public static final String PRECISION_KEY = "precision";

    /** An fp32 model. */
    public ModelFile(RnnSpec spec, Map<String, Tensor> stateDict) {
        this(spec, stateDict, Precision.FP32, Map.of());
    }

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
            String pm = meta.get(PRECISION_KEY);
            Precision precision = pm == null ? Precision.FP32 : Precision.parse(pm);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, QuantizedMatrix> quantized = new LinkedHashMap<>();
            for (String name : f.names()) {
                if (!name.startsWith(p) || isScaleOfMatrix(f, name.substring(p.length()), p, precision)) {
                    continue;
                }
                String key = name.substring(p.length());
                DType dtype = f.info(name).dtype();
                if (!isMatrix(key)) {
                    tensors.put(key, f.floats(name));
                } else if (precision == Precision.FP32) {
                    if (dtype == DType.I8) {
                        throw new MalformedFileException(f.path(), name + " holds I8 codes but the metadata says no '"
                            + p + PRECISION_KEY + "=int8' (rnn quantize writes both, and a scale per row)");
                    }
                    tensors.put(key, f.floats(name));
                } else {
                    QuantizedMatrix q = codes(f, name, precision);
                    quantized.put(key, q);
                    tensors.put(key, Tensor.of(q.values(), q.rows(), q.cols()));
                }
            }
            return new ModelFile(spec, tensors, precision, Map.copyOf(quantized));
        } catch (IllegalArgumentException e) {
            throw new MalformedFileException(f.path(), e.getMessage());
        }
    }

    /**
     * Writes this model as a model file in {@code precision}: the weight matrices as codes
     * ({@code I8} with an F32 {@code <name>.scale} per row, or {@code F16}; F32 for fp32), the
     * other tensors as F32, and the whole spec plus {@code precision} as metadata, so the file
     * loads without overrides and without quantizing again ({@code rnn quantize}).
     *
     * @return the largest |weight - the value it is held as| over every matrix (0 in fp32)
     * @throws IllegalArgumentException if this model is quantized already (quantize its fp32
     *         file instead: codes quantized twice drift), or a weight cannot be held in {@code precision}
     * @throws IOException if the file cannot be written
     */
    public double write(java.nio.file.Path path, Precision precision) throws java.io.IOException {
        if (this.precision != Precision.FP32) {
            throw new IllegalArgumentException("the model is held in " + this.precision.label()
                + " already; quantize its fp32 file instead");
        }
        SafetensorsWriter w = new SafetensorsWriter();
        double worst = 0;
        for (Map.Entry<String, Tensor> e : stateDict.entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (precision == Precision.FP32 || !isMatrix(name) || t.dim() != 2) {
                w.put(name, t);
                continue;
            }
            float[] v = t.toArray();
            QuantizedMatrix q = QuantizedMatrix.of(precision, v, t.size(0), t.size(1), name);
            for (int i = 0; i < v.length; i++) {
                worst = Math.max(worst, Math.abs(v[i] - q.value(i)));
            }
            if (precision == Precision.INT8) {
                w.putInt8s(name, q.int8(), q.rows(), q.cols()).put(name + ".scale", Tensor.of(q.scale(), q.rows()));
            } else {
                w.putFloat16Bits(name, q.fp16(), q.rows(), q.cols());
            }
        }
        w.metadata("mode", spec.mode().name()).metadata("nonlinearity", spec.nonlinearity())
            .metadata("input_size", Integer.toString(spec.inputSize()))
            .metadata("hidden_size", Integer.toString(spec.hiddenSize()))
            .metadata("num_layers", Integer.toString(spec.numLayers()))
            .metadata("bias", Boolean.toString(spec.bias()))
            .metadata("batch_first", Boolean.toString(spec.batchFirst()))
            .metadata("bidirectional", Boolean.toString(spec.bidirectional()))
            .metadata("proj_size", Integer.toString(spec.projSize()));
        if (precision != Precision.FP32) {
            w.metadata(PRECISION_KEY, precision.label());
        }
        w.write(path);
        return worst;
    }

    /** weight_ih/hh/hr of some layer and direction: the matrices a precision applies to. */
    private static boolean isMatrix(String key) {
        return (key.startsWith("weight_ih_l") || key.startsWith("weight_hh_l") || key.startsWith("weight_hr_l"))
            && key.indexOf('.') < 0;
    }

    /** An int8 matrix's scales are read with the matrix ({@link #codes}); any other stray tensor stays. */
    private static boolean isScaleOfMatrix(SafetensorsFile f, String key, String p, Precision precision) {
        if (precision != Precision.INT8 || !key.endsWith(".scale")) {
            return false;
        }
        String matrix = key.substring(0, key.length() - ".scale".length());
        return isMatrix(matrix) && f.contains(p + matrix);
    }

    private static QuantizedMatrix codes(SafetensorsFile f, String name, Precision precision)
            throws MalformedFileException {
        int[] shape = matrix(f, name);
        DType want = precision == Precision.INT8 ? DType.I8 : DType.F16;
        if (f.info(name).dtype() != want) {
            throw new MalformedFileException(f.path(), name + " has dtype " + f.info(name).dtype() + " but an "
                + precision.label() + " file (metadata precision=" + precision.label() + ") holds its weight matrices as " + want);
        }
        if (precision == Precision.FP16) {
            return QuantizedMatrix.ofCodes(precision, shape[0], shape[1], null, f.float16Bits(name), null, name);
        }
        String scaleName = name + ".scale";
        if (!f.contains(scaleName)) {
            throw new MalformedFileException(f.path(), name + " has no '" + scaleName + "' (F32, one scale per row)");
        }
        DType st = f.info(scaleName).dtype();
        int[] ss = f.info(scaleName).shape();
        if (st != DType.F32 || ss.length != 1 || ss[0] != shape[0]) {
            throw new MalformedFileException(f.path(), scaleName + " is " + st + " " + Arrays.toString(ss)
                + "; it must be F32 [" + shape[0] + "], one scale per row of " + name);
        }
        return QuantizedMatrix.ofCodes(precision, shape[0], shape[1], f.int8s(name), null,
            f.floats(scaleName).toArray(), name);
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
