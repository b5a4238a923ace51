package dev.rnnengine.core;

import java.util.List;

/**
 * The recurrent cell, named as PyTorch's {@code mode} (cuDNN's names), and everything the
 * engine knows about it, in one place: gate count and names, whether it has a cell state,
 * the bias pre-summing rule, the gate orders of ONNX and oneDNN, PyTorch's parameter names,
 * and the reference equations every backend is checked against.
 */
public enum CellMode {
    /** {@code torch.nn.RNN(nonlinearity='tanh')}: h' = tanh(W_ih x + b_ih + W_hh h + b_hh). */
    RNN_TANH("RNN", List.of("h"), new int[] {0}, new int[] {0}) {
        @Override
        public void reference(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
                              float[] c, int cAt, float[] h, int hAt, int hidden, int from, int to) {
            for (int j = from; j < to; j++) {
                h[hAt + j] = (float) Math.tanh((double) xp[xpAt + j] + gh[ghAt + j]);
            }
        }
    },
    /** {@code torch.nn.RNN(nonlinearity='relu')}: h' = relu(W_ih x + b_ih + W_hh h + b_hh). */
    RNN_RELU("RNN", List.of("h"), new int[] {0}, new int[] {0}) {
        @Override
        public void reference(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
                              float[] c, int cAt, float[] h, int hAt, int hidden, int from, int to) {
            for (int j = from; j < to; j++) {
                // max(0, NaN) is NaN in PyTorch, so no Math.max on floats here.
                double pre = (double) xp[xpAt + j] + gh[ghAt + j];
                h[hAt + j] = (float) (pre < 0 ? 0 : pre);
            }
        }
    },
    /** {@code torch.nn.LSTM}: gates i, f, g, o; optional projection of h. */
    LSTM("LSTM", List.of("i", "f", "g", "o"), new int[] {0, 3, 1, 2}, new int[] {0, 1, 2, 3}) {
        @Override
        public void reference(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
                              float[] c, int cAt, float[] h, int hAt, int hidden, int from, int to) {
            for (int j = from; j < to; j++) {
                double i = sigmoid((double) xp[xpAt + j] + gh[ghAt + j]);                          // i = σ(W_ii x + b_ii + W_hi h + b_hi)
                double f = sigmoid((double) xp[xpAt + hidden + j] + gh[ghAt + hidden + j]);         // f = σ(W_if x + b_if + W_hf h + b_hf)
                double g = Math.tanh((double) xp[xpAt + 2 * hidden + j] + gh[ghAt + 2 * hidden + j]); // g = tanh(W_ig x + b_ig + W_hg h + b_hg)
                double o = sigmoid((double) xp[xpAt + 3 * hidden + j] + gh[ghAt + 3 * hidden + j]); // o = σ(W_io x + b_io + W_ho h + b_ho)
                double cNew = f * c[cAt + j] + i * g;                                                // c' = f * c + i * g
                c[cAt + j] = (float) cNew;
                h[hAt + j] = (float) (o * Math.tanh(cNew));                                         // h' = o * tanh(c')
            }
        }
    },
    /** {@code torch.nn.GRU}: gates r, z, n with the reset gate applied after W_hn h + b_hn. */
    GRU("GRU", List.of("r", "z", "n"), new int[] {1, 0, 2}, new int[] {1, 0, 2}) {
        @Override
        public void reference(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
                              float[] c, int cAt, float[] h, int hAt, int hidden, int from, int to) {
            for (int j = from; j < to; j++) {
                double r = sigmoid((double) xp[xpAt + j] + gh[ghAt + j]);                    // r = σ(W_ir x + b_ir + W_hr h + b_hr)
                double z = sigmoid((double) xp[xpAt + hidden + j] + gh[ghAt + hidden + j]);   // z = σ(W_iz x + b_iz + W_hz h + b_hz)
                double hn = (double) gh[ghAt + 2 * hidden + j] + (bhn == null ? 0 : bhn[j]);
                double n = Math.tanh(xp[xpAt + 2 * hidden + j] + r * hn);                    // n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
                h[hAt + j] = (float) ((1 - z) * n + z * hPrev[hPrevAt + j]);                 // h' = (1 - z) * n + z * h
            }
        }
    };

    private final String moduleName;
    private final List<String> gateNames;
    private final int[] onnxOrder;
    private final int[] onednnOrder;

    CellMode(String moduleName, List<String> gateNames, int[] onnxOrder, int[] onednnOrder) {
        this.moduleName = moduleName;
        this.gateNames = gateNames;
        this.onnxOrder = onnxOrder;
        this.onednnOrder = onednnOrder;
    }

