package dev.rnnengine.backend.vector;

import static dev.rnnengine.backend.vector.VectorKernels.S;
import static dev.rnnengine.backend.vector.VectorKernels.V;
import static dev.rnnengine.backend.vector.VectorKernels.sigmoid;
import static dev.rnnengine.backend.vector.VectorKernels.tanh;

import dev.rnnengine.engine.GateMath;
import dev.rnnengine.engine.ScalarGateMath;
import jdk.incubator.vector.FloatVector;

/** {@link GateMath} with the Vector API: whole vectors, then the scalar code as the tail. */
public final class VectorGateMath implements GateMath {
    /** Created by {@link GateMath#best()} once the vector backend is known to run. */
    public VectorGateMath() { }

    @Override
    public void lstm(float[] xp, int xpAt, float[] gh, int ghAt, float[] c, int cAt, float[] h, int hAt, int hidden) {
        int body = hidden - hidden % V;
        for (int j = 0; j < body; j += V) {
            FloatVector i = sigmoid(load(xp, xpAt + j).add(load(gh, ghAt + j)));
            FloatVector f = sigmoid(load(xp, xpAt + hidden + j).add(load(gh, ghAt + hidden + j)));
            FloatVector g = tanh(load(xp, xpAt + 2 * hidden + j).add(load(gh, ghAt + 2 * hidden + j)));
            FloatVector o = sigmoid(load(xp, xpAt + 3 * hidden + j).add(load(gh, ghAt + 3 * hidden + j)));
            FloatVector cNew = i.fma(g, f.mul(load(c, cAt + j)));
            cNew.intoArray(c, cAt + j);
            o.mul(tanh(cNew)).intoArray(h, hAt + j);
        }
        ScalarGateMath.lstmRange(xp, xpAt, gh, ghAt, c, cAt, h, hAt, hidden, body, hidden);
    }

    @Override
    public void gru(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
                    float[] h, int hAt, int hidden) {
        int body = hidden - hidden % V;
        for (int j = 0; j < body; j += V) {
            FloatVector r = sigmoid(load(xp, xpAt + j).add(load(gh, ghAt + j)));
            FloatVector z = sigmoid(load(xp, xpAt + hidden + j).add(load(gh, ghAt + hidden + j)));
            FloatVector hn = load(gh, ghAt + 2 * hidden + j);
            if (bhn != null) {
                hn = hn.add(load(bhn, j));
            }
            FloatVector n = tanh(r.fma(hn, load(xp, xpAt + 2 * hidden + j)));
            load(hPrev, hPrevAt + j).sub(n).fma(z, n).intoArray(h, hAt + j);
        }
        ScalarGateMath.gruRange(xp, xpAt, gh, ghAt, bhn, hPrev, hPrevAt, h, hAt, hidden, body, hidden);
    }

    @Override
    public void rnn(float[] xp, int xpAt, float[] gh, int ghAt, boolean relu, float[] h, int hAt, int hidden) {
        int body = hidden - hidden % V;
        for (int j = 0; j < body; j += V) {
            FloatVector pre = load(xp, xpAt + j).add(load(gh, ghAt + j));
            (relu ? pre.max(0f) : tanh(pre)).intoArray(h, hAt + j);
        }
        ScalarGateMath.rnnRange(xp, xpAt, gh, ghAt, relu, h, hAt, body, hidden);
    }

    private static FloatVector load(float[] a, int at) {
        return FloatVector.fromArray(S, a, at);
    }
}
