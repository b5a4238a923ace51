package dev.rnnengine.spark;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.bench.OrtRunner;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.ModelFile;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.text.SentenceClassifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code spark/bin/run-example bench}: rows per second for the demo classifier and an LSTM 512
 * encoder (input 512, hidden 512, 25 steps per row): a plain single-JVM loop, Spark
 * {@code local[1]}, {@code local[2]}, a two-worker standalone cluster on this machine, and each
 * job again with ONNX Runtime inside {@code mapPartitions} (what SynapseML does; its classifier
 * results are checked against the engine's first). Each figure is the
 * median of three timed jobs after one untimed job; a job is {@code count()} over the scored rows.
 * {@code --rows N} scales the encoder's rows (default 2048); {@code --quick} runs each once.
 */
public final class SparkBench {
    private static final int BATCH = 64;
    private static final int STEPS = 25;
    private static final int WIDTH = 512;

    private SparkBench() { }

    /**
     * Runs the benchmark and prints a Markdown table.
     *
     * @throws Exception if a job fails
     */
    public static void main(String[] args) throws Exception {
        int rows = 2048;
        int timed = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rows" -> rows = Integer.parseInt(args[++i]);
                case "--quick" -> timed = 1;
                default -> {
                    System.err.println("usage: SparkBench [--rows N] [--quick]");
                    System.exit(2);
                }
            }
        }
        Path work = Files.createTempDirectory("rnn-engine-spark-bench");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(work)));
        Path spam = Example.resourceToFile(Example.MODEL, ".safetensors");
        Path lstm = work.resolve("lstm512.safetensors");
        writeModel(lstm, RnnSpec.builder(CellMode.LSTM, WIDTH, WIDTH).batchFirst(true).build(), 2);
        List<Row> mail = new ArrayList<>();
        List<Row> held = Example.heldOut();
        for (int copy = 0; copy < 4; copy++) { // 4 x 1,171 messages
            for (Row r : held) {
                mail.add(RowFactory.create((long) mail.size(), r.getString(2)));
            }
        }
        List<Row> seqs = sequences(rows);
        StructType mailSchema = new StructType().add("id", DataTypes.LongType).add("text", DataTypes.StringType);
        StructType seqSchema = new StructType().add("id", DataTypes.LongType)
            .add("x", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
        Map<String, double[]> results = new HashMap<>(); // mode -> {classifier rows/s, encoder rows/s, ort rows/s}
        results.put("single JVM, 1 thread", new double[] {
            median(timed, () -> singleJvmClassifier(spam, mail, 1)), median(timed, () -> singleJvmEncoder(lstm, seqs, 1)), Double.NaN,
            Double.NaN});
        results.put("single JVM, 2 threads", new double[] {
            median(timed, () -> singleJvmClassifier(spam, mail, 2)), median(timed, () -> singleJvmEncoder(lstm, seqs, 2)), Double.NaN,
            Double.NaN});
        for (String master : List.of("local[1]", "local[2]")) {
            SparkSession spark = Sessions.create(master, "rnn-engine-spark-bench");
            try {
                results.put("Spark " + master, spark(spark, spam, lstm, mail, mailSchema, seqs, seqSchema, timed, true));
            } finally {
                spark.stop();
            }
        }
        String cp = System.getProperty("rnn.spark.classpath.file");
        if (cp == null) {
            System.err.println("SparkBench: no -Drnn.spark.classpath.file, so no standalone cluster (spark/bin/run-example sets it)");
        } else {
            List<String> jvm = List.of(System.getProperty("rnn.spark.jvm.args", "").split(" ")).stream()
                .filter(s -> !s.isBlank()).toList();
            try (LocalCluster cluster = new LocalCluster(work.resolve("cluster"), LocalCluster.readClassPath(Path.of(cp)), jvm,
                    2, "2g")) {
                SparkSession spark = Sessions.standalone(cluster, "rnn-engine-spark-bench",
                    System.getProperty("rnn.spark.executorClassPath", ""), "1g");
                try {
                    results.put("standalone, 2 workers x 1 core", spark(spark, spam, lstm, mail, mailSchema, seqs, seqSchema,
                        timed, true));
                } finally {
                    spark.stop();
                }
            }
        }
        System.out.printf("%n| mode | demo classifier, rows/s | the same on ONNX Runtime in mapPartitions | LSTM 512 encoder, rows/s "
            + "| the same on ONNX Runtime in mapPartitions |%n");
        System.out.println("|---|---|---|---|---|");
        for (String mode : List.of("single JVM, 1 thread", "single JVM, 2 threads", "Spark local[1]", "Spark local[2]",
                "standalone, 2 workers x 1 core")) {
            double[] r = results.get(mode);
            if (r != null) {
                System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", mode, fmt(r[0]), fmt(r[3]), fmt(r[1]), fmt(r[2]));
            }
        }
        System.out.printf("(%d messages of the demo's held-out set, 4 copies; %d rows of %d steps x %d for the encoder; "
            + "engine backend auto, 1 thread per task, batches of %d; median of %d jobs)%n", mail.size(), seqs.size(), STEPS,
            WIDTH, BATCH, timed);
    }

    private static void deleteTree(Path p) {
        try (var all = Files.walk(p)) {
            all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (java.io.IOException e) {
            // best effort at exit
        }
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%,.0f", v);
    }

    private interface Job {
        double rowsPerSecond() throws Exception;
    }

    private static double median(int timed, Job job) throws Exception {
        job.rowsPerSecond(); // untimed: loads, compiles, tunes
        double[] v = new double[timed];
        for (int i = 0; i < timed; i++) {
            v[i] = job.rowsPerSecond();
        }
        Arrays.sort(v);
        return v[timed / 2];
    }

    private static double[] spark(SparkSession spark, Path spam, Path lstm, List<Row> mail, StructType mailSchema,
                                  List<Row> seqs, StructType seqSchema, int timed, boolean ort) throws Exception {
        int parts = 2 * spark.sparkContext().defaultParallelism();
        Dataset<Row> m = spark.createDataFrame(mail, mailSchema).repartition(parts).cache();
        Dataset<Row> s = spark.createDataFrame(seqs, seqSchema).repartition(parts).cache();
        m.count();
        s.count();
        double c = median(timed, () -> rate(mail.size(), () -> RnnScoring.score(m,
            ScoringOptions.of(spam.toString(), "text").withBatchSize(BATCH)).rows().count()));
        double e = median(timed, () -> rate(seqs.size(), () -> RnnScoring.score(s,
            ScoringOptions.of(lstm.toString(), "x").withBatchSize(BATCH)).rows().count()));
        double o = ort ? median(timed, () -> rate(seqs.size(), () -> ortJob(s, lstm).count())) : Double.NaN;
        double oc = ort ? median(timed, () -> rate(mail.size(), () -> ortClassifierJob(m, spam).count())) : Double.NaN;
        if (ort) {
            checkOrtClassifier(ortClassifierJob(m, spam), mail, spam);
        }
        m.unpersist();
        s.unpersist();
        return new double[] {c, e, o, oc};
    }

    private interface Run {
        long run() throws Exception;
    }

    private static double rate(int rows, Run r) throws Exception {
        long t0 = System.nanoTime();
        long n = r.run();
        if (n != rows) {
            throw new IllegalStateException("the job gave " + n + " rows for " + rows);
        }
        return rows / ((System.nanoTime() - t0) / 1e9);
    }

    /**
     * The demo classifier with ONNX Runtime as its encoder inside mapPartitions: the engine's
     * tokenizer and the embedding in Java, the LSTM in ONNX Runtime on length-sorted, padded,
     * time-major batches (1 thread per task), then the mean over each row's own steps (padding
     * comes after them and cannot reach them in a unidirectional LSTM) and the linear head.
     */
    private static Dataset<Row> ortClassifierJob(Dataset<Row> m, Path spam) {
        String path = spam.toString();
        MapPartitionsFunction<Row, Row> f = input -> {
            List<Row> rows = new ArrayList<>();
            input.forEachRemaining(rows::add);
            return onBigStack(() -> {
                Map<String, Tensor> sd = new HashMap<>();
                RnnSpec spec;
                float[] emb;
                float[] fcW;
                float[] fcB;
                try (SafetensorsFile file = SafetensorsFile.open(Path.of(path))) {
                    ModelFile mf = ModelFile.read(file, Map.of(), "rnn.");
                    spec = mf.spec();
                    mf.stateDict().forEach((k, v) -> sd.put(k, Tensor.of(v.toArray(), v.shape())));
                    emb = file.floats("embedding.weight").toArray();
                    fcW = file.floats("fc.weight").toArray();
                    fcB = file.floats("fc.bias").toArray();
                }
                RnnSpec timeMajor = new RnnSpec(spec.mode(), spec.inputSize(), spec.hiddenSize(), spec.numLayers(),
                    spec.bias(), false, spec.bidirectional(), spec.projSize());
                int e = spec.inputSize();
                int h = spec.hiddenSize();
                int classes = fcB.length;
                List<Row> out = new ArrayList<>();
                ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
                try (SentenceClassifier tok = SentenceClassifier.load(Path.of(path), new EngineOptions("scalar", 1));
                     ai.onnxruntime.OrtSession.SessionOptions so = new ai.onnxruntime.OrtSession.SessionOptions()) {
                    so.setIntraOpNumThreads(1);
                    try (ai.onnxruntime.OrtSession session = env.createSession(dev.rnnengine.io.OnnxExport.write(timeMajor, sd), so)) {
                        List<long[]> ids = new ArrayList<>();
                        for (Row r : rows) {
                            List<String> t = tok.tokens(r.getString(1));
                            long[] v = new long[t.size()];
                            for (int i = 0; i < v.length; i++) {
                                v[i] = tok.vocabulary().id(t.get(i));
                            }
                            ids.add(v);
                        }
                        Integer[] order = new Integer[rows.size()];
                        for (int i = 0; i < order.length; i++) {
                            order[i] = i;
                        }
                        Arrays.sort(order, java.util.Comparator.comparingInt(i -> ids.get(i).length));
                        for (int from = 0; from < order.length; from += BATCH) {
                            int n = Math.min(BATCH, order.length - from);
                            int steps = Math.max(1, ids.get(order[from + n - 1]).length);
                            float[] x = new float[steps * n * e];
                            for (int b = 0; b < n; b++) {
                                long[] v = ids.get(order[from + b]);
                                for (int t = 0; t < steps; t++) {
                                    long id = t < v.length ? v[t] : tok.vocabulary().padIndex();
                                    System.arraycopy(emb, (int) id * e, x, (t * n + b) * e, e);
                                }
                            }
                            float[] y;
                            try (ai.onnxruntime.OnnxTensor in = ai.onnxruntime.OnnxTensor.createTensor(env,
                                     java.nio.FloatBuffer.wrap(x), new long[] {steps, n, e});
                                 ai.onnxruntime.OrtSession.Result r = session.run(Map.of("input", in))) {
                                java.nio.FloatBuffer fb = ((ai.onnxruntime.OnnxTensor) r.get(0)).getFloatBuffer();
                                y = new float[fb.remaining()];
                                fb.get(y);
                            }
                            for (int b = 0; b < n; b++) {
                                int len = ids.get(order[from + b]).length;
                                float[] mean = new float[h];
                                for (int t = 0; t < len; t++) {
                                    for (int j = 0; j < h; j++) {
                                        mean[j] += y[(t * n + b) * h + j];
                                    }
                                }
                                float[] logits = new float[classes];
                                for (int k = 0; k < classes; k++) {
                                    double acc = fcB[k];
                                    for (int j = 0; j < h; j++) {
                                        acc += (double) fcW[k * h + j] * (mean[j] / Math.max(1, len));
                                    }
                                    logits[k] = (float) acc;
                                }
                                out.add(RowFactory.create(rows.get(order[from + b]).getLong(0), tok.predict(logits, 0).probabilities()));
                            }
                        }
                    }
                }
                return out.iterator();
            });
        };
        StructType schema = new StructType().add("id", DataTypes.LongType)
            .add("probabilities", DataTypes.createArrayType(DataTypes.FloatType, false));
        return m.mapPartitions(f, Encoders.row(schema));
    }

    /** The ORT classifier job gives the engine's probabilities (checked before its figure is printed). */
    private static void checkOrtClassifier(Dataset<Row> ort, List<Row> mail, Path spam) throws Exception {
        List<Row> got = ort.collectAsList();
        if (got.size() != mail.size()) {
            throw new IllegalStateException("the ONNX Runtime classifier job gave " + got.size() + " rows for " + mail.size());
        }
        double worst = 0;
        try (SentenceClassifier c = SentenceClassifier.load(spam, new EngineOptions("scalar", 1))) {
            for (int i = 0; i < got.size(); i += 97) { // a sample across the partitions
                Row r = got.get(i);
                float[] want = c.classify(List.of(mail.get((int) r.getLong(0)).getString(1))).get(0).probabilities();
                List<Object> p = r.getList(1);
                for (int k = 0; k < want.length; k++) {
                    worst = Math.max(worst, Math.abs(((Number) p.get(k)).floatValue() - want[k]));
                }
            }
        }
        if (worst > 1e-4) {
            throw new IllegalStateException("ONNX Runtime's classifier disagrees with the engine: max |dP| " + worst);
        }
        System.err.printf(Locale.ROOT, "SparkBench: ONNX Runtime's classifier agrees with the engine, max |dP| %.1e%n", worst);
    }

    /** ONNX Runtime inside mapPartitions: the encoder's ONNX model on batches of time-major rows, 1 thread per task. */
    private static Dataset<Row> ortJob(Dataset<Row> s, Path lstm) {
        String path = lstm.toString();
        MapPartitionsFunction<Row, Row> f = input -> {
            List<Row> rows = new ArrayList<>(); // read on the task thread; ONNX Runtime runs on a bigger stack
            input.forEachRemaining(rows::add);
            java.util.Iterator<Row> it = rows.iterator();
            return onBigStack(() -> {
                RnnSpec spec;
                Map<String, Tensor> sd = new HashMap<>();
                try (SafetensorsFile file = SafetensorsFile.open(Path.of(path))) {
                    ModelFile mf = ModelFile.read(file, Map.of(), "");
                    spec = mf.spec();
                    mf.stateDict().forEach((k, v) -> sd.put(k, Tensor.of(v.toArray(), v.shape())));
                }
                float[] x = new float[STEPS * BATCH * WIDTH];
                List<Row> out = new ArrayList<>();
                RnnSpec timeMajor = new RnnSpec(spec.mode(), spec.inputSize(), spec.hiddenSize(), spec.numLayers(), spec.bias(),
                    false, spec.bidirectional(), spec.projSize()); // ORT's LSTM takes (T, N, D)
                try (OrtRunner ort = new OrtRunner(dev.rnnengine.io.OnnxExport.write(timeMajor, sd, STEPS, BATCH),
                        Tensor.of(x, STEPS, BATCH, WIDTH), 1)) {
                    List<Row> batch = new ArrayList<>();
                    while (it.hasNext() || !batch.isEmpty()) {
                        if (it.hasNext() && batch.size() < BATCH) {
                            batch.add(it.next());
                            continue;
                        }
                        Arrays.fill(x, 0f); // a short last batch is padded
                        for (int b = 0; b < batch.size(); b++) {
                            List<Object> steps = batch.get(b).getList(1);
                            for (int t = 0; t < STEPS; t++) {
                                List<?> step = PartitionScorer.asList(steps.get(t));
                                for (int k = 0; k < WIDTH; k++) {
                                    x[(t * BATCH + b) * WIDTH + k] = ((Number) step.get(k)).floatValue();
                                }
                            }
                        }
                        float[] y = ort.run(Tensor.of(x, STEPS, BATCH, WIDTH));
                        int h = spec.hiddenSize();
                        for (int b = 0; b < batch.size(); b++) {
                            out.add(RowFactory.create(batch.get(b).getLong(0),
                                Arrays.copyOfRange(y, ((STEPS - 1) * BATCH + b) * h, ((STEPS - 1) * BATCH + b + 1) * h)));
                        }
                        batch.clear();
                    }
                }
                return out.iterator();
            });
        };
        StructType schema = new StructType().add("id", DataTypes.LongType)
            .add("h_n", DataTypes.createArrayType(DataTypes.FloatType, false));
        return s.mapPartitions(f, Encoders.row(schema));
    }

    private interface Partition {
        java.util.Iterator<Row> run() throws Exception;
    }

    /**
     * Runs a partition's ONNX Runtime work on a thread with a 64 MB stack: in a Spark task thread
     * (1-2 MB) ONNX Runtime 1.29 crashed the JVM here (SIGSEGV, no hs_err file) on this model.
     */
    private static java.util.Iterator<Row> onBigStack(Partition p) throws Exception {
        Object[] result = new Object[1];
        Thread t = new Thread(null, () -> {
            try {
                result[0] = p.run();
            } catch (Throwable e) {
                result[0] = e;
            }
        }, "ort-partition", 64L << 20);
        t.start();
        t.join();
        if (result[0] instanceof Exception e) {
            throw e;
        }
        if (result[0] instanceof Throwable e) {
            throw new IllegalStateException(e);
        }
        @SuppressWarnings("unchecked")
        java.util.Iterator<Row> it = (java.util.Iterator<Row>) result[0];
        return it;
    }

    private static double singleJvmClassifier(Path spam, List<Row> mail, int threads) throws Exception {
        try (SentenceClassifier c = SentenceClassifier.load(spam, new EngineOptions("auto", threads))) {
            List<String> texts = mail.stream().map(r -> r.getString(1)).toList();
            return rate(texts.size(), () -> {
                long n = 0;
                for (int i = 0; i < texts.size(); i += BATCH) {
                    n += c.classify(texts.subList(i, Math.min(texts.size(), i + BATCH))).size();
                }
                return n;
            });
        }
    }

    private static double singleJvmEncoder(Path lstm, List<Row> seqs, int threads) throws Exception {
        try (RnnModel m = RnnModel.load(lstm, new EngineOptions("auto", threads), Map.of())) {
            float[] x = new float[BATCH * STEPS * WIDTH];
            return rate(seqs.size(), () -> {
                long n = 0;
                for (int i = 0; i < seqs.size(); i += BATCH) {
                    int rows = Math.min(BATCH, seqs.size() - i);
                    for (int b = 0; b < rows; b++) { // the same row unpacking the Spark job does
                        List<?> steps = (List<?>) seqs.get(i + b).get(1); // the driver's rows hold Java lists
                        for (int t = 0; t < STEPS; t++) {
                            @SuppressWarnings("unchecked")
                            List<Float> step = (List<Float>) steps.get(t);
                            for (int k = 0; k < WIDTH; k++) {
                                x[(b * STEPS + t) * WIDTH + k] = step.get(k);
                            }
                        }
                    }
                    m.forward(Tensor.of(Arrays.copyOf(x, rows * STEPS * WIDTH), rows, STEPS, WIDTH));
                    n += rows;
                }
                return n;
            });
        }
    }

    private static List<Row> sequences(int n) {
        Random r = new Random(1);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<List<Float>> x = new ArrayList<>();
            for (int t = 0; t < STEPS; t++) {
                List<Float> step = new ArrayList<>(WIDTH);
                for (int k = 0; k < WIDTH; k++) {
                    step.add((float) r.nextGaussian());
                }
                x.add(step);
            }
            rows.add(RowFactory.create((long) i, x));
        }
        return rows;
    }

    /**
     * A model file of a spec with seeded weights uniform in PyTorch's initialisation range
     * ±1/sqrt(hidden_size).
     *
     * @throws java.io.IOException if the file cannot be written
     */
    static Path writeModel(Path file, RnnSpec spec, long seed) throws java.io.IOException {
        Random r = new Random(seed);
        dev.rnnengine.io.SafetensorsWriter w = new dev.rnnengine.io.SafetensorsWriter();
        double bound = 1 / Math.sqrt(spec.hiddenSize());
        for (Map.Entry<String, int[]> e : spec.parameterShapes().entrySet()) {
            float[] v = new float[Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b)];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
            }
            w.put(e.getKey(), Tensor.of(v, e.getValue()));
        }
        w.metadata("mode", spec.mode().moduleName()).metadata("input_size", "" + spec.inputSize())
            .metadata("hidden_size", "" + spec.hiddenSize()).metadata("num_layers", "" + spec.numLayers())
            .metadata("bias", "" + spec.bias()).metadata("batch_first", "" + spec.batchFirst())
            .metadata("bidirectional", "" + spec.bidirectional()).metadata("proj_size", "" + spec.projSize())
            .metadata("nonlinearity", spec.nonlinearity());
        w.write(file);
        return file;
    }
}
