package dev.rnnengine;

import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.Map;

/**
 * PyTorch's {@code nn.RNN/LSTM/GRU} forward (time-major), transcribed from the modules'
 * docstrings in double precision with no engine code: the independent check of every backend
 * and of the engine's own reference equations ({@link CellMode#reference}), which a shared
 * mistake would otherwise carry into every backend compared with them.
 */
public final class Reference {
    private Reference() { }

    /**
     * @param x       {@code (T, N, D)}
     * @param h0      {@code (L*dirs, N, H_out)} or null
     * @param c0      {@code (L*dirs, N, H)} or null
     * @param lengths per sequence, or null
     */
    public static RnnOutput forward(RnnSpec spec, Map<String, Tensor> sd, Tensor x, Tensor h0, Tensor c0, int[] lengths) {
        int seqLen = x.size(0);
        int batch = x.size(1);
        int dirs = spec.directions();
        int hidden = spec.hiddenSize();
        int hOut = spec.outputHiddenSize();
        int states = spec.numLayers() * dirs;
        double[] in = toDouble(x);
        float[] hN = new float[states * batch * hOut];
        float[] cN = spec.mode() == CellMode.LSTM ? new float[states * batch * hidden] : null;
        double[] out = null;
        for (int l = 0; l < spec.numLayers(); l++) {
            int inSize = spec.layerInputSize(l);
            out = new double[seqLen * batch * dirs * hOut];
            for (int d = 0; d < dirs; d++) {
                double[] wih = param(sd, "weight_ih", l, d);
                double[] whh = param(sd, "weight_hh", l, d);
                double[] bih = spec.bias() ? param(sd, "bias_ih", l, d) : null;
                double[] bhh = spec.bias() ? param(sd, "bias_hh", l, d) : null;
                double[] whr = spec.projSize() > 0 ? param(sd, "weight_hr", l, d) : null;
                int s = l * dirs + d;
                for (int n = 0; n < batch; n++) {
                    double[] h = new double[hOut];
                    double[] c = new double[hidden];
                    for (int j = 0; j < hOut; j++) {
                        h[j] = h0 == null ? 0 : h0.get((s * batch + n) * hOut + j);
                    }
                    for (int j = 0; j < hidden && c0 != null; j++) {
                        c[j] = c0.get((s * batch + n) * hidden + j);
                    }
                    int len = lengths == null ? seqLen : lengths[n];
                    for (int step = 0; step < len; step++) {
                        int t = d == 0 ? step : len - 1 - step;
                        double[] gi = affine(wih, bih, in, (t * batch + n) * inSize, inSize);
                        double[] gh = affine(whh, bhh, h, 0, hOut);
                        h = cell(spec.mode(), gi, gh, h, c, hidden, whr);
                        System.arraycopy(h, 0, out, (t * batch + n) * dirs * hOut + d * hOut, hOut);
                    }
                    for (int j = 0; j < hOut; j++) {
                        hN[(s * batch + n) * hOut + j] = (float) h[j];
                    }
                    for (int j = 0; j < hidden && cN != null; j++) {
                        cN[(s * batch + n) * hidden + j] = (float) c[j];
                    }
                }
            }
            in = out;
        }
        float[] y = new float[out.length];
        for (int i = 0; i < y.length; i++) {
            y[i] = (float) out[i];
        }
        return new RnnOutput(Tensor.of(y, seqLen, batch, dirs * hOut), Tensor.of(hN, states, batch, hOut),
            cN == null ? null : Tensor.of(cN, states, batch, hidden));
    }

    /** One step from gi = W_ih x + b_ih and gh = W_hh h + b_hh; updates c; returns the new h. */
    private static double[] cell(CellMode mode, double[] gi, double[] gh, double[] h, double[] c, int hidden, double[] whr) {
        double[] hNew = new double[hidden];
        for (int j = 0; j < hidden; j++) {
            switch (mode) {
                case RNN_TANH -> hNew[j] = Math.tanh(gi[j] + gh[j]);
                case RNN_RELU -> hNew[j] = Math.max(0, gi[j] + gh[j]);
                case LSTM -> {
                    double i = sigmoid(gi[j] + gh[j]);
                    double f = sigmoid(gi[hidden + j] + gh[hidden + j]);
                    double g = Math.tanh(gi[2 * hidden + j] + gh[2 * hidden + j]);
                    double o = sigmoid(gi[3 * hidden + j] + gh[3 * hidden + j]);
                    c[j] = f * c[j] + i * g;
                    hNew[j] = o * Math.tanh(c[j]);
                }
                case GRU -> {
                    double r = sigmoid(gi[j] + gh[j]);
                    double z = sigmoid(gi[hidden + j] + gh[hidden + j]);
                    double n = Math.tanh(gi[2 * hidden + j] + r * gh[2 * hidden + j]);
                    hNew[j] = (1 - z) * n + z * h[j];
                }
            }
        }
        return whr == null ? hNew : affine(whr, null, hNew, 0, hidden);
    }

    private static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    private static double[] affine(double[] w, double[] b, double[] v, int at, int cols) {
        int rows = w.length / cols;
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double acc = b == null ? 0 : b[r];
            for (int k = 0; k < cols; k++) {
                acc += w[r * cols + k] * v[at + k];
            }
            out[r] = acc;
        }
        return out;
    }

    private static double[] param(Map<String, Tensor> sd, String base, int layer, int dir) {
        return toDouble(sd.get(base + "_l" + layer + (dir == 1 ? "_reverse" : "")));
    }

    private static double[] toDouble(Tensor t) {
        double[] d = new double[t.numel()];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.get(i);
        }
        return d;
    }
}
