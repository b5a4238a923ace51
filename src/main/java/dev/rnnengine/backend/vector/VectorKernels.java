package dev.rnnengine.backend.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD kernels. Weights live in <em>unit panels</em>: the hidden units are cut into
 * blocks of V (the vector length), and block u of a matrix with G gate blocks is stored as
 * {@code [u][k][g][V]}: for each input column k, the G gates' weights of those V units, side
 * by side. A step is then broadcast(h[k]) times contiguous vectors, with no horizontal sums,
 * and the G gates of V units finish together so the gate math runs on registers.
 * Rows past the hidden size are zero padding, so no kernel needs a mask or a tail on rows.
 */
final class VectorKernels {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length();
    private static final FloatVector ONE = FloatVector.broadcast(S, 1f);

    private VectorKernels() { }

    /** Blocks of V units needed for {@code n} units. */
    static int units(int n) {
        return (n + V - 1) / V;
    }

    /** Packs W {@code (gates*hidden, cols)} row-major into unit panels {@code [u][k][g][V]}. */
    static float[] pack(float[] w, int gates, int hidden, int cols) {
        int nr = gates * V;
        float[] p = new float[units(hidden) * cols * nr];
        for (int g = 0; g < gates; g++) {
            for (int j = 0; j < hidden; j++) {
                int u = j / V;
                int lane = j % V;
                int src = (g * hidden + j) * cols;
                for (int k = 0; k < cols; k++) {
                    p[(u * cols + k) * nr + g * V + lane] = w[src + k];
                }
            }
        }
        return p;
    }

    /** Packs a per-row vector {@code (gates*hidden)} into {@code [u][g][V]}, matching {@link #pack}. */
    static float[] packBias(float[] b, int gates, int hidden) {
        float[] p = new float[units(hidden) * gates * V];
        for (int g = 0; g < gates; g++) {
            for (int j = 0; j < hidden; j++) {
                p[((j / V) * gates + g) * V + j % V] = b[g * hidden + j];
            }
        }
        return p;
    }

    /**
     * {@code out[r][u*nr + c] = bias[u*nr + c] + sum_k x[r][k] * panel[(u*K + k)*nr + c]} for
     * rows {@code r < rows} and unit blocks {@code u0 <= u < u1}; {@code nr} is G*V.
     * Register-blocked: 4 rows x 2 vectors (8 independent FMA chains), then the row and
     * vector tails with the same code at smaller sizes.
     */
    static void gemm(float[] x, int xOff, int ldx, int rows, int cols, float[] panel, int nr, float[] bias,
                     float[] out, int outOff, int ldo, int u0, int u1) {
        for (int u = u0; u < u1; u++) {
            int pu = u * cols * nr;
            int c = 0;
            for (; c + 2 * V <= nr; c += 2 * V) {
                int r = 0;
                for (; r + 4 <= rows; r += 4) {
                    gemm4x2(x, xOff + r * ldx, ldx, cols, panel, pu + c, nr, bias, u * nr + c, out, outOff + r * ldo + u * nr + c, ldo);
                }
                for (; r < rows; r++) {
                    gemm1x2(x, xOff + r * ldx, cols, panel, pu + c, nr, bias, u * nr + c, out, outOff + r * ldo + u * nr + c);
                }
            }
            if (c < nr) { // one vector left (G odd)
                for (int r = 0; r < rows; r++) {
                    gemm1x1(x, xOff + r * ldx, cols, panel, pu + c, nr, bias, u * nr + c, out, outOff + r * ldo + u * nr + c);
                }
            }
        }
    }

