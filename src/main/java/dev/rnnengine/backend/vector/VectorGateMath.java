package dev.rnnengine.backend.vector;

import static dev.rnnengine.backend.vector.VectorKernels.S;
import static dev.rnnengine.backend.vector.VectorKernels.V;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.engine.GateMath;
import jdk.incubator.vector.FloatVector;

/**
 * {@link GateMath} with the Vector API, for PyTorch's {@code [g][H]} layout (OpenBLAS's
 * products): the pre-activations are formed in {@code gh}, then the vector backend's own
 * {@code lstmFinish}/{@code gruFinish} run over them with PyTorch's strides; the units past
 * the last whole vector go to {@link CellMode#reference}.
 */
public final class VectorGateMath implements GateMath {
    /** Created by {@link GateMath#best()} once the vector backend is known to run. */
    public VectorGateMath() { }

    @Override
    public void apply(CellMode mode, float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev,
                      int hPrevAt, float[] c, int cAt, float[] h, int hAt, int hidden) {
        int blocks = hidden / V;
        int body = blocks * V;
        switch (mode) {
            case LSTM -> {
                for (int g = 0; g < 4; g++) {
                    add(xp, xpAt + g * hidden, gh, ghAt + g * hidden, body);
                }
                VectorKernels.lstmFinish(gh, ghAt, V, hidden, c, cAt, h, hAt, 0, blocks);
            }
            case GRU -> {
                add(xp, xpAt, gh, ghAt, body);
                add(xp, xpAt + hidden, gh, ghAt + hidden, body);
                int nAt = ghAt + 2 * hidden;
                for (int j = 0; j < body; j += V) {
                    FloatVector hn = FloatVector.fromArray(S, gh, nAt + j);
                    if (bhn != null) {
                        hn = hn.add(FloatVector.fromArray(S, bhn, j));
                    }
                    hn.intoArray(h, hAt + j); // W_hn h + b_hn, parked in h as the step kernels do
                    FloatVector.fromArray(S, xp, xpAt + 2 * hidden + j).intoArray(gh, nAt + j);
                }
                VectorKernels.gruFinish(gh, ghAt, V, hidden, hPrev, hPrevAt, h, hAt, 0, blocks);
            }
            case RNN_TANH, RNN_RELU -> {
                boolean relu = mode == CellMode.RNN_RELU;
                for (int j = 0; j < body; j += V) {
                    FloatVector pre = FloatVector.fromArray(S, xp, xpAt + j).add(FloatVector.fromArray(S, gh, ghAt + j));
                    (relu ? pre.max(0f) : pre).intoArray(h, hAt + j);
                }
                if (!relu) {
                    VectorKernels.activate(h, hAt, blocks, V, 1, 0, 0, 1);
                }
            }
        }
        mode.reference(xp, xpAt, gh, ghAt, bhn, hPrev, hPrevAt, c, cAt, h, hAt, hidden, body, hidden);
    }

    /** {@code gh[ghAt + j] += xp[xpAt + j]} for j below body. */
    private static void add(float[] xp, int xpAt, float[] gh, int ghAt, int body) {
        for (int j = 0; j < body; j += V) {
            FloatVector.fromArray(S, xp, xpAt + j).add(FloatVector.fromArray(S, gh, ghAt + j)).intoArray(gh, ghAt + j);
        }
    }
}
