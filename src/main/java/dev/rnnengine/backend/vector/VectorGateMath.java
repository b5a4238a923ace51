package dev.rnnengine.backend.vector;

import static dev.rnnengine.backend.vector.VectorKernels.S;
import static dev.rnnengine.backend.vector.VectorKernels.V;
import static dev.rnnengine.backend.vector.VectorKernels.activate;

import dev.rnnengine.engine.GateMath;
import dev.rnnengine.engine.ScalarGateMath;
import jdk.incubator.vector.FloatVector;

/**
 * {@link GateMath} with the Vector API: whole vectors, then the scalar code as the tail.
 * Pre-activations are written back into {@code gh} (scratch, recomputed every step) and
 * {@link VectorKernels#activate} runs over them in place.
 */
public final class VectorGateMath implements GateMath {
    /** Created by {@link GateMath#best()} once the vector backend is known to run. */
    public VectorGateMath() { }

    @Override
    public void lstm(float[] xp, int xpAt, float[] gh, int ghAt, float[] c, int cAt, float[] h, int hAt, int hidden) {
        int body = hidden - hidden % V;
        for (int g = 0; g < 4; g++) {
            add(xp, xpAt + g * hidden, gh, ghAt + g * hidden, body);
        }
        activate(gh, ghAt, body / V, 1, 1, 0);
        activate(gh, ghAt + hidden, body / V, 1, 1, 0);
        activate(gh, ghAt + 2 * hidden, body / V, 1, 0, 1);
        activate(gh, ghAt + 3 * hidden, body / V, 1, 1, 0);
        int gAt = ghAt + 2 * hidden;
        for (int j = 0; j < body; j += V) {
            FloatVector i = FloatVector.fromArray(S, gh, ghAt + j);
            FloatVector f = FloatVector.fromArray(S, gh, ghAt + hidden + j);
            FloatVector g = FloatVector.fromArray(S, gh, gAt + j);
            FloatVector cNew = i.fma(g, f.mul(FloatVector.fromArray(S, c, cAt + j)));
            cNew.intoArray(c, cAt + j);
            cNew.intoArray(gh, gAt + j);
        }
        activate(gh, gAt, body / V, 1, 0, 1);
        for (int j = 0; j < body; j += V) {
            FloatVector o = FloatVector.fromArray(S, gh, ghAt + 3 * hidden + j);
            o.mul(FloatVector.fromArray(S, gh, gAt + j)).intoArray(h, hAt + j);
        }
        ScalarGateMath.lstmRange(xp, xpAt, gh, ghAt, c, cAt, h, hAt, hidden, body, hidden);
    }

    @Override
    public void gru(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
                    float[] h, int hAt, int hidden) {
        int body = hidden - hidden % V;
        add(xp, xpAt, gh, ghAt, body);
        add(xp, xpAt + hidden, gh, ghAt + hidden, body);
        activate(gh, ghAt, body / V, 1, 1, 0);
        activate(gh, ghAt + hidden, body / V, 1, 1, 0);
        int nAt = ghAt + 2 * hidden;
        for (int j = 0; j < body; j += V) {
            FloatVector hn = FloatVector.fromArray(S, gh, nAt + j);
            if (bhn != null) {
                hn = hn.add(FloatVector.fromArray(S, bhn, j));
            }
            FloatVector r = FloatVector.fromArray(S, gh, ghAt + j);
            r.fma(hn, FloatVector.fromArray(S, xp, xpAt + 2 * hidden + j)).intoArray(gh, nAt + j);
        }
        activate(gh, nAt, body / V, 1, 0, 1);
        for (int j = 0; j < body; j += V) {
            FloatVector n = FloatVector.fromArray(S, gh, nAt + j);
            FloatVector z = FloatVector.fromArray(S, gh, ghAt + hidden + j);
            FloatVector.fromArray(S, hPrev, hPrevAt + j).sub(n).fma(z, n).intoArray(h, hAt + j); // n + z*(hPrev - n)
        }
        ScalarGateMath.gruRange(xp, xpAt, gh, ghAt, bhn, hPrev, hPrevAt, h, hAt, hidden, body, hidden);
    }

    @Override
    public void rnn(float[] xp, int xpAt, float[] gh, int ghAt, boolean relu, float[] h, int hAt, int hidden) {
        int body = hidden - hidden % V;
        for (int j = 0; j < body; j += V) {
            FloatVector pre = FloatVector.fromArray(S, xp, xpAt + j).add(FloatVector.fromArray(S, gh, ghAt + j));
            (relu ? pre.max(0f) : pre).intoArray(h, hAt + j);
        }
        if (!relu) {
            activate(h, hAt, body / V, 1, 0, 1);
        }
        ScalarGateMath.rnnRange(xp, xpAt, gh, ghAt, relu, h, hAt, body, hidden);
    }

    /** {@code gh[ghAt + j] += xp[xpAt + j]} for j below body. */
    private static void add(float[] xp, int xpAt, float[] gh, int ghAt, int body) {
        for (int j = 0; j < body; j += V) {
            FloatVector.fromArray(S, xp, xpAt + j).add(FloatVector.fromArray(S, gh, ghAt + j)).intoArray(gh, ghAt + j);
        }
    }
}
