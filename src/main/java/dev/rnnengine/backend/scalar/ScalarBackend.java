package dev.rnnengine.backend.scalar;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.engine.Backend;
import dev.rnnengine.engine.Kernels;
import dev.rnnengine.engine.LayerWeights;
import java.util.List;

/** Plain Java loops, the cell's reference equations: the readable oracle. Always available. */
public final class ScalarBackend implements Backend {
    /** Always succeeds. */
    public ScalarBackend() { }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public String describe() {
        return "plain Java loops, double accumulation, units split over the model's threads";
    }

    /** Every precision: the weights arrive as the fp32 values the codes stand for (the reference). */
    @Override
    public java.util.Set<dev.rnnengine.core.Precision> precisions() {
        return java.util.EnumSet.allOf(dev.rnnengine.core.Precision.class);
    }

    @Override
    public Kernels prepare(RnnSpec spec, List<LayerWeights> weights, int threads) {
        return new ScalarKernels(spec, weights);
    }
}
