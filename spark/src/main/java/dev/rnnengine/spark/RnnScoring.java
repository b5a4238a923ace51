package dev.rnnengine.spark;

import dev.rnnengine.io.SafetensorsFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

/**
 * Scores a Dataset column with rnn-engine, partition by partition: the plain function for users
 * without ML pipelines ({@link RnnTransformer} wraps it).
 *
 * <p>Every input row comes out once, in its partition's order, with the output columns added:
 * for a model file {@code h_n} (the last layer's final state, both directions concatenated) and
 * {@code pooled} (the output's mean over the row's steps); for a classifier file {@code logits},
 * {@code probabilities} and {@code label}. Within a partition, rows are read in chunks, sorted by
 * length and run in batches of similar length with their lengths (PyTorch's packed semantics: a
 * row's result does not depend on its batch).
 */
public final class RnnScoring {
    /** Output columns for a model file. */
    public static final String H_N = "h_n";
    /** The output's mean over each row's steps, for a model file. */
    public static final String POOLED = "pooled";
    /** Output columns for a classifier file. */
    public static final String LOGITS = "logits";
    /** Softmax of the logits (sigmoid for one output). */
    public static final String PROBABILITIES = "probabilities";
    /** The best label's name. */
    public static final String LABEL = "label";

    /**
     * A scored Dataset (lazy, like any) and the counter of rows scored null under
     * {@link ScoringOptions.OnMalformed#NULL}. The counter is filled when an action runs the
     * Dataset; a retried task may count its rows again (Spark's rule for accumulators updated in
     * transformations): count the null outputs for an exact figure.
     */
    public record Scored(Dataset<Row> rows, LongAccumulator malformed) { }

    private RnnScoring() { }

    /**
     * Adds the model's output columns to {@code rows}.
     *
     * @throws IllegalArgumentException if the input column is missing or of a type the model cannot take,
     *                                  or an output column name is taken
     * @throws UncheckedIOException if the model file cannot be read on the driver (its kind and sizes are read there)
     */
    public static Scored score(Dataset<Row> rows, ScoringOptions options) {
        ModelKind kind = ModelKind.read(options.modelPath()); // read once: the schema and the tasks' check agree
        StructType out = outputSchema(rows.schema(), options, kind);
        int col = rows.schema().fieldIndex(options.inputCol());
        DataType t = rows.schema().fields()[col].dataType();
        LongAccumulator malformed = rows.sparkSession().sparkContext().longAccumulator("rnn-engine malformed rows");
        boolean classifier = kind.classifier();
        MapPartitionsFunction<Row, Row> f = it -> new PartitionScorer(options, classifier, col, t, malformed).score(it);
        return new Scored(rows.mapPartitions(f, Encoders.row(out)), malformed);
    }

    /**
     * The schema {@link #score} gives: the input's columns, then the model's outputs.
     *
     * @throws IllegalArgumentException if the input column is missing or of a type the model cannot take,
     *                                  or an output column name is taken
     * @throws UncheckedIOException if the model file cannot be read
     */
    public static StructType outputSchema(StructType in, ScoringOptions options) {
        return outputSchema(in, options, null);
    }

    /** As {@link #outputSchema(StructType, ScoringOptions)} for a file of the given kind (null: read it). */
    private static StructType outputSchema(StructType in, ScoringOptions options, ModelKind known) {
        int col;
        try {
            col = in.fieldIndex(options.inputCol());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("no input column '" + options.inputCol() + "' in " + in.simpleString());
        }
        ModelKind kind = known != null ? known : ModelKind.read(options.modelPath());
        kind.checkInput(options.inputCol(), in.fields()[col].dataType());
        StructType out = in;
        for (StructField f : kind.outputFields()) {
            if (List.of(in.fieldNames()).contains(f.name())) {
                throw new IllegalArgumentException("the input already has a column '" + f.name() + "'");
            }
            out = out.add(f);
        }
        return out;
    }

    /** What the file is, read on the driver from its header: the output columns follow from it. */
    record ModelKind(boolean classifier) {
        /** The kind of the file at {@code path} now (a remote file's header through a copy, once per version). */
        static ModelKind read(String path) {
            return ExecutorModels.kind(path);
        }

        /** The kind of {@code local}, the file or copy of {@code path} (named in messages). */
        static ModelKind read(java.nio.file.Path local, String path) {
            try (SafetensorsFile f = SafetensorsFile.open(local)) {
                return of(f);
            } catch (IOException e) {
                throw new UncheckedIOException("rnn-engine-spark: cannot read " + path + ": " + e.getMessage(), e);
            }
        }

        private static ModelKind of(SafetensorsFile f) {
            return new ModelKind(f.contains("embedding.weight") && f.contains("fc.weight"));
        }

        void checkInput(String name, DataType t) {
            boolean ok;
            String want;
            if (classifier) {
                ok = t.equals(DataTypes.StringType) || (t instanceof ArrayType a
                    && (a.elementType().equals(DataTypes.IntegerType) || a.elementType().equals(DataTypes.LongType)));
                want = "string (text) or array<int|bigint> (token ids) for a classifier file";
            } else {
                ok = t instanceof ArrayType a && a.elementType() instanceof ArrayType b
                    && (b.elementType().equals(DataTypes.FloatType) || b.elementType().equals(DataTypes.DoubleType));
                want = "array<array<float|double>> (T, D) for a model file";
            }
            if (!ok) {
                throw new IllegalArgumentException("column '" + name + "' is " + t.simpleString() + "; it must be " + want);
            }
        }

        List<StructField> outputFields() {
            ArrayType floats = DataTypes.createArrayType(DataTypes.FloatType, false);
            if (classifier) {
                return List.of(DataTypes.createStructField(LOGITS, floats, true),
                    DataTypes.createStructField(PROBABILITIES, floats, true),
                    DataTypes.createStructField(LABEL, DataTypes.StringType, true));
            }
            return List.of(DataTypes.createStructField(H_N, floats, true), DataTypes.createStructField(POOLED, floats, true));
        }
    }
}
