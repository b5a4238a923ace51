package dev.rnnengine.engine;

import dev.rnnengine.api.RnnSpec;
import java.util.List;

/**
 * What {@code auto} runs when oneDNN is here: small batches (streaming, batch 1) on the
 * backend that is fastest there, batches of {@link #BATCHED_MIN} or more on the one that is
 * fastest batched (README, Speed). Both hold the weights, so the model takes twice the memory;
 * choose one backend by name to avoid that.
 */
final class SplitBackend implements Backend {
    /** The batch size from which calls go to the batched backend (measured crossover: 16). */
    static final int BATCHED_MIN = 16;

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
        return "batch < " + BATCHED_MIN + ": " + small.describe() + "; batch >= " + BATCHED_MIN + ": " + batched.describe();
    }

    @Override
    public PreparedRnn prepare(RnnSpec spec, List<LayerWeights> weights, int threads) {
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
