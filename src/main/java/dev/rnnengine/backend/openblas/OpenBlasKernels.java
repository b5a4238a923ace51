package dev.rnnengine.backend.openblas;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.engine.GateMath;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.StepKernels;
import dev.rnnengine.internal.Sizes;
import dev.rnnengine.internal.ffm.OpenBlas;
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

    /** A call's W_hh h for every row {@code (N, G*H)}. */
    static final class Scratch {
        float[] hg = new float[0];
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
        for (int lw = 0; lw < w.length; lw++) {
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
            blas.sgemv(gh, in, 1f, w[lw].wIh(), 0, in, x, 0, beta, xp, 0);
        } else {
            blas.sgemmNT(rows, gh, in, 1f, x, 0, in, w[lw].wIh(), 0, in, beta, xp, 0, gh);
        }
    }

    @Override
    public void step(Scratch s, int layer, int dir, float[] h, float[] xp, int xpRow0, float[] c, float[] out,
                     int batch, int[] rows, int n, int u0, int u1) {
        int lw = layer * dirs + dir;
        float[] hg = s.hg;
        if (batch == 1) {
            blas.sgemv(gh, hOut, 1f, w[lw].wHh(), 0, hOut, h, 0, 0f, hg, 0);
        } else {
            blas.sgemmNT(batch, gh, hOut, 1f, h, 0, hOut, w[lw].wHh(), 0, hOut, 0f, hg, 0, gh);
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
        float[] wHr = w[layer * dirs + dir].wHr();
        if (batch == 1) {
            blas.sgemv(hOut, hidden, 1f, wHr, 0, hidden, hFull, 0, 0f, h, 0);
        } else {
            blas.sgemmNT(batch, hOut, hidden, 1f, hFull, 0, hidden, wHr, 0, hidden, 0f, h, 0, hOut);
        }
    }
}
