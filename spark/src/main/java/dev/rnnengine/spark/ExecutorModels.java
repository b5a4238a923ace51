package dev.rnnengine.spark;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.text.SentenceClassifier;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * The models of this JVM (an executor, or the driver in local mode): each (path, options) is
 * copied from its Hadoop path and loaded once, shared by every task of the JVM (engine models
 * are safe to share between threads), and closed when the JVM exits. A file replaced at the
 * same path (another size or modification time) is loaded again; the old model stays until exit.
 */
final class ExecutorModels {
    /** A loaded file: a plain model or a sentence classifier, never both. */
    record Loaded(RnnModel model, SentenceClassifier classifier) {
        boolean isClassifier() {
            return classifier != null;
        }
    }

    private static final Map<String, Loaded> MODELS = new ConcurrentHashMap<>();
    private static final Map<String, Path> LOCAL_COPIES = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "rnn-engine-spark-close"));
    }

    private ExecutorModels() { }

    /**
     * The model for these options, loaded on first use in this JVM.
     *
     * @throws UncheckedIOException if the file cannot be copied or read (the message names it)
     */
    static Loaded get(ScoringOptions o) {
        EngineOptions eo = o.engineOptions();
        Path local = localPath(o.modelPath());
        // The local copy's identity is in the key: a model file replaced at the same path is loaded again.
        String key = o.modelPath() + "\u0000" + eo + "\u0000" + identity(local);
        return MODELS.computeIfAbsent(key, k -> load(local, o.modelPath(), eo));
    }

    private static String identity(Path p) {
        try {
            return Files.size(p) + "@" + Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            throw new UncheckedIOException("rnn-engine-spark: cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /** How many models this JVM holds (tests: one per options, whatever the number of tasks). */
    static int loadedCount() {
        return MODELS.size();
    }

    private static Loaded load(Path local, String path, EngineOptions eo) {
        try {
            boolean classifier = RnnScoring.ModelKind.read(path).classifier();
            return classifier ? new Loaded(null, SentenceClassifier.load(local, eo))
                : new Loaded(RnnModel.load(local, eo, Map.of()), null);
        } catch (IOException e) {
            throw new UncheckedIOException("rnn-engine-spark: cannot load " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * A local file for a model path, to memory-map: the path itself when local, else a copy made
     * once per JVM through Hadoop's FileSystem (deleted at exit).
     *
     * @throws UncheckedIOException if the copy fails
     * @throws IllegalArgumentException if the path is not a URI
     */
    static Path localPath(String path) {
        return LOCAL_COPIES.computeIfAbsent(path, ExecutorModels::localCopy);
    }

    /** A path without a scheme is a local file (not fs.defaultFS): what a user of this JVM means by it. */
    private static Path localCopy(String path) {
        org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(path);
        URI uri = src.toUri();
        if (uri.getScheme() == null) {
            return Path.of(path);
        }
        if (uri.getScheme().equals("file")) {
            return Path.of(uri.getPath());
        }
        try {
            Path dst = Files.createTempFile("rnn-engine-spark-", ".safetensors");
            dst.toFile().deleteOnExit();
            try (FileSystem fs = FileSystem.newInstance(uri, hadoopConf())) {
                fs.copyToLocalFile(false, src, new org.apache.hadoop.fs.Path(dst.toUri()), true);
            }
            return dst;
        } catch (IOException e) {
            throw new UncheckedIOException("rnn-engine-spark: cannot copy " + path + " to a local file: " + e.getMessage(), e);
        }
    }

    /** Hadoop settings as Spark passes them: the job's {@code spark.hadoop.*} entries (credentials, endpoints). */
    private static Configuration hadoopConf() {
        Configuration c = new Configuration();
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        if (env != null) {
            for (scala.Tuple2<String, String> kv : env.conf().getAll()) {
                if (kv._1().startsWith("spark.hadoop.")) {
                    c.set(kv._1().substring("spark.hadoop.".length()), kv._2());
                }
            }
        }
        return c;
    }

    private static void closeAll() {
        for (Loaded l : MODELS.values()) {
            if (l.isClassifier()) {
                l.classifier().close();
            } else {
                l.model().close();
            }
        }
        MODELS.clear();
    }
}
