package dev.rnnengine.cli;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.bench.Shapes;
import dev.rnnengine.bench.Bench;
import dev.rnnengine.engine.Backends;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** {@code rnn bench}'s options, turned into a {@link Bench.Config}. */
final class BenchOptions {
    static final Set<String> OPTIONS = Set.of("shapes", "backends", "threads", "peers", "report", "cell", "input-size",
        "hidden-size", "layers", "seq-len", "batch", "streams", "wait-us");
    static final Set<String> FLAGS = Set.of("quick", "bidirectional", "cold", "sequences");

    private BenchOptions() { }

    static int run(Main.Options o, PrintStream out, PrintStream err) throws IOException, Main.UsageException {
        if (o.has("cold") && o.has("quick")) {
            throw new Main.UsageException("--cold times fresh JVMs' first calls: --quick has nothing to shorten there");
        }
        List<Shapes.Shape> shapes = new ArrayList<>();
        if (o.has("cell")) {
            if (o.has("shapes")) {
                throw new Main.UsageException("give --shapes or --cell ..., not both");
            }
            RnnSpec spec = new RnnSpec(CellMode.parse(o.get("cell")), o.intValue("input-size", 1),
                o.intValue("hidden-size", 1), o.has("layers") ? o.intValue("layers", 1) : 1, true, false,
                o.has("bidirectional"), 0);
            int t = o.has("seq-len") ? o.intValue("seq-len", 1) : 50;
            int n = o.has("batch") ? o.intValue("batch", 1) : 1;
            String name = o.get("cell") + "_" + spec.inputSize() + "x" + spec.hiddenSize() + "_t" + t + "_b" + n
                + (spec.numLayers() > 1 ? "_l" + spec.numLayers() : "") + (spec.bidirectional() ? "_bi" : "");
            shapes.add(new Shapes.Shape(name, spec, t, n));
        } else {
            for (String s : list(o, "shapes", String.join(",", Shapes.ALL.keySet()))) {
                shapes.add(Shapes.get(s));
            }
        }
        for (String k : new String[] {"input-size", "hidden-size", "layers", "seq-len", "batch", "bidirectional"}) {
            if (o.has(k) && !o.has("cell")) {
                throw new Main.UsageException("--" + k + " describes a custom shape: give --cell too");
            }
        }
        List<String> backends = new ArrayList<>(list(o, "backends", String.join(",",
            Backends.NAMES.stream().filter(b -> !b.equals("scalar") && Backends.availability(b).available()).toList())));
        for (String b : backends) { // unknown names fail here, with the list of backends or precisions
            int colon = b.indexOf(':');
            String name = colon < 0 ? b : b.substring(0, colon);
            if (!name.equals(Backends.AUTO)) {
                Backends.availability(name);
            }
            if (colon >= 0) {
                dev.rnnengine.core.Precision.parse(b.substring(colon + 1));
            }
        }
        if (!backends.contains(Backends.AUTO)) {
            backends.add(Backends.AUTO); // what users get by default is always reported
        }
        List<Integer> threads = new ArrayList<>();
        for (String t : list(o, "threads", o.has("cold") ? "1" : defaultThreads())) {
            try {
                int v = Integer.parseInt(t.trim());
                if (v < 1) {
                    throw new NumberFormatException();
                }
                if (!threads.contains(v)) {
                    threads.add(v);
                }
            } catch (NumberFormatException e) {
                throw new Main.UsageException("--threads takes positive integers, got '" + t + "'");
            }
        }
        List<String> peers = o.has("peers") && o.get("peers").equals("none") ? List.of() : list(o, "peers", "ort,torch,native");
        Path report = o.has("report") ? Path.of(o.get("report")) : null;
        if (o.has("streams")) { // many streams, one model: the batcher against direct calls
            int k = o.intValue("streams", 1);
            String backend = o.has("backends") ? backends.get(0) : "auto";
            try {
                if (o.has("sequences")) { // whole sequences: the SequenceBatcher against direct forward calls
                    return dev.rnnengine.bench.Streams.sequences(o.has("shapes") || o.has("cell") ? shapes
                        : List.of(Shapes.get("lstm_small_b1"), Shapes.get("lstm_512_b1")), backend, k,
                        o.has("threads") ? threads.get(0) : Math.min(2, Runtime.getRuntime().availableProcessors()),
                        o.has("wait-us") ? o.intValue("wait-us", 0) : 200, out, err);
                }
                return dev.rnnengine.bench.Streams.run(o.has("shapes") || o.has("cell") ? shapes
                    : List.of(Shapes.get("lstm2_step_b1"), Shapes.get("lstm_512_b1")), backend, k,
                    o.has("threads") ? threads.get(0) : Math.min(2, Runtime.getRuntime().availableProcessors()),
                    o.has("wait-us") ? o.intValue("wait-us", 0) : 200, peers.contains("ort"), out, err);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
        Bench.Config config = new Bench.Config(shapes, backends, threads, peers, o.has("quick"), report);
        if (o.has("cold")) {
            // Fresh JVMs with this one's options (the module, native access, an AOT cache if given).
            List<String> jvm = java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib") && !a.startsWith("-javaagent")).toList();
            return Bench.cold(config, jvm, out, err);
        }
        return Bench.run(config, out, err);
    }

    /** 1, 2, 4, ... up to the processors, and the processors themselves: threads beyond 2 where the machine has them. */
    private static String defaultThreads() {
        int cores = Runtime.getRuntime().availableProcessors();
        List<String> t = new ArrayList<>();
        for (int n = 1; n < cores; n *= 2) {
            t.add(String.valueOf(n));
        }
        t.add(String.valueOf(Math.max(2, cores)));
        return String.join(",", t);
    }

    private static List<String> list(Main.Options o, String key, String dflt) {
        String v = o.has(key) ? o.get(key) : dflt;
        return Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
