package dev.rnnengine.bench;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.bench.Shapes;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code rnn bench}: engine backends and peers (ONNX Runtime, PyTorch, the C baseline) on the
 * same weights and inputs, checked against each other, then timed in interleaved rounds
 * (A B C, B C A, ...) so that machine drift hits every participant alike.
 */
public final class Bench {
    /**
     * What to run.
     *
     * @param shapes   the shapes
     * @param backends engine backends
     * @param threads  thread counts
     * @param peers    peers: ort, torch, native
     * @param quick    short warm-up and few rounds (the whole shape set in under 3 minutes)
     * @param report   a directory for report.md, chart.svg and results.jsonl, or null
     */
    public record Config(List<Shapes.Shape> shapes, List<String> backends, List<Integer> threads, List<String> peers,
                         boolean quick, Path report) { }

    /** One participant's figures on one (shape, threads). */
    record Result(Shapes.Shape shape, String who, int threads, double medianMs, double p99Ms, int samples, String via) {
        double gflops() {
            return shape.flops() / medianMs / 1e6;
        }

        /** Weights counted once per time step: what a batch-1 recurrence must stream. */
        double weightGbps() {
            return shape.weightBytes() * shape.seqLen() / medianMs / 1e6;
        }

        String json() {
            RnnSpec s = shape.spec();
            return String.format(Locale.ROOT, "{\"name\":\"%s\",\"cell\":\"%s\",\"input_size\":%d,\"hidden_size\":%d,"
                + "\"layers\":%d,\"bidirectional\":%s,\"seq_len\":%d,\"batch\":%d,\"backend\":\"%s\",\"threads\":%d,"
                + "\"median_ms\":%.4f,\"p99_ms\":%.4f,\"gflops\":%.3f,\"weight_gbps\":%.3f,\"samples\":%d,"
                + "\"via\":\"%s\"}",
                shape.name(), s.mode().name().toLowerCase(Locale.ROOT), s.inputSize(), s.hiddenSize(), s.numLayers(),
                s.bidirectional(), shape.seqLen(), shape.batch(), who, threads, medianMs, p99Ms, gflops(), weightGbps(),
                samples, via);
        }
    }

    /** Pause before each participant's slice of a round. */
    private static final long SETTLE_MS = 30;

    private final Config config;
    private final PrintStream out;
    private final PrintStream err;
    private final long warmupMs;
    private final int rounds;
    private final long roundMs;
    private final List<Result> results = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private int failures;

    private Bench(Config config, PrintStream out, PrintStream err) {
        this.config = config;
        this.out = out;
        this.err = err;
        this.warmupMs = config.quick() ? 300 : 1500;
        this.rounds = config.quick() ? 3 : 7;
        this.roundMs = config.quick() ? 150 : 600;
    }

    /**
     * Cold starts instead of warm timing: each participant in fresh JVMs ({@code rnn bench --cold}).
     *
     * @return 0, or 1 when a start failed
     * @throws IOException if the model files cannot be written
     */
    public static int cold(Config config, List<String> jvmArgs, PrintStream out, PrintStream err) throws IOException {
        return Cold.run(config, jvmArgs, out, err);
    }

    /**
     * Runs the comparison; prints the table, the ratios and one JSON line per result.
     *
     * @return 0, or 1 when a participant failed or disagreed with the engine
     * @throws IOException if the report or a peer's files cannot be written
     */
    public static int run(Config config, PrintStream out, PrintStream err) throws IOException {
        return new Bench(config, out, err).run();
    }

