package dev.rnnengine.backend.openblas;

import dev.rnnengine.api.CellMode;
import dev.rnnengine.api.RnnSpec;
import dev.rnnengine.engine.ForwardArgs;
import dev.rnnengine.engine.GateMath;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.PreparedRnn;
import dev.rnnengine.internal.ffm.OpenBlas;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A model on OpenBLAS. Per layer and direction: the input projection of all T steps as one
 * sgemm onto pre-summed biases; per step, one sgemm of the batch's h against W_hh (PyTorch's
 * own layout; sgemv at batch 1, which streams W_hh in place where sgemm would repack it), then
 * the gate math row by row, then (LSTM with projection) one
 * sgemm against W_hr. OpenBLAS's thread count is process-wide, so calls take one process-wide
 * lock and set it to the model's count: concurrent callers queue instead of oversubscribing.
 */
final class OpenBlasRnn implements PreparedRnn {
    private static final ReentrantLock BLAS = new ReentrantLock();

    private final RnnSpec spec;
    private final OpenBlas blas;
    private final GateMath math;
    private final int threads;
    private final LayerWeights[] w;
    private final float[][] bx;  // per (layer, dir): b_ih + b_hh (GRU n block: b_in), or null
    private final float[][] bhn; // GRU b_hn, or null

    OpenBlasRnn(RnnSpec spec, List<LayerWeights> weights, OpenBlas blas, GateMath math, int threads) {
        this.spec = spec;
        this.blas = blas;
        this.math = math;
        this.threads = threads;
        this.w = weights.toArray(new LayerWeights[0]);
        int h = spec.hiddenSize();
        bx = new float[w.length][];
        bhn = new float[w.length][];
        for (int lw = 0; lw < w.length; lw++) {
            if (w[lw].bIh() == null) {
                continue;
            }
            float[] b = w[lw].bIh().clone();
            for (int i = 0; i < b.length; i++) {
                boolean gruN = spec.mode() == CellMode.GRU && i >= 2 * h; // b_hn stays inside r * (...)
                b[i] += gruN ? 0f : w[lw].bHh()[i];
            }
            bx[lw] = b;
            if (spec.mode() == CellMode.GRU) {
                bhn[lw] = Arrays.copyOfRange(w[lw].bHh(), 2 * h, 3 * h);
            }
        }
    }

    @Override
    public void forward(ForwardArgs a) {
        BLAS.lock();
        try {
            blas.setThreads(threads);
            run(a);
        } finally {
            BLAS.unlock();
        }
    }

    private void run(ForwardArgs a) {
        final int seqLen = a.seqLen;
        final int batch = a.batch;
        final int rows = seqLen * batch;
        final int dirs = spec.directions();
        final int hidden = spec.hiddenSize();
        final int hOut = spec.outputHiddenSize();
        final int gh = spec.gates() * hidden;
        final int outWidth = dirs * hOut;
        final boolean proj = spec.projSize() > 0;
        float[] xp = a.scratch(0, rows * gh);
        float[] hg = a.scratch(1, batch * gh);
        float[] hA = a.scratch(2, batch * hOut);
        float[] hB = a.scratch(3, batch * hOut);
        float[] c = a.scratch(4, batch * hidden);
        float[] hFull = a.scratch(5, batch * hidden);
        float[] in = a.x;
        for (int layer = 0; layer < spec.numLayers(); layer++) {
            int inSize = spec.layerInputSize(layer);
            float[] out = layer == spec.numLayers() - 1 ? a.y : a.scratch(6 + layer % 2, rows * outWidth);
            for (int dir = 0; dir < dirs; dir++) {
                int lw = layer * dirs + dir;
                LayerWeights lwt = w[lw];
                // xp = x W_ih^T + biases, for all T steps at once.
                if (bx[lw] != null) {
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(bx[lw], 0, xp, r * gh, gh);
                    }
                }
                float beta = bx[lw] != null ? 1f : 0f;
                if (rows == 1) { // a streaming step: sgemv, since sgemm would repack W_ih
                    blas.sgemv(gh, inSize, 1f, lwt.wIh(), 0, inSize, in, 0, beta, xp, 0);
                } else {
                    blas.sgemmNT(rows, gh, inSize, 1f, in, 0, inSize, lwt.wIh(), 0, inSize, beta, xp, 0, gh);
                }
                float[] hCur = hA;
                float[] hNext = hB;
                for (int n = 0; n < batch; n++) {
                    int state = lw * batch + n;
                    copyOrZero(a.h0, state * hOut, hCur, n * hOut, hOut);
                    if (spec.mode() == CellMode.LSTM) {
                        copyOrZero(a.c0, state * hidden, c, n * hidden, hidden);
                    }
                }
                for (int s = 0; s < seqLen; s++) {
                    int t = dir == 0 ? s : seqLen - 1 - s;
                    if (batch == 1) {
                        blas.sgemv(gh, hOut, 1f, lwt.wHh(), 0, hOut, hCur, 0, 0f, hg, 0);
                    } else {
                        blas.sgemmNT(batch, gh, hOut, 1f, hCur, 0, hOut, lwt.wHh(), 0, hOut, 0f, hg, 0, gh);
                    }
                    for (int n = 0; n < batch; n++) {
                        if (a.lengths != null && t >= a.lengths[n]) {
                            continue; // ended (forward) or not yet begun (reverse)
                        }
                        int xpAt = (t * batch + n) * gh;
                        switch (spec.mode()) {
                            case LSTM -> math.lstm(xp, xpAt, hg, n * gh, c, n * hidden, proj ? hFull : hNext,
                                n * (proj ? hidden : hOut), hidden);
                            case GRU -> math.gru(xp, xpAt, hg, n * gh, bhn[lw], hCur, n * hOut, hNext, n * hOut, hidden);
                            case RNN_TANH, RNN_RELU -> math.rnn(xp, xpAt, hg, n * gh, spec.mode() == CellMode.RNN_RELU,
                                hNext, n * hOut, hidden);
                        }
                    }
                    if (proj && batch == 1) {
                        blas.sgemv(hOut, hidden, 1f, lwt.wHr(), 0, hidden, hFull, 0, 0f, hNext, 0);
                    } else if (proj) {
                        blas.sgemmNT(batch, hOut, hidden, 1f, hFull, 0, hidden, lwt.wHr(), 0, hidden, 0f, hNext, 0, hOut);
                    }
                    for (int n = 0; n < batch; n++) {
                        int yAt = (t * batch + n) * outWidth + dir * hOut;
                        if (a.lengths != null && t >= a.lengths[n]) {
                            System.arraycopy(hCur, n * hOut, hNext, n * hOut, hOut);
                            Arrays.fill(out, yAt, yAt + hOut, 0f);
                        } else {
                            System.arraycopy(hNext, n * hOut, out, yAt, hOut);
                        }
                    }
                    float[] swap = hCur;
                    hCur = hNext;
                    hNext = swap;
                }
                System.arraycopy(hCur, 0, a.hN, lw * batch * hOut, batch * hOut);
                if (a.cN != null) {
                    System.arraycopy(c, 0, a.cN, lw * batch * hidden, batch * hidden);
                }
            }
            in = out;
        }
    }

    private static void copyOrZero(float[] src, int srcAt, float[] dst, int dstAt, int len) {
        if (src == null) {
            Arrays.fill(dst, dstAt, dstAt + len, 0f);
        } else {
            System.arraycopy(src, srcAt, dst, dstAt, len);
        }
    }
}
