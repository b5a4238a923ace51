package dev.rnnengine.engine;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one thread-count policy, the same for every backend: a model uses at most as many
 * threads as the JVM has processors. More would only oversubscribe the cores (every step
 * waits at a barrier for all workers), and native libraries misbehave with thousands of
 * threads (libgomp overflowed the caller's stack), so a larger request is capped, with one
 * log line.
 */
public final class Threads {
    private static final System.Logger LOG = System.getLogger("dev.rnnengine");
    private static final AtomicBoolean LOGGED = new AtomicBoolean();

    private Threads() { }

    /** The most threads a model uses here: the processors this JVM may use. */
    public static int max() {
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    /**
     * The threads a model asking for {@code requested} gets: {@code min(requested, max())}.
     *
     * @throws IllegalArgumentException if requested is below 1
     */
    public static int effective(int requested) {
        if (requested < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + requested);
        }
        int max = max();
        if (requested > max && LOGGED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.INFO, "threads=" + requested + " capped at " + max
                + ", the processors this JVM may use");
        }
        return Math.min(requested, max);
    }
}
