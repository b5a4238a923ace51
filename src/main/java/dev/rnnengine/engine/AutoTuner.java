package dev.rnnengine.engine;

import dev.rnnengine.core.Precision;
import dev.rnnengine.core.RnnSpec;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code auto} by measurement: for a model (its spec and thread count) on this machine, each
 * available backend is timed on every call class ({@link Bucket}: batch size and whether it is
 * one streaming step) and the fastest is used for calls of that class. Measured once, on the
 * model's first creation, then read from a cache in the user's cache directory ({@link #cacheFile()},
 * keyed by the machine's fingerprint); {@code rnn tune} measures again, {@code rnn info} shows
 * the table. {@code -Drnn.auto.tune=false} uses the built-in rule instead.
 */
final class AutoTuner {
    /** System property: {@code false} makes auto use the built-in rule, measuring nothing. */
    static final String TUNE_PROPERTY = "rnn.auto.tune";
    /** System property: the cache directory (default: $XDG_CACHE_HOME/rnn-engine or ~/.cache/rnn-engine). */
    static final String CACHE_PROPERTY = "rnn.cache.dir";
    private static final System.Logger LOG = System.getLogger("dev.rnnengine");
    /** A call class is not measured when one call of it would take longer than this. */
    private static final double MAX_CALL_MS = 400;
    /** The candidate measured after the others (see {@link #tune}). */
    private static final String LATE = "openblas";

    private AutoTuner() { }

    /**
     * A class of calls: batches from {@code minBatch} (up to the next bucket's), and either one
     * streaming step ({@code step}) or whole sequences from {@code minSeq} steps (up to the next
     * bucket's); {@code batch} and {@code seqLen} are what is measured.
     */
    record Bucket(String name, int minBatch, boolean step, int minSeq, int batch, int seqLen) {
        boolean holds(int n, int t) {
            return n >= minBatch && (t == 1) == step && t >= minSeq;
        }
    }

    /**
     * The call classes, from the cheapest: batch 1, 2-7, 8-31, 32+, each as a step and as
     * sequences of 16; small batches also as sequences of 32 steps or more, measured at 64,
     * where a backend's per-call overhead no longer decides (a 1-row LSTM 128x256 on this
     * Xeon: oneDNN wins at 16 steps, vector at 100).
     */
    static final List<Bucket> BUCKETS = List.of(
        new Bucket("N=1 step", 1, true, 1, 1, 1), new Bucket("N=1 seq", 1, false, 2, 1, 16),
        new Bucket("N=1 seq>=32", 1, false, 32, 1, 64),
        new Bucket("N=2-7 step", 2, true, 1, 4, 1), new Bucket("N=2-7 seq", 2, false, 2, 4, 16),
        new Bucket("N=2-7 seq>=32", 2, false, 32, 4, 64),
        new Bucket("N=8-31 step", 8, true, 1, 16, 1), new Bucket("N=8-31 seq", 8, false, 2, 16, 16),
        new Bucket("N=32+ step", 32, true, 1, 64, 1), new Bucket("N=32+ seq", 32, false, 2, 64, 16));

    /** The bucket of a call: the last that holds it. */
    static int bucketOf(int batch, int seqLen) {
        int b = 0;
        for (int i = 0; i < BUCKETS.size(); i++) {
            if (BUCKETS.get(i).holds(batch, seqLen)) {
                b = i;
            }
        }
        return b;
    }

    /** One call class's measurement: the winner and every candidate's median ms. */
    record Choice(String winner, Map<String, Double> ms) { }

    /** Whether auto measures (the default) or uses the built-in rule. */
    static boolean enabled() {
        return !"false".equalsIgnoreCase(System.getProperty(TUNE_PROPERTY, "true").trim());
    }

    /** The cache file of this machine's measurements. */
    static Path cacheFile() {
        String dir = System.getProperty(CACHE_PROPERTY);
        if (dir == null) {
            String xdg = System.getenv("XDG_CACHE_HOME");
            dir = (xdg != null && !xdg.isBlank() ? xdg : System.getProperty("user.home") + "/.cache") + "/rnn-engine";
        }
        return Path.of(dir, "auto-tuning.tsv");
    }

    /**
     * The measurements' generation, part of the fingerprint: raised when a backend's speed changed so
     * much that earlier winners mislead (2: oneDNN runs a bidirectional layer's directions at once;
     * 3: ties within {@link #TIE} go to the backend without a lock; 4: oneDNN runs the vanilla RNN and
     * small-batch GRU on plain weights, twice as fast, and the vector backend's steps sweep their
     * weights in alternate directions, up to 25% faster at batch 1; OpenBLAS is measured after the
     * others, whose measurements it disturbed; 5: the vector backend's weights are 64-byte aligned,
     * up to 30% faster where they stream from L2, and a score is the median of three rounds; 6: the
     * vector GEMM's tiles and vanilla RNN step index with running offsets, 2-7% faster, enough to move
     * near-ties such as rnn_1760_b1's vector against oneDNN).
     */
    static final int GENERATION = 6;

    /** What makes one machine's measurements another's: CPU, cores, vector width, JDK, {@link #GENERATION}. */
    static String fingerprint() {
        String cpu = "unknown CPU";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse(cpu);
        } catch (IOException e) {
            // not Linux
        }
        String vector = Backends.availability("vector").available() ? Backends.availability("vector").backend().describe()
            .replaceAll(".*?(\\d+)-bit.*", "$1") + "-bit" : "no-vector";
        // Which native backends load here: a JVM without oneDNN (another class path) must not
        // take a cached oneDNN winner, nor overwrite the cache of JVMs that have it.
        String natives = String.join(",", Backends.NAMES.stream().filter(n -> !n.equals("scalar") && !n.equals("vector")
            && Backends.availability(n).available()).toList());
        return (cpu + "|" + Runtime.getRuntime().availableProcessors() + "c|" + vector + "|"
            + (natives.isEmpty() ? "no-native" : natives) + "|jdk" + Runtime.version().feature() + "|g" + GENERATION)
            .replace('\t', ' ');
    }

    /** The key of a model's measurements: every hyper-parameter that changes the work, and the threads. */
    static String key(RnnSpec s, int threads) {
        return key(s, threads, Precision.FP32);
    }

    /** The key in a weight precision: fp32's has no suffix (caches written before precisions stay valid). */
    static String key(RnnSpec s, int threads, Precision p) {
        return key0(s, threads) + (p == Precision.FP32 ? "" : " " + p.label());
    }

    private static String key0(RnnSpec s, int threads) {
        return s.mode() + " " + s.inputSize() + "x" + s.hiddenSize() + " L" + s.numLayers() + (s.bidirectional() ? " bi" : "")
            + (s.projSize() > 0 ? " P" + s.projSize() : "") + (s.bias() ? "" : " nobias") + " " + threads + "T";
    }

    /** The cached choices of a model, by bucket index, or null when it has not been measured here. */
    static Choice[] cached(RnnSpec spec, int threads) {
        return cached(spec, threads, Precision.FP32);
    }

    /** The cached choices of a model in a weight precision, by bucket index, or null. */
    static Choice[] cached(RnnSpec spec, int threads, Precision precision) {
        Path f = cacheFile();
        if (!Files.isRegularFile(f)) {
            return null;
        }
        String prefix = fingerprint() + "\t" + key(spec, threads, precision) + "\t";
        Choice[] c = new Choice[BUCKETS.size()];
        try {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                if (!line.startsWith(prefix)) {
                    continue;
                }
                String[] p = line.substring(prefix.length()).split("\t");
                int b = indexOf(p[0]);
                if (b < 0 || p.length < 3 || !Backends.NAMES.contains(p[1]) || !Backends.availability(p[1]).available()) {
                    continue;
                }
                Map<String, Double> ms = new LinkedHashMap<>();
                for (String kv : p[2].split(",")) {
                    String[] e = kv.split("=");
                    if (e.length == 2) {
                        ms.put(e[0], Double.parseDouble(e[1]));
                    }
                }
                c[b] = new Choice(p[1], ms); // a later line (a re-tune) wins
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.INFO, "auto: ignoring the unreadable tuning cache " + f + " (" + e + ")");
            return null;
        }
        for (Choice x : c) {
            if (x == null) {
                return null;
            }
        }
        return c;
    }

    private static int indexOf(String bucket) {
        for (int i = 0; i < BUCKETS.size(); i++) {
            if (BUCKETS.get(i).name().equals(bucket)) {
                return i;
            }
        }
        return -1;
    }

    /** Within this fraction of the fastest median, candidates are tied: closer than the tuner can tell. */
    static final double TIE = 0.02;
    /**
     * Tied candidates' order: vector has no native copies and no lock, oneDNN's threads are per
     * caller, OpenBLAS's thread count is process-wide (its calls hold a process-wide lock).
     */
    private static final List<String> TIE_ORDER = List.of("vector", "onednn", "openblas", "scalar");

    /**
     * The fastest candidate by median ms, or among those within {@link #TIE} of it the first of
     * {@link #TIE_ORDER}: a 0.1% difference (GRU 512 at 2 threads, vector 2.399 ms, OpenBLAS 2.397)
     * is a coin flip that must not send calls to the backend that serialises concurrent callers.
     */
    static String winner(Map<String, Double> ms) {
        double fastest = ms.values().stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        String winner = null;
        for (Map.Entry<String, Double> e : ms.entrySet()) {
            if (e.getValue() <= fastest * (1 + TIE) && (winner == null || rank(e.getKey()) < rank(winner))) {
                winner = e.getKey();
            }
        }
        return winner;
    }

    private static int rank(String backend) {
        int i = TIE_ORDER.indexOf(backend);
        return i < 0 ? TIE_ORDER.size() : i;
    }

    /**
     * Measures every candidate on every call class with synthetic inputs and records the
     * result in the cache. Candidates are timed in alternating order, after a warm-up that
     * lets the JIT compile the Java kernels, so a cold backend is not mistaken for a slow one;
     * OpenBLAS after all the others.
     */
    static Choice[] tune(RnnSpec spec, int threads, Precision precision, Map<String, PreparedModel> candidates) {
        long t0 = System.nanoTime();
        List<String> names = new ArrayList<>(candidates.keySet());
        SplittableRandom rnd = new SplittableRandom(7);
        for (String n : names) { // each candidate compiled first: a cold Java backend is not a slow one
            Warmup.run(spec, candidates.get(n));
        }
        // OpenBLAS's calls leave the other multi-threaded candidates slower for a second or more
        // after them (oneDNN's bidirectional LSTM 128 at 2 threads: 1.4 ms alone, 2-4 ms between
        // OpenBLAS turns, even 1 s apart), so OpenBLAS is measured after the others, class by class.
        List<List<String>> phases = new ArrayList<>();
        List<String> first = names.stream().filter(n -> !n.equals(LATE)).toList();
        if (!first.isEmpty()) {
            phases.add(first);
        }
        if (names.contains(LATE)) {
            phases.add(List.of(LATE));
        }
        Call[] calls = new Call[BUCKETS.size()];
        List<Map<String, Double>> best = new ArrayList<>();
        for (int bi = 0; bi < BUCKETS.size(); bi++) {
            calls[bi] = Warmup.randomCall(spec, BUCKETS.get(bi).seqLen(), BUCKETS.get(bi).batch(), rnd);
            best.add(new LinkedHashMap<>());
        }
        int last = BUCKETS.size() - 1; // the larger classes past a slow one take its winner
        for (int p = 0; p < phases.size(); p++) {
            for (int bi = 0; bi <= last; bi++) {
                if (measure(phases.get(p), candidates, calls[bi], best.get(bi)) > MAX_CALL_MS) {
                    if (p == 0) {
                        last = bi;
                    }
                    break; // a later phase's candidate goes without the larger classes
                }
            }
        }
        Choice[] out = new Choice[BUCKETS.size()];
        for (int bi = 0; bi < BUCKETS.size(); bi++) {
            out[bi] = bi <= last ? new Choice(winner(best.get(bi)), best.get(bi))
                : new Choice(out[last].winner(), Map.of());
        }
        record(spec, threads, precision, out);
        LOG.log(System.Logger.Level.INFO, String.format(Locale.ROOT, "auto: measured %s on this machine in %.1f s, "
            + "cached in %s (rnn tune measures again)", key(spec, threads, precision), (System.nanoTime() - t0) / 1e9, cacheFile()));
        return out;
    }

    /**
     * Each of {@code names}' median ms on call {@code c} into {@code best}: its first calls, a quiet
     * JIT, then three rounds in alternating order, each candidate's score the median of its rounds'
     * medians: neither a round disturbed by the machine nor a lucky one decides (the best of the
     * three once scored oneDNN's single LSTM step at 0.118 ms, which measured 0.128-0.137 in every
     * other run, and sent it there instead of to vector's 0.120-0.122). Returns the slowest first call.
     */
    private static double measure(List<String> names, Map<String, PreparedModel> candidates, Call c,
                                  Map<String, Double> best) {
        // This shape's first calls (native plans, buffers, and code paths the warm-up did not
        // take, which C2 may recompile), then a quiet JIT: a compiler thread on the other core
        // makes any multi-threaded backend look many times slower than it is.
        double slowest = 0;
        for (String n : names) {
            for (int i = 0; i < 3; i++) {
                long a = System.nanoTime();
                candidates.get(n).forward(c);
                slowest = Math.max(slowest, (System.nanoTime() - a) / 1e6);
            }
        }
        Warmup.awaitQuietJit(1000);
        Map<String, double[]> rounds = new LinkedHashMap<>();
        for (String n : names) {
            rounds.put(n, new double[3]);
        }
        for (int round = 0; round < 3; round++) {
            for (int k = 0; k < names.size(); k++) {
                String n = names.get(round % 2 == 0 ? k : names.size() - 1 - k); // A B C, C B A, ...
                PreparedModel m = candidates.get(n);
                settle();
                double[] s = new double[200];
                int calls = 0;
                long start = System.nanoTime();
                do {
                    long a = System.nanoTime();
                    m.forward(c);
                    s[calls++] = (System.nanoTime() - a) / 1e6;
                } while (calls < 3 || (System.nanoTime() - start < 20_000_000L && calls < s.length));
                Arrays.sort(s, 0, calls);
                rounds.get(n)[round] = s[calls / 2];
            }
        }
        rounds.forEach((n, r) -> {
            Arrays.sort(r);
            best.put(n, r[1]);
        });
        return slowest;
    }

    /**
     * A pause before each candidate's turn, so the previous one's idle threads (the worker
     * pool's, OpenMP's) stop spinning and leave the cores to it, as the harness does.
     */
    private static void settle() {
        try {
            Thread.sleep(30);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void record(RnnSpec spec, int threads, Precision precision, Choice[] choices) {
        Path f = cacheFile();
        StringBuilder b = new StringBuilder();
        String prefix = fingerprint() + "\t" + key(spec, threads, precision) + "\t";
        for (int i = 0; i < choices.length; i++) {
            StringBuilder ms = new StringBuilder();
            choices[i].ms().forEach((k, v) -> ms.append(ms.isEmpty() ? "" : ",").append(k).append('=')
                .append(String.format(Locale.ROOT, "%.4f", v)));
            b.append(prefix).append(BUCKETS.get(i).name()).append('\t').append(choices[i].winner()).append('\t')
                .append(ms).append('\n');
        }
        try {
            Files.createDirectories(f.getParent());
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND); FileLock lock = ch.lock()) {
                ch.write(java.nio.ByteBuffer.wrap(b.toString().getBytes(StandardCharsets.UTF_8)));
            }
        } catch (IOException | RuntimeException e) { // a read-only home: measured again next time
            LOG.log(System.Logger.Level.INFO, "auto: cannot write the tuning cache " + f + " (" + e + ")");
        }
    }

    /** The table of a model's choices, for {@code rnn info} and {@code rnn tune}. */
    static String describe(Choice[] choices) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < choices.length; i++) {
            b.append(String.format(Locale.ROOT, "  %-12s %-9s", BUCKETS.get(i).name(), choices[i].winner()));
            choices[i].ms().forEach((k, v) -> b.append(String.format(Locale.ROOT, "  %s %.3f ms", k, v)));
            if (choices[i].ms().isEmpty()) {
                b.append("  (not measured: the smaller class's winner)");
            }
            b.append('\n');
        }
        return b.toString();
    }
}
