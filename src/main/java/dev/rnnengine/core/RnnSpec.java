package dev.rnnengine.core;

import java.util.Objects;

/**
 * The hyper-parameters of one {@code torch.nn.RNN}, {@code LSTM} or {@code GRU}, validated
 * with PyTorch's own messages. Dropout is absent: it only matters for training.
 *
 * @param mode          the cell
 * @param inputSize     features of x ({@code input_size})
 * @param hiddenSize    features of h, and of c for LSTM ({@code hidden_size})
 * @param numLayers     stacked layers ({@code num_layers})
 * @param bias          whether {@code b_ih} and {@code b_hh} exist
 * @param batchFirst    input and output are {@code (N, T, F)} instead of {@code (T, N, F)}
 * @param bidirectional a reverse direction per layer, outputs concatenated
 * @param projSize      LSTM only: h is projected to this size; 0 disables ({@code proj_size})
 */
public record RnnSpec(CellMode mode, int inputSize, int hiddenSize, int numLayers, boolean bias,
                      boolean batchFirst, boolean bidirectional, int projSize) {

    /**
     * Validates as {@code torch.nn.RNNBase.__init__} does.
     *
     * @throws IllegalArgumentException with PyTorch's message when a value is out of range
     * @throws NullPointerException if {@code mode} is null
     */
    public RnnSpec {
        Objects.requireNonNull(mode, "mode");
        if (inputSize <= 0) {
            throw new IllegalArgumentException("input_size must be greater than zero");
        }
        if (hiddenSize <= 0) {
            throw new IllegalArgumentException("hidden_size must be greater than zero");
        }
        if (numLayers <= 0) {
            throw new IllegalArgumentException("num_layers must be greater than zero");
        }
        if (projSize < 0) {
            throw new IllegalArgumentException(
                "proj_size should be a positive integer or zero to disable projections");
        }
        if (projSize >= hiddenSize) {
            throw new IllegalArgumentException("proj_size has to be smaller than hidden_size");
        }
        if (projSize > 0 && mode != CellMode.LSTM) {
            throw new IllegalArgumentException("proj_size argument is only supported for LSTM, not RNN or GRU");
        }
        // Keep every weight matrix indexable by an int.
        long widest = Math.max(inputSize, (long) (bidirectional ? 2 : 1) * hiddenSize);
        if ((long) mode.gates() * hiddenSize * widest > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("sizes too large: a weight matrix would exceed "
                + Integer.MAX_VALUE + " elements");
        }
    }

    /** Starts a builder with PyTorch's defaults (1 layer, bias, not batch-first, one direction). */
    public static Builder builder(CellMode mode, int inputSize, int hiddenSize) {
        return new Builder(mode, inputSize, hiddenSize);
    }

    /** 2 when bidirectional, else 1. */
    public int directions() {
        return bidirectional ? 2 : 1;
    }

    /** Gate blocks per weight matrix: 1 (RNN), 4 (LSTM), 3 (GRU). */
    public int gates() {
        return mode.gates();
    }

    /** The size of h and of each direction's output: {@code projSize} if set, else {@code hiddenSize}. */
    public int outputHiddenSize() {
        return projSize > 0 ? projSize : hiddenSize;
    }

    /** The input features of layer {@code layer}: inputSize for the first, dirs * H_out after. */
    public int layerInputSize(int layer) {
        return layer == 0 ? inputSize : directions() * outputHiddenSize();
    }

    /** PyTorch's {@code nonlinearity}. */
    public String nonlinearity() {
        return mode.nonlinearity();
    }

    /**
     * PyTorch's parameter names and shapes, in {@code state_dict} order.
     *
     * @return a new map from name ({@link CellMode#parameterName}) to shape
     */
    public java.util.Map<String, int[]> parameterShapes() {
        java.util.Map<String, int[]> m = new java.util.LinkedHashMap<>();
        int gh = gates() * hiddenSize;
        for (int l = 0; l < numLayers; l++) {
            for (int d = 0; d < directions(); d++) {
                m.put(CellMode.parameterName("weight_ih", l, d), new int[] {gh, layerInputSize(l)});
                m.put(CellMode.parameterName("weight_hh", l, d), new int[] {gh, outputHiddenSize()});
                if (bias) {
                    m.put(CellMode.parameterName("bias_ih", l, d), new int[] {gh});
                    m.put(CellMode.parameterName("bias_hh", l, d), new int[] {gh});
                }
                if (projSize > 0) {
                    m.put(CellMode.parameterName("weight_hr", l, d), new int[] {projSize, hiddenSize});
                }
            }
        }
        return m;
    }

    /** The number of parameters, as {@code sum(p.numel() for p in m.parameters())}. */
    public long parameterCount() {
        long n = 0;
        int gh = gates() * hiddenSize;
        for (int l = 0; l < numLayers; l++) {
            long perDir = (long) gh * layerInputSize(l) + (long) gh * outputHiddenSize();
            if (bias) {
                perDir += 2L * gh;
            }
            if (projSize > 0) {
                perDir += (long) projSize * hiddenSize;
            }
            n += perDir * directions();
        }
        return n;
    }

    /** A builder of {@link RnnSpec}s. */
    public static final class Builder {
        private final CellMode mode;
        private final int inputSize;
        private final int hiddenSize;
        private int numLayers = 1;
        private boolean bias = true;
        private boolean batchFirst;
        private boolean bidirectional;
        private int projSize;

        private Builder(CellMode mode, int inputSize, int hiddenSize) {
            this.mode = mode;
            this.inputSize = inputSize;
            this.hiddenSize = hiddenSize;
        }

        /** Sets {@code num_layers}. */
        public Builder numLayers(int v) {
            numLayers = v;
            return this;
        }

        /** Sets {@code bias}. */
        public Builder bias(boolean v) {
            bias = v;
            return this;
        }

        /** Sets {@code batch_first}. */
        public Builder batchFirst(boolean v) {
            batchFirst = v;
            return this;
        }

        /** Sets {@code bidirectional}. */
        public Builder bidirectional(boolean v) {
            bidirectional = v;
            return this;
        }

        /** Sets {@code proj_size} (LSTM only). */
        public Builder projSize(int v) {
            projSize = v;
            return this;
        }

        /**
         * Builds and validates the spec.
         *
         * @throws IllegalArgumentException with PyTorch's message when a value is out of range
         */
        public RnnSpec build() {
            return new RnnSpec(mode, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize);
        }
    }
}
