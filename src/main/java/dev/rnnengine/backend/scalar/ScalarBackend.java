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

    @Override
    public Kernels prepare(RnnSpec spec, List<LayerWeights> weights, int threads) {
        return new ScalarKernels(spec, weights);
    }
}
