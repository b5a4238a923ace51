package dev.rnnengine.bench;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;

import java.util.LinkedHashMap;
import java.util.Map;

/** The benchmark shape set of DESIGN.md section 5, shared by the JMH suite and the CLI. */
public final class Shapes {
    private Shapes() { }

    /**
     * One benchmark shape: a spec plus the call's sequence length and batch.
     *
     * @param name    the shape's name in reports
     * @param spec    the model (time-major)
     * @param seqLen  T
     * @param batch   N
     */
    public record Shape(String name, RnnSpec spec, int seqLen, int batch) {
        /** Multiply-adds of one call (input projection plus recurrence, projection included). */
        public double flops() {
            double f = 0;
            int gh = spec.gates() * spec.hiddenSize();
            for (int l = 0; l < spec.numLayers(); l++) {
                double perStep = (double) gh * (spec.layerInputSize(l) + spec.outputHiddenSize())
                    + (double) spec.projSize() * spec.hiddenSize();
                f += 2 * perStep * seqLen * batch * spec.directions();
            }
            return f;
        }

        /** Bytes of weights one call streams per time step at least once (all layers, directions). */
        public double weightBytes() {
            return 4.0 * spec.parameterCount();
        }

        /** Flops of the input projections of all steps (one GEMM per layer and direction). */
        public double inputFlops() {
            double f = 0;
            for (int l = 0; l < spec.numLayers(); l++) {
                f += 2.0 * spec.gates() * spec.hiddenSize() * spec.layerInputSize(l) * seqLen * batch * spec.directions();
            }
            return f;
        }

        /** Input weights W_ih of layer {@code l} (both directions), fp32: read once per call. */
        public double inputBytes(int l) {
            return 4.0 * spec.directions() * spec.gates() * spec.hiddenSize() * spec.layerInputSize(l);
        }

        /** Recurrent weights of one layer (both directions) one step reads: W_hh and W_hr, fp32. */
        public double recurrentBytesPerStep() {
            return 4.0 * spec.directions() * ((double) spec.gates() * spec.hiddenSize() * spec.outputHiddenSize()
                + (double) spec.projSize() * spec.hiddenSize());
        }

        /** Flops of one layer's recurrence at one step (all rows, both directions). */
        public double recurrentFlopsPerStep() {
            return 2.0 / 4 * recurrentBytesPerStep() * batch;
        }
    }

    /**
     * A named shape of {@link #ALL}, or a custom one written {@code cell:D:H:T:N[:layers[:bi]]},
     * e.g. {@code gru:512:128:100:1} or {@code lstm:128:128:50:16:2:bi} (cell: rnn_tanh,
     * rnn_relu, lstm, gru).
     *
     * @throws IllegalArgumentException for an unknown name or a malformed custom shape
     */
    public static Shape get(String name) {
        Shape s = ALL.get(name);
        if (s != null) {
            return s;
        }
        String[] p = name.split(":");
        if (p.length < 5 || p.length > 7 || (p.length == 7 && !p[6].equals("bi"))) {
            throw new IllegalArgumentException("unknown shape '" + name + "': use one of " + ALL.keySet()
                + " or cell:D:H:T:N[:layers[:bi]]");
        }
        try {
            CellMode mode = CellMode.parse(p[0]);
            int layers = p.length > 5 ? Integer.parseInt(p[5]) : 1;
            return of(name, mode, Integer.parseInt(p[1]), Integer.parseInt(p[2]), Integer.parseInt(p[3]),
                Integer.parseInt(p[4]), layers, p.length == 7);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("malformed shape '" + name + "': " + e.getMessage());
        }
    }

    private static Shape of(String name, CellMode mode, int d, int h, int t, int n, int layers, boolean bidir) {
        return new Shape(name, new RnnSpec(mode, d, h, layers, true, false, bidir, 0), t, n);
    }

    /** The shape set, by name, in DESIGN.md's order. */
    public static final Map<String, Shape> ALL;

    static {
        Map<String, Shape> m = new LinkedHashMap<>();
        for (Shape s : new Shape[] {
            of("lstm_small_b1", CellMode.LSTM, 128, 256, 100, 1, 1, false),
            of("lstm_512_b1", CellMode.LSTM, 512, 512, 25, 1, 1, false),
            of("lstm_1024_b1", CellMode.LSTM, 1024, 1024, 25, 1, 1, false),
            of("lstm_512_b64", CellMode.LSTM, 512, 512, 25, 64, 1, false),
            of("gru_512_b1", CellMode.GRU, 512, 512, 100, 1, 1, false),
            of("gru_512_b64", CellMode.GRU, 512, 512, 100, 64, 1, false),
            of("rnn_1760_b1", CellMode.RNN_TANH, 1760, 1760, 50, 1, 1, false),
            of("bilstm2_b16", CellMode.LSTM, 128, 128, 50, 16, 2, true),
            of("lstm2_step_b1", CellMode.LSTM, 128, 256, 1, 1, 2, false),
        }) {
            m.put(s.name(), s);
        }
        ALL = java.util.Collections.unmodifiableMap(m);
    }
}
