package dev.rnnengine.backend.vector;

import static dev.rnnengine.backend.vector.VectorKernels.V;
import static dev.rnnengine.backend.vector.VectorKernels.units;

import dev.rnnengine.api.CellMode;
import dev.rnnengine.api.RnnSpec;
import dev.rnnengine.engine.ForwardArgs;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.PreparedRnn;
import dev.rnnengine.engine.SpinBarrier;
import dev.rnnengine.engine.WorkerPool;
import java.util.Arrays;
import java.util.List;

/**
 * A model on the vector backend. Per layer: the input projection of all T steps as one GEMM
 * (split over unit blocks across the workers), then the recurrence, where each worker owns a
 * fixed range of unit blocks (so its slice of W_hh stays in its core's cache) and the workers
 * meet at a barrier after every step. With two or more workers, the two directions of a
 * bidirectional layer run at once on separate halves of the workers.
 */
final class VectorRnn implements PreparedRnn {
    private static final SpinBarrier NONE = new SpinBarrier(1);
    /** From this batch size on, a step's W_hh h is a GEMM over all rows, then the gate math. */
    private static final int BATCHED_MIN = 4;

    private final RnnSpec spec;
    private final WorkerPool pool;
    private final CellMode mode;
    private final int gates;
    private final int hidden;
    private final int hOut;
    private final int dirs;
    private final int units;     // blocks of V hidden units
    private final int outUnits;  // blocks of V output units (proj or hidden)
    private final int hPad;      // units * V
    private final int hOutPad;   // outUnits * V
    private final float[][] wx;  // per (layer, dir): W_ih in unit panels
    private final float[][] wh;  // W_hh in unit panels
    private final float[][] bx;  // b_ih + b_hh (GRU n block: b_in only), or null
    private final float[][] bhn; // GRU b_hn, or null
    private final float[][] wr;  // LSTM W_hr panels, or null

    VectorRnn(RnnSpec spec, List<LayerWeights> weights, WorkerPool pool) {
        this.spec = spec;
        this.pool = pool;
        this.mode = spec.mode();
        this.gates = spec.gates();
        this.hidden = spec.hiddenSize();
        this.hOut = spec.outputHiddenSize();
        this.dirs = spec.directions();
        this.units = units(hidden);
        this.outUnits = units(hOut);
        this.hPad = units * V;
        this.hOutPad = outUnits * V;
        int n = weights.size();
        wx = new float[n][];
        wh = new float[n][];
        bx = new float[n][];
        bhn = new float[n][];
        wr = new float[n][];
        for (int lw = 0; lw < n; lw++) {
            LayerWeights w = weights.get(lw);
            int layer = lw / dirs;
            wx[lw] = VectorKernels.packPairs(w.wIh(), gates, hidden, spec.layerInputSize(layer));
            wh[lw] = VectorKernels.pack(w.wHh(), gates, hidden, hOut);
            if (w.bIh() != null) {
                float[] b = new float[gates * hidden];
                for (int i = 0; i < b.length; i++) {
                    boolean gruN = mode == CellMode.GRU && i >= 2 * hidden; // b_hn stays inside r * (...)
                    b[i] = w.bIh()[i] + (gruN ? 0f : w.bHh()[i]);
                }
                bx[lw] = VectorKernels.packBias(b, gates, hidden);
                if (mode == CellMode.GRU) {
                    bhn[lw] = VectorKernels.packBias(Arrays.copyOfRange(w.bHh(), 2 * hidden, 3 * hidden), 1, hidden);
                }
            }
            if (w.wHr() != null) {
                wr[lw] = VectorKernels.packPairs(w.wHr(), 1, hOut, hidden);
            }
        }
    }

    @Override
    public void forward(ForwardArgs a) {
        Task t = a.backendCache instanceof Task c && c.owner() == this ? c : new Task();
        a.backendCache = t;
        t.bind(a);
        pool.run(t);
    }

    private static int lo(int total, int part, int parts) {
        return (int) ((long) total * part / parts);
    }

