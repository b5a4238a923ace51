package dev.rnnengine.backend.scalar;

import dev.rnnengine.api.CellMode;
import dev.rnnengine.api.RnnSpec;
import dev.rnnengine.engine.ForwardArgs;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.PreparedRnn;
import java.util.Arrays;
import java.util.List;

/**
 * The recurrence as PyTorch's docstrings write it, one sequence at a time. Dot products
 * accumulate in double so this stays the closest backend to PyTorch's float64 reference.
 */
final class ScalarRnn implements PreparedRnn {
    // Scratch slots of ForwardArgs.
    private static final int LAYER_OUT_A = 0;
    private static final int LAYER_OUT_B = 1;
    private static final int H = 2;
    private static final int C = 3;
    private static final int GATES_X = 4;
    private static final int GATES_H = 5;
    private static final int H_FULL = 6;

    private final RnnSpec spec;
    private final LayerWeights[] weights;

    ScalarRnn(RnnSpec spec, List<LayerWeights> weights) {
        this.spec = spec;
        this.weights = weights.toArray(new LayerWeights[0]);
    }

    @Override
    public void forward(ForwardArgs a) {
        final int seqLen = a.seqLen;
        final int batch = a.batch;
        final int dirs = spec.directions();
        final int hidden = spec.hiddenSize();
        final int hOut = spec.outputHiddenSize();
        final int gh = spec.gates() * hidden;
        final int outWidth = dirs * hOut;
        float[] h = a.scratch(H, hOut);
        float[] c = a.scratch(C, hidden);
        float[] gx = a.scratch(GATES_X, gh);
        float[] gHid = a.scratch(GATES_H, gh);
        float[] hFull = a.scratch(H_FULL, hidden);

        float[] in = a.x;
        for (int layer = 0; layer < spec.numLayers(); layer++) {
            int inSize = spec.layerInputSize(layer);
            boolean last = layer == spec.numLayers() - 1;
            float[] out = last ? a.y : a.scratch(layer % 2 == 0 ? LAYER_OUT_A : LAYER_OUT_B, seqLen * batch * outWidth);
            for (int dir = 0; dir < dirs; dir++) {
                LayerWeights w = weights[layer * dirs + dir];
                int state = layer * dirs + dir;
                for (int b = 0; b < batch; b++) {
                    int len = a.lengths == null ? seqLen : a.lengths[b];
                    int hAt = (state * batch + b) * hOut;
                    int cAt = (state * batch + b) * hidden;
                    if (a.h0 != null) {
                        System.arraycopy(a.h0, hAt, h, 0, hOut);
                    } else {
                        Arrays.fill(h, 0, hOut, 0f);
                    }
                    if (a.c0 != null) {
                        System.arraycopy(a.c0, cAt, c, 0, hidden);
                    } else {
                        Arrays.fill(c, 0, hidden, 0f);
                    }
                    for (int s = 0; s < len; s++) {
                        int t = dir == 0 ? s : len - 1 - s; // the reverse pass starts at this sequence's last step
                        int xAt = (t * batch + b) * inSize;
                        affine(w.wIh(), w.bIh(), in, xAt, inSize, gx, gh);
                        affine(w.wHh(), w.bHh(), h, 0, hOut, gHid, gh);
                        cell(w, gx, gHid, h, c, hFull, hidden);
                        System.arraycopy(h, 0, out, (t * batch + b) * outWidth + dir * hOut, hOut);
                    }
                    for (int t = len; t < seqLen; t++) {
                        Arrays.fill(out, (t * batch + b) * outWidth + dir * hOut, (t * batch + b) * outWidth + (dir + 1) * hOut, 0f);
                    }
                    System.arraycopy(h, 0, a.hN, hAt, hOut);
                    if (a.cN != null) {
                        System.arraycopy(c, 0, a.cN, cAt, hidden);
                    }
                }
            }
            in = out;
        }
    }

    /** Applies one cell given gx = W_ih x + b_ih and gHid = W_hh h + b_hh; updates h (and c). */
    private void cell(LayerWeights w, float[] gx, float[] gHid, float[] h, float[] c, float[] hFull, int hidden) {
        CellMode mode = spec.mode();
        switch (mode) {
            case RNN_TANH -> {
                for (int j = 0; j < hidden; j++) {
                    h[j] = (float) Math.tanh(gx[j] + gHid[j]);
                }
            }
            case RNN_RELU -> {
                for (int j = 0; j < hidden; j++) {
                    h[j] = Math.max(0f, gx[j] + gHid[j]);
                }
            }
            case LSTM -> {
                for (int j = 0; j < hidden; j++) {
                    double i = sigmoid(gx[j] + gHid[j]);
                    double f = sigmoid(gx[hidden + j] + gHid[hidden + j]);
                    double g = Math.tanh(gx[2 * hidden + j] + gHid[2 * hidden + j]);
                    double o = sigmoid(gx[3 * hidden + j] + gHid[3 * hidden + j]);
                    double cNew = f * c[j] + i * g;
                    c[j] = (float) cNew;
                    hFull[j] = (float) (o * Math.tanh(cNew));
                }
                if (w.wHr() == null) {
                    System.arraycopy(hFull, 0, h, 0, hidden);
                } else {
                    affine(w.wHr(), null, hFull, 0, hidden, h, spec.projSize()); // h = W_hr (o * tanh(c))
                }
            }
            case GRU -> {
                for (int j = 0; j < hidden; j++) {
                    double r = sigmoid(gx[j] + gHid[j]);
                    double z = sigmoid(gx[hidden + j] + gHid[hidden + j]);
                    double n = Math.tanh(gx[2 * hidden + j] + r * gHid[2 * hidden + j]);
                    h[j] = (float) ((1 - z) * n + z * h[j]);
                }
            }
        }
    }

    /** out[r] = W[r, :] . v[vAt : vAt+cols] + b[r] for r < rows, W row-major (rows, cols). */
    private static void affine(float[] w, float[] b, float[] v, int vAt, int cols, float[] out, int rows) {
        for (int r = 0; r < rows; r++) {
            double acc = b == null ? 0 : b[r];
            int rowAt = r * cols;
            for (int k = 0; k < cols; k++) {
                acc += (double) w[rowAt + k] * v[vAt + k];
            }
            out[r] = (float) acc;
        }
    }

    private static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }
}
