package dev.rnnengine.backend.scalar;

import dev.rnnengine.api.RnnSpec;
import dev.rnnengine.engine.Backend;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.PreparedRnn;
import java.util.List;

/** Plain Java loops, one line per gate equation: the readable oracle. Always available. */
public final class ScalarBackend implements Backend {
    /** Always succeeds. */
    public ScalarBackend() { }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public String describe() {
        return "plain Java loops, double accumulation, single thread";
    }

    @Override
    public PreparedRnn prepare(RnnSpec spec, List<LayerWeights> weights, int threads) {
        return new ScalarRnn(spec, weights);
    }
}
