package dev.rnnengine.engine;

/**
 * {@code auto} with oneDNN here, per call: batches of {@link #BATCHED_MIN} or more to the
 * batched backend, the rest (small LSTM/GRU, vanilla RNNs, streaming steps) to the
 * small-batch one. Both hold the weights, so the model takes twice the memory; naming one
 * backend avoids that. Each side keeps its own pooled workspaces.
 */
final class Router implements PreparedModel {
    /** The batch size from which calls go to the batched backend (measured crossover: 16). */
    static final int BATCHED_MIN = 16;

    private final PreparedModel small;
    private final PreparedModel batched;

    Router(PreparedModel small, PreparedModel batched) {
        this.small = small;
        this.batched = batched;
    }

    @Override
    public void forward(Call call) {
        (call.batch >= BATCHED_MIN ? batched : small).forward(call);
    }

    @Override
    public String backendName() {
        return small.backendName() + "+" + batched.backendName();
    }

    @Override
    public int threads() {
        return small.threads();
    }

    @Override
    public String backendFor(int seqLen, int batch) {
        return (batch >= BATCHED_MIN ? batched : small).backendName();
    }

    @Override
    public void close() {
        try {
            small.close();
        } finally {
            batched.close();
        }
    }
}
