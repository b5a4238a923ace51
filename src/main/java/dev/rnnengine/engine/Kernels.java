package dev.rnnengine.engine;

/**
 * A model's weights in one backend's layout, ready to run: either {@link StepKernels} (the
 * driver runs the recurrence and calls a projection and a step kernel) or {@link LayerKernels}
 * (the backend runs whole layers, as oneDNN does). Made once by {@link Backend#prepare}.
 */
public interface Kernels extends AutoCloseable {
    /** Frees native resources; called once, after every call in flight has returned. */
    @Override
    default void close() { }
}
