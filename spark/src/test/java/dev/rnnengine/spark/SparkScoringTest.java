package dev.rnnengine.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.SafetensorsWriter;
import dev.rnnengine.text.SentenceClassifier;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Spark integration on {@code local[2,2]} (two cores; a failed task is retried once): the
 * same results as the single-JVM engine, each malformed-row policy, a retried task, the ML
 * Transformer. The standalone cluster has its own class ({@link StandaloneClusterTest}).
 */
class SparkScoringTest {
    static final StructType SEQ_SCHEMA = new StructType().add("id", DataTypes.LongType)
        .add("x", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
    static final int D = 8;

    @TempDir
    static Path dir;
    static SparkSession spark;
    static Path lstm; // 2-layer bidirectional, batch-first
    static Path gru;  // 1 layer, time-major
    static Path spam;

    @BeforeAll
    static void start() throws Exception {
        lstm = writeModel(dir.resolve("lstm.safetensors"),
            RnnSpec.builder(CellMode.LSTM, D, 16).numLayers(2).bidirectional(true).batchFirst(true).build(), 7);
        gru = writeModel(dir.resolve("gru.safetensors"), RnnSpec.builder(CellMode.GRU, D, 12).build(), 8);
        spam = dir.resolve("spam.safetensors");
        try (InputStream in = SentenceClassifier.class.getResourceAsStream("/dev/rnnengine/demo/spam.safetensors")) {
            Files.copy(in, spam, StandardCopyOption.REPLACE_EXISTING);
        }
        spark = SparkSession.builder().master("local[2,2]").appName("rnn-engine-spark-test")
            .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.shuffle.partitions", "4")
            .config("spark.hadoop.fs." + RemoteTestFileSystem.SCHEME + ".impl", RemoteTestFileSystem.class.getName())
            .getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    static Path writeModel(Path file, RnnSpec spec, long seed) throws Exception {
        return SparkBench.writeModel(file, spec, seed);
    }

    /** Rows of 1..40 steps of D seeded features; id = index. */
    static List<Row> sequences(int n, long seed) {
        Random r = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int t = 1 + r.nextInt(40);
            List<List<Float>> x = new ArrayList<>();
            for (int s = 0; s < t; s++) {
                List<Float> step = new ArrayList<>();
                for (int k = 0; k < D; k++) {
                    step.add((float) r.nextGaussian());
                }
                x.add(step);
            }
            rows.add(RowFactory.create((long) i, x));
        }
        return rows;
    }

    static void assertClose(String what, float[] expected, List<?> actual) {
        assertEquals(expected.length, actual.size(), what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float a = ((Number) actual.get(i)).floatValue();
            if (!(Math.abs(a - expected[i]) <= 1e-5 + 1e-5 * Math.abs(expected[i]))) {
                fail(what + "[" + i + "]: got " + a + ", expected " + expected[i]);
            }
        }
    }

    /** h_n of the last layer (every direction) and the output's mean, as the engine gives them for the row alone. */
    static float[][] alone(RnnModel m, List<?> steps) {
        RnnSpec spec = m.spec();
        int t = steps.size();
        float[] x = new float[t * D];
        for (int s = 0; s < t; s++) {
            List<?> step = PartitionScorer.asList(steps.get(s));
            for (int k = 0; k < D; k++) {
                x[s * D + k] = ((Number) step.get(k)).floatValue();
            }
        }
        RnnOutput o = m.forward(spec.batchFirst() ? Tensor.of(x, 1, t, D) : Tensor.of(x, t, 1, D)); // one row
        int h = spec.outputHiddenSize();
        int dirs = spec.directions();
        float[] hN = new float[dirs * h];
        for (int d = 0; d < dirs; d++) {
            for (int j = 0; j < h; j++) {
                hN[d * h + j] = o.hN().get(((spec.numLayers() - 1) * dirs + d) * h + j);
            }
        }
        float[] mean = new float[dirs * h];
        for (int j = 0; j < dirs * h; j++) {
            float acc = 0;
            for (int s = 0; s < t; s++) {
                acc += o.output().get(s * dirs * h + j);
            }
            mean[j] = acc / t;
        }
        return new float[][] {hN, mean};
    }

    @Test
    void everyBackendGivesTheSingleJvmEnginesResults() throws Exception {
        List<Row> rows = sequences(300, 1);
        Dataset<Row> ds = spark.createDataFrame(rows, SEQ_SCHEMA).repartition(3);
        // Every backend runs here (the native ones from their jars): a missing one fails the load below, never skips.
        for (String b : EngineOptions.backendNames().subList(1, EngineOptions.backendNames().size())) {
            for (Path model : List.of(lstm, gru)) {
                RnnScoring.Scored s = RnnScoring.score(ds, ScoringOptions.of(model.toString(), "x").withBackend(b).withBatchSize(16));
                List<Row> got = s.rows().collectAsList();
                String what = b + " " + model.getFileName();
                assertEquals(300, got.size(), what);
                assertEquals(List.of("id", "x", "h_n", "pooled"), List.of(s.rows().schema().fieldNames()));
                try (RnnModel m = RnnModel.load(model, new EngineOptions(b, 1), Map.of())) {
                    boolean[] seen = new boolean[300];
                    for (Row r : got) {
                        int id = (int) r.getLong(0);
                        assertTrue(!seen[id], what + ": row " + id + " twice");
                        seen[id] = true;
                        float[][] want = alone(m, r.getList(1));
                        assertClose(what + " row " + id + " h_n", want[0], r.getList(2));
                        assertClose(what + " row " + id + " pooled", want[1], r.getList(3));
                    }
                }
                assertEquals(0L, s.malformed().value());
            }
        }
    }

    @Test
    void rowsComeOutInTheirPartitionsOrder() {
        List<Row> rows = sequences(200, 9); // lengths 1..40 at random: sorted inside, put back after
        List<Row> got = RnnScoring.score(spark.createDataFrame(rows, SEQ_SCHEMA).coalesce(1),
            ScoringOptions.of(gru.toString(), "x").withBackend("scalar").withBatchSize(7)).rows().collectAsList();
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(i, got.get(i).getLong(0), "position " + i);
        }
    }

