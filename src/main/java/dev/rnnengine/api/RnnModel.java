package dev.rnnengine.api;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.Precision;
import dev.rnnengine.core.QuantizedMatrix;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.engine.Backends;
import dev.rnnengine.engine.Call;
import dev.rnnengine.engine.CallGuard;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.PreparedModel;
import dev.rnnengine.internal.Sizes;
import dev.rnnengine.internal.SlotPool;
import dev.rnnengine.io.MalformedFileException;
import dev.rnnengine.io.ModelFile;
import dev.rnnengine.io.OnnxGraph;
import dev.rnnengine.io.OnnxImport;
import dev.rnnengine.io.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * A loaded {@code nn.RNN}, {@code nn.LSTM} or {@code nn.GRU}, running on one backend with
 * PyTorch's semantics.
 *
 * <p>Immutable after load and safe to share between threads: concurrent {@link #forward}
 * calls are independent. {@link #close()} refuses new calls at once, waits for running ones,
 * then frees the backend's resources; any call after it throws {@link IllegalStateException}.
 *
 * <pre>{@code
 * try (RnnModel lstm = RnnModel.load(Path.of("lstm.safetensors"))) {
 *     RnnOutput out = lstm.forward(Tensor.of(x, batch, steps, features));
 * }
 * }</pre>
 */
public final class RnnModel implements AutoCloseable {
    private final RnnSpec spec;
    private final PreparedModel prepared;
    private final Precision precision;
    private final long weightBytes;
    private final CallGuard guard = new CallGuard("model");
    private final SlotPool<Staging> stagingPool = new SlotPool<>(32);
    private final OnnxGraph onnx;

    private RnnModel(RnnSpec spec, PreparedModel prepared, Precision precision, long weightBytes, OnnxGraph onnx) {
        this.spec = spec;
        this.prepared = prepared;
        this.precision = precision;
        this.weightBytes = weightBytes;
        this.onnx = onnx;
    }

    /**
     * A call in the engine's canonical layout plus the front-end's own buffers for layout
     * conversions (batch-first transposes, copies of tensors that are not whole arrays); pooled.
     */
    static final class Staging {
        final Call call = new Call();
        final Buffer xCopy = new Buffer();
        final Buffer h0Copy = new Buffer();
        final Buffer c0Copy = new Buffer();
        final Buffer xTransposed = new Buffer();
        final Buffer yTransposed = new Buffer();
    }

    /** A reusable array that grows to the largest call seen. */
    static final class Buffer {
        private float[] a = new float[0];

        float[] atLeast(int size) {
            return a.length < size ? (a = new float[size]) : a;
        }

        /** The tensor's elements from index 0: its own array when it is one whole array, else a copy here. */
        float[] elementsOf(Tensor t) {
            if (t.isArrayBacked() && t.arrayOffset() == 0) {
                return t.array();
            }
            float[] copy = atLeast(t.numel());
            t.copyTo(copy, 0);
            return copy;
        }
    }

    /**
     * Loads a model file with the default {@link EngineOptions}.
     *
     * @throws IOException if the file cannot be read or breaks the model file contract
     * @throws UnsupportedOperationException if the chosen backend cannot run here
     */
    public static RnnModel load(Path path) throws IOException {
        return load(path, EngineOptions.defaults(), Map.of());
    }

    /**
     * Loads a model file; {@code metadataOverrides} take the place of the file's metadata
     * keys (e.g. {@code batch_first} for a file that lacks it).
     *
     * A quantized file ({@code rnn quantize}) runs in its own precision from its own codes (see
     * {@link #create(ModelFile, EngineOptions)}).
     *
     * @throws IOException if the file cannot be read or breaks the model file contract
     * @throws UnsupportedOperationException if the chosen backend cannot run here (or not in this precision)
     * @throws IllegalArgumentException if the options name an unknown backend, or a reduced
     *         precision other than the quantized file's
     */
    public static RnnModel load(Path path, EngineOptions options, Map<String, String> metadataOverrides)
            throws IOException {
        Objects.requireNonNull(options, "options");
        if (OnnxImport.isOnnxFile(path)) {
            if (!metadataOverrides.isEmpty()) {
                throw new IllegalArgumentException("metadata overrides " + metadataOverrides.keySet() + " do not apply to an "
                    + "ONNX file, whose graph says its layout");
            }
            OnnxGraph g = OnnxImport.read(path);
            List<LayerWeights> weights;
            try {
                weights = layerWeights(g.spec(), g.stateDict());
            } catch (IllegalArgumentException e) {
                throw new MalformedFileException(path, e.getMessage());
            }
            return prepare(g.spec(), weights, options, Map.of(), g);
        }
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            ModelFile m = ModelFile.read(f, metadataOverrides);
            List<LayerWeights> weights;
            try {
                weights = layerWeights(m.spec(), m.stateDict());
            } catch (IllegalArgumentException e) { // the file's tensors do not fit its spec
                throw new MalformedFileException(path, e.getMessage());
            }
            return prepare(m.spec(), weights, inFilePrecision(m, options), m.quantized(), null);
        }
    }

    /**
     * Builds a model from a model file already read (its tensors are copied, so the file may be
     * closed afterwards). A quantized file ({@code rnn quantize}) runs in its own precision from
     * its own codes: options asking for {@link Precision#FP32} (the default) get the file's
     * precision, and options asking for another reduced precision are refused.
     *
     * @throws IllegalArgumentException if a tensor is missing, unexpected or of the wrong shape,
     *         the backend name is unknown, or the options ask for a precision the file is not in
     * @throws UnsupportedOperationException if the chosen backend cannot run here (or not in this precision)
     */
    public static RnnModel create(ModelFile file, EngineOptions options) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(options, "options");
        return prepare(file.spec(), layerWeights(file.spec(), file.stateDict()), inFilePrecision(file, options),
            file.quantized(), null);
    }

    private static EngineOptions inFilePrecision(ModelFile m, EngineOptions options) {
        if (m.precision() == Precision.FP32 || options.precision() == m.precision()) {
            return options;
        }
        if (options.precision() != Precision.FP32) {
            throw new IllegalArgumentException("the file holds " + m.precision().label() + " weights (rnn quantize); it runs in "
                + m.precision().label() + " only, not " + options.precision().label()
                + ": quantize the fp32 model to " + options.precision().label() + " instead");
        }
        return options.withPrecision(m.precision());
    }

    /**
     * Builds a model from a spec and a PyTorch {@code state_dict}, with the default options.
     *
     * @throws IllegalArgumentException if a tensor is missing, unexpected or of the wrong shape
     * @throws UnsupportedOperationException if the chosen backend cannot run here
     */
    public static RnnModel create(RnnSpec spec, Map<String, Tensor> stateDict) {
        return create(spec, stateDict, EngineOptions.defaults());
    }

    /**
     * Builds a model from a spec and a PyTorch {@code state_dict}; the tensors are copied and
     * repacked once, so the caller may release them afterwards.
     *
     * @throws IllegalArgumentException if a tensor is missing, unexpected or of the wrong shape
     *         (PyTorch's {@code load_state_dict} messages), or the backend name is unknown
     * @throws UnsupportedOperationException if the chosen backend cannot run here
     */
    public static RnnModel create(RnnSpec spec, Map<String, Tensor> stateDict, EngineOptions options) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(stateDict, "stateDict");
        Objects.requireNonNull(options, "options");
        return prepare(spec, layerWeights(spec, stateDict), options, Map.of(), null);
    }

    /**
     * Measures which backend {@code auto} should run each class of call on (batch size, one
     * step or whole sequences) for this spec at this thread count on this machine, and caches
     * the answer in the user's cache directory, where every later {@code auto} model of the
     * spec finds it ({@code rnn tune} does this from the command line). Without it, the first
     * {@code auto} model of a spec measures once, at creation.
     *
     * @return the table of choices and timings
     * @throws IllegalArgumentException if a tensor is missing, unexpected or of the wrong shape
     * @throws UnsupportedOperationException if no backend can run the spec
     */
    public static String tune(RnnSpec spec, Map<String, Tensor> stateDict, int threads) {
        Objects.requireNonNull(spec, "spec");
        return Backends.tune(spec, layerWeights(spec, stateDict), threads);
    }

    /**
     * The backend that runs a call of {@code seqLen} steps over {@code batch} sequences: the
     * model's backend, or for {@code auto} the one chosen for that class of call.
     *
     * @throws IllegalStateException if the model is closed
     */
    public String backendFor(int seqLen, int batch) {
        guard.checkOpen();
        return prepared.backendFor(seqLen, batch);
    }

    private static RnnModel prepare(RnnSpec spec, List<LayerWeights> fp32, EngineOptions options,
                                    Map<String, QuantizedMatrix> quantized, OnnxGraph onnx) {
        List<LayerWeights> weights = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i < fp32.size(); i++) { // quantized once, here, for every backend
            int l = i / spec.directions();
            LayerWeights w = fp32.get(i).in(options.precision(), spec.gates() * spec.hiddenSize(),
                spec.layerInputSize(l), spec.hiddenSize(), spec.outputHiddenSize(),
                CellMode.parameterName("", l, i % spec.directions()), quantized);
            weights.add(w);
            bytes += w.bytes();
        }
        return new RnnModel(spec, Backends.prepare(options.backend(), spec, weights, options.threads()),
            options.precision(), bytes, onnx);
    }

    /**
     * The ONNX graph this model was loaded from, or null for a safetensors model.
     *
     * @throws IllegalStateException if the model is closed
     */
    public OnnxGraph onnxGraph() {
        guard.checkOpen();
        return onnx;
    }

    /**
     * Runs an ONNX-loaded model as its graph does: {@code inputs} by the graph's input names
     * (the sequences, and the initial states if the graph has them), {@code sequenceLens} for
     * a graph with a {@code sequence_lens} input (else null), and the outputs by the graph's
     * output names with ONNX's shapes (a node's {@code Y} as {@code (T, dirs, N, H)}).
     *
     * @throws IllegalStateException if the model is closed or was not loaded from ONNX
     * @throws IllegalArgumentException if an input is missing, unknown or misshapen (PyTorch's
     *         messages for shapes), or sequence_lens is missing or given where the graph has none
     */
    public Map<String, Tensor> runGraph(Map<String, Tensor> inputs, int[] sequenceLens) {
        guard.checkOpen();
        if (onnx == null) {
            throw new IllegalStateException("the model was not loaded from an ONNX file: call forward");
        }
        Objects.requireNonNull(inputs, "inputs");
        java.util.Set<String> known = new java.util.HashSet<>();
        known.add(onnx.input());
        if (onnx.h0() != null) {
            known.add(onnx.h0());
        }
        if (onnx.c0() != null) {
            known.add(onnx.c0());
        }
        for (String k : inputs.keySet()) {
            if (!known.contains(k)) {
                throw new IllegalArgumentException("the graph has no float input '" + k + "'; its inputs: " + known
                    + (onnx.lengths() == null ? "" : " and sequence_lens '" + onnx.lengths() + "'"));
            }
        }
        for (String k : known) {
            if (inputs.get(k) == null) {
                throw new IllegalArgumentException("graph input '" + k + "' is missing");
            }
        }
        if ((onnx.lengths() == null) != (sequenceLens == null)) {
            throw new IllegalArgumentException(onnx.lengths() == null ? "the graph has no sequence_lens input"
                : "graph input '" + onnx.lengths() + "' (sequence_lens) is missing");
        }
        Tensor x = inputs.get(onnx.input());
        if (x.dim() != 3) {
            throw new IllegalArgumentException("graph input '" + onnx.input() + "' must be 3-D " + (spec.batchFirst()
                ? "(N, T, D)" : "(T, N, D)") + ", got " + x.shapeString());
        }
        boolean batchMajor = onnx.layout() == 1; // states (N, dirs, H) in the graph, (dirs, N, H) here
        Tensor h0 = onnx.h0() == null ? null : inputs.get(onnx.h0());
        Tensor c0 = onnx.c0() == null ? null : inputs.get(onnx.c0());
        RnnOutput r = forward(x, batchMajor ? swap01(h0, onnx.h0()) : h0, batchMajor ? swap01(c0, onnx.c0()) : c0,
            sequenceLens);
        Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        for (OnnxGraph.Output o : onnx.outputs()) {
            out.put(o.name(), switch (o.kind()) {
                case OUTPUT -> r.output();
                case H_N -> batchMajor ? swap01(r.hN(), o.name()) : r.hN();
                case C_N -> batchMajor ? swap01(r.cN(), o.name()) : r.cN();
                case Y -> nodeY(r.output(), batchMajor);
            });
        }
        return out;
    }

    /** A 3-D tensor with its first two axes swapped (null stays null). */
    private static Tensor swap01(Tensor t, String name) {
        if (t == null) {
            return null;
        }
        if (t.dim() != 3) {
            throw new IllegalArgumentException("graph input '" + name + "' must be 3-D, got " + t.shapeString());
        }
        int a = t.size(0);
        int b = t.size(1);
        int c = t.size(2);
        float[] out = new float[a * b * c];
        for (int i = 0; i < a; i++) {
            for (int j = 0; j < b; j++) {
                for (int k = 0; k < c; k++) {
                    out[(j * a + i) * c + k] = t.get((i * b + j) * c + k);
                }
            }
        }
        return Tensor.of(out, b, a, c);
    }

    /** The engine's output as an ONNX node's Y: (T, dirs, N, H), or (N, T, dirs, H) in layout 1. */
    private Tensor nodeY(Tensor y, boolean batchMajor) {
        boolean bf = spec.batchFirst();
        int t = y.size(bf ? 1 : 0);
        int n = y.size(bf ? 0 : 1);
        int dirs = spec.directions();
        int h = spec.outputHiddenSize();
        float[] out = new float[t * dirs * n * h];
        for (int s = 0; s < t; s++) {
            for (int i = 0; i < n; i++) {
                int from = (bf ? i * t + s : s * n + i) * dirs * h;
                for (int d = 0; d < dirs; d++) {
                    int to = batchMajor ? ((i * t + s) * dirs + d) * h : ((s * dirs + d) * n + i) * h;
                    for (int k = 0; k < h; k++) {
                        out[to + k] = y.get(from + d * h + k);
                    }
                }
            }
        }
        return batchMajor ? Tensor.of(out, n, t, dirs, h) : Tensor.of(out, t, dirs, n, h);
    }

    /**
     * The precision the weight matrices are held in.
     *
     * @throws IllegalStateException if the model is closed
     */
    public Precision precision() {
        guard.checkOpen();
        return precision;
    }

    /**
     * The bytes of the weights as held in {@link #precision()} (codes and scales; biases in
     * fp32), i.e. what a step streams, not counting a backend's padding or extra copies.
     *
     * @throws IllegalStateException if the model is closed
     */
    public long weightBytes() {
        guard.checkOpen();
        return weightBytes;
    }

    private static List<LayerWeights> layerWeights(RnnSpec spec, Map<String, Tensor> sd) {
        Map<String, int[]> expected = spec.parameterShapes();
        StringJoiner missing = new StringJoiner(", ");
        StringJoiner unexpected = new StringJoiner(", ");
        StringJoiner mismatch = new StringJoiner(" ");
        for (Map.Entry<String, int[]> e : expected.entrySet()) {
            Tensor t = sd.get(e.getKey());
            if (t == null) {
                missing.add('"' + e.getKey() + '"');
            } else if (!Arrays.equals(t.shape(), e.getValue())) {
                mismatch.add("size mismatch for " + e.getKey() + ": copying a param with shape " + t.shapeString()
                    + " from checkpoint, the shape in current model is " + Arrays.toString(e.getValue()) + ".");
            }
        }
        for (String name : sd.keySet()) {
            if (!expected.containsKey(name)) {
                unexpected.add('"' + name + '"');
            }
        }
        if (missing.length() + unexpected.length() + mismatch.length() > 0) {
            StringBuilder msg = new StringBuilder("Error(s) in loading state_dict for " + spec.mode().moduleName() + ":");
            if (missing.length() > 0) {
                msg.append(" Missing key(s) in state_dict: ").append(missing).append('.');
            }
            if (unexpected.length() > 0) {
                msg.append(" Unexpected key(s) in state_dict: ").append(unexpected).append('.');
            }
            if (mismatch.length() > 0) {
                msg.append(' ').append(mismatch);
            }
            throw new IllegalArgumentException(msg.toString());
        }
        List<LayerWeights> out = new ArrayList<>();
        for (int l = 0; l < spec.numLayers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                out.add(new LayerWeights(
                    sd.get(CellMode.parameterName("weight_ih", l, d)).toArray(),
                    sd.get(CellMode.parameterName("weight_hh", l, d)).toArray(),
                    spec.bias() ? sd.get(CellMode.parameterName("bias_ih", l, d)).toArray() : null,
                    spec.bias() ? sd.get(CellMode.parameterName("bias_hh", l, d)).toArray() : null,
                    spec.projSize() > 0 ? sd.get(CellMode.parameterName("weight_hr", l, d)).toArray() : null));
            }
        }
        return out;
    }

    /**
     * The hyper-parameters.
     *
     * @throws IllegalStateException if the model is closed
     */
    public RnnSpec spec() {
        guard.checkOpen();
        return spec;
    }

    /**
     * The backend that runs this model ({@code scalar}, {@code vector}, ...).
     *
     * @throws IllegalStateException if the model is closed
     */
    public String backendName() {
        guard.checkOpen();
        return prepared.backendName();
    }

    /**
     * The threads this model uses: the options' count, capped at the processors this JVM may
     * use (the same policy for every backend).
     *
     * @throws IllegalStateException if the model is closed
     */
    public int threads() {
        guard.checkOpen();
        return prepared.threads();
    }

    /** For {@link RnnState}: throws {@link IllegalStateException} once the model is closed. */
    void checkOpen() {
        guard.checkOpen();
    }

    /**
     * Runs the model with zero initial state.
     *
     * @throws IllegalArgumentException on a shape mismatch (PyTorch's message)
     * @throws IllegalStateException if the model is closed
     */
    public RnnOutput forward(Tensor input) {
        return forward(input, null, null, null);
    }

    /**
     * Runs the model from initial state {@code h0} (RNN, GRU; null for zeros).
     *
     * @throws IllegalArgumentException on a shape mismatch (PyTorch's message)
     * @throws IllegalStateException if the model is closed
     */
    public RnnOutput forward(Tensor input, Tensor h0) {
        return forward(input, h0, null, null);
    }

    /**
     * Runs the model, as {@code module(input, hx)} in PyTorch, or, with {@code lengths}, as
     * {@code pad_packed_sequence(module(pack_padded_sequence(input, lengths,
     * enforce_sorted=False), hx), total_length=T)}.
     *
     * @param input   {@code (N, T, D)} if batch-first, else {@code (T, N, D)}; or unbatched {@code (T, D)}
     * @param h0      {@code (L*dirs, N, H_out)} ({@code (L*dirs, H_out)} unbatched), or null for zeros
     * @param c0      LSTM only: {@code (L*dirs, N, H)} ({@code (L*dirs, H)} unbatched), or null;
     *                an LSTM takes both h0 and c0 or neither
     * @param lengths each sequence's length, in 1..T, or null when all have length T
     * @return output, h_n and (LSTM) c_n in PyTorch's shapes, in new arrays
     * @throws IllegalArgumentException on a shape or length mismatch, in PyTorch's words
     * @throws IllegalStateException if the model is closed
     * @throws NullPointerException if {@code input} is null
     */
    public RnnOutput forward(Tensor input, Tensor h0, Tensor c0, int[] lengths) {
        Objects.requireNonNull(input, "input");
        guard.enter();
        try {
            boolean unbatched = checkInput(input, h0, c0);
            int seqLen;
            int batch;
            if (unbatched) {
                seqLen = input.size(0);
                batch = 1;
            } else if (spec.batchFirst()) {
                batch = input.size(0);
                seqLen = input.size(1);
            } else {
                seqLen = input.size(0);
                batch = input.size(1);
            }
            checkHidden(h0, c0, batch, unbatched);
            checkLengths(lengths, seqLen, batch, unbatched);
            int states = spec.numLayers() * spec.directions();
            int outWidth = spec.directions() * spec.outputHiddenSize();
            float[] y = new float[Sizes.elements("the output (T x N x dirs*H_out)", seqLen, batch, outWidth)];
            float[] hN = new float[Sizes.elements("h_n (L*dirs x N x H_out)", states, batch, spec.outputHiddenSize())];
            float[] cN = spec.mode().hasCellState()
                ? new float[Sizes.elements("c_n (L*dirs x N x H)", states, batch, spec.hiddenSize())] : null;
            // Batch-first with N > 1 is the only layout that differs from the canonical (T, N, F).
            boolean transpose = spec.batchFirst() && !unbatched && batch > 1;
            Staging st = borrow();
            Call a = st.call;
            try {
                a.seqLen = seqLen;
                a.batch = batch;
                float[] x = st.xCopy.elementsOf(input);
                if (transpose) {
                    float[] xt = st.xTransposed.atLeast(input.numel());
                    swapLeadingDims(x, batch, seqLen, spec.inputSize(), xt);
                    x = xt;
                }
                a.x = x;
                a.h0 = h0 == null ? null : st.h0Copy.elementsOf(h0);
                a.c0 = c0 == null ? null : st.c0Copy.elementsOf(c0);
                a.lengths = lengths;
                a.y = transpose ? st.yTransposed.atLeast(y.length) : y;
                a.hN = hN;
                a.cN = cN;
                prepared.forward(a);
                if (transpose) {
                    swapLeadingDims(a.y, seqLen, batch, outWidth, y);
                }
            } finally {
                a.clear();
                stagingPool.offer(st);
            }
            int[] outShape = unbatched ? new int[] {seqLen, outWidth}
                : spec.batchFirst() ? new int[] {batch, seqLen, outWidth} : new int[] {seqLen, batch, outWidth};
            int[] hShape = unbatched ? new int[] {states, spec.outputHiddenSize()}
                : new int[] {states, batch, spec.outputHiddenSize()};
            int[] cShape = unbatched ? new int[] {states, spec.hiddenSize()} : new int[] {states, batch, spec.hiddenSize()};
            return new RnnOutput(Tensor.of(y, outShape), Tensor.of(hN, hShape), cN == null ? null : Tensor.of(cN, cShape));
        } finally {
            guard.exit();
        }
    }

    /**
     * A zeroed streaming state for {@code batch} sequences advanced together by {@link #step}.
     *
     * @throws IllegalArgumentException if batch is below 1
     * @throws UnsupportedOperationException if the model is bidirectional (the reverse pass needs the whole sequence)
     * @throws IllegalStateException if the model is closed
     */
    public RnnState newState(int batch) {
        guard.enter();
        try {
            if (spec.bidirectional()) {
                throw new UnsupportedOperationException("streaming needs a unidirectional model: "
                    + "the reverse direction of a bidirectional " + spec.mode().moduleName() + " needs the whole sequence");
            }
            if (batch < 1) {
                throw new IllegalArgumentException("batch must be at least 1, got " + batch);
            }
            return new RnnState(this, batch);
        } finally {
            guard.exit();
        }
    }

    /**
     * Advances every sequence of {@code state} by one step; feeding a sequence step by step
     * gives the same states and outputs as {@link #forward} over the whole sequence.
     *
     * @param x     {@code (N, D)}, or {@code (D)} when the state's batch is 1
     * @param state a state of this model
     * @return the top layer's new hidden state {@code (N, H_out)}: a view owned by the state,
     *         overwritten by its next step
     * @throws IllegalArgumentException if x's shape does not fit, or the state belongs to another model
     * @throws IllegalStateException if the model or the state is closed, or another thread is
     *         stepping the same state (a state belongs to one stream)
     */
    public Tensor step(Tensor x, RnnState state) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(state, "state");
        guard.enter();
        try {
            if (state.model() != this) {
                throw new IllegalArgumentException("the state belongs to another model");
            }
            int batch = state.batch;
            boolean shapeOk = (x.dim() == 2 && x.size(0) == batch) || (x.dim() == 1 && batch == 1);
            if (!shapeOk) {
                throw new IllegalArgumentException("step input must be (" + batch + ", " + spec.inputSize() + ")"
                    + (batch == 1 ? " or (" + spec.inputSize() + ")" : "") + ", got " + x.shapeString());
            }
            checkFeatures(x);
            return state.advance(prepared, x);
        } finally {
            guard.exit();
        }
    }

    /** Frees the backend's resources after running calls return; idempotent. */
    @Override
    public void close() {
        if (guard.close()) {
            prepared.close();
        }
    }

    /** True once closed. */
    public boolean isClosed() {
        return guard.isClosed();
    }

    private Staging borrow() {
        Staging s = stagingPool.poll();
        return s != null ? s : new Staging();
    }

    /** (d0, d1, f) to (d1, d0, f). */
    private static void swapLeadingDims(float[] src, int d0, int d1, int f, float[] dst) {
        for (int i = 0; i < d0; i++) {
            for (int j = 0; j < d1; j++) {
                System.arraycopy(src, (i * d1 + j) * f, dst, (j * d0 + i) * f, f);
            }
        }
    }

    // ---- validation, in PyTorch's words (torch/nn/modules/rnn.py) ----

    private boolean checkInput(Tensor input, Tensor h0, Tensor c0) {
        String name = spec.mode().moduleName();
        if (input.dim() != 2 && input.dim() != 3) {
            throw new IllegalArgumentException(name + ": Expected input to be 2-D or 3-D but received "
                + input.dim() + "-D tensor");
        }
        boolean unbatched = input.dim() == 2;
        if (spec.mode().hasCellState()) {
            if ((h0 == null) != (c0 == null)) {
                throw new IllegalArgumentException("LSTM: hx must be a tuple (h_0, c_0): pass both or neither");
            }
            if (h0 != null && (h0.dim() != input.dim() || c0.dim() != input.dim())) {
                throw new IllegalArgumentException(unbatched
                    ? "For unbatched 2-D input, hx and cx should also be 2-D but got (" + h0.dim() + "-D, " + c0.dim() + "-D) tensors"
                    : "For batched 3-D input, hx and cx should also be 3-D but got (" + h0.dim() + "-D, " + c0.dim() + "-D) tensors");
            }
        } else {
            if (c0 != null) {
                throw new IllegalArgumentException(name + " takes no c0: only LSTM has a cell state");
            }
            if (h0 != null && h0.dim() != input.dim()) {
                throw new IllegalArgumentException(unbatched
                    ? "For unbatched 2-D input, hx should also be 2-D but got " + h0.dim() + "-D tensor"
                    : "For batched 3-D input, hx should also be 3-D but got " + h0.dim() + "-D tensor");
            }
        }
        checkFeatures(input);
        for (int d = 0; d < input.dim(); d++) {
            if (input.size(d) == 0) {
                throw new IllegalArgumentException(name + ": input " + input.shapeString()
                    + " is empty; sequence length and batch size must be at least 1");
            }
        }
        return unbatched;
    }

    private void checkFeatures(Tensor x) {
        if (x.size(-1) != spec.inputSize()) {
            throw new IllegalArgumentException("input.size(-1) must be equal to input_size. Expected "
                + spec.inputSize() + ", got " + x.size(-1));
        }
    }

    private void checkHidden(Tensor h0, Tensor c0, int batch, boolean unbatched) {
        if (h0 == null) {
            return;
        }
        int states = spec.numLayers() * spec.directions();
        boolean lstm = spec.mode().hasCellState();
        checkHiddenShape(h0, states, batch, spec.outputHiddenSize(), unbatched, lstm ? "hidden[0]" : "hidden");
        if (c0 != null) {
            checkHiddenShape(c0, states, batch, spec.hiddenSize(), unbatched, "hidden[1]");
        }
    }

    /** PyTorch unsqueezes unbatched hx to 3-D before checking, so messages show (L*dirs, 1, H). */
    private static void checkHiddenShape(Tensor t, int states, int batch, int size, boolean unbatched, String what) {
        int[] got = t.shape();
        if (unbatched) {
            got = new int[] {got[0], 1, got[1]};
        }
        int[] want = {states, batch, size};
        if (!Arrays.equals(got, want)) {
            throw new IllegalArgumentException("Expected " + what + " size (" + states + ", " + batch + ", " + size
                + "), got " + Arrays.toString(got));
        }
    }

    private static void checkLengths(int[] lengths, int seqLen, int batch, boolean unbatched) {
        if (lengths == null) {
            return;
        }
        if (unbatched) {
            throw new IllegalArgumentException("lengths need a batched 3-D input; unbatched input is one whole sequence");
        }
        if (lengths.length != batch) {
            throw new IllegalArgumentException("Expected `len(lengths)` to be equal to batch_size, but got "
                + lengths.length + " (batch_size=" + batch + ")");
        }
        for (int i = 0; i < lengths.length; i++) {
            if (lengths[i] <= 0) {
                throw new IllegalArgumentException("Length of all samples has to be greater than 0, but found an "
                    + "element in 'lengths' that is <= 0 (lengths[" + i + "] = " + lengths[i] + ")");
            }
            if (lengths[i] > seqLen) {
                throw new IllegalArgumentException("lengths[" + i + "] = " + lengths[i]
                    + " is longer than the input's sequence length " + seqLen);
            }
        }
    }
}
