package dev.rnnengine.engine;

import dev.rnnengine.api.RnnSpec;
import java.util.List;

/**
 * The SPI between the front-end ({@code dev.rnnengine.api}) and a backend that runs the
 * recurrence. Implementations live in {@code dev.rnnengine.backend.*}, are created once by
 * {@link Backends} through reflection, and must throw {@link UnsupportedOperationException}
 * from their constructor, with the reason and the fix, when they cannot run here.
 */
public interface Backend {
    /** The name users select it by ({@code scalar}, {@code vector}, ...). */
    String name();

    /** One line on what this backend runs on here (library path, vector width, ...). */
    String describe();

    /**
     * Repacks a model's weights into this backend's layout, once. Sizes have been checked by
     * the front-end; the returned object must be safe for concurrent {@link PreparedRnn#forward}
     * calls with distinct {@link ForwardArgs}.
     *
     * @param spec    the validated hyper-parameters
     * @param weights one entry per (layer, direction), index {@code layer * dirs + direction}
     * @param threads the worker threads this model may use
     * @throws UnsupportedOperationException if this backend cannot run this spec
     */
    PreparedRnn prepare(RnnSpec spec, List<LayerWeights> weights, int threads);
}