    /** Gate blocks stacked in the weight matrices: 1, 4 or 3. */
    public int gates() {
        return gateNames.size();
    }

    /** PyTorch's names of the gate blocks, in PyTorch's order ({@code i, f, g, o}; {@code r, z, n}). */
    public List<String> gateNames() {
        return gateNames;
    }

    /** True for LSTM, the only cell with a cell state {@code c}. */
    public boolean hasCellState() {
        return this == LSTM;
    }

    /** The PyTorch module name ({@code RNN}, {@code LSTM}, {@code GRU}), used in messages. */
    public String moduleName() {
        return moduleName;
    }

    /** PyTorch's {@code nonlinearity} for this mode ({@code relu} only for RNN_RELU). */
    public String nonlinearity() {
        return this == RNN_RELU ? "relu" : "tanh";
    }

    /**
     * ONNX's gate order as PyTorch gate indices: ONNX gate k is PyTorch gate {@code onnxGateOrder()[k]}
     * (LSTM i,o,f,c; GRU z,r,h).
     */
    public int[] onnxGateOrder() {
        return onnxOrder.clone();
    }

    /**
     * oneDNN's gate order as PyTorch gate indices (LSTM i,f,c~,o as PyTorch; {@code lbr_gru} u(=z),r,o(=n)).
     */
    public int[] onednnGateOrder() {
        return onednnOrder.clone();
    }

    /**
     * The gate whose recurrent bias cannot be pre-summed with the input bias: GRU's n, whose
     * {@code b_hn} sits inside {@code r * (W_hn h + b_hn)} ("linear before reset"); -1 for the others.
     */
    public int gateWithSeparateRecurrentBias() {
        return this == GRU ? 2 : -1;
    }

    /**
     * The bias added to {@code W_ih x} once for all steps: {@code b_ih + b_hh}, except in
     * {@link #gateWithSeparateRecurrentBias()}'s block, which holds {@code b_ih} alone.
     *
     * @param bIh {@code (G*H)}, or null without bias
     * @param bHh {@code (G*H)}, or null without bias
     * @return a new {@code (G*H)} array, or null without bias
     */
    public float[] presummedBias(float[] bIh, float[] bHh) {
        if (bIh == null) {
            return null;
        }
        int hidden = bIh.length / gates();
        int apart = gateWithSeparateRecurrentBias();
        float[] b = new float[bIh.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = bIh[i] + (i / hidden == apart ? 0f : bHh[i]);
        }
        return b;
    }

    /**
     * The recurrent bias kept apart ({@code b_hn} for GRU, {@code (H)}), or null (other cells, or no bias).
     */
    public float[] separateRecurrentBias(float[] bHh) {
        int apart = gateWithSeparateRecurrentBias();
        if (bHh == null || apart < 0) {
            return null;
        }
        int hidden = bHh.length / gates();
        return java.util.Arrays.copyOfRange(bHh, apart * hidden, (apart + 1) * hidden);
    }

    /**
     * PyTorch's name of a parameter of layer {@code layer}, direction {@code direction}
     * (0 forward, 1 reverse): {@code base + "_l" + layer + ("_reverse" if direction 1)}, for
     * base {@code weight_ih}, {@code weight_hh}, {@code bias_ih}, {@code bias_hh}, {@code weight_hr}.
     */
    public static String parameterName(String base, int layer, int direction) {
        return base + "_l" + layer + (direction == 1 ? "_reverse" : "");
    }

    /**
     * The reference equations (PyTorch's docstring), for units {@code [from, to)} of one row,
     * with sums and activations in double. {@code xp} holds {@code W_ih x} plus
     * {@link #presummedBias}, {@code gh} holds {@code W_hh h} without bias, gates stacked in
     * PyTorch's order {@code [g][hidden]}; {@code bhn} is {@link #separateRecurrentBias} (or null).
     * Writes {@code h} (for a projected LSTM: {@code o * tanh(c')} before the projection) and,
     * for LSTM, updates {@code c} in place; {@code hPrev} (GRU) may not alias {@code h}.
     */
    public abstract void reference(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
                                   float[] c, int cAt, float[] h, int hAt, int hidden, int from, int to);

    private static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    /**
     * The mode of a metadata value such as {@code LSTM} (case-insensitive).
     *
     * @throws IllegalArgumentException for any other value
     */
    public static CellMode parse(String s) {
        for (CellMode m : values()) {
            if (m.name().equalsIgnoreCase(s.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException("mode '" + s + "' is not one of RNN_TANH, RNN_RELU, LSTM, GRU");
    }
}