    /** One forward call's buffers and barriers; reused by the next call on the same ForwardArgs. */
    private final class Task implements WorkerPool.Task {
        private ForwardArgs a;
        private final float[][] xp = new float[2][];     // (T*N, G*hPad) per direction
        private final float[][] hA = new float[2][];     // (N, hOutPad) per direction
        private final float[][] hB = new float[2][];
        private final float[][] c = new float[2][];      // (N, hPad)
        private final float[][] hFull = new float[2][];  // (N, hPad), LSTM with projection
        private final float[][] layerOut = new float[2][];
        private final float[][] ghBuf = new float[2][];  // (N, G*hPad): W_hh h of the batched path
        private SpinBarrier all;
        private final SpinBarrier[] group = new SpinBarrier[2];

        VectorRnn owner() {
            return VectorRnn.this;
        }

        void bind(ForwardArgs args) {
            a = args;
            int rows = args.seqLen * args.batch;
            int slot = 0;
            for (int d = 0; d < dirs; d++) {
                xp[d] = args.scratch(slot++, rows * gates * hPad);
                hA[d] = args.scratch(slot++, args.batch * hOutPad);
                hB[d] = args.scratch(slot++, args.batch * hOutPad);
                c[d] = args.scratch(slot++, args.batch * hPad);
                hFull[d] = args.scratch(slot++, args.batch * hPad);
                ghBuf[d] = args.batch >= BATCHED_MIN ? args.scratch(slot, args.batch * gates * hPad) : null;
                slot++;
            }
            if (spec.numLayers() > 1) {
                layerOut[0] = args.scratch(slot++, rows * dirs * hOut);
                layerOut[1] = args.scratch(slot, rows * dirs * hOut);
            }
            int w = pool.size();
            if (all == null || all.isBroken()) {
                all = new SpinBarrier(w);
                group[0] = new SpinBarrier(Math.max(1, w / 2));
                group[1] = new SpinBarrier(Math.max(1, w - w / 2));
            }
        }

        @Override
        public void abort() {
            all.breakBarrier();
            group[0].breakBarrier();
            group[1].breakBarrier();
        }

        @Override
        public void run(int worker, int workers) {
            SpinBarrier everyone = workers == 1 ? NONE : all;
            int rows = a.seqLen * a.batch;
            float[] in = a.x;
            for (int layer = 0; layer < spec.numLayers(); layer++) {
                int inSize = spec.layerInputSize(layer);
                float[] out = layer == spec.numLayers() - 1 ? a.y : layerOut[layer % 2];
                // Column vectors split in pairs, so each worker starts on a pair panel.
                int pairs = (units * gates + 1) / 2;
                int j0 = 2 * lo(pairs, worker, workers);
                int j1 = Math.min(units * gates, 2 * lo(pairs, worker + 1, workers));
                for (int d = 0; d < dirs; d++) {
                    int lw = layer * dirs + d;
                    VectorKernels.gemm(in, 0, inSize, rows, inSize, wx[lw], 2, bx[lw], xp[d], 0, gates * hPad,
                        j0, j1);
                }
                everyone.await();
                if (dirs == 2 && workers >= 2) {
                    int half = workers / 2;
                    int g = worker < half ? 0 : 1;
                    recur(layer, g, out, g == 0 ? worker : worker - half, g == 0 ? half : workers - half, group[g]);
                } else {
                    for (int d = 0; d < dirs; d++) {
                        recur(layer, d, out, worker, workers, everyone);
                    }
                }
                everyone.await();
                in = out;
            }
        }