    private int run() throws IOException {
        Path work = Files.createTempDirectory("rnn-bench");
        try {
            List<String> peers = availablePeers();
            Machine machine = config.report() != null ? Machine.probe() : null;
            int total = config.shapes().size() * config.threads().size();
            int done = 0;
            long start = System.nanoTime();
            for (Shapes.Shape shape : config.shapes()) {
                for (int threads : config.threads()) {
                    err.printf(Locale.ROOT, "[%d/%d, %.0f s] %s at %d thread%s%n", ++done, total,
                        (System.nanoTime() - start) / 1e9, shape.name(), threads, threads == 1 ? "" : "s");
                    measure(shape, threads, peers, work);
                }
            }
            printTable();
            for (Result r : results) {
                out.println(r.json());
            }
            for (String n : notes) {
                err.println("note: " + n);
            }
            if (config.report() != null) {
                Report.write(config.report(), machine, config, results, notes);
                err.println("report written to " + config.report().resolve("report.md"));
            }
        } finally {
            deleteTree(work);
        }
        return failures == 0 ? 0 : 1;
    }

    /** The peers that can run here; a note for each that cannot. */
    private List<String> availablePeers() {
        List<String> ok = new ArrayList<>();
        for (String p : config.peers()) {
            String why = switch (p) {
                case "ort", "ort:int8" -> OrtParticipant.unavailable();
                case "torch", "torch:int8" -> torchMissing();
                case "native" -> nativeBaseline() != null ? null
                    : "the C baseline is not built (native/build.sh builds it)";
                default -> throw new IllegalArgumentException("unknown peer '" + p
                    + "': choose ort, torch, native, ort:int8 or torch:int8");
            };
            if (why != null) {
                notes.add(p + " skipped: " + why);
            } else if (p.equals("native")) {
                ok.add("native-onednn");
                ok.add("native-openblas");
            } else {
                ok.add(p);
            }
        }
        return ok;
    }

    private static String python() {
        return System.getenv().getOrDefault("RNN_PYTHON", "/usr/bin/python3");
    }

