package dev.rnnengine.engine;

import dev.rnnengine.core.RnnSpec;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * The warm-up at load: the Java kernels run interpreted, with every Vector API operation
 * boxed, until C2 compiles them, so a service's first calls were up to a hundred times slower
 * than warm ones. When a model is prepared, its driver runs the call paths it will use (a
 * streaming step, a sequence, a batch) on dummy data until the JIT has gone quiet, at most
 * {@link #MAX_MILLIS}. Compiled code serves every later model, so this happens once per
 * process for each kernel family (backend, cell, projection, directions). On by default;
 * {@code -Drnn.warmup=false} skips it (the first calls then pay instead).
 */
final class Warmup {
    /** System property: {@code false} skips the warm-up at load. */
    static final String PROPERTY = "rnn.warmup";
    /** The longest a warm-up may take. */
    static final long MAX_MILLIS = 1500;
    private static final System.Logger LOG = System.getLogger("dev.rnnengine");
    private static final Map<String, Long> DONE = new ConcurrentHashMap<>(); // family -> ms it took

    private Warmup() { }

    static boolean enabled() {
        return !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "true").trim());
    }

    /** The kernel family a model's calls exercise: what compiles together. */
    static String family(String backend, RnnSpec spec) {
        return backend + " " + spec.mode() + (spec.projSize() > 0 ? " proj" : "") + (spec.bidirectional() ? " bi" : "")
            + (spec.numLayers() > 1 ? " layers" : "");
    }

    /** Whether this process has warmed a backend's kernels for a spec's family (or warm-ups are off). */
    static boolean done(String backend, RnnSpec spec) {
        return !enabled() || DONE.containsKey(family(backend, spec));
    }

    /** Warms a freshly prepared model's kernels if this process has not yet; returns the milliseconds spent. */
    static long ifNeeded(String backend, RnnSpec spec, PreparedModel model) {
        return ifNeeded(backend, spec, model, () -> false, false);
    }

    /**
     * As {@link #ifNeeded(String, RnnSpec, PreparedModel)} on a background thread, next to calls
     * being answered: each round is followed by a pause as long as itself, so that the warm-up
     * and the compiler threads leave the calls a core (it may then take twice as long); ends
     * early, not counting as done, when {@code stop} says so (the model was closed).
     */
    static long inBackground(String backend, RnnSpec spec, PreparedModel model, BooleanSupplier stop) {
        return ifNeeded(backend, spec, model, stop, true);
    }

    private static long ifNeeded(String backend, RnnSpec spec, PreparedModel model, BooleanSupplier stop, boolean pace) {
        if (!enabled()) {
            return 0;
        }
        String family = family(backend, spec);
        if (DONE.containsKey(family)) {
            return 0;
        }
        // oneDNN's layers are native: two rounds set up its engine and the driver's few Java
        // paths; waiting for a quiet JIT would cost half a second of load for little.
        long ms = run(spec, model, stop, backend.equals("onednn") ? 2 : Integer.MAX_VALUE, pace);
        if (stop.getAsBoolean()) {
            return ms;
        }
        if (DONE.putIfAbsent(family, ms) == null) {
            LOG.log(System.Logger.Level.DEBUG, String.format(Locale.ROOT,
                "warmed the %s kernels in %d ms (once per process; -D%s=false skips it)", family, ms, PROPERTY));
        }
        return ms;
    }

    /**
     * Rounds of a step, a sequence and a small batch until compilation stops and round times
     * settle (also what {@link AutoTuner} does before timing a candidate).
     */
    static long run(RnnSpec spec, PreparedModel model) {
        return run(spec, model, () -> false, Integer.MAX_VALUE, false);
    }

    private static long run(RnnSpec spec, PreparedModel model, BooleanSupplier stop, int maxRounds, boolean pace) {
        long t0 = System.nanoTime();
        long deadline = t0 + (pace ? 2 : 1) * MAX_MILLIS * 1_000_000L;
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
        SplittableRandom rnd = new SplittableRandom(3);
        Call[] calls = {randomCall(spec, 1, 1, rnd), randomCall(spec, 8, 1, rnd), randomCall(spec, 4, 8, rnd)};
        double best = Double.MAX_VALUE;
        int settled = 0;
        long lastJit = timed ? jit.getTotalCompilationTime() : 0;
        long quietSince = System.nanoTime();
        for (int round = 0; round < maxRounds && System.nanoTime() < deadline && !stop.getAsBoolean(); round++) {
            long a = System.nanoTime();
            for (Call c : calls) {
                model.forward(c);
            }
            double ms = (System.nanoTime() - a) / 1e6;
            if (pace) {
                try {
                    Thread.sleep((long) Math.ceil(ms));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            best = Math.min(best, ms);
            settled = ms <= 1.25 * best ? settled + 1 : 0;
            long jitNow = timed ? jit.getTotalCompilationTime() : 0;
            if (jitNow != lastJit) {
                lastJit = jitNow;
                quietSince = System.nanoTime();
            }
            boolean quiet = System.nanoTime() - quietSince > 100_000_000L; // no compilation for 100 ms
            if (round >= 30 && settled >= 10 && (quiet || !timed)) {
                break;
            }
        }
        return (System.nanoTime() - t0) / 1_000_000L;
    }

    /** Waits until the JIT has compiled nothing for 100 ms, at most {@code maxMillis}. */
    static void awaitQuietJit(long maxMillis) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return;
        }
        long deadline = System.nanoTime() + maxMillis * 1_000_000L;
        long last = jit.getTotalCompilationTime();
        long quietSince = System.nanoTime();
        while (System.nanoTime() < deadline && System.nanoTime() - quietSince < 100_000_000L) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = jit.getTotalCompilationTime();
            if (now != last) {
                last = now;
                quietSince = System.nanoTime();
            }
        }
    }

    /** A call of random inputs in the canonical layout, zero initial state (the warm-up's and the tuner's). */
    static Call randomCall(RnnSpec spec, int seqLen, int batch, SplittableRandom rnd) {
        Call c = new Call();
        c.seqLen = seqLen;
        c.batch = batch;
        c.x = new float[seqLen * batch * spec.inputSize()];
        for (int i = 0; i < c.x.length; i++) {
            c.x[i] = (float) rnd.nextDouble(-1, 1);
        }
        int states = spec.numLayers() * spec.directions();
        c.y = new float[seqLen * batch * spec.directions() * spec.outputHiddenSize()];
        c.hN = new float[states * batch * spec.outputHiddenSize()];
        c.cN = spec.mode().hasCellState() ? new float[states * batch * spec.hiddenSize()] : null;
        return c;
    }
}
