package dev.rnnengine.api;

/**
 * How a model runs: which backend and how many threads.
 *
 * @param backend {@code auto} or a backend's name ({@code dev.rnnengine.engine.Backends#NAMES})
 * @param threads worker threads the backend may use (at least 1)
 */
public record EngineOptions(String backend, int threads) {
    /** System property that sets the default backend. */
    public static final String BACKEND_PROPERTY = "rnn.backend";
    /** System property that sets the default thread count. */
    public static final String THREADS_PROPERTY = "rnn.threads";

    /**
     * Validates the options.
     *
     * @throws IllegalArgumentException if threads is below 1 or the backend is blank
     */
    public EngineOptions {
        if (backend == null || backend.isBlank()) {
            throw new IllegalArgumentException("backend must be named: " + dev.rnnengine.engine.Backends.choices());
        }
        backend = backend.trim().toLowerCase(java.util.Locale.ROOT);
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
    }

    /**
     * The defaults: backend from {@value #BACKEND_PROPERTY} (else {@code auto}), threads from
     * {@value #THREADS_PROPERTY} (else the number of available processors).
     *
     * @throws IllegalArgumentException if a property holds a bad value
     */
    public static EngineOptions defaults() {
        String b = System.getProperty(BACKEND_PROPERTY, "auto");
        String t = System.getProperty(THREADS_PROPERTY);
        int threads;
        try {
            threads = t == null ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(t.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(THREADS_PROPERTY + " must be an integer, got '" + t + "'");
        }
        return new EngineOptions(b, threads);
    }

    /** These options with another backend. */
    public EngineOptions withBackend(String name) {
        return new EngineOptions(name, threads);
    }

    /** These options with another thread count. */
    public EngineOptions withThreads(int n) {
        return new EngineOptions(backend, n);
    }
}
