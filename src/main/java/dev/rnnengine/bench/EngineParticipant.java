package dev.rnnengine.bench;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.Map;

/** One engine backend at one thread count: a forward call over the whole input. */
final class EngineParticipant implements Participant {
    private final String backend;
    private final RnnModel model;
    private final Tensor x;

    EngineParticipant(String backend, RnnSpec spec, Map<String, Tensor> sd, Tensor x, int threads) {
        this.backend = backend;
        this.model = RnnModel.create(spec, sd, new EngineOptions(backend, threads));
        this.x = x;
    }

    @Override
    public String name() {
        return backend;
    }

    /** The backend that ran the calls: itself, or the one auto chose for this call class. */
    String via() {
        return model.backendFor(x.size(0), x.size(1));
    }

    @Override
    public double[] time(int calls) {
        double[] ms = new double[calls];
        for (int i = 0; i < calls; i++) {
            long t0 = System.nanoTime();
            model.forward(x);
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return ms;
    }

    @Override
    public float[] output() {
        return model.forward(x).output().toArray();
    }

    @Override
    public void close() {
        model.close();
    }
}
