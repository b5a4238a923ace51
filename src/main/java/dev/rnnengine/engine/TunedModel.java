package dev.rnnengine.engine;

import dev.rnnengine.core.RnnSpec;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code auto} after measuring ({@link AutoTuner}): each call goes to the backend that was
 * fastest on this machine for its class (batch size, one step or a sequence). Only the
 * winners hold the weights; each keeps its own pooled workspaces.
 *
 * <p>A winner whose Java kernels this process has not compiled yet would answer its first
 * calls interpreted, up to a hundred times slower. Then, from the first call it would take,
 * its kernels warm on a paced background thread while its calls go to an interim native
 * backend (oneDNN, which needs no JIT); when
 * the warm-up ends, calls go to the winner and the interim model is closed once no call is on
 * it. A model closed meanwhile stops the warm-up first.
 */
final class TunedModel implements PreparedModel {
    private static final System.Logger LOG = System.getLogger("dev.rnnengine");
    private final PreparedModel[] byBucket;
    private final Map<String, PreparedModel> models;
    private final int threads;
    private final boolean[] coldBucket; // goes to interim until warm
    private final PreparedModel interim; // null: nothing warms in the background
    private final boolean ownsInterim;
    private final AtomicInteger onInterim = new AtomicInteger();
    private final AtomicBoolean started = new AtomicBoolean();
    private final Thread warmer;
    private volatile boolean warm;
    private volatile boolean closing;

    TunedModel(AutoTuner.Choice[] choices, Map<String, PreparedModel> models, int threads) {
        this(choices, models, threads, null, List.of(), null);
    }

    /**
     * @param interim a warm native model answering for the {@code cold} winners until their
     *                kernels are compiled; closed by this model unless it is one of {@code models}
     */
    TunedModel(AutoTuner.Choice[] choices, Map<String, PreparedModel> models, int threads, PreparedModel interim,
               List<String> cold, RnnSpec spec) {
        this.byBucket = new PreparedModel[choices.length];
        this.coldBucket = new boolean[choices.length];
        for (int i = 0; i < choices.length; i++) {
            byBucket[i] = models.get(choices[i].winner());
            coldBucket[i] = interim != null && cold.contains(choices[i].winner());
        }
        this.models = models;
        this.threads = threads;
        this.interim = interim;
        this.ownsInterim = interim != null && !models.containsValue(interim);
        this.warm = interim == null;
        if (interim == null) {
            this.warmer = null;
            return;
        }
        this.warmer = new Thread(() -> {
            try {
                for (String n : cold) {
                    Warmup.inBackground(n, spec, models.get(n), () -> closing); // fp32 only: no precision in the kind
                }
                if (closing) {
                    return;
                }
                warm = true;
                while (ownsInterim && onInterim.get() > 0) { // calls that chose interim before the switch
                    java.util.concurrent.locks.LockSupport.parkNanos(50_000);
                }
                if (ownsInterim) {
                    interim.close();
                }
            } catch (RuntimeException | Error e) { // the interim model keeps answering
                LOG.log(System.Logger.Level.WARNING, "auto: the background warm-up of " + cold + " failed; calls stay on "
                    + interim.backendName() + ": " + e);
            }
        }, "rnn-warmup");
        warmer.setDaemon(true);
    }

    @Override
    public void forward(Call call) {
        int b = AutoTuner.bucketOf(call.batch, call.seqLen);
        if (!warm && coldBucket[b]) {
            if (!started.get() && started.compareAndSet(false, true)) {
                warmer.start(); // only kernels that calls need: a model whose calls all go to oneDNN warms none
            }
            onInterim.incrementAndGet(); // before reading warm again: the warmer closes interim only at zero
            try {
                if (!warm) {
                    interim.forward(call);
                    return;
                }
            } finally {
                onInterim.decrementAndGet();
            }
        }
        byBucket[b].forward(call);
    }

    /** Waits until background warm-up has ended (tests); true if calls now go to the winners. */
    boolean awaitWarm(long millis) throws InterruptedException {
        if (warmer != null && started.get()) {
            warmer.join(millis);
        }
        return warm;
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
        int b = AutoTuner.bucketOf(batch, seqLen);
        return (!warm && coldBucket[b] ? interim : byBucket[b]).backendName();
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public void close() {
        closing = true;
        if (warmer != null && started.get()) {
            boolean interrupted = false;
            while (warmer.isAlive()) { // a warm-up round is short; it stops at the next one
                try {
                    warmer.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (warmer != null && ownsInterim && !warm) {
            interim.close();
        }
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
