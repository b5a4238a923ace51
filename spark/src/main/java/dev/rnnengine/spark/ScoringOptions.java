package dev.rnnengine.spark;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.core.Precision;
import java.io.Serializable;
import java.util.Objects;

/**
 * How {@link RnnScoring} scores a column: the model, the engine's options in each task, the
 * batch size and what a null or malformed row does. Immutable; sent to executors with the job.
 *
 * @param modelPath  a model or classifier file (README: file contracts), as any Hadoop-readable
 *                   path ({@code file:}, {@code hdfs:}, a plain local path); each executor JVM copies
 *                   and loads it once and shares it between its tasks
 * @param inputCol   the column to score: {@code array<array<float|double>>} (T, D) for a model file;
 *                   a string (text) or {@code array<int|bigint>} (token ids) for a classifier file
 * @param backend    the engine backend ({@code auto}, {@code vector}, {@code openblas}, {@code onednn}, {@code scalar})
 * @param threads    the engine's threads per task (a task is one Spark core: usually 1)
 * @param precision  the weights' precision
 * @param batchSize  rows per engine call; rows of similar length are batched together
 * @param onMalformed what a null, empty or malformed row does
 */
public record ScoringOptions(String modelPath, String inputCol, String backend, int threads, Precision precision,
                             int batchSize, OnMalformed onMalformed) implements Serializable {

    /** What a null, empty or malformed input row does. */
    public enum OnMalformed {
        /** The task fails with a message naming the partition, the row and what is wrong with it. */
        FAIL,
        /** The row's outputs are null and the row is counted in {@link RnnScoring.Scored#malformed()}. */
        NULL
    }

    /**
     * Checks the options.
     *
     * @throws IllegalArgumentException if threads or batchSize is below 1, or the backend is unknown or null
     * @throws NullPointerException if modelPath, inputCol, precision or onMalformed is null
     */
    public ScoringOptions {
        Objects.requireNonNull(modelPath, "modelPath");
        Objects.requireNonNull(inputCol, "inputCol");
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(onMalformed, "onMalformed");
        String b = new EngineOptions(backend, threads, precision).backend(); // the engine's checks, on the driver
        if (!EngineOptions.backendNames().contains(b)) {
            throw new IllegalArgumentException("unknown backend '" + backend + "': one of " + EngineOptions.backendNames());
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
    }

    /**
     * Defaults: backend auto, 1 thread per task, fp32, batches of 64, malformed rows fail the task.
     *
     * @throws NullPointerException if an argument is null
     */
    public static ScoringOptions of(String modelPath, String inputCol) {
        return new ScoringOptions(modelPath, inputCol, "auto", 1, Precision.FP32, 64, OnMalformed.FAIL);
    }

    /**
     * The same with another backend.
     *
     * @throws IllegalArgumentException or NullPointerException as the constructor
     */
    public ScoringOptions withBackend(String b) {
        return new ScoringOptions(modelPath, inputCol, b, threads, precision, batchSize, onMalformed);
    }

    /**
     * The same with another thread count per task.
     *
     * @throws IllegalArgumentException or NullPointerException as the constructor
     */
    public ScoringOptions withThreads(int t) {
        return new ScoringOptions(modelPath, inputCol, backend, t, precision, batchSize, onMalformed);
    }

    /**
     * The same with another weight precision.
     *
     * @throws IllegalArgumentException or NullPointerException as the constructor
     */
    public ScoringOptions withPrecision(Precision p) {
        return new ScoringOptions(modelPath, inputCol, backend, threads, p, batchSize, onMalformed);
    }

    /**
     * The same with another batch size.
     *
     * @throws IllegalArgumentException or NullPointerException as the constructor
     */
    public ScoringOptions withBatchSize(int n) {
        return new ScoringOptions(modelPath, inputCol, backend, threads, precision, n, onMalformed);
    }

    /**
     * The same with another malformed-row policy.
     *
     * @throws IllegalArgumentException or NullPointerException as the constructor
     */
    public ScoringOptions withOnMalformed(OnMalformed m) {
        return new ScoringOptions(modelPath, inputCol, backend, threads, precision, batchSize, m);
    }

    EngineOptions engineOptions() {
        return new EngineOptions(backend, threads, precision);
    }
}
