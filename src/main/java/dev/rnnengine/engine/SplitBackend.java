package dev.rnnengine.engine;

import dev.rnnengine.api.RnnSpec;
import java.util.List;

/**
 * What {@code auto} runs when oneDNN is here, per call: oneDNN for batches of
 * {@link #BATCHED_MIN} or more and for LSTM/GRU layers of {@link #LARGE_HIDDEN} units or more
 * at any batch; the small-batch backend (vector) otherwise: small LSTM/GRU, vanilla RNNs,
 * streaming steps. The rule comes from the side-by-side JMH run in the README (Speed). Both
 * hold the weights, so the model takes twice the memory; choose one backend by name to avoid that.
 */
final class SplitBackend implements Backend {
    /** The batch size from which calls go to the batched backend (measured crossover: 16). */
    static final int BATCHED_MIN = 16;
    /** The hidden size from which LSTM and GRU go to oneDNN at any batch (measured: 512 yes, 256 no). */
    static final int LARGE_HIDDEN = 512;

    private final Backend small;
    private final Backend batched;

    SplitBackend(Backend small, Backend batched) {
        this.small = small;
        this.batched = batched;
    }

    @Override
    public String name() {
        return small.name() + "+" + batched.name();
    }

    @Override
    public String describe() {
        return "LSTM/GRU with hidden >= " + LARGE_HIDDEN + " or batch >= " + BATCHED_MIN + ": " + batched.describe()
            + "; otherwise: " + small.describe();
    }

    @Override
    public PreparedRnn prepare(RnnSpec spec, List<LayerWeights> weights, int threads) {
        boolean large = spec.mode() != dev.rnnengine.api.CellMode.RNN_TANH
            && spec.mode() != dev.rnnengine.api.CellMode.RNN_RELU && spec.hiddenSize() >= LARGE_HIDDEN;
        if (large) {
            return batched.prepare(spec, weights, threads); // oneDNN at every batch size: one copy of the weights
        }
        PreparedRnn s = small.prepare(spec, weights, threads);
        PreparedRnn b;
        try {
            b = batched.prepare(spec, weights, threads);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return new PreparedRnn() {
            @Override
            public void forward(ForwardArgs a) {
                (a.batch >= BATCHED_MIN ? b : s).forward(a);
            }

            @Override
            public void close() {
                try {
                    s.close();
                } finally {
                    b.close();
                }
            }
        };
    }
}
