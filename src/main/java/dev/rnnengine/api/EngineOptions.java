package dev.rnnengine.api;

import dev.rnnengine.core.Precision;

/**
 * How a model runs: which backend, how many threads, and the precision its weights are held in.
 *
 * @param backend   {@code auto} or a backend's name: {@code scalar}, {@code vector}, {@code openblas},
 *                  {@code onednn} ({@code rnn info} lists what runs here)
 * @param threads   threads the model may use (at least 1; capped at the processors this JVM may use)
 * @param precision the weight matrices' precision: {@link Precision#FP32} (the default, PyTorch's
 *                  results), or {@code FP16}/{@code INT8} (fewer bytes per step, a documented error;
 *                  they run on {@code vector} and {@code scalar})
 */
public record EngineOptions(String backend, int threads, Precision precision) {
    /**
     * fp32 weights.
     *
     * @throws IllegalArgumentException if threads is below 1 or the backend is blank
     */
    public EngineOptions(String backend, int threads) {
        this(backend, threads, Precision.FP32);
    }

    /** System property that sets the default backend. */
    public static final String BACKEND_PROPERTY = "rnn.backend";
    /** System property that sets the default thread count. */
    public static final String THREADS_PROPERTY = "rnn.threads";

    /**
     * Validates the options.
     *
     * @throws IllegalArgumentException if threads is below 1, the backend is blank or the precision null
     */
    public EngineOptions {
        if (precision == null) {
            throw new IllegalArgumentException("precision must be given: fp32, fp16 or int8");
        }
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
        return new EngineOptions(defaultBackend(), defaultThreads());
    }

    /**
     * The backend names an option may give: {@code auto}, then every registered backend
     * ({@code scalar}, {@code vector}, {@code openblas}, {@code onednn}), whether or not it runs here.
     */
    public static java.util.List<String> backendNames() {
        return dev.rnnengine.engine.Backends.allNames();
    }

    /** The default backend: {@value #BACKEND_PROPERTY}, else {@code auto}. */
    public static String defaultBackend() {
        return System.getProperty(BACKEND_PROPERTY, "auto");
    }

    /**
     * The default thread count: {@value #THREADS_PROPERTY}, else the available processors.
     *
     * @throws IllegalArgumentException if the property is not a positive integer
     */
    public static int defaultThreads() {
        String t = System.getProperty(THREADS_PROPERTY);
        if (t == null) {
            return Runtime.getRuntime().availableProcessors();
        }
        try {
            int v = Integer.parseInt(t.trim());
            if (v >= 1) {
                return v;
            }
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new IllegalArgumentException("-D" + THREADS_PROPERTY + " must be a positive integer, got '" + t + "'");
    }

    /** These options with another backend. */
    public EngineOptions withBackend(String name) {
        return new EngineOptions(name, threads, precision);
    }

    /** These options with another thread count. */
    public EngineOptions withThreads(int n) {
        return new EngineOptions(backend, n, precision);
    }

    /** These options with another weight precision. */
    public EngineOptions withPrecision(Precision p) {
        return new EngineOptions(backend, threads, p);
    }
}
