package dev.rnnengine.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.nio.FloatBuffer;
import java.util.Map;

/** ONNX Runtime Java running the same model as the engine, at a fixed thread count. */
public final class OrtRunner implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final OnnxTensor input;
    private final long[] shape;

    /**
     * Builds the ONNX model from the engine's weights and opens a session on it.
     *
     * @throws OrtException if ONNX Runtime refuses the model
     */
    public OrtRunner(RnnSpec spec, Map<String, Tensor> sd, Tensor x, int threads) throws OrtException {
        this(dev.rnnengine.io.OnnxExport.write(spec, sd, x.size(0), x.size(1)), x, threads);
    }

    /**
     * Opens a session on an ONNX model (input {@code input}, output {@code output}) for input {@code x}.
     *
     * @throws OrtException if ONNX Runtime refuses the model
     */
    public OrtRunner(byte[] model, Tensor x, int threads) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
            o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = env.createSession(model, o);
        }
        shape = new long[] {x.size(0), x.size(1), x.size(2)};
        input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toArray()), shape);
    }

    /**
     * One run; returns Y {@code (T, N, dirs*H)} as a flat array.
     *
     * @throws OrtException if the run fails
     */
    public float[] run() throws OrtException {
        return run(input);
    }

    /**
     * One run on another input of the shape the model was built for ({@code (T, N, D)}).
     *
     * @throws IllegalArgumentException if x's shape is not the model's
     * @throws OrtException if the run fails
     */
    public float[] run(Tensor x) throws OrtException {
        if (x.dim() != 3 || x.size(0) != shape[0] || x.size(1) != shape[1] || x.size(2) != shape[2]) {
            throw new IllegalArgumentException("input " + x.shapeString() + " is not the model's " + java.util.Arrays.toString(shape));
        }
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toArray()), shape)) {
            return run(in);
        }
    }

    private float[] run(OnnxTensor in) throws OrtException {
        try (OrtSession.Result r = session.run(Map.of("input", in))) {
            OnnxTensor y = (OnnxTensor) r.get(0);
            FloatBuffer b = y.getFloatBuffer();
            float[] out = new float[b.remaining()];
            b.get(out);
            return out;
        }
    }

    /**
     * A stream over this runner's session, which must come from {@link
     * dev.rnnengine.io.OnnxExport#writeWithState} at T = N = 1: its own h (and c), fed back by
     * hand after every step, as an ONNX Runtime user serving streams does. Its tensors sit on
     * direct buffers that ONNX Runtime reads in place; a step allocates only what ORT Java returns.
     *
     * @param states L*dirs; {@code hidden} H; {@code lstm} whether there is a c
     * @throws OrtException if ONNX Runtime cannot make the tensors
     */
    public Stepper stepper(int inputSize, int states, int hidden, boolean lstm) throws OrtException {
        return new Stepper(inputSize, states, hidden, lstm);
    }

    /** See {@link #stepper}. */
    public final class Stepper implements AutoCloseable {
        private final FloatBuffer x;
        private final FloatBuffer h;
        private final FloatBuffer c;
        private final OnnxTensor xt;
        private final OnnxTensor ht;
        private final OnnxTensor ct;
        private final Map<String, OnnxTensor> inputs;

        private Stepper(int d, int states, int hidden, boolean lstm) throws OrtException {
            x = direct(d);
            h = direct(states * hidden);
            c = lstm ? direct(states * hidden) : null;
            xt = OnnxTensor.createTensor(env, x, new long[] {1, 1, d});
            ht = OnnxTensor.createTensor(env, h, new long[] {states, 1, hidden});
            ct = lstm ? OnnxTensor.createTensor(env, c, new long[] {states, 1, hidden}) : null;
            inputs = lstm ? Map.of("input", xt, "h0", ht, "c0", ct) : Map.of("input", xt, "h0", ht);
        }

        private static FloatBuffer direct(int n) {
            return java.nio.ByteBuffer.allocateDirect(4 * n).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        }

        /**
         * One step on {@code frame}; the new top-layer h is {@code h()}'s last H values.
         *
         * @throws OrtException if the run fails
         */
        public void step(float[] frame) throws OrtException {
            x.clear();
            x.put(frame);
            try (OrtSession.Result r = session.run(inputs)) {
                h.clear();
                h.put(((OnnxTensor) r.get("h_n").orElseThrow()).getFloatBuffer());
                if (c != null) {
                    c.clear();
                    c.put(((OnnxTensor) r.get("c_n").orElseThrow()).getFloatBuffer());
                }
            }
        }

        /** The state h (L*dirs, 1, H), flat. */
        public float[] h() {
            float[] out = new float[h.capacity()];
            h.duplicate().clear().get(out);
            return out;
        }

        @Override
        public void close() {
            xt.close();
            ht.close();
            if (ct != null) {
                ct.close();
            }
        }
    }

    @Override
    public void close() throws OrtException {
        input.close();
        session.close();
    }
}
