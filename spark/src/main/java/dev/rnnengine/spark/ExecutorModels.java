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
 * copied from its Hadoop path and loaded once per version of the file, shared by every task of
 * the JVM (engine models are safe to share between threads). A version is the file's size and
 * modification time as its file system reports them, read when a task starts: a file replaced
 * at the same path, local or remote, is copied and loaded again for the tasks that start after
 * it, while the tasks running on the old version finish on it; the old model is closed (and its
 * local copy deleted) when its last task ends. Everything left is closed when the JVM exits.
 */
final class ExecutorModels {
    /** A loaded file: a plain model or a sentence classifier, never both. */
    record Loaded(RnnModel model, SentenceClassifier classifier) {
        boolean isClassifier() {
            return classifier != null;
        }

        void close() {
            if (classifier != null) {
                classifier.close();
            } else {
                model.close();
            }
        }
    }

    /** One version of one (path, options): its model, the local copy it came from (null: the user's own file), its tasks. */
    private static final class Version {
        final String identity;
        final Loaded loaded;
        final Path copy;
        int tasks; // guarded by ExecutorModels.class
        boolean retired;

        Version(String identity, Loaded loaded, Path copy) {
            this.identity = identity;
            this.loaded = loaded;
            this.copy = copy;
        }
    }

    /** A task's hold on one version: {@link #close} once, when the task ends. */
    static final class Lease implements AutoCloseable {
        private final Version version;
        private boolean closed;

        private Lease(Version version) {
            this.version = version;
        }

        Loaded loaded() {
            return version.loaded;
        }

        @Override
        public void close() {
            synchronized (ExecutorModels.class) {
                if (closed) {
                    return;
                }
                closed = true;
                version.tasks--;
                if (version.retired && version.tasks == 0) {
                    free(version);
                }
            }
        }
    }