        /** One direction of one layer, by worker {@code wi} of {@code wn} sharing {@code barrier}. */
        private void recur(int layer, int dir, float[] out, int wi, int wn, SpinBarrier barrier) {
            final int lw = layer * dirs + dir;
            final int seqLen = a.seqLen;
            final int batch = a.batch;
            final int[] lengths = a.lengths;
            final int outWidth = dirs * hOut;
            final boolean proj = wr[lw] != null;
            final int u0 = lo(units, wi, wn);
            final int u1 = lo(units, wi + 1, wn);
            // This worker's slice of h, [e0, e1): its own unit blocks, or with a projection its
            // pair-aligned share of the projection's output blocks.
            final int pairs = (outUnits + 1) / 2;
            final int p0 = proj ? 2 * lo(pairs, wi, wn) : u0;
            final int p1 = proj ? Math.min(outUnits, 2 * lo(pairs, wi + 1, wn)) : u1;
            final int e0 = p0 * V;
            final int e1 = Math.min(p1 * V, hOut);
            final int c0 = u0 * V;
            final int c1 = Math.min(u1 * V, hidden);
            float[] hCur = hA[dir];
            float[] hNext = hB[dir];
            final float[] cell = c[dir];
            final float[] hf = hFull[dir];
            final float[] xpd = xp[dir];
            final int xpWidth = gates * hPad;
            for (int n = 0; n < batch; n++) {
                int from = (lw * batch + n) * hOut;
                copyOrZero(a.h0, from, hCur, n * hOutPad, e0, e1);
                if (mode == CellMode.LSTM) {
                    copyOrZero(a.c0, (lw * batch + n) * hidden, cell, n * hPad, c0, c1);
                }
            }
            barrier.await();
            final boolean batched = batch >= BATCHED_MIN;
            final float[] gh = ghBuf[dir];
            for (int s = 0; s < seqLen; s++) {
                int t = dir == 0 ? s : seqLen - 1 - s;
                if (batched) {
                    // W_hh h for every row at once: 4 rows share each weight load.
                    VectorKernels.gemm(hCur, 0, hOutPad, batch, hOut, wh[lw], gates, null, gh, 0, xpWidth,
                        u0 * gates, u1 * gates);
                }
                for (int n = 0; n < batch; n++) {
                    if (lengths != null && t >= lengths[n]) {
                        continue; // this sequence has ended (forward) or not begun (reverse)
                    }
                    int xpAt = (t * batch + n) * xpWidth;
                    if (batched) {
                        switch (mode) {
                            case LSTM -> VectorKernels.lstmGates(xpd, xpAt, gh, n * xpWidth, cell, n * hPad,
                                proj ? hf : hNext, n * (proj ? hPad : hOutPad), u0, u1);
                            case GRU -> VectorKernels.gruGates(xpd, xpAt, gh, n * xpWidth, bhn[lw], hCur, n * hOutPad,
                                hNext, n * hOutPad, u0, u1);
                            case RNN_TANH, RNN_RELU -> VectorKernels.rnnGates(xpd, xpAt, gh, n * xpWidth,
                                mode == CellMode.RNN_RELU, hNext, n * hOutPad, u0, u1);
                        }
                        continue;
                    }
                    switch (mode) {
                        case LSTM -> VectorKernels.lstmStep(wh[lw], hOut, hCur, n * hOutPad, xpd, xpAt, cell, n * hPad,
                            proj ? hf : hNext, n * (proj ? hPad : hOutPad), u0, u1);
                        case GRU -> VectorKernels.gruStep(wh[lw], hOut, hCur, n * hOutPad, xpd, xpAt, bhn[lw],
                            hNext, n * hOutPad, u0, u1);
                        case RNN_TANH, RNN_RELU -> VectorKernels.rnnStep(wh[lw], hOut, hCur, n * hOutPad, xpd, xpAt,
                            mode == CellMode.RNN_RELU, hNext, n * hOutPad, u0, u1);
                    }
                }
                if (proj) {
                    barrier.await(); // every unit of h_full is ready
                    VectorKernels.gemm(hf, 0, hPad, batch, hidden, wr[lw], 2, null, hNext, 0, hOutPad, p0, p1);
                }
                for (int n = 0; n < batch; n++) {
                    int yAt = (t * batch + n) * outWidth + dir * hOut;
                    if (lengths != null && t >= lengths[n]) {
                        System.arraycopy(hCur, n * hOutPad + e0, hNext, n * hOutPad + e0, e1 - e0);
                        Arrays.fill(out, yAt + e0, yAt + e1, 0f);
                    } else {
                        System.arraycopy(hNext, n * hOutPad + e0, out, yAt + e0, e1 - e0);
                    }
                }
                barrier.await();
                float[] swap = hCur;
                hCur = hNext;
                hNext = swap;
            }
            for (int n = 0; n < batch; n++) {
                System.arraycopy(hCur, n * hOutPad + e0, a.hN, (lw * batch + n) * hOut + e0, e1 - e0);
                if (a.cN != null) {
                    System.arraycopy(cell, n * hPad + c0, a.cN, (lw * batch + n) * hidden + c0, c1 - c0);
                }
            }
        }

        private void copyOrZero(float[] src, int srcAt, float[] dst, int dstAt, int from, int to) {
            if (to <= from) {
                return;
            }
            if (src == null) {
                Arrays.fill(dst, dstAt + from, dstAt + to, 0f);
            } else {
                System.arraycopy(src, srcAt + from, dst, dstAt + from, to - from);
            }
        }
    }
}
