package dev.rnnengine.spark;

import dev.rnnengine.core.Precision;
import java.util.Locale;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

/**
 * A Spark ML {@link Transformer} that scores a column with rnn-engine: {@link RnnScoring} as a
 * pipeline stage. Parameters: {@code modelPath}, {@code inputCol} (required), {@code backend}
 * ({@code auto}), {@code threads} (1 per task), {@code precision} ({@code fp32}), {@code batchSize}
 * (64), {@code onMalformed} ({@code fail} or {@code null}).
 */
public final class RnnTransformer extends Transformer {
    private static final long serialVersionUID = 1L;
    private final String uid;
    private transient LongAccumulator lastMalformed;

    private final Param<String> modelPath;
    private final Param<String> inputCol;
    private final Param<String> backend;
    private final IntParam threads;
    private final Param<String> precision;
    private final IntParam batchSize;
    private final Param<String> onMalformed;

    /** A transformer with a random uid. */
    public RnnTransformer() {
        this(Identifiable$.MODULE$.randomUID("rnnEngine"));
    }

    /** A transformer with this uid (Spark ML's copy and persistence use it). */
    public RnnTransformer(String uid) {
        this.uid = uid;
        modelPath = new Param<>(this, "modelPath", "model or classifier file (Hadoop path)");
        inputCol = new Param<>(this, "inputCol", "the column to score");
        backend = new Param<>(this, "backend", "engine backend: auto, vector, openblas, onednn, scalar");
        threads = new IntParam(this, "threads", "engine threads per task");
        precision = new Param<>(this, "precision", "weights: fp32, fp16, int8");
        batchSize = new IntParam(this, "batchSize", "rows per engine call");
        onMalformed = new Param<>(this, "onMalformed", "fail: the task fails naming the row; null: null outputs, counted");
        setDefault(backend, "auto");
        setDefault(threads, 1);
        setDefault(precision, "fp32");
        setDefault(batchSize, 64);
        setDefault(onMalformed, "fail");
    }

    /** The path of the model or classifier file (any Hadoop-readable path). Spark ML finds a stage's parameters by such accessors. */
    public Param<String> modelPath() {
        return modelPath;
    }

    /** The column to score. Spark ML finds a stage's parameters by such accessors. */
    public Param<String> inputCol() {
        return inputCol;
    }

    /** The engine backend. Spark ML finds a stage's parameters by such accessors. */
    public Param<String> backend() {
        return backend;
    }

    /** The engine's threads per task. Spark ML finds a stage's parameters by such accessors. */
    public IntParam threads() {
        return threads;
    }

    /** fp32, fp16 or int8. Spark ML finds a stage's parameters by such accessors. */
    public Param<String> precision() {
        return precision;
    }

    /** Rows per engine call. Spark ML finds a stage's parameters by such accessors. */
    public IntParam batchSize() {
        return batchSize;
    }

    /** fail or null. Spark ML finds a stage's parameters by such accessors. */
    public Param<String> onMalformed() {
        return onMalformed;
    }

    /** Sets the model path. */
    public RnnTransformer setModelPath(String v) {
        set(modelPath, v);
        return this;
    }

    /** Sets the input column. */
    public RnnTransformer setInputCol(String v) {
        set(inputCol, v);
        return this;
    }

    /** Sets the backend. */
    public RnnTransformer setBackend(String v) {
        set(backend, v);
        return this;
    }

    /** Sets the threads per task. */
    public RnnTransformer setThreads(int v) {
        set(threads, v);
        return this;
    }

    /** Sets the weight precision ({@code fp32}, {@code fp16}, {@code int8}). */
    public RnnTransformer setPrecision(String v) {
        set(precision, v);
        return this;
    }

    /** Sets the batch size. */
    public RnnTransformer setBatchSize(int v) {
        set(batchSize, v);
        return this;
    }

    /** Sets the malformed-row policy ({@code fail} or {@code null}). */
    public RnnTransformer setOnMalformed(String v) {
        set(onMalformed, v);
        return this;
    }

    /**
     * The options these parameters give.
     *
     * @throws java.util.NoSuchElementException if modelPath or inputCol is not set
     * @throws IllegalArgumentException if a value is out of range or unknown
     */
    public ScoringOptions options() {
        ScoringOptions.OnMalformed m = switch ($(onMalformed).toLowerCase(Locale.ROOT)) {
            case "fail" -> ScoringOptions.OnMalformed.FAIL;
            case "null" -> ScoringOptions.OnMalformed.NULL;
            default -> throw new IllegalArgumentException("onMalformed must be fail or null, got '" + $(onMalformed) + "'");
        };
        return new ScoringOptions($(modelPath), $(inputCol), $(backend), (Integer) $(threads),
            Precision.parse($(precision)), (Integer) $(batchSize), m);
    }

    /**
     * Scores the dataset.
     *
     * @throws IllegalArgumentException as {@link RnnScoring#score}, or for a parameter out of range
     * @throws java.util.NoSuchElementException if modelPath or inputCol is not set
     * @throws java.io.UncheckedIOException if the model file cannot be read
     */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        @SuppressWarnings("unchecked")
        Dataset<Row> rows = (Dataset<Row>) dataset.toDF();
        RnnScoring.Scored s = RnnScoring.score(rows, options());
        lastMalformed = s.malformed();
        return s.rows();
    }

    /** The malformed-row counter of the last {@link #transform} (filled when an action runs it), or null. */
    public LongAccumulator lastMalformed() {
        return lastMalformed;
    }

    /**
     * The output schema, without running anything.
     *
     * @throws IllegalArgumentException as {@link RnnScoring#outputSchema}
     * @throws java.util.NoSuchElementException if modelPath or inputCol is not set
     * @throws java.io.UncheckedIOException if the model file cannot be read
     */
    @Override
    public StructType transformSchema(StructType schema) {
        return RnnScoring.outputSchema(schema, options());
    }

    @Override
    public RnnTransformer copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    @Override
    public String uid() {
        return uid;
    }
}