    @Test
    void aClassifierScoresTextAndTokenIdsAsTheSingleJvmEngine() throws Exception {
        List<String> texts = List.of("Subject: your account WIN a FREE prize now click here",
            "Re: the meeting is moved to Thursday, see you there", "cheap meds online no prescription",
            "the patch fixes the build on debian", "URGENT: confirm your bank details");
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            rows.add(RowFactory.create((long) i, texts.get(i % texts.size()) + " " + i));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("text", DataTypes.StringType);
        Dataset<Row> ds = spark.createDataFrame(rows, schema).repartition(2);
        List<Row> got = RnnScoring.score(ds, ScoringOptions.of(spam.toString(), "text").withBackend("vector").withBatchSize(8))
            .rows().collectAsList();
        assertEquals(40, got.size());
        try (SentenceClassifier c = SentenceClassifier.load(spam, new EngineOptions("vector", 1))) {
            for (Row r : got) {
                SentenceClassifier.Prediction p = c.classify(List.of(r.getString(1))).get(0);
                assertEquals(p.label(), r.getString(4), r.getString(1));
                assertClose("probabilities of " + r.getString(1), p.probabilities(), r.getList(3));
            }
            // Token ids: the same answers as the text they came from.
            List<Row> idRows = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                List<Long> ids = new ArrayList<>();
                for (String t : c.tokens(texts.get(i))) {
                    ids.add((long) c.vocabulary().id(t));
                }
                idRows.add(RowFactory.create((long) i, ids));
            }
            StructType idSchema = new StructType().add("id", DataTypes.LongType)
                .add("tokens", DataTypes.createArrayType(DataTypes.LongType));
            List<Row> byIds = RnnScoring.score(spark.createDataFrame(idRows, idSchema),
                ScoringOptions.of(spam.toString(), "tokens").withBackend("vector")).rows().collectAsList();
            assertEquals(texts.size(), byIds.size());
            for (Row r : byIds) {
                SentenceClassifier.Prediction p = c.classify(List.of(texts.get((int) r.getLong(0)))).get(0);
                assertEquals(p.label(), r.getString(4));
                assertClose("ids of text " + r.getLong(0), p.probabilities(), r.getList(3));
            }
            // A classifier's bad rows: a text without tokens, an id outside the vocabulary, a null id.
            List<Row> bad = new ArrayList<>(idRows.subList(0, 2));
            List<Long> outside = new ArrayList<>(List.of(5L, (long) c.vocabulary().size()));
            List<Long> withNull = new ArrayList<>(java.util.Arrays.asList(5L, null));
            bad.add(RowFactory.create(10L, outside));
            bad.add(RowFactory.create(11L, withNull));
            bad.add(RowFactory.create(12L, List.of()));
            Dataset<Row> badDs = spark.createDataFrame(bad, idSchema).coalesce(1);
            RnnScoring.Scored s = RnnScoring.score(badDs, ScoringOptions.of(spam.toString(), "tokens")
                .withOnMalformed(ScoringOptions.OnMalformed.NULL));
            List<Row> scored = s.rows().collectAsList();
            assertEquals(5, scored.size());
            for (Row r : scored) {
                assertEquals(r.getLong(0) >= 10, r.isNullAt(4), "row " + r.getLong(0));
            }
            assertEquals(3L, s.malformed().value());
            Exception e = assertThrows(Exception.class, () -> RnnScoring.score(badDs, ScoringOptions.of(spam.toString(), "tokens"))
                .rows().collectAsList());
            assertTrue(rootMessage(e).contains("row 2 of the partition: column 'tokens' has token id " + c.vocabulary().size()
                + " at position 1, outside the vocabulary"), rootMessage(e));
            List<Row> blank = List.of(RowFactory.create(0L, "  \t "));
            Exception noTokens = assertThrows(Exception.class, () -> RnnScoring.score(spark.createDataFrame(blank, schema),
                ScoringOptions.of(spam.toString(), "text")).rows().collectAsList());
            assertTrue(rootMessage(noTokens).contains("column 'text' has no tokens"), rootMessage(noTokens));
        }
    }

    @Test
    void malformedRowsFailTheTaskNamingTheRowOrScoreNullAndAreCounted() {
        List<Row> rows = new ArrayList<>(sequences(20, 2));
        List<Float> short1 = List.of(1f, 2f);
        List<Float> nan = new ArrayList<>(java.util.Collections.nCopies(D, 0f));
        nan.set(3, Float.NaN);
        rows.add(RowFactory.create(20L, null));
        rows.add(RowFactory.create(21L, List.of()));
        rows.add(RowFactory.create(22L, List.of(short1)));
        rows.add(RowFactory.create(23L, List.of(nan)));
        Dataset<Row> ds = spark.createDataFrame(rows, SEQ_SCHEMA).coalesce(1);
        Exception e = assertThrows(Exception.class,
            () -> RnnScoring.score(ds, ScoringOptions.of(lstm.toString(), "x").withBackend("scalar")).rows().collectAsList());
        String msg = String.valueOf(rootMessage(e));
        assertTrue(msg.contains("row 20 of the partition: column 'x' is null"), msg);

        RnnScoring.Scored s = RnnScoring.score(ds, ScoringOptions.of(lstm.toString(), "x").withBackend("scalar")
            .withOnMalformed(ScoringOptions.OnMalformed.NULL));
        List<Row> got = s.rows().collectAsList();
        assertEquals(24, got.size());
        for (Row r : got) {
            boolean bad = r.getLong(0) >= 20;
            assertEquals(bad, r.isNullAt(2), "row " + r.getLong(0));
            assertEquals(bad, r.isNullAt(3), "row " + r.getLong(0));
        }
        assertEquals(4L, s.malformed().value());
        // Each problem has its words.
        for (Object[] c : new Object[][] {{21L, "has no steps"}, {22L, "has 2 features at step 0; the model's input_size is 8"},
                {23L, "has NaN at step 0, feature 3"}}) {
            Dataset<Row> one = spark.createDataFrame(rows.subList((int) (long) (Long) c[0], (int) (long) (Long) c[0] + 1), SEQ_SCHEMA);
            Exception x = assertThrows(Exception.class,
                () -> RnnScoring.score(one, ScoringOptions.of(lstm.toString(), "x").withBackend("scalar")).rows().collectAsList());
            assertTrue(rootMessage(x).contains((String) c[1]), rootMessage(x));
        }
        // Schema errors are the driver's, before any task.
        IllegalArgumentException wrongType = assertThrows(IllegalArgumentException.class,
            () -> RnnScoring.score(ds, ScoringOptions.of(spam.toString(), "x")));
        assertTrue(wrongType.getMessage().contains("string (text) or array<int|bigint>"), wrongType.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RnnScoring.score(ds, ScoringOptions.of(lstm.toString(), "nope")));
        assertThrows(IllegalArgumentException.class, () -> ScoringOptions.of(lstm.toString(), "x").withBackend("gpu"));
    }

    static String rootMessage(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            b.append(t.getMessage()).append(" | ");
        }
        return b.toString();
    }

    @Test
    void aTaskThatFailsOnceIsRetriedAndEveryRowComesOutOnce() throws Exception {
        List<Row> rows = sequences(500, 3);
        Dataset<Row> scored = RnnScoring.score(spark.createDataFrame(rows, SEQ_SCHEMA).repartition(4),
            ScoringOptions.of(lstm.toString(), "x").withBackend("vector").withBatchSize(8)).rows();
        // Downstream in the same stage: partition 1's first attempt dies half-way through its rows.
        MapPartitionsFunction<Row, Row> flaky = it -> {
            TaskContext tc = TaskContext.get();
            List<Row> out = new ArrayList<>();
            while (it.hasNext()) {
                out.add(it.next());
                if (tc.partitionId() == 1 && tc.attemptNumber() == 0 && out.size() == 40) {
                    throw new IllegalStateException("injected failure");
                }
            }
            return out.iterator();
        };
        List<Row> got = scored.mapPartitions(flaky, Encoders.row(scored.schema())).collectAsList();
        assertEquals(500, got.size());
        Map<Long, Row> byId = new HashMap<>();
        for (Row r : got) {
            assertNull(byId.put(r.getLong(0), r), "row " + r.getLong(0) + " twice");
        }
        try (RnnModel m = RnnModel.load(lstm, new EngineOptions("vector", 1), Map.of())) {
            for (Row r : got) {
                assertClose("row " + r.getLong(0), alone(m, r.getList(1))[0], r.getList(2));
            }
        }
    }

    @Test
    void theTransformerIsAPipelineStageWithTheSameResults() throws Exception {
        Dataset<Row> ds = spark.createDataFrame(sequences(50, 4), SEQ_SCHEMA);
        RnnTransformer t = new RnnTransformer().setModelPath(lstm.toString()).setInputCol("x").setBackend("openblas")
            .setBatchSize(4);
        assertEquals(List.of("id", "x", "h_n", "pooled"), List.of(t.transformSchema(ds.schema()).fieldNames()));
        Dataset<Row> out = new Pipeline().setStages(new PipelineStage[] {t}).fit(ds).transform(ds);
        List<Row> got = out.collectAsList();
        try (RnnModel m = RnnModel.load(lstm, new EngineOptions(t.options().backend(), 1), Map.of())) {
            for (Row r : got) {
                assertClose("row " + r.getLong(0), alone(m, r.getList(1))[1], r.getList(3));
            }
        }
        assertEquals(0L, t.lastMalformed().value());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> t.copy(new org.apache.spark.ml.param.ParamMap()).setOnMalformed("skip").options());
        assertTrue(e.getMessage().contains("fail or null"), e.getMessage());
    }

    @Test
    void oneModelPerJvmWhateverTheNumberOfTasks() throws Exception {
        Path fresh = Files.copy(lstm, dir.resolve("fresh.safetensors")); // a path no other test loaded
        int before = ExecutorModels.loadedCount();
        ScoringOptions o = ScoringOptions.of(fresh.toString(), "x").withBackend("scalar").withBatchSize(3);
        RnnScoring.score(spark.createDataFrame(sequences(64, 5), SEQ_SCHEMA).repartition(8), o).rows().count();
        RnnScoring.score(spark.createDataFrame(sequences(64, 6), SEQ_SCHEMA).repartition(8), o).rows().count();
        assertEquals(before + 1, ExecutorModels.loadedCount(), "16 tasks, one model");
    }

    /**
     * A model file replaced at its path, local or remote: the next job scores with the new
     * weights (a remote copy kept per path once gave the old ones for ever), the old version is
     * closed, no local copy is left, and a file that changed kind fails the job naming it.
     */
    @Test
    void aReplacedModelFileIsScoredWithItsNewWeightsAndTheOldIsClosed() throws Exception {
        RnnSpec spec = RnnSpec.builder(CellMode.GRU, D, 12).build();
        Path a = writeModel(dir.resolve("version-a.safetensors"), spec, 21);
        Path b = writeModel(dir.resolve("version-b.safetensors"), spec, 22);
        for (boolean remote : new boolean[] {false, true}) {
            Path file = dir.resolve("replaced-" + remote + ".safetensors");
            Files.copy(a, file, StandardCopyOption.REPLACE_EXISTING);
            String path = remote ? RemoteTestFileSystem.SCHEME + "://" + file.toAbsolutePath() : file.toString();
            ScoringOptions o = ScoringOptions.of(path, "x").withBackend("scalar").withBatchSize(5);
            List<Row> rows = sequences(40, 3);
            int before = ExecutorModels.loadedCount();

            for (Path version : List.of(a, b, a)) {
                if (version != a || ExecutorModels.loadedCount() != before) { // the first round is a's already
                    Files.copy(version, file, StandardCopyOption.REPLACE_EXISTING);
                    // same size: the modification time tells the versions apart
                    Files.setLastModifiedTime(file, FileTime.fromMillis(Files.getLastModifiedTime(file).toMillis() + 5000));
                }
                List<Row> got = RnnScoring.score(spark.createDataFrame(rows, SEQ_SCHEMA).repartition(4), o).rows()
                    .collectAsList();
                try (RnnModel m = RnnModel.load(version, new EngineOptions("scalar", 1), Map.of())) {
                    for (Row r : got) {
                        assertClose((remote ? "remote " : "local ") + version.getFileName() + " row " + r.getLong(0),
                            alone(m, r.getList(1))[0], r.getList(2));
                    }
                }
                assertEquals(before + 1, ExecutorModels.loadedCount(), "the old version is closed");
                assertEquals(0, localCopies(), "a remote file's copy is deleted once read");
            }
            // The file becomes a classifier between the job's definition and its run.
            RnnScoring.Scored s = RnnScoring.score(spark.createDataFrame(rows, SEQ_SCHEMA).repartition(2), o);
            Files.copy(spam, file, StandardCopyOption.REPLACE_EXISTING);
            Exception e = assertThrows(Exception.class, () -> s.rows().count());
            String all = e.toString() + (e.getCause() == null ? "" : e.getCause().toString());
            assertTrue(all.contains("is now a classifier file: define the job again"), all);
        }
    }

    private static long localCopies() throws Exception {
        try (var files = Files.list(ExecutorModels.copyDirectory())) {
            return files.count();
        }
    }

    /** Tasks that hold the old version finish on it: it is closed when the last of them lets go, not when replaced. */
    @Test
    void aReplacedVersionStaysOpenUntilItsLastTaskEnds() throws Exception {
        RnnSpec spec = RnnSpec.builder(CellMode.GRU, D, 12).build();
        Path file = writeModel(dir.resolve("leased.safetensors"), spec, 31);
        ScoringOptions o = ScoringOptions.of(file.toString(), "x").withBackend("scalar");
        int before = ExecutorModels.loadedCount();
        Tensor x = Tensor.zeros(3, 1, D);
        ExecutorModels.Lease first = ExecutorModels.acquire(o);
        ExecutorModels.Lease second = ExecutorModels.acquire(o);
        assertTrue(first.loaded() == second.loaded(), "one version, shared");
        writeModel(file, spec, 32);
        Files.setLastModifiedTime(file, FileTime.fromMillis(Files.getLastModifiedTime(file).toMillis() + 5000));
        ExecutorModels.Lease third = ExecutorModels.acquire(o);
        assertTrue(third.loaded() != first.loaded(), "the new version is loaded");
        assertEquals(before + 2, ExecutorModels.loadedCount());
        first.close();
        first.close(); // twice: counted once
        first.loaded().model().forward(x); // the second task still runs on it
        assertEquals(before + 2, ExecutorModels.loadedCount());
        second.close();
        assertEquals(before + 1, ExecutorModels.loadedCount(), "closed with its last task");
        assertThrows(IllegalStateException.class, () -> first.loaded().model().forward(x));
        third.loaded().model().forward(x);
        third.close();
        assertEquals(before + 1, ExecutorModels.loadedCount(), "the current version stays for the next tasks");
    }
}
