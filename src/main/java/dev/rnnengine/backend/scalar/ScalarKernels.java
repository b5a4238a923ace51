package dev.rnnengine.backend.scalar;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.StepKernels;
import java.util.List;

/**
 * The recurrence as PyTorch's docstrings write it: dot products in double, then the cell's
 * {@link CellMode#reference} equations. Weights stay in PyTorch's layout; one unit is one block.
 * The context is one row of {@code W_hh h} ({@code (G*H)}), whose columns workers share
 * without overlap.
 */
final class ScalarKernels implements StepKernels<float[]> {
    private final CellMode mode;
    private final int hidden;
    private final int hOut;
    private final int gh;    // G*H
    private final int dirs;
    private final LayerWeights[] w;
    private final float[][] bias; // per (layer, dir): b_ih + b_hh by the cell's rule, or null
    private final float[][] bhn;  // GRU's b_hn, or null
    private final int[] inSize;

    ScalarKernels(RnnSpec spec, List<LayerWeights> weights) {
        this.mode = spec.mode();
        this.hidden = spec.hiddenSize();
        this.hOut = spec.outputHiddenSize();
        this.gh = spec.gates() * hidden;
        this.dirs = spec.directions();
        this.w = weights.toArray(new LayerWeights[0]);
        this.bias = new float[w.length][];
        this.bhn = new float[w.length][];
        this.inSize = new int[w.length];
        for (int lw = 0; lw < w.length; lw++) {
            bias[lw] = mode.presummedBias(w[lw].bIh(), w[lw].bHh());
            bhn[lw] = mode.separateRecurrentBias(w[lw].bHh());
            inSize[lw] = spec.layerInputSize(lw / dirs);
        }
    }

    @Override
    public Geometry geometry() {
        return new Geometry(1, 1, gh, gh, hOut, hidden, true);
    }

    @Override
    public float[] newContext() {
        return new float[gh];
    }

    @Override
    public void project(float[] ctx, int layer, int dir, float[] x, int rows, float[] xp, int part0, int part1) {
        int lw = layer * dirs + dir;
        int in = inSize[lw];
        for (int r = 0; r < rows; r++) {
            affine(w[lw].wIh(), bias[lw], x, r * in, in, xp, r * gh, part0, part1); // W_ih x + b
        }
    }

    @Override
    public void step(float[] ghRow, int layer, int dir, float[] h, float[] xp, int xpRow0, float[] c, float[] out,
                     int batch, int[] rows, int n, int u0, int u1) {
        int lw = layer * dirs + dir;
        boolean proj = w[lw].wHr() != null;
        for (int i = 0; i < n; i++) {
            int r = rows[i];
            for (int g = 0; g < gh / hidden; g++) {
                affine(w[lw].wHh(), null, h, r * hOut, hOut, ghRow, 0, g * hidden + u0, g * hidden + u1); // W_hh h
            }
            mode.reference(xp, (xpRow0 + r) * gh, ghRow, 0, bhn[lw], h, r * hOut, c, r * hidden,
                out, r * (proj ? hidden : hOut), hidden, u0, u1);
        }
    }

    @Override
    public void projectHidden(float[] ctx, int layer, int dir, float[] hFull, int batch, float[] h, int p0, int p1) {
        float[] wHr = w[layer * dirs + dir].wHr();
        for (int r = 0; r < batch; r++) {
            affine(wHr, null, hFull, r * hidden, hidden, h, r * hOut, p0, p1); // h = W_hr (o * tanh(c))
        }
    }

    /** {@code out[outAt + j] = b[j] + W[j, :] . v[vAt : vAt+cols]} for {@code from <= j < to}, in double. */
    private static void affine(float[] wt, float[] b, float[] v, int vAt, int cols, float[] out, int outAt,
                               int from, int to) {
        for (int j = from; j < to; j++) {
            double acc = b == null ? 0 : b[j];
            int rowAt = j * cols;
            for (int k = 0; k < cols; k++) {
                acc += (double) wt[rowAt + k] * v[vAt + k];
            }
            out[outAt + j] = (float) acc;
        }
    }
}
