package dev.rnnengine.engine;

/**
 * A model's weights in one backend's layout, ready to run.
 *
 * <p>All buffers of a call are in the canonical, time-major layout (see {@link ForwardArgs});
 * the front-end has checked every size and converted batch-first and unbatched inputs.
 */
public interface PreparedRnn extends AutoCloseable {
    /**
     * Runs all layers and directions over the sequence described by {@code args}.
     * Must not allocate on the hot path: per-call scratch comes from {@link ForwardArgs#scratch}.
     */
    void forward(ForwardArgs args);

    /** Frees native resources; called once, after every in-flight call has returned. */
    @Override
    default void close() { }
}
