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
     * Every precision: fp16 and int8 weights run as fp32 primitives over the values their codes
     * stand for, so they give that precision's answers at fp32's speed, holding fp32 copies
     * (oneDNN's own int8 RNN quantizes the activations too: another semantics, not used).
     * {@code auto} picks it where it measures fastest, typically for batched calls, while batch-1
     * steps stream the codes on {@code vector}.
     */
    @Override
    public java.util.Set<dev.rnnengine.core.Precision> precisions() {
        return java.util.EnumSet.allOf(dev.rnnengine.core.Precision.class);
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
