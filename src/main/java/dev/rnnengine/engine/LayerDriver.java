package dev.rnnengine.engine;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.internal.Sizes;

/**
 * The driver for {@link LayerKernels}: layers and the buffers between them, the initial
 * state (copied or zero, {@link StateRows}), and, since such a backend has no lengths
 * argument, PyTorch's packed semantics in exact, unpadded pieces. A unidirectional model runs
 * in time segments: rows sorted longest first, each segment runs the rows still active from
 * one length to the next through every layer, each layer's state carried in place from
 * segment to segment, so the weights are read once per step for all active rows however many
 * lengths there are. A bidirectional model groups instead: the sequences of each distinct
 * length run as one batch (the reverse direction starts at each sequence's own end). Outputs
 * and final states are scattered back, and steps past each length are zeros ({@link Lengths}).
 *
 * <p>Kernels that run the directions of a bidirectional layer apart
 * ({@link LayerKernels#directionsApart()}) get them run at once, one per worker of the driver's
 * own pool of two: each direction's recurrence is sequential, so two cores run two of them in
 * the time of one (concurrent callers of one model past the cores' permits take turns; one that
 * finds the pool busy runs both directions itself).
 */
final class LayerDriver<C> extends Driver<LayerDriver<C>.Workspace> {
    private final LayerKernels<C> kernels;
    private final WorkerPool pool; // the two directions at once, or null

    LayerDriver(String name, RnnSpec spec, LayerKernels<C> kernels, int threads) {
        super(name, spec, kernels, threads);
        this.kernels = kernels;
        // Its own pool: a shared one, busy with another model's task, would leave the call on one thread.
        this.pool = spec.directions() == 2 && threads > 1 && kernels.directionsApart() ? WorkerPool.own(2) : null;
    }

    @Override
    void release() {
        if (pool != null) {
            pool.release();
        }
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
    final class Workspace implements WorkerPool.Task {
        private final C ctx = kernels.newContext();
        // The layer the two directions' workers run (set before each pool.run; the pool publishes it).
        private int layer;
        private int len;
        private int n;
        private float[] in;
        private float[] out;
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
            if (spec.directions() == 1) {
                segments(a);
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
         * A unidirectional call with lengths, in time segments: rows in {@link Lengths#order()}
         * (longest first), so the rows active in a segment are a prefix; each segment runs from
         * the previous one's end to the shortest active row's length, every layer starting from
         * its state in {@code h0}/{@code c0} ({@code (L, N, .)} in row order) and writing the new
         * state there in place. A row's state stops changing when its last segment ends.
         */
        private void segments(Call a) {
            int[] order = lengths.order();
            int batch = a.batch;
            int layers = spec.numLayers();
            int hOut = spec.outputHiddenSize();
            int hidden = spec.hiddenSize();
            int d = spec.inputSize();
            boolean lstm = spec.mode().hasCellState();
            h0 = grow(h0, "the hidden state (L x N x H)", layers, batch, hOut);
            StateRows.load(a.h0, 0, layers, batch, order, 0, batch, hOut, 0, hOut, h0, hOut);
            if (lstm) {
                c0 = grow(c0, "the cell state (L x N x H)", layers, batch, hidden);
                StateRows.load(a.c0, 0, layers, batch, order, 0, batch, hidden, 0, hidden, c0, hidden);
            }
            int n = batch;
            for (int start = 0; ; ) {
                while (n > 0 && lengths.length(order[n - 1]) <= start) {
                    n--;
                }
                if (n == 0) {
                    break;
                }
                int end = lengths.length(order[n - 1]);
                int steps = end - start;
                x = grow(x, "a segment's input (T x N x D)", steps, n, d);
                StateRows.load(a.x, start, steps, batch, order, 0, n, d, 0, d, x, d);
                float[] in = x;
                for (int layer = 0; layer < layers; layer++) {
                    float[] out;
                    if (layer == layers - 1) {
                        out = y = grow(y, "a segment's output (T x N x H)", steps, n, hOut);
                    } else {
                        between[layer % 2] = grow(between[layer % 2], "a layer's output (T x N x H)", steps, n, hOut);
                        out = between[layer % 2];
                    }
                    int hAt = layer * batch * hOut;
                    int cAt = layer * batch * hidden;
                    kernels.runLayer(ctx, layer, steps, n, in, h0, hAt, lstm ? c0 : null, cAt, out, h0, hAt,
                        lstm ? c0 : null, cAt);
                    in = out;
                }
                StateRows.store(y, hOut, steps, n, order, 0, 0, hOut, a.y, start, batch, hOut);
                start = end;
            }
            StateRows.store(h0, hOut, layers, batch, order, 0, 0, hOut, a.hN, 0, batch, hOut);
            if (lstm && a.cN != null) {
                StateRows.store(c0, hidden, layers, batch, order, 0, 0, hidden, a.cN, 0, batch, hidden);
            }
            for (int t = 0; t < a.seqLen; t++) {
                lengths.zeroInactive(a.y, t, hOut, 0, hOut);
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
                if (pool != null) {
                    this.layer = layer;
                    this.len = len;
                    this.n = n;
                    this.in = in;
                    this.out = out;
                    try {
                        pool.run(this);
                    } finally {
                        this.in = null; // a pooled workspace pins no caller's arrays
                        this.out = null;
                    }
                } else {
                    kernels.runLayer(ctx, layer, len, n, in, h0, 0, lstm ? c0 : null, 0, out, hN, 0,
                        lstm ? cN : null, 0);
                }
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

        /** Direction {@code worker} of the layer set above; a worker alone (pool busy) runs both. */
        @Override
        public void run(int worker, int workers) {
            boolean lstm = spec.mode().hasCellState();
            for (int dir = worker; dir < 2; dir += workers) {
                kernels.runDirection(ctx, layer, dir, len, n, in, h0, 0, lstm ? c0 : null, 0, out, hN, 0,
                    lstm ? cN : null, 0);
            }
        }

        @Override
        public void abort() { } // no barriers: each direction runs alone

        private static float[] grow(float[] a, String what, long d0, long d1, long d2) {
            int size = Sizes.elements(what, d0, d1, d2);
            return a.length < size ? new float[size] : a;
        }
    }
}