    /** The current version per (path, options); a key's loads are serialised by its lock, other keys' are not. */
    private static final Map<String, Version> CURRENT = new ConcurrentHashMap<>();
    private static final Map<String, Object> LOCKS = new ConcurrentHashMap<>();
    private static final Map<String, RnnScoring.ModelKind> KINDS = new ConcurrentHashMap<>();
    private static int open; // versions loaded and not closed yet; guarded by ExecutorModels.class

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "rnn-engine-spark-close"));
    }

    private ExecutorModels() { }

    /**
     * A lease on the model for these options, in the version its file has now (loaded on first
     * use of that version in this JVM); the caller closes it when its task ends.
     *
     * @throws UncheckedIOException if the file cannot be reached, copied or read (the message names it)
     */
    static Lease acquire(ScoringOptions o) {
        EngineOptions eo = o.engineOptions();
        String key = o.modelPath() + "\u0000" + eo;
        synchronized (LOCKS.computeIfAbsent(key, k -> new Object())) {
            String identity = identity(o.modelPath());
            Version v = CURRENT.get(key);
            if (v == null || !v.identity.equals(identity)) {
                Version fresh = load(o.modelPath(), identity, eo);
                CURRENT.put(key, fresh);
                if (v != null) {
                    retire(v);
                }
                v = fresh;
            }
            synchronized (ExecutorModels.class) {
                v.tasks++;
            }
            return new Lease(v);
        }
    }

    /** How many versions this JVM holds open (tests: one per options and file version, whatever the number of tasks). */
    static synchronized int loadedCount() {
        return open;
    }

    private static synchronized void retire(Version v) {
        v.retired = true;
        if (v.tasks == 0) {
            free(v);
        }
    }

    /** Closes a version's model and deletes its local copy; the caller holds ExecutorModels.class. */
    private static void free(Version v) {
        open--;
        v.loaded.close();
        if (v.copy != null) {
            try {
                Files.deleteIfExists(v.copy);
            } catch (IOException e) {
                // a temporary file; deleteOnExit was asked when it was made
            }
        }
    }

    private static Version load(String path, String identity, EngineOptions eo) {
        Path copy = remote(path) ? copyToLocal(path) : null;
        Path local = copy != null ? copy : localFile(path);
        try {
            boolean classifier = RnnScoring.ModelKind.read(local, path).classifier();
            Loaded l = classifier ? new Loaded(null, SentenceClassifier.load(local, eo))
                : new Loaded(RnnModel.load(local, eo, Map.of()), null);
            synchronized (ExecutorModels.class) {
                open++;
            }
            return new Version(identity, l, copy);
        } catch (IOException | RuntimeException e) {
            if (copy != null) {
                try {
                    Files.deleteIfExists(copy);
                } catch (IOException ignored) {
                    // deleteOnExit was asked
                }
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("rnn-engine-spark: cannot load " + path + ": " + io.getMessage(), io);
            }
            throw (RuntimeException) e;
        }
    }

    /**
     * The file's version: size and modification time from the file system its path names (for a
     * remote path one metadata request per task).
     *
     * @throws UncheckedIOException if the file cannot be reached
     */
    static String identity(String path) {
        try {
            if (!remote(path)) {
                Path p = localFile(path);
                return Files.size(p) + "@" + Files.getLastModifiedTime(p).toMillis();
            }
            org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(path);
            try (FileSystem fs = FileSystem.newInstance(src.toUri(), hadoopConf())) {
                org.apache.hadoop.fs.FileStatus st = fs.getFileStatus(src);
                return st.getLen() + "@" + st.getModificationTime();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("rnn-engine-spark: cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /** A path without a scheme is a local file (not fs.defaultFS): what a user of this JVM means by it. */
    private static boolean remote(String path) {
        String scheme = new org.apache.hadoop.fs.Path(path).toUri().getScheme();
        return scheme != null && !scheme.equals("file");
    }

    /**
     * The local file of a path without a scheme or with {@code file:}.
     *
     * @throws IllegalArgumentException if the path is not a URI
     */
    private static Path localFile(String path) {
        URI uri = new org.apache.hadoop.fs.Path(path).toUri();
        return uri.getScheme() == null ? Path.of(path) : Path.of(uri.getPath());
    }

    /**
     * A local copy of a remote file, to memory-map, through Hadoop's FileSystem: the caller
     * deletes it when done (and deleteOnExit is asked).
     *
     * @throws UncheckedIOException if the copy fails
     */
    static Path copyToLocal(String path) {
        org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(path);
        try {
            Path dst = Files.createTempFile("rnn-engine-spark-", ".safetensors");
            dst.toFile().deleteOnExit();
            try (FileSystem fs = FileSystem.newInstance(src.toUri(), hadoopConf())) {
                fs.copyToLocalFile(false, src, new org.apache.hadoop.fs.Path(dst.toUri()), true);
            } catch (IOException e) {
                Files.deleteIfExists(dst);
                throw e;
            }
            return dst;
        } catch (IOException e) {
            throw new UncheckedIOException("rnn-engine-spark: cannot copy " + path + " to a local file: " + e.getMessage(), e);
        }
    }

    /**
     * What the file at {@code path} is now, from its header (the driver's look, to build the
     * output schema): read once per version of the file.
     *
     * @throws UncheckedIOException if the file cannot be reached, copied or read
     */
    static RnnScoring.ModelKind kind(String path) {
        return KINDS.computeIfAbsent(path + "\u0000" + identity(path), k -> {
            Path copy = remote(path) ? copyToLocal(path) : null;
            try {
                return RnnScoring.ModelKind.read(copy != null ? copy : localFile(path), path);
            } finally {
                if (copy != null) {
                    try {
                        Files.deleteIfExists(copy);
                    } catch (IOException e) {
                        // deleteOnExit was asked
                    }
                }
            }
        });
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
        synchronized (ExecutorModels.class) {
            for (Version v : CURRENT.values()) {
                if (!v.retired) {
                    v.retired = true;
                    free(v);
                }
            }
            CURRENT.clear();
        }
    }
}
