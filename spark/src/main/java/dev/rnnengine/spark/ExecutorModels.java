package dev.rnnengine.spark;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.text.SentenceClassifier;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * The models of this JVM (an executor, or the driver in local mode): each (path, options) is
 * loaded once per version of the file (a remote file through a local copy, deleted once read),
 * shared by every task of the JVM (engine models are safe to share between threads). A version
 * is the file's size and modification time as its file system reports them, read when a task
 * starts: a file replaced at the same path, local or remote, is loaded again for the tasks that
 * start after it, while the tasks running on the old version finish on it; the old model is
 * closed when its last task ends. The models still open are closed when the JVM exits.
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

    /** One version of one (path, options): its model and its tasks. */
    private static final class Version {
        final String identity;
        final Loaded loaded;
        int tasks; // these three guarded by ExecutorModels.class
        boolean retired;
        boolean freed;

        Version(String identity, Loaded loaded) {
            this.identity = identity;
            this.loaded = loaded;
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
    private static final Set<Version> OPEN = new HashSet<>(); // loaded, not closed yet; guarded by ExecutorModels.class
    /** This JVM's own directory for local copies of remote files (each deleted once read). */
    private static Path copies;

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
        String identity = identity(o.modelPath()); // outside the lock: tasks starting together ask at once
        synchronized (LOCKS.computeIfAbsent(key, k -> new Object())) {
            Version v = CURRENT.get(key);
            if (v == null || !v.identity.equals(identity)) {
                Version fresh = load(o.modelPath(), eo);
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
        return OPEN.size();
    }

    private static synchronized void retire(Version v) {
        v.retired = true;
        if (v.tasks == 0) {
            free(v);
        }
    }

    /** Closes a version's model, once; the caller holds ExecutorModels.class. */
    private static void free(Version v) {
        if (!v.freed) {
            v.freed = true;
            OPEN.remove(v);
            v.loaded.close();
        }
    }

    /**
     * Loads the file at {@code path} as it is now, with the version it was read in: the version
     * is asked before and after reading, and a file replaced meanwhile is read again.
     */
    private static Version load(String path, EngineOptions eo) {
        for (int attempt = 1; ; attempt++) {
            String before = identity(path);
            Loaded l = read(path, eo);
            String after = identity(path);
            if (before.equals(after) || attempt == 3) { // a file rewritten all the time: the last read, named by its version after
                Version v = new Version(after, l);
                synchronized (ExecutorModels.class) {
                    OPEN.add(v);
                }
                return v;
            }
            l.close();
        }
    }

    private static Loaded read(String path, EngineOptions eo) {
        return withLocalFile(path, local -> {
            try {
                boolean classifier = RnnScoring.ModelKind.read(local, path).classifier();
                return classifier ? new Loaded(null, SentenceClassifier.load(local, eo))
                    : new Loaded(RnnModel.load(local, eo, Map.of()), null);
            } catch (IOException e) {
                throw new UncheckedIOException("rnn-engine-spark: cannot load " + path + ": " + describe(e), e);
            }
        });
    }

    /** {@code use} on the local file of {@code path}: the file itself, or a copy of a remote one, deleted after. */
    private static <T> T withLocalFile(String path, java.util.function.Function<Path, T> use) {
        if (!remote(path)) {
            return use.apply(localFile(path));
        }
        Path copy = copyToLocal(path);
        try {
            return use.apply(copy);
        } finally {
            try {
                Files.deleteIfExists(copy);
            } catch (IOException e) {
                // deleteOnExit was asked when it was made
            }
        }
    }

    /** An I/O failure in words: a missing file's exception says only its path. */
    private static String describe(IOException e) {
        return e instanceof java.nio.file.NoSuchFileException ? "no such file"
            : e instanceof java.io.FileNotFoundException ? "no such file (" + e.getMessage() + ")"
            : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /**
     * The file's version: size and modification time from the file system its path names (for a
     * remote path one metadata request per task, on Hadoop's cached client for the file system).
     * A file replaced by one of the same size within the file system's time resolution (a second
     * on some object stores) is not told apart.
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
            org.apache.hadoop.fs.FileStatus st = FileSystem.get(src.toUri(), hadoopConf()).getFileStatus(src);
            return st.getLen() + "@" + st.getModificationTime();
        } catch (IOException e) {
            throw new UncheckedIOException("rnn-engine-spark: cannot read " + path + ": " + describe(e), e);
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
     * A local copy of a remote file, through Hadoop's FileSystem, in {@link #copyDirectory()}:
     * the caller deletes it when done (and deleteOnExit is asked).
     *
     * @throws UncheckedIOException if the copy fails
     */
    private static Path copyToLocal(String path) {
        org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(path);
        try {
            Path dst = Files.createTempFile(copyDirectory(), "model-", ".safetensors");
            dst.toFile().deleteOnExit();
            try {
                FileSystem.get(src.toUri(), hadoopConf()).copyToLocalFile(false, src,
                    new org.apache.hadoop.fs.Path(dst.toUri()), true);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(dst);
                throw e;
            }
            return dst;
        } catch (IOException e) {
            throw new UncheckedIOException("rnn-engine-spark: cannot copy " + path + " to a local file: " + describe(e), e);
        }
    }

    /** This JVM's directory of local copies (made on first use, deleted at exit if empty). */
    static synchronized Path copyDirectory() throws IOException {
        if (copies == null) {
            copies = Files.createTempDirectory("rnn-engine-spark-");
            copies.toFile().deleteOnExit(); // runs after the files' own (registered later, deleted first)
        }
        return copies;
    }

    /**
     * What the file at {@code path} is now, from its header (the driver's look, to build the
     * output schema): read once per version of the file.
     *
     * @throws UncheckedIOException if the file cannot be reached, copied or read
     */
    static RnnScoring.ModelKind kind(String path) {
        String before = identity(path);
        RnnScoring.ModelKind cached = KINDS.get(path + "\u0000" + before);
        if (cached != null) {
            return cached;
        }
        RnnScoring.ModelKind k = withLocalFile(path, local -> RnnScoring.ModelKind.read(local, path));
        if (before.equals(identity(path))) { // not replaced while read: this version's kind
            KINDS.put(path + "\u0000" + before, k);
        }
        return k;
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

    /** At exit: every model still open, retired or current (tasks still running end with the JVM). */
    private static void closeAll() {
        synchronized (ExecutorModels.class) {
            for (Version v : List.copyOf(OPEN)) {
                v.retired = true;
                free(v);
            }
            CURRENT.clear();
        }
    }
}
