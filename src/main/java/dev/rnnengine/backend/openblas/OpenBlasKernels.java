package dev.rnnengine.backend.openblas;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.engine.GateMath;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.StepKernels;
import dev.rnnengine.internal.Sizes;
import dev.rnnengine.internal.ffm.OpenBlas;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Kernels on OpenBLAS: the input projection of all rows as one sgemm onto pre-summed biases;
 * a step as one sgemm of the batch's h against W_hh in PyTorch's own layout (sgemv at batch 1,
 * which streams W_hh in place where sgemm would repack it), then the gate math row by row;
 * an LSTM's projection as one sgemm against W_hr. OpenBLAS threads internally and its thread
 * count is process-wide, so a call holds one process-wide lock and sets the model's count:
 * concurrent callers queue instead of oversubscribing.
 */
final class OpenBlasKernels implements StepKernels<OpenBlasKernels.Scratch> {
    private static final ReentrantLock BLAS = new ReentrantLock();

    private final CellMode mode;
    private final OpenBlas blas;
    private final GateMath math;
    private final int threads;
    private final int hidden;
    private final int hOut;
    private final int gh;
    private final int dirs;
    private final LayerWeights[] w;
    private final int[] inSize;
    private final float[][] bias; // b_ih + b_hh by the cell's rule, or null
    private final float[][] bhn;  // GRU b_hn, or null
    private final MemorySegment[] wIh; // the weights as heap segments, made once: a downcall allocates nothing
    private final MemorySegment[] wHh;
    private final MemorySegment[] wHr;

    /**
     * A call's W_hh h for every row {@code (N, G*H)}, and the segments of the driver's arrays
     * it has seen (its buffers are the same from call to call), so no downcall wraps an array anew.
     */
    static final class Scratch {
        float[] hg = new float[0];
        float[] xRow = new float[0]; // a streaming step's input, copied: the caller's array is not kept
        private final float[][] arrays = new float[8][];
        private final MemorySegment[] segments = new MemorySegment[8];
        private int next;

        MemorySegment of(float[] a) {
            for (int i = 0; i < arrays.length; i++) {
                if (arrays[i] == a) {
                    return segments[i];
                }
            }
            int i = next;
            next = (next + 1) % arrays.length;
            arrays[i] = a;
            segments[i] = MemorySegment.ofArray(a);
            return segments[i];
        }
    }

    OpenBlasKernels(RnnSpec spec, List<LayerWeights> weights, OpenBlas blas, GateMath math, int threads) {
        this.mode = spec.mode();
        this.blas = blas;
        this.math = math;
        this.threads = threads;
        this.hidden = spec.hiddenSize();
        this.hOut = spec.outputHiddenSize();
        this.gh = spec.gates() * hidden;
        this.dirs = spec.directions();
        this.w = weights.toArray(new LayerWeights[0]);
        this.inSize = new int[w.length];
        this.bias = new float[w.length][];
        this.bhn = new float[w.length][];
        this.wIh = new MemorySegment[w.length];
        this.wHh = new MemorySegment[w.length];
        this.wHr = new MemorySegment[w.length];
        for (int lw = 0; lw < w.length; lw++) {
            wIh[lw] = MemorySegment.ofArray(w[lw].wIh());
            wHh[lw] = MemorySegment.ofArray(w[lw].wHh());
            wHr[lw] = w[lw].wHr() == null ? null : MemorySegment.ofArray(w[lw].wHr());
            inSize[lw] = spec.layerInputSize(lw / dirs);
            bias[lw] = mode.presummedBias(w[lw].bIh(), w[lw].bHh());
            bhn[lw] = mode.separateRecurrentBias(w[lw].bHh());
        }
    }

    @Override
    public Geometry geometry() {
        return new Geometry(hidden, hOut, 1, gh, hOut, hidden, false);
    }

    @Override
    public Scratch newContext() {
        return new Scratch();
    }

    @Override
    public void reserve(Scratch s, int seqLen, int batch) {
        int size = Sizes.elements("W_hh h for the batch (N x gates)", batch, gh);
        if (s.hg.length < size) {
            s.hg = new float[size];
        }
    }

    @Override
    public void begin() {
        BLAS.lock();
        try {
            blas.setThreads(threads);
        } catch (RuntimeException | Error e) {
            BLAS.unlock();
            throw e;
        }
    }

    @Override
    public void end() {
        BLAS.unlock();
    }

    @Override
    public void project(Scratch s, int layer, int dir, float[] x, int rows, float[] xp, int part0, int part1) {
        if (part0 >= part1) {
            return;
        }
        int lw = layer * dirs + dir;
        int in = inSize[lw];
        float[] b = bias[lw];
        if (b != null) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(b, 0, xp, r * gh, gh);
            }
        }
        float beta = b != null ? 1f : 0f;
        if (rows == 1) { // a streaming step: sgemv, since sgemm would repack W_ih
            if (s.xRow.length < in) {
                s.xRow = new float[in];
            }
            System.arraycopy(x, 0, s.xRow, 0, in);
            blas.sgemv(gh, in, 1f, wIh[lw], in, s.of(s.xRow), beta, s.of(xp));
        } else {
            // The caller's input is wrapped, not cached (a pooled scratch pins no caller's array):
            // one small object per call of a whole sequence, which allocates its result anyway.
            MemorySegment xs = layer == 0 ? MemorySegment.ofArray(x) : s.of(x);
            blas.sgemmNT(rows, gh, in, 1f, xs, in, wIh[lw], in, beta, s.of(xp), gh);
        }
    }

    @Override
    public void step(Scratch s, int layer, int dir, float[] h, float[] xp, int xpRow0, float[] c, float[] out,
                     int batch, int[] rows, int n, int u0, int u1) {
        int lw = layer * dirs + dir;
        float[] hg = s.hg;
        if (batch == 1) {
            blas.sgemv(gh, hOut, 1f, wHh[lw], hOut, s.of(h), 0f, s.of(hg));
        } else {
            blas.sgemmNT(batch, gh, hOut, 1f, s.of(h), hOut, wHh[lw], hOut, 0f, s.of(hg), gh);
        }
        int outWidth = w[lw].wHr() != null ? hidden : hOut;
        for (int i = 0; i < n; i++) {
            int r = rows[i];
            math.apply(mode, xp, (xpRow0 + r) * gh, hg, r * gh, bhn[lw], h, r * hOut, c, r * hidden,
                out, r * outWidth, hidden);
        }
    }

    @Override
    public void projectHidden(Scratch s, int layer, int dir, float[] hFull, int batch, float[] h, int p0, int p1) {
        if (p0 >= p1) {
            return; // one part: the whole projection, or nothing
        }
        MemorySegment r = wHr[layer * dirs + dir];
        if (batch == 1) {
            blas.sgemv(hOut, hidden, 1f, r, hidden, s.of(hFull), 0f, s.of(h));
        } else {
            blas.sgemmNT(batch, hOut, hidden, 1f, s.of(hFull), hidden, r, hidden, 0f, s.of(h), hOut);
        }
    }
}
