package dev.rnnengine.spark;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The example job ({@code spark/bin/run-example}): the README demo's spam classifier scores its
 * held-out messages on Spark through {@link RnnTransformer}, prints some scored rows and the
 * accuracy Spark computes. {@code --master URL} (default {@code local[2]}), {@code --model PATH}
 * (default: the demo model, copied out of the engine's jar; on a real cluster give a path every
 * executor can read), {@code --backend B}.
 */
public final class Example {
    static final String MODEL = "/dev/rnnengine/demo/spam.safetensors";
    static final String HELD_OUT = "/dev/rnnengine/demo/spam-heldout.tsv.gz";

    private Example() { }

    /**
     * Runs the example.
     *
     * @throws Exception if the job fails
     */
    public static void main(String[] args) throws Exception {
        String master = "local[2]";
        String model = null;
        String backend = "auto";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--master" -> master = args[++i];
                case "--model" -> model = args[++i];
                case "--backend" -> backend = args[++i];
                default -> {
                    System.err.println("usage: Example [--master URL] [--model PATH] [--backend B]");
                    System.exit(2);
                }
            }
        }
        if (model == null) {
            model = resourceToFile(MODEL, ".safetensors").toString();
        }
        SparkSession spark = Sessions.create(master, "rnn-engine-spark-example");
        try {
            Dataset<Row> mail = spark.createDataFrame(heldOut(), new StructType().add("id", DataTypes.LongType)
                .add("truth", DataTypes.StringType).add("text", DataTypes.StringType)).repartition(4);
            RnnTransformer spam = new RnnTransformer().setModelPath(model).setInputCol("text").setBackend(backend)
                .setOnMalformed("null");
            long t0 = System.nanoTime();
            Dataset<Row> scored = spam.transform(mail)
                .withColumn("p_spam", functions.col("probabilities").getItem(1))
                .withColumn("text", functions.substring(functions.col("text"), 1, 60))
                .select("id", "truth", "label", "p_spam", "text").orderBy("id").cache();
            long n = scored.count();
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf(java.util.Locale.ROOT, "rnn-engine on Spark %s (%s): the demo's spam classifier on %d held-out messages, "
                + "backend %s, in %.1f s (%.0f rows/s, including Spark's start of the job)%n",
                spark.version(), master, n, backend, seconds, n / seconds);
            scored.show(12, false);
            long t1 = System.nanoTime(); // again, with the executors' model loaded and compiled
            long again = spam.transform(mail).count();
            System.out.printf(java.util.Locale.ROOT, "scored again: %d rows in %.2f s (%.0f rows/s)%n", again, (System.nanoTime() - t1) / 1e9,
                again / ((System.nanoTime() - t1) / 1e9));
            long right = scored.filter(functions.col("truth").equalTo(functions.col("label"))).count();
            System.out.printf(java.util.Locale.ROOT, "accuracy %.2f%% (%d of %d); malformed rows scored null: %d%n", 100.0 * right / n, right, n,
                spam.lastMalformed().value());
        } finally {
            spark.stop();
        }
    }

    /** The demo's held-out messages as rows (id, truth, text). */
    static List<Row> heldOut() throws IOException {
        List<Row> rows = new ArrayList<>();
        try (InputStream raw = Example.class.getResourceAsStream(HELD_OUT)) {
            if (raw == null) {
                throw new IOException(HELD_OUT + " is missing from the class path (the engine's jar holds it)");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.UTF_8));
            r.readLine(); // the header
            for (String l; (l = r.readLine()) != null; ) {
                String[] f = l.split("\t", 3);
                rows.add(RowFactory.create((long) rows.size(), f[0], f[2]));
            }
        }
        return rows;
    }

    /** A class path resource as a temporary file (deleted at exit). */
    static Path resourceToFile(String name, String suffix) throws IOException {
        Path p = Files.createTempFile("rnn-engine-spark-", suffix);
        p.toFile().deleteOnExit();
        try (InputStream in = Example.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException(name + " is missing from the class path");
            }
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }
}
