package dev.rnnengine.bench;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.SafetensorsFile;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * One cold start, in a JVM of its own ({@code rnn bench --cold} starts it): load a model from
 * its file, answer once, then time the first calls one by one and, after them, warm calls.
 * Prints one JSON line. Usage: {@code ColdRunner WHO MODEL INPUT THREADS CALLS} where WHO is
 * an engine backend (the model is a safetensors file) or {@code ort} (an ONNX file).
 */
public final class ColdRunner {
    private ColdRunner() { }

    /** A call to time. */
    private interface Call {
        void run() throws Exception;
    }

    /**
     * Runs one cold start and prints its JSON line.
     *
     * @throws Exception if the model cannot be loaded or run (the parent reports it)
     */
    public static void main(String[] args) throws Exception {
        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime(); // wall clock, ms
        String who = args[0];
        Path model = Path.of(args[1]);
        Path inputFile = Path.of(args[2]);
        int threads = Integer.parseInt(args[3]);
        int calls = Integer.parseInt(args[4]);
        long t0 = System.nanoTime();
        Tensor x;
        try (SafetensorsFile in = SafetensorsFile.open(inputFile)) {
            x = Tensor.of(in.floats("input").toArray(), in.info("input").shape());
        }
        AutoCloseable owner;
        Call call;
        if (who.equals("ort")) {
            OrtRunner ort = new OrtRunner(Files.readAllBytes(model), x, threads);
            owner = ort;
            call = ort::run;
        } else {
            RnnModel m = RnnModel.load(model, new EngineOptions(who, threads), Map.of());
            owner = m;
            call = () -> m.forward(x);
        }
        double loadMs = (System.nanoTime() - t0) / 1e6;
        long a = System.nanoTime();
        call.run();
        double firstMs = (System.nanoTime() - a) / 1e6;
        long firstAnswer = System.currentTimeMillis();
        double[] first = new double[calls];
        long budget = System.nanoTime() + 10_000_000_000L; // large models: fewer than `calls` in 10 s
        int n = 0;
        while (n < calls && System.nanoTime() < budget) {
            long s = System.nanoTime();
            call.run();
            first[n++] = (System.nanoTime() - s) / 1e6;
        }
        double[] warm = new double[Math.max(20, Math.min(300, n / 3))];
        for (int i = 0; i < warm.length; i++) {
            long s = System.nanoTime();
            call.run();
            warm[i] = (System.nanoTime() - s) / 1e6;
        }
        owner.close();
        double[] f100 = Arrays.copyOf(first, Math.min(n, 100));
        double[] fAll = Arrays.copyOf(first, n);
        System.out.printf(Locale.ROOT, "{\"who\":\"%s\",\"start_to_first_answer_ms\":%d,\"load_ms\":%.2f,"
            + "\"first_call_ms\":%.3f,\"calls\":%d,\"p50_first100_ms\":%.4f,\"p99_first100_ms\":%.4f,\"p50_first_ms\":%.4f,"
            + "\"p99_first_ms\":%.4f,\"warm_median_ms\":%.4f,\"warm_p99_ms\":%.4f}%n", who, firstAnswer - jvmStart, loadMs,
            firstMs, n, pct(f100, 0.5), pct(f100, 0.99), pct(fAll, 0.5), pct(fAll, 0.99), pct(warm, 0.5), pct(warm, 0.99));
    }

    private static double pct(double[] v, double q) {
        if (v.length == 0) {
            return Double.NaN;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(q * s.length) - 1)];
    }
}
