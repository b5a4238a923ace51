package dev.rnnengine.backend.openblas;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.engine.Backend;
import dev.rnnengine.engine.GateMath;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.internal.ffm.OpenBlas;
import dev.rnnengine.engine.Kernels;
import java.util.List;

/** Matrix products by OpenBLAS {@code cblas_sgemm} through FFM; gate math by {@link GateMath#best()}. */
public final class OpenBlasBackend implements Backend {
    private final OpenBlas blas;

    /**
     * Loads OpenBLAS (once per process).
     *
     * @throws UnsupportedOperationException when no OpenBLAS can be found, saying how to get one
     */
    public OpenBlasBackend() {
        blas = OpenBlas.get();
    }

    @Override
    public String name() {
        return "openblas";
    }

    @Override
    public String describe() {
        return "OpenBLAS cblas_sgemm via FFM: " + blas.config() + ", from " + blas.origin() + "; gate math "
            + GateMath.best().getClass().getSimpleName();
    }

    @Override
    public Kernels prepare(RnnSpec spec, List<LayerWeights> weights, int threads) {
        return new OpenBlasKernels(spec, weights, blas, GateMath.best(), threads);
    }
}
