package dev.rnnengine.engine;

import dev.rnnengine.core.Precision;
import dev.rnnengine.core.RnnSpec;
import java.util.EnumSet;
import java.util.Set;
import java.util.List;

/**
 * The SPI between the engine and a backend. Implementations live in
 * {@code dev.rnnengine.backend.*}, are registered by name in {@link Backends}, created once
 * by class name, and throw {@link UnsupportedOperationException} from their constructor, with
 * the reason and the fix, when they cannot run here. A backend supplies kernels
 * ({@link StepKernels} or {@link LayerKernels}); the driver does the rest.
 */
public interface Backend {
    /** The name users select it by, as registered in {@link Backends}. */
    String name();

    /** One line on what this backend runs on here (library path, vector width, ...). */
    String describe();

    /**
     * Repacks a model's weights into this backend's layout, once. Sizes have been checked by
     * the front-end.
     *
     * @param spec    the validated hyper-parameters
     * @param weights one entry per (layer, direction), index {@code layer * dirs + direction}
     * @param threads the threads this model may use
     * @throws UnsupportedOperationException if this backend cannot run this spec
     */
    Kernels prepare(RnnSpec spec, List<LayerWeights> weights, int threads);

    /**
     * The weight precisions this backend runs ({@link LayerWeights#precision()}); the engine
     * refuses the others before {@link #prepare}, naming the backends that run them.
     */
    default Set<Precision> precisions() {
        return EnumSet.of(Precision.FP32);
    }
}
