package dev.rnnengine.backend.onednn;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.engine.Backend;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.Kernels;
import dev.rnnengine.internal.ffm.OneDnn;
import java.util.List;

/** Whole layers on oneDNN 3.x's RNN primitives ({@code vanilla_rnn}, {@code lstm}, {@code lbr_gru}) through FFM. */
public final class OneDnnBackend implements Backend {
    private final OneDnn dnnl;

    /**
     * Loads oneDNN (once per process).
     *
     * @throws UnsupportedOperationException when no oneDNN 3.x can be found, saying how to get one
     */
    public OneDnnBackend() {
        dnnl = OneDnn.get();
    }

    @Override
    public String name() {
        return "onednn";
    }

    @Override
    public String describe() {
        return "oneDNN " + dnnl.version() + " RNN primitives via FFM (" + dnnl.threading() + "), from " + dnnl.origin();
    }

    /**
     * {@inheritDoc}
     *
     * @throws UnsupportedOperationException if oneDNN has no implementation for this model
     */
    @Override
    public Kernels prepare(RnnSpec spec, List<LayerWeights> weights, int threads) {
        return new OneDnnKernels(spec, weights, dnnl, threads);
    }
}
