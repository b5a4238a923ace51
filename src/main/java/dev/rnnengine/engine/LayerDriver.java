package dev.rnnengine.engine;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.internal.Sizes;

/**
 * The driver for {@link LayerKernels}: layers and the buffers between them, the initial
 * state (copied or zero, {@link StateRows}), and, since such a backend has no lengths
 * argument, PyTorch's packed semantics by grouping: the sequences of each distinct length run
 * as one exact, unpadded batch (so both directions start and stop where PyTorch's packed
 * sequences do), their outputs and final states are scattered back, and steps past each
 * length are zeros ({@link Lengths}).
 */
final class LayerDriver<C> extends Driver<LayerDriver<C>.Workspace> {
    private final LayerKernels<C> kernels;

    LayerDriver(String name, RnnSpec spec, LayerKernels<C> kernels, int threads) {
        super(name, spec, kernels, threads);
        this.kernels = kernels;
    }

    @Override
    Workspace newWorkspace() {
        return new Workspace();
    }

    @Override
    void run(Workspace w, Call call) {
        kernels.begin(w.ctx);
        Throwable failed = null;
        try {
            w.run(call);
        } catch (RuntimeException | Error e) {
            failed = e;
            throw e;
        } finally {
            w.lengths.clear();
            try {
                kernels.end(w.ctx);
            } catch (RuntimeException | Error e) {
                if (failed == null) {
                    throw e;
                }
                failed.addSuppressed(e); // the call's own failure is the one to report
            }
        }
    }

    /** One call's group buffers and kernel context; pooled. */
    final class Workspace {
        private final C ctx = kernels.newContext();
        private final Lengths lengths = new Lengths();
        private float[] x = new float[0];     // a group's input (T, n, D)
        private float[] y = new float[0];     // a group's output (T, n, dirs*H_out)
        private final float[][] between = {new float[0], new float[0]}; // layer outputs
        private float[] h0 = new float[0];    // (dirs, n, H_out)
        private float[] hN = new float[0];
        private float[] c0 = new float[0];    // (dirs, n, H)
        private float[] cN = new float[0];

        void run(Call a) {
            lengths.plan(a.lengths, a.seqLen, a.batch);
            if (lengths.uniform()) {
                group(a, null, 0, a.batch, a.seqLen);
                return;
            }
            int[] order = lengths.order();
            for (int from = 0; from < a.batch; ) {
                int len = lengths.length(order[from]);
                int to = from + 1;
                while (to < a.batch && lengths.length(order[to]) == len) {
                    to++;
                }
                group(a, order, from, to - from, len);
                from = to;
            }
            int width = spec.directions() * spec.outputHiddenSize();
            for (int t = 0; t < a.seqLen; t++) {
                lengths.zeroInactive(a.y, t, width, 0, width);
            }
        }

        /**
         * Runs rows {@code rows[from..from+n)} (all of length {@code len}) through every layer;
         * {@code rows == null} is the whole batch in its own order, read and written in place.
         */
        private void group(Call a, int[] rows, int from, int n, int len) {
            int dirs = spec.directions();
            int hOut = spec.outputHiddenSize();
            int hidden = spec.hiddenSize();
            int width = dirs * hOut;
            boolean lstm = spec.mode().hasCellState();
            float[] in = a.x;
            if (rows != null) {
                x = grow(x, "a length group's input (T x N x D)", len, n, spec.inputSize());
                StateRows.load(a.x, 0, len, a.batch, rows, from, n, spec.inputSize(), 0, spec.inputSize(), x,
                    spec.inputSize());
                in = x;
            }
            h0 = grow(h0, "the hidden state (dirs x N x H)", dirs, n, hOut);
            hN = grow(hN, "the hidden state (dirs x N x H)", dirs, n, hOut);
            if (lstm) {
                c0 = grow(c0, "the cell state (dirs x N x H)", dirs, n, hidden);
                cN = grow(cN, "the cell state (dirs x N x H)", dirs, n, hidden);
            }
            for (int layer = 0; layer < spec.numLayers(); layer++) {
                boolean last = layer == spec.numLayers() - 1;
                float[] out;
                if (last) {
                    out = rows == null ? a.y : (y = grow(y, "a length group's output (T x N x width)", len, n, width));
                } else {
                    between[layer % 2] = grow(between[layer % 2], "a layer's output (T x N x width)", len, n, width);
                    out = between[layer % 2];
                }
                int block = layer * dirs;
                StateRows.load(a.h0, block, dirs, a.batch, rows, from, n, hOut, 0, hOut, h0, hOut);
                if (lstm) {
                    StateRows.load(a.c0, block, dirs, a.batch, rows, from, n, hidden, 0, hidden, c0, hidden);
                }
                kernels.runLayer(ctx, layer, len, n, in, h0, 0, lstm ? c0 : null, 0, out, hN, 0, lstm ? cN : null, 0);
                StateRows.store(hN, hOut, dirs, n, rows, from, 0, hOut, a.hN, block, a.batch, hOut);
                if (lstm && a.cN != null) {
                    StateRows.store(cN, hidden, dirs, n, rows, from, 0, hidden, a.cN, block, a.batch, hidden);
                }
                in = out;
            }
            if (rows != null) {
                StateRows.store(y, width, len, n, rows, from, 0, width, a.y, 0, a.batch, width);
            }
        }

        private static float[] grow(float[] a, String what, long d0, long d1, long d2) {
            int size = Sizes.elements(what, d0, d1, d2);
            return a.length < size ? new float[size] : a;
        }
    }
}
