package dev.rnnengine.engine;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * {@code auto} after measuring ({@link AutoTuner}): each call goes to the backend that was
 * fastest on this machine for its class (batch size, one step or a sequence). Only the
 * winners hold the weights; each keeps its own pooled workspaces.
 */
final class TunedModel implements PreparedModel {
    private final PreparedModel[] byBucket;
    private final Map<String, PreparedModel> models;
    private final int threads;

    TunedModel(AutoTuner.Choice[] choices, Map<String, PreparedModel> models, int threads) {
        this.byBucket = new PreparedModel[choices.length];
        for (int i = 0; i < choices.length; i++) {
            byBucket[i] = models.get(choices[i].winner());
        }
        this.models = models;
        this.threads = threads;
    }

    @Override
    public void forward(Call call) {
        byBucket[AutoTuner.bucketOf(call.batch, call.seqLen)].forward(call);
    }

    @Override
    public String backendName() {
        Set<String> names = new LinkedHashSet<>();
        for (PreparedModel m : byBucket) {
            names.add(m.backendName());
        }
        return String.join("+", names);
    }

    @Override
    public String backendFor(int seqLen, int batch) {
        return byBucket[AutoTuner.bucketOf(batch, seqLen)].backendName();
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (PreparedModel m : models.values()) {
            try {
                m.close();
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
