package dev.rnnengine.engine;

import dev.rnnengine.core.RnnSpec;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

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

    /** Warms a freshly prepared model's kernels if this process has not yet; returns the milliseconds spent. */
    static long ifNeeded(String backend, RnnSpec spec, PreparedModel model) {
        if (!enabled()) {
            return 0;
        }
        String family = family(backend, spec);
        if (DONE.containsKey(family)) {
            return 0;
        }
        long ms = run(spec, model);
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
        long t0 = System.nanoTime();
        long deadline = t0 + MAX_MILLIS * 1_000_000L;
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
        SplittableRandom rnd = new SplittableRandom(3);
        Call[] calls = {call(spec, 1, 1, rnd), call(spec, 8, 1, rnd), call(spec, 4, 8, rnd)};
        double best = Double.MAX_VALUE;
        int settled = 0;
        long lastJit = timed ? jit.getTotalCompilationTime() : 0;
        long quietSince = System.nanoTime();
        for (int round = 0; System.nanoTime() < deadline; round++) {
            long a = System.nanoTime();
            for (Call c : calls) {
                model.forward(c);
            }
            double ms = (System.nanoTime() - a) / 1e6;
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

    private static Call call(RnnSpec spec, int seqLen, int batch, SplittableRandom rnd) {
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
