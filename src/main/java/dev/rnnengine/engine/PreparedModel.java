package dev.rnnengine.engine;

/**
 * A model ready to run: the driver over one backend's kernels, or {@code auto}'s choice
 * between several. Safe for concurrent {@link #forward} calls with distinct {@link Call}s.
 */
public interface PreparedModel extends AutoCloseable {
    /** Runs all layers and directions; allocates nothing once warm for the call's shape. */
    void forward(Call call);

    /** The backend that runs it ({@code vector}, or {@code vector+onednn} for auto's split). */
    String backendName();

    /** The threads it uses (the request capped by {@link Threads#effective}). */
    int threads();

    /** The backend that runs a call of this shape (auto may choose per call). */
    default String backendFor(int seqLen, int batch) {
        return backendName();
    }

    /** Frees the kernels' resources; called once, after every call in flight has returned. */
    @Override
    void close();
}