    private static String torchMissing() {
        try {
            Process p = new ProcessBuilder(python(), "-c", "import torch, numpy").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "'" + python() + " -c \"import torch\"' did not finish in 60 s";
            }
            return p.exitValue() == 0 ? null
                : "no PyTorch for " + python() + " (apt-get install python3-torch, or set RNN_PYTHON)";
        } catch (IOException e) {
            return "no " + python() + " (apt-get install python3-torch, or set RNN_PYTHON)";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** The C baseline executable (native/build/rnn-native-bench under the working directory or RNN_HOME), or null. */
    static Path nativeBaseline() {
        for (String root : new String[] {System.getenv("RNN_HOME"), "."}) {
            if (root != null) {
                Path exe = Path.of(root, "native", "build", "rnn-native-bench");
                if (Files.isExecutable(exe)) {
                    return exe;
                }
            }
        }
        return null;
    }

    private void measure(Shapes.Shape shape, int threads, List<String> peers, Path work) throws IOException {
        RnnSpec spec = shape.spec();
        Map<String, Tensor> sd = StateDicts.random(spec, 1);
        Tensor x = StateDicts.randn(2, shape.seqLen(), shape.batch(), spec.inputSize());
        Path dir = Files.createDirectories(work.resolve(shape.name() + "-" + threads));
        boolean rawWritten = false;
        int outLen = shape.seqLen() * shape.batch() * spec.directions() * spec.outputHiddenSize();
        List<Participant> parts = new ArrayList<>();
        try {
            for (String b : config.backends()) {
                try {
                    parts.add(new EngineParticipant(b, spec, sd, x, threads));
                } catch (UnsupportedOperationException e) {
                    note(b + " skipped on " + shape.name() + ": " + e.getMessage());
                }
            }
            for (String p : peers) {
                try {
                    String whyNot = quantizedPeerCannot(p, spec);
                    if (whyNot != null) {
                        note(p + " skipped on " + shape.name() + ": " + whyNot);
                        continue;
                    }
                    if (p.startsWith("ort")) {
                        parts.add(new OrtParticipant(p, spec, sd, x, threads));
                        continue;
                    }
                    if (!rawWritten) {
                        ProcessPeer.writeRaw(dir, spec, sd, x);
                        rawWritten = true;
                    }
                    if (p.startsWith("torch")) {
                        List<String> cmd = new ArrayList<>(List.of(python(), torchScript(work).toString()));
                        if (p.equals("torch:int8")) {
                            cmd.add("qint8");
                        }
                        ProcessPeer torch = new ProcessPeer(p, cmd, dir, threads, outLen);
                        parts.add(torch);
                        String blas = blasNote(torch.loadInfo());
                        if (blas != null && notes.stream().noneMatch(blas::equals)) {
                            note(blas);
                        }
                    } else if (spec.mode() != dev.rnnengine.core.CellMode.LSTM) {
                        note(p + " skipped on " + shape.name() + ": the C baseline runs LSTMs only");
                    } else {
                        String lib = p.substring("native-".length());
                        parts.add(new ProcessPeer(p, List.of(nativeBaseline().toString(), lib), dir, threads, outLen));
                    }
                } catch (Exception e) {
                    failures++;
                    note(p + " failed on " + shape.name() + ": " + e.getMessage());
                }
            }
            if (parts.isEmpty()) {
                return;
            }
            checkAgreement(shape, parts);
            int n = parts.size();
            double[] perCall = new double[n];
            for (int i = 0; i < n; i++) { // warm-up, which also estimates each one's call time
                double spent = 0;
                do {
                    perCall[i] = parts.get(i).time(1)[0];
                    spent += perCall[i];
                } while (spent < warmupMs);
            }
            List<List<Double>> samples = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                samples.add(new ArrayList<>());
            }
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < n; k++) {
                    int i = (k + r) % n; // rotate who goes first
                    int calls = (int) Math.max(1, Math.min(100_000, Math.round(roundMs / Math.max(perCall[i], 1e-3))));
                    // Let the previous runtime's idle threads (OpenMP, ORT's pool) stop spinning first.
                    Thread.sleep(SETTLE_MS);
                    for (double t : parts.get(i).time(calls)) {
                        samples.get(i).add(t);
                    }
                }
            }
            for (int i = 0; i < n; i++) {
                double[] s = samples.get(i).stream().mapToDouble(Double::doubleValue).sorted().toArray();
                String via = parts.get(i) instanceof EngineParticipant e ? e.via() : parts.get(i).name();
                results.add(new Result(shape, parts.get(i).name(), threads, s[(s.length - 1) / 2],
                    s[Math.min(s.length - 1, (int) Math.ceil(0.99 * s.length) - 1)], s.length, via));
            }
        } catch (Exception e) {
            failures++;
            note(shape.name() + " at " + threads + " threads failed: " + e);
        } finally {
            for (Participant p : parts) {
                try {
                    p.close();
                } catch (Exception e) {
                    note("closing " + p.name() + ": " + e.getMessage());
                }
            }
        }
    }

    /**
     * Everyone's output against the first fp32 participant's, within the golden tolerance
     * (reduced-precision weights: within their documented error); a disagreeing one is dropped.
     */
    private void checkAgreement(Shapes.Shape shape, List<Participant> parts) throws Exception {
        Participant first = parts.stream().filter(x -> !(x instanceof EngineParticipant e)
            || e.precision() == dev.rnnengine.core.Precision.FP32).findFirst().orElse(parts.get(0));
        float[] ref = first.output();
        for (int i = parts.size() - 1; i >= 0; i--) {
            Participant p = parts.get(i);
            if (p == first) {
                continue;
            }
            String why;
            try {
                float[] y = p.output();
                double bound = p.tolerance();
                why = bound > 0 ? disagreement(ref, y, bound) : disagreement(ref, y);
                if (why == null && bound > 0) {
                    double worst = 0;
                    for (int j = 0; j < y.length; j++) {
                        worst = Math.max(worst, Math.abs(y[j] - ref[j]));
                    }
                    note(String.format(java.util.Locale.ROOT, "%s on %s: largest |difference| from %s %.2g (bound %.2g)",
                        p.name(), shape.name(), first.name(), worst, bound));
                }
            } catch (Exception e) {
                why = e.getMessage();
            }
            if (why != null) {
                failures++;
                note(p.name() + " dropped on " + shape.name() + ": " + why + " (against " + first.name() + ")");
                p.close();
                parts.remove(i);
            }
        }
    }

    /**
     * Why a quantized peer cannot run a spec (null when it can): PyTorch's dynamic quantization
     * has no nn.RNN (Debian's 1.13 also fails on projections), ONNX Runtime's int8 op is an LSTM.
     */
    static String quantizedPeerCannot(String peer, RnnSpec spec) {
        if (peer.equals("torch:int8") && (spec.gates() == 1 || spec.projSize() > 0)) {
            return "torch.quantization.quantize_dynamic quantizes nn.LSTM and nn.GRU without proj_size only";
        }
        if (peer.equals("ort:int8") && (!spec.mode().hasCellState() || spec.projSize() > 0)) {
            return "ONNX Runtime's int8 recurrent op (com.microsoft.DynamicQuantizeLSTM) is an LSTM without projection";
        }
        return null;
    }

    /** Null when {@code y} matches {@code ref} within the golden tolerance, else the first difference. */
    public static String disagreement(float[] ref, float[] y) {
        return disagreement(ref, y, 0);
    }

    /** As {@link #disagreement(float[], float[])} with an absolute bound (0: the golden tolerance). */
    static String disagreement(float[] ref, float[] y, double bound) {
        if (ref.length != y.length) {
            return "output has " + y.length + " elements, expected " + ref.length;
        }
        for (int j = 0; j < ref.length; j++) {
            if (!(Math.abs(y[j] - ref[j]) <= (bound > 0 ? bound : 1e-4 + 1e-3 * Math.abs(ref[j])))) {
                return "output[" + j + "] = " + y[j] + ", expected " + ref[j];
            }
        }
        return null;
    }

    /**
     * What the PyTorch peer's load answer says about its BLAS ({@code blas=lib,lib}), as a note, or
     * null if it says nothing. Debian's PyTorch calls whatever the libblas.so.3 alternative points
     * to: the reference BLAS when no optimized one is installed, 10-40x slower (lstm_512_b64 at 1
     * thread: 1646 ms against 52 ms on OpenBLAS at one core), so its figures would not be PyTorch's.
     */
    static String blasNote(String loadInfo) {
        int at = loadInfo.indexOf("blas=");
        if (at < 0) {
            return null;
        }
        String libs = loadInfo.substring(at + "blas=".length()).split("\\s+")[0];
        if (libs.matches("(.*,)?[^,]*/blas/libblas\\.so[^,]*(,.*)?")) {
            return "torch runs on the reference BLAS (" + libs + "): its times are not PyTorch's; point libblas.so.3 at "
                + "an optimized one (Debian: apt-get install libopenblas0, or update-alternatives --config "
                + "libblas.so.3-x86_64-linux-gnu) and run again";
        }
        return "torch's BLAS: " + libs;
    }

    private void note(String n) {
        notes.add(n);
        err.println("note: " + n);
    }

    private static Path torchScript(Path work) throws IOException {
        Path p = work.resolve("torch_peer.py");
        if (!Files.exists(p)) {
            try (InputStream in = Bench.class.getResourceAsStream("torch_peer.py")) {
                if (in == null) {
                    throw new IOException("torch_peer.py is missing from the class path");
                }
                Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return p;
    }

    /** Participants in a stable order: engine backends as given, then peers as given. */
    static List<String> columns(List<Result> results) {
        List<String> cols = new ArrayList<>();
        for (Result r : results) {
            if (!cols.contains(r.who())) {
                cols.add(r.who());
            }
        }
        return cols;
    }

    private void printTable() {
        out.print(Report.table(config, results));
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    /** Medians by (shape, threads) then participant, for the table and the chart. */
    static Map<String, Map<String, Result>> byRow(List<Result> results) {
        Map<String, Map<String, Result>> rows = new LinkedHashMap<>();
        for (Result r : results) {
            rows.computeIfAbsent(r.shape().name() + " " + r.threads() + "T", k -> new LinkedHashMap<>()).put(r.who(), r);
        }
        return rows;
    }
}
