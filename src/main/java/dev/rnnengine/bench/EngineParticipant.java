package dev.rnnengine.bench;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.Precision;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.Map;

/**
 * One engine backend at one thread count: a forward call over the whole input. Named
 * {@code backend} (fp32 weights) or {@code backend:precision} ({@code vector:int8}).
 */
final class EngineParticipant implements Participant {
    private final String backend;
    private final Precision precision;
    private final RnnModel model;
    private final Tensor x;

    EngineParticipant(String name, RnnSpec spec, Map<String, Tensor> sd, Tensor x, int threads) {
        this.backend = name;
        int colon = name.indexOf(':');
        this.precision = colon < 0 ? Precision.FP32 : Precision.parse(name.substring(colon + 1));
        this.model = RnnModel.create(spec, sd, new EngineOptions(colon < 0 ? name : name.substring(0, colon), threads,
            precision));
        this.x = x;
    }

    /** The precision of its weights. */
    Precision precision() {
        return precision;
    }

    @Override
    public String name() {
        return backend;
    }

    @Override
    public double tolerance() {
        return precision.errorBound();
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