    private static FloatVector init(float[] bias, int at) {
        return bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, at);
    }

    private static void gemm4x2(float[] x, int xAt, int ldx, int cols, float[] p, int pAt, int nr, float[] bias, int bAt,
                                float[] out, int oAt, int ldo) {
        FloatVector a00 = init(bias, bAt);
        FloatVector a01 = init(bias, bAt + V);
        FloatVector a10 = a00;
        FloatVector a11 = a01;
        FloatVector a20 = a00;
        FloatVector a21 = a01;
        FloatVector a30 = a00;
        FloatVector a31 = a01;
        for (int k = 0; k < cols; k++) {
            FloatVector w0 = FloatVector.fromArray(S, p, pAt + k * nr);
            FloatVector w1 = FloatVector.fromArray(S, p, pAt + k * nr + V);
            FloatVector x0 = FloatVector.broadcast(S, x[xAt + k]);
            FloatVector x1 = FloatVector.broadcast(S, x[xAt + ldx + k]);
            FloatVector x2 = FloatVector.broadcast(S, x[xAt + 2 * ldx + k]);
            FloatVector x3 = FloatVector.broadcast(S, x[xAt + 3 * ldx + k]);
            a00 = w0.fma(x0, a00);
            a01 = w1.fma(x0, a01);
            a10 = w0.fma(x1, a10);
            a11 = w1.fma(x1, a11);
            a20 = w0.fma(x2, a20);
            a21 = w1.fma(x2, a21);
            a30 = w0.fma(x3, a30);
            a31 = w1.fma(x3, a31);
        }
        a00.intoArray(out, oAt);
        a01.intoArray(out, oAt + V);
        a10.intoArray(out, oAt + ldo);
        a11.intoArray(out, oAt + ldo + V);
        a20.intoArray(out, oAt + 2 * ldo);
        a21.intoArray(out, oAt + 2 * ldo + V);
        a30.intoArray(out, oAt + 3 * ldo);
        a31.intoArray(out, oAt + 3 * ldo + V);
    }

    private static void gemm1x2(float[] x, int xAt, int cols, float[] p, int pAt, int nr, float[] bias, int bAt,
                                float[] out, int oAt) {
        FloatVector a0 = init(bias, bAt);
        FloatVector a1 = init(bias, bAt + V);
        FloatVector b0 = FloatVector.zero(S);
        FloatVector b1 = FloatVector.zero(S);
        int k = 0;
        for (; k + 1 < cols; k += 2) {
            FloatVector x0 = FloatVector.broadcast(S, x[xAt + k]);
            FloatVector x1 = FloatVector.broadcast(S, x[xAt + k + 1]);
            a0 = FloatVector.fromArray(S, p, pAt + k * nr).fma(x0, a0);
            a1 = FloatVector.fromArray(S, p, pAt + k * nr + V).fma(x0, a1);
            b0 = FloatVector.fromArray(S, p, pAt + (k + 1) * nr).fma(x1, b0);
            b1 = FloatVector.fromArray(S, p, pAt + (k + 1) * nr + V).fma(x1, b1);
        }
        if (k < cols) {
            FloatVector x0 = FloatVector.broadcast(S, x[xAt + k]);
            a0 = FloatVector.fromArray(S, p, pAt + k * nr).fma(x0, a0);
            a1 = FloatVector.fromArray(S, p, pAt + k * nr + V).fma(x0, a1);
        }
        a0.add(b0).intoArray(out, oAt);
        a1.add(b1).intoArray(out, oAt + V);
    }

    private static void gemm1x1(float[] x, int xAt, int cols, float[] p, int pAt, int nr, float[] bias, int bAt,
                                float[] out, int oAt) {
        FloatVector a0 = init(bias, bAt);
        FloatVector b0 = FloatVector.zero(S);
        int k = 0;
        for (; k + 1 < cols; k += 2) {
            a0 = FloatVector.fromArray(S, p, pAt + k * nr).fma(FloatVector.broadcast(S, x[xAt + k]), a0);
            b0 = FloatVector.fromArray(S, p, pAt + (k + 1) * nr).fma(FloatVector.broadcast(S, x[xAt + k + 1]), b0);
        }
        if (k < cols) {
            a0 = FloatVector.fromArray(S, p, pAt + k * nr).fma(FloatVector.broadcast(S, x[xAt + k]), a0);
        }
        a0.add(b0).intoArray(out, oAt);
    }

    // ---- one time step of one sequence, unit blocks u0..u1, gate math fused ----

    /**
     * LSTM: gates = xp + W_hh h (xp holds W_ih x + b_ih + b_hh); c' = f*c + i*g; hNew = o*tanh(c').
     * {@code c} and {@code hNew} are padded to whole unit blocks.
     */
    static void lstmStep(float[] w, int cols, float[] h, int hAt, float[] xp, int xpAt,
                         float[] c, int cAt, float[] hNew, int hNewAt, int u0, int u1) {
        final int nr = 4 * V;
        for (int u = u0; u < u1; u++) {
            int pu = u * cols * nr;
            int xu = xpAt + u * nr;
            FloatVector i0 = FloatVector.fromArray(S, xp, xu);
            FloatVector f0 = FloatVector.fromArray(S, xp, xu + V);
            FloatVector g0 = FloatVector.fromArray(S, xp, xu + 2 * V);
            FloatVector o0 = FloatVector.fromArray(S, xp, xu + 3 * V);
            FloatVector i1 = FloatVector.zero(S);
            FloatVector f1 = i1;
            FloatVector g1 = i1;
            FloatVector o1 = i1;
            int k = 0;
            for (; k + 1 < cols; k += 2) {
                int at = pu + k * nr;
                FloatVector h0 = FloatVector.broadcast(S, h[hAt + k]);
                FloatVector h1 = FloatVector.broadcast(S, h[hAt + k + 1]);
                i0 = FloatVector.fromArray(S, w, at).fma(h0, i0);
                f0 = FloatVector.fromArray(S, w, at + V).fma(h0, f0);
                g0 = FloatVector.fromArray(S, w, at + 2 * V).fma(h0, g0);
                o0 = FloatVector.fromArray(S, w, at + 3 * V).fma(h0, o0);
                i1 = FloatVector.fromArray(S, w, at + nr).fma(h1, i1);
                f1 = FloatVector.fromArray(S, w, at + nr + V).fma(h1, f1);
                g1 = FloatVector.fromArray(S, w, at + nr + 2 * V).fma(h1, g1);
                o1 = FloatVector.fromArray(S, w, at + nr + 3 * V).fma(h1, o1);
            }
            if (k < cols) {
                int at = pu + k * nr;
                FloatVector h0 = FloatVector.broadcast(S, h[hAt + k]);
                i0 = FloatVector.fromArray(S, w, at).fma(h0, i0);
                f0 = FloatVector.fromArray(S, w, at + V).fma(h0, f0);
                g0 = FloatVector.fromArray(S, w, at + 2 * V).fma(h0, g0);
                o0 = FloatVector.fromArray(S, w, at + 3 * V).fma(h0, o0);
            }
            FloatVector i = sigmoid(i0.add(i1));
            FloatVector f = sigmoid(f0.add(f1));
            FloatVector g = tanh(g0.add(g1));
            FloatVector o = sigmoid(o0.add(o1));
            FloatVector cNew = i.fma(g, f.mul(FloatVector.fromArray(S, c, cAt + u * V)));
            cNew.intoArray(c, cAt + u * V);
            o.mul(tanh(cNew)).intoArray(hNew, hNewAt + u * V);
        }
    }

    /**
     * GRU: r, z = sigmoid(xp + W_h h); n = tanh(xp_n + r * (W_hn h + b_hn)); h' = (1-z)*n + z*h.
     * xp's n block holds W_in x + b_in only; {@code bhn} is b_hn as {@code [u][V]} (null: none).
     */
    static void gruStep(float[] w, int cols, float[] h, int hAt, float[] xp, int xpAt, float[] bhn,
                        float[] hNew, int hNewAt, int u0, int u1) {
        final int nr = 3 * V;
        for (int u = u0; u < u1; u++) {
            int pu = u * cols * nr;
            int xu = xpAt + u * nr;
            FloatVector r0 = FloatVector.fromArray(S, xp, xu);
            FloatVector z0 = FloatVector.fromArray(S, xp, xu + V);
            FloatVector n0 = bhn == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bhn, u * V);
            FloatVector r1 = FloatVector.zero(S);
            FloatVector z1 = r1;
            FloatVector n1 = r1;
            int k = 0;
            for (; k + 1 < cols; k += 2) {
                int at = pu + k * nr;
                FloatVector h0 = FloatVector.broadcast(S, h[hAt + k]);
                FloatVector h1 = FloatVector.broadcast(S, h[hAt + k + 1]);
                r0 = FloatVector.fromArray(S, w, at).fma(h0, r0);
                z0 = FloatVector.fromArray(S, w, at + V).fma(h0, z0);
                n0 = FloatVector.fromArray(S, w, at + 2 * V).fma(h0, n0);
                r1 = FloatVector.fromArray(S, w, at + nr).fma(h1, r1);
                z1 = FloatVector.fromArray(S, w, at + nr + V).fma(h1, z1);
                n1 = FloatVector.fromArray(S, w, at + nr + 2 * V).fma(h1, n1);
            }
            if (k < cols) {
                int at = pu + k * nr;
                FloatVector h0 = FloatVector.broadcast(S, h[hAt + k]);
                r0 = FloatVector.fromArray(S, w, at).fma(h0, r0);
                z0 = FloatVector.fromArray(S, w, at + V).fma(h0, z0);
                n0 = FloatVector.fromArray(S, w, at + 2 * V).fma(h0, n0);
            }
            FloatVector r = sigmoid(r0.add(r1));
            FloatVector z = sigmoid(z0.add(z1));
            FloatVector n = tanh(r.fma(n0.add(n1), FloatVector.fromArray(S, xp, xu + 2 * V)));
            FloatVector hPrev = FloatVector.fromArray(S, h, hAt + u * V);
            hPrev.sub(n).fma(z, n).intoArray(hNew, hNewAt + u * V); // n + z*(h - n)
        }
    }

    /** Vanilla RNN: h' = act(xp + W_hh h), act tanh or relu. Four FMA chains over k. */
    static void rnnStep(float[] w, int cols, float[] h, int hAt, float[] xp, int xpAt, boolean relu,
                        float[] hNew, int hNewAt, int u0, int u1) {
        for (int u = u0; u < u1; u++) {
            int pu = u * cols * V;
            FloatVector a0 = FloatVector.fromArray(S, xp, xpAt + u * V);
            FloatVector a1 = FloatVector.zero(S);
            FloatVector a2 = a1;
            FloatVector a3 = a1;
            int k = 0;
            for (; k + 3 < cols; k += 4) {
                int at = pu + k * V;
                a0 = FloatVector.fromArray(S, w, at).fma(FloatVector.broadcast(S, h[hAt + k]), a0);
                a1 = FloatVector.fromArray(S, w, at + V).fma(FloatVector.broadcast(S, h[hAt + k + 1]), a1);
                a2 = FloatVector.fromArray(S, w, at + 2 * V).fma(FloatVector.broadcast(S, h[hAt + k + 2]), a2);
                a3 = FloatVector.fromArray(S, w, at + 3 * V).fma(FloatVector.broadcast(S, h[hAt + k + 3]), a3);
            }
            for (; k < cols; k++) {
                a0 = FloatVector.fromArray(S, w, pu + k * V).fma(FloatVector.broadcast(S, h[hAt + k]), a0);
            }
            FloatVector pre = a0.add(a1).add(a2.add(a3));
            (relu ? pre.max(0f) : tanh(pre)).intoArray(hNew, hNewAt + u * V);
        }
    }

    static FloatVector sigmoid(FloatVector v) {
        return ONE.div(v.neg().lanewise(VectorOperators.EXP).add(1f));
    }

    static FloatVector tanh(FloatVector v) {
        return v.lanewise(VectorOperators.TANH);
    }
}
