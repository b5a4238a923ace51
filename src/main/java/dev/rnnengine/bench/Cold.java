package dev.rnnengine.bench;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.SafetensorsWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code rnn bench --cold}: each participant in fresh JVMs, as a service restarted under
 * traffic sees it: time from JVM start to the first answer, load, the first call, and the
 * p50/p99 of the first 100 and 1,000 calls against the same process's warm calls; medians of
 * {@link #STARTS} starts. Models are loaded from files (safetensors; ONNX for ONNX Runtime).
 * {@code auto}'s measurements are made beforehand, as {@code rnn tune} would at deployment.
 */
final class Cold {
    static final int STARTS = 3;
    static final int CALLS = 1000;

    private Cold() { }

    /** The medians of one participant's starts on one shape. */
    record Row(String shape, int threads, String who, Map<String, Double> median) { }

    static int run(Bench.Config c, List<String> jvmArgs, PrintStream out, PrintStream err) throws IOException {
        Path work = Files.createTempDirectory("rnn-cold");
        List<Row> rows = new ArrayList<>();
        int failures = 0;
        for (Shapes.Shape shape : c.shapes()) {
            RnnSpec spec = shape.spec();
            Map<String, Tensor> sd = StateDicts.random(spec, 1);
            Tensor x = StateDicts.randn(2, shape.seqLen(), shape.batch(), spec.inputSize());
            Path model = work.resolve(shape.name() + ".safetensors");
            SafetensorsWriter w = new SafetensorsWriter();
            sd.forEach(w::put);
            w.metadata("mode", spec.mode().name()).metadata("batch_first", "false").write(model);
            Path input = work.resolve(shape.name() + "-input.safetensors");
            new SafetensorsWriter().put("input", x).write(input);
            Path onnx = work.resolve(shape.name() + ".onnx");
            boolean ort = c.peers().contains("ort") && OrtParticipant.unavailable() == null && spec.projSize() == 0;
            if (ort) {
                Files.write(onnx, dev.rnnengine.io.OnnxExport.write(spec, sd, shape.seqLen(), shape.batch()));
            }
            for (int threads : c.threads()) {
                if (c.backends().contains("auto")) {
                    RnnModel.create(spec, sd, new EngineOptions("auto", threads)).close(); // measured now, cached
                }
                List<String> who = new ArrayList<>(c.backends());
                if (ort) {
                    who.add("ort");
                }
                for (String p : who) {
                    List<Map<String, Double>> starts = new ArrayList<>();
                    for (int s = 0; s < STARTS; s++) {
                        err.printf(Locale.ROOT, "cold: %s %s at %d thread%s, start %d of %d%n", shape.name(), p, threads,
                            threads == 1 ? "" : "s", s + 1, STARTS);
                        try {
                            starts.add(start(jvmArgs, p, p.equals("ort") ? onnx : model, input, threads, work));
                        } catch (IOException | InterruptedException | RuntimeException e) {
                            failures++;
                            err.println("note: " + p + " failed a cold start on " + shape.name() + ": " + e.getMessage());
                            break;
                        }
                    }
                    if (!starts.isEmpty()) {
                        Map<String, Double> med = new LinkedHashMap<>();
                        for (String k : starts.get(0).keySet()) {
                            med.put(k, median(starts.stream().mapToDouble(m -> m.get(k)).toArray()));
                        }
                        rows.add(new Row(shape.name(), threads, p, med));
                    }
                }
            }
        }
        String table = table(rows);
        out.print(table);
        if (c.report() != null) {
            Files.createDirectories(c.report());
            Files.writeString(c.report().resolve("cold.md"), "# rnn bench --cold\n\nMachine: " + Machine.named()
                + "\n\nMedians of " + STARTS + " fresh JVMs per participant; each JVM loads the model from its file, "
                + "answers once, then times " + CALLS + " calls one by one (fewer when they take over 10 s) and, after "
                + "them, its warm calls.\n\n" + table, StandardCharsets.UTF_8);
        }
        Files.walk(work).sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        return failures == 0 ? 0 : 1;
    }

    private static Map<String, Double> start(List<String> jvmArgs, String who, Path model, Path input, int threads, Path dir)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ColdRunner.class.getName());
        cmd.addAll(List.of(who, model.toString(), input.toString(), String.valueOf(threads), String.valueOf(CALLS)));
        Path log = Files.createTempFile(dir, "cold", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).redirectError(log.toFile()).start();
        String line;
        try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            line = r.lines().filter(l -> l.startsWith("{")).findFirst().orElse(null);
        }
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("no answer in 300 s");
        }
        if (p.exitValue() != 0 || line == null) {
            List<String> e = Files.readAllLines(log);
            throw new IOException("exit " + p.exitValue() + ": " + (e.isEmpty() ? "" : e.get(e.size() - 1)));
        }
        Map<String, Double> m = new LinkedHashMap<>();
        for (String kv : line.substring(1, line.length() - 1).split(",")) {
            String[] f = kv.split(":");
            if (!f[1].startsWith("\"")) {
                m.put(f[0].replace("\"", ""), Double.parseDouble(f[1]));
            }
        }
        return m;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s[(s.length - 1) / 2];
    }

    /** The cold-start table, with issue 21's targets as ratios. */
    static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder("| shape | threads | who | JVM start to first answer ms | load ms | first call ms "
            + "| warm median ms | first / warm | p50 first 100 | p99 first 100 | p99 first 1000 | warm p99 | "
            + "p99 first 1000 / warm p99 | calls |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            Map<String, Double> m = r.median();
            b.append(String.format(Locale.ROOT, "| %s | %d | %s | %.0f | %.1f | %.3f | %.3f | %.2fx | %.3f | %.3f | %.3f | %.3f "
                + "| %.2fx | %.0f |%n", r.shape(), r.threads(), r.who(), m.get("start_to_first_answer_ms"), m.get("load_ms"),
                m.get("first_call_ms"), m.get("warm_median_ms"), m.get("first_call_ms") / m.get("warm_median_ms"),
                m.get("p50_first100_ms"), m.get("p99_first100_ms"), m.get("p99_first_ms"), m.get("warm_p99_ms"),
                m.get("p99_first_ms") / m.get("warm_p99_ms"), m.get("calls")));
        }
        return b.toString();
    }
}
