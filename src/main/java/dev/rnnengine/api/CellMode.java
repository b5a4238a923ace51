package dev.rnnengine.api;

/** The recurrent cell, named as PyTorch's {@code mode} (cuDNN's names). */
public enum CellMode {
    /** {@code torch.nn.RNN(nonlinearity='tanh')}: h' = tanh(W_ih x + b_ih + W_hh h + b_hh). */
    RNN_TANH(1, "RNN"),
    /** {@code torch.nn.RNN(nonlinearity='relu')}: h' = relu(W_ih x + b_ih + W_hh h + b_hh). */
    RNN_RELU(1, "RNN"),
    /** {@code torch.nn.LSTM}: gates i, f, g, o; optional projection of h. */
    LSTM(4, "LSTM"),
    /** {@code torch.nn.GRU}: gates r, z, n with the reset gate applied after W_hn h + b_hn. */
    GRU(3, "GRU");

    private final int gates;
    private final String moduleName;

    CellMode(int gates, String moduleName) {
        this.gates = gates;
        this.moduleName = moduleName;
    }

    /** Gate blocks stacked in the weight matrices: 1, 4 or 3. */
    public int gates() {
        return gates;
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
