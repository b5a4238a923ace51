package dev.rnnengine.engine;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.internal.Sizes;

/**
 * The one recurrence driver for {@link StepKernels}: layers and the buffers between them,
 * both directions (the reverse one in reversed time), initial state copy-or-zero
 * ({@link StateRows}), length masking ({@link Lengths}), final-state write-back, and the
 * split of work over threads.
 *
 * <p>Threads (kernels with {@link StepKernels.Geometry#driverThreads()}): the caller and the
 * pool's workers each own a fixed range of unit blocks for the whole call, so a worker's
 * slice of W_hh stays in its core's cache, and meet at a barrier after every step (twice
 * with a projection). With two or more workers the two directions of a bidirectional layer
 * run at once on separate halves of the workers. Work splits never change arithmetic: a
 * backend whose kernels compute each unit alone gives the same bits at any thread count.
 */
final class StepDriver<C> extends Driver<StepDriver<C>.Workspace> {
    private final StepKernels<C> kernels;
    private final StepKernels.Geometry geo;
    private final WorkerPool pool;
    private final int units;     // blocks of unitBlock hidden units
    private final int outParts;  // blocks of projectionBlock output units (projected LSTM)
    private final boolean proj;

    StepDriver(String name, RnnSpec spec, StepKernels<C> kernels, int threads) {
        super(name, spec, kernels, threads);
        this.kernels = kernels;
        this.geo = kernels.geometry();
        this.pool = geo.driverThreads() && threads > 1 ? WorkerPool.acquire(threads) : null;
        this.units = ceilDiv(spec.hiddenSize(), geo.unitBlock());
        this.proj = spec.projSize() > 0;
        this.outParts = proj ? ceilDiv(spec.outputHiddenSize(), geo.projectionBlock()) : 0;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** Part {@code part} of {@code parts} of {@code total} items starts here. */
    private static int lo(int total, int part, int parts) {
        return (int) ((long) total * part / parts);
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
        try {
            w.bind(call);
            kernels.begin();
            try {
                if (pool == null) {
                    w.run(0, 1);
                } else {
                    pool.run(w);
                }
            } finally {
                kernels.end();
            }
        } finally {
            w.call = null; // a pooled workspace pins no caller's arrays
            w.lengths.clear();
        }
    }

    /** One call's buffers, barriers and kernel context; pooled and reused by later calls. */
    final class Workspace implements WorkerPool.Task {
        private final C forward = kernels.newContext();
        private C reverse; // bidirectional only: the directions may run at once
        private final Lengths lengths = new Lengths();
        private final float[][] xp = new float[2][];     // (T*N, xpStride) per direction
        private final float[][] hA = new float[2][];     // (N, hStride) per direction, ping
        private final float[][] hB = new float[2][];     // pong
        private final float[][] c = new float[2][];      // (N, cStride), LSTM
        private final float[][] hFull = new float[2][];  // (N, cStride), projected LSTM: o * tanh(c)
        private final float[][] layerOut = new float[2][]; // (T*N, dirs*H_out), between layers
        private Call call;
        private SpinBarrier all;
        private final SpinBarrier[] group = new SpinBarrier[2];

        void bind(Call a) {
            call = a;
            int rows = Sizes.elements("the call's rows (T x N)", a.seqLen, a.batch);
            int dirs = spec.directions();
            for (int d = 0; d < dirs; d++) {
                xp[d] = grow(xp[d], "the input projection (T x N x gates)", rows, geo.xpStride());
                hA[d] = grow(hA[d], "the hidden state (N x H)", a.batch, geo.hStride());
                hB[d] = grow(hB[d], "the hidden state (N x H)", a.batch, geo.hStride());
                if (spec.mode().hasCellState()) {
                    c[d] = grow(c[d], "the cell state (N x H)", a.batch, geo.cStride());
                }
                if (proj) {
                    hFull[d] = grow(hFull[d], "the unprojected hidden state (N x H)", a.batch, geo.cStride());
                }
            }
            if (spec.numLayers() > 1) {
                int width = dirs * spec.outputHiddenSize();
                layerOut[0] = grow(layerOut[0], "a layer's output (T x N x width)", rows, width);
                layerOut[1] = grow(layerOut[1], "a layer's output (T x N x width)", rows, width);
            }
            kernels.reserve(forward, a.seqLen, a.batch);
            if (dirs == 2) {
                if (reverse == null) {
                    reverse = kernels.newContext();
                }
                kernels.reserve(reverse, a.seqLen, a.batch);
            }
            lengths.plan(a.lengths, a.seqLen, a.batch);
            int n = pool == null ? 1 : pool.size();
            if (all == null || all.isBroken()) {
                all = new SpinBarrier(n);
                group[0] = new SpinBarrier(Math.max(1, n / 2));
                group[1] = new SpinBarrier(Math.max(1, n - n / 2));
            }
        }

        private static float[] grow(float[] a, String what, long rows, long width) {
            int size = Sizes.elements(what, rows, width);
            return a == null || a.length < size ? new float[size] : a;
        }

        private C context(int dir) {
            return dir == 0 ? forward : reverse;
        }

        @Override
        public void abort() {
            all.breakBarrier();
            group[0].breakBarrier();
            group[1].breakBarrier();
        }

        @Override
        public void run(int worker, int workers) {
            SpinBarrier everyone = workers == 1 ? SpinBarrier.NONE : all;
            int dirs = spec.directions();
            int rows = call.seqLen * call.batch;
            float[] in = call.x;
            for (int layer = 0; layer < spec.numLayers(); layer++) {
                float[] out = layer == spec.numLayers() - 1 ? call.y : layerOut[layer % 2];
                int p0 = lo(geo.inputParts(), worker, workers);
                int p1 = lo(geo.inputParts(), worker + 1, workers);
                if (dirs == 2) {
                    kernels.projectBoth(forward, reverse, layer, in, rows, xp[0], xp[1], p0, p1);
                } else {
                    kernels.project(forward, layer, 0, in, rows, xp[0], p0, p1);
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
            final Call a = call;
            final int lw = layer * spec.directions() + dir;
            final int batch = a.batch;
            final int hidden = spec.hiddenSize();
            final int hOut = spec.outputHiddenSize();
            final int width = spec.directions() * hOut;
            final int hStride = geo.hStride();
            final int cStride = geo.cStride();
            // This worker's unit blocks, and its slice [e0, e1) of h: its own units, or with a
            // projection its share of the projection's output blocks.
            final int u0 = lo(units, wi, wn);
            final int u1 = lo(units, wi + 1, wn);
            final int q0 = proj ? lo(outParts, wi, wn) : 0;
            final int q1 = proj ? lo(outParts, wi + 1, wn) : 0;
            final int e0 = proj ? Math.min(q0 * geo.projectionBlock(), hOut) : Math.min(u0 * geo.unitBlock(), hOut);
            final int e1 = proj ? Math.min(q1 * geo.projectionBlock(), hOut) : Math.min(u1 * geo.unitBlock(), hOut);
            final int c0 = Math.min(u0 * geo.unitBlock(), hidden);
            final int c1 = Math.min(u1 * geo.unitBlock(), hidden);
            float[] hCur = hA[dir];
            float[] hNext = hB[dir];
            final float[] cell = c[dir];
            final float[] kernelOut = proj ? hFull[dir] : null;
            StateRows.load(a.h0, lw, 1, batch, null, 0, batch, hOut, e0, e1, hCur, hStride);
            if (cell != null) {
                StateRows.load(a.c0, lw, 1, batch, null, 0, batch, hidden, c0, c1, cell, cStride);
            }
            barrier.await();
            final int[] order = lengths.order();
            final C ctx = context(dir);
            for (int s = 0; s < a.seqLen; s++) {
                int t = dir == 0 ? s : a.seqLen - 1 - s;
                int active = lengths.active(t);
                if (active > 0) { // every worker sees the same count: barriers stay matched
                    kernels.step(ctx, layer, dir, hCur, xp[dir], t * batch, cell, proj ? kernelOut : hNext, batch,
                        order, active, u0, u1);
                    if (proj) {
                        barrier.await(); // every unit of o * tanh(c) is ready
                        kernels.projectHidden(ctx, layer, dir, kernelOut, batch, hNext, q0, q1);
                    }
                }
                for (int i = 0; i < active; i++) {
                    int n = order[i];
                    System.arraycopy(hNext, n * hStride + e0, out, (t * batch + n) * width + dir * hOut + e0, e1 - e0);
                }
                for (int i = active; i < batch; i++) { // ended (forward) or not begun (reverse): state carried
                    int n = order[i];
                    System.arraycopy(hCur, n * hStride + e0, hNext, n * hStride + e0, e1 - e0);
                }
                lengths.zeroInactive(out, t, width, dir * hOut + e0, dir * hOut + e1);
                barrier.await();
                float[] swap = hCur;
                hCur = hNext;
                hNext = swap;
            }
            StateRows.store(hCur, hStride, 1, batch, null, 0, e0, e1, a.hN, lw, batch, hOut);
            if (cell != null && a.cN != null) {
                StateRows.store(cell, cStride, 1, batch, null, 0, c0, c1, a.cN, lw, batch, hidden);
            }
        }
    }
}
