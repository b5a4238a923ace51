package dev.rnnengine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.engine.Backends;
import dev.rnnengine.engine.LayerWeights;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What every test class shares: the backends under test, the reference cases, tolerances, the
 * in-process and child-JVM command runners, and weights in the SPI's layout.
 */
public final class Fixtures {
    private Fixtures() { }

    /**
     * The backends this build must run: every registered backend, unless
     * {@code -Drnn.test.backends=scalar,vector} narrows it. A listed backend that is
     * unavailable fails the suites that use it: nothing is skipped silently.
     */
    public static List<String> expectedBackends() {
        String p = System.getProperty("rnn.test.backends");
        return p == null ? Backends.NAMES : List.of(p.split(","));
    }

    /** A backend at a thread count. */
    public record Config(String backend, int threads) {
        @Override
        public String toString() {
            return backend + "x" + threads;
        }
    }

    /** Each expected backend at 1 thread and at 2. */
    public static List<Config> configs() {
        List<Config> l = new ArrayList<>();
        for (String b : expectedBackends()) {
            l.add(new Config(b, 1));
            l.add(new Config(b, 2));
        }
        return l;
    }

    private static Path resource(String name) {
        try {
            return Path.of(Fixtures.class.getResource(name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<Path> dirs(Path root, String marker) {
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> Files.isRegularFile(p.resolve(marker))).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every golden case directory: shared/golden's cases and the project's extra ones. */
    public static List<Path> goldenCases() {
        Path root = resource("/golden");
        return Stream.concat(dirs(root.resolve("cases"), "model.safetensors").stream(),
            dirs(root.resolve("extra"), "model.safetensors").stream()).sorted().toList();
    }

    /** One golden case by directory name, e.g. {@code 002_lstm}. */
    public static Path golden(String name) {
        return goldenCases().stream().filter(p -> p.getFileName().toString().equals(name)).findFirst()
            .orElseThrow(() -> new IllegalStateException("no golden case " + name));
    }

    /** Every PyTorch-built classifier case (tools/make_classifier_cases.py). */
    public static List<Path> classifierCases() {
        return dirs(resource("/golden/classifier"), "model.safetensors");
    }

    /** |a - b| <= atol + rtol * |b|, element by element (NaN fails). */
    public static void assertClose(String what, Tensor expected, Tensor actual, double atol, double rtol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        for (int i = 0; i < expected.numel(); i++) {
            double b = expected.get(i);
            double a = actual.get(i);
            if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
                fail(what + "[" + i + "]: got " + a + ", expected " + b + " (|diff| " + Math.abs(a - b) + ")");
            }
        }
    }

    /** DESIGN.md's tolerance against PyTorch (float64): {@code 1e-5 + 1e-5 |b|}. */
    public static final double GOLDEN_ATOL = 1e-5;
    /** See {@link #GOLDEN_ATOL}. */
    public static final double GOLDEN_RTOL = 1e-5;

    /** The golden tolerance against PyTorch, for every fp32 comparison with its answers. */
    public static void assertClose(String what, Tensor expected, Tensor actual) {
        assertClose(what, expected, actual, GOLDEN_ATOL, GOLDEN_RTOL);
    }

    /** Elements equal to the bit (for determinism and layout-only transformations). */
    public static void assertSame(String what, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        assertArrayEquals(expected.toArray(), actual.toArray(), 0f, what);
    }

    /** What a run of the {@code rnn} command returned and printed. */
    public record Cli(int code, String out, String err) { }

    /** Runs {@code rnn args...} in this JVM, capturing both streams; stdin is empty. */
    public static Cli cli(String... args) {
        return cliWithStdin(new byte[0], args);
    }

    /** Runs {@code rnn args...} in this JVM with {@code stdin} as its standard input. */
    public static Cli cliWithStdin(byte[] stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = dev.rnnengine.cli.Main.run(args, new java.io.ByteArrayInputStream(stdin),
            new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Cli(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** This JVM's class path without the entries containing {@code part} (to hide a native library's jar). */
    public static String classPathWithout(String part) {
        return String.join(File.pathSeparator, Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(e -> !e.contains(part)).toList());
    }

    /**
     * Runs {@code rnn args...} in a child JVM of this JDK (a JVM's modules, compilers and heap
     * are fixed at start) with {@code jvmArgs}, which must include {@code -cp}; its working
     * directory is {@code dir}, where its output goes. The main class is the CLI's unless
     * {@code jvmArgs} end with {@code -m module/class}. Fails the test if it has not exited
     * within {@code timeoutSeconds}.
     */
    public static Cli childCli(Path dir, List<String> jvmArgs, long timeoutSeconds, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Djava.util.logging.SimpleFormatter.format=%4$s: %5$s%n");
        cmd.add("-Drnn.cache.dir=" + System.getProperty("rnn.cache.dir", dir.resolve("rnn-cache").toString()));
        cmd.addAll(jvmArgs);
        if (!jvmArgs.contains("-m")) { // else the JVM options end with -m module/class
            cmd.add("dev.rnnengine.cli.Main");
        }
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectOutput(out.toFile())
            .redirectError(err.toFile()).start();
        boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(done, "child JVM did not finish in " + timeoutSeconds + " s: " + String.join(" ", args));
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        // 128 + N: killed by signal N (a JVM crash, e.g. SIGSEGV in a native library), never a clean refusal.
        assertTrue(p.exitValue() < 128, "child JVM killed by signal " + (p.exitValue() - 128) + ": " + stderr);
        return new Cli(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), stderr);
    }

    /** The JVM options bin/rnn uses (bin/jvm.args), then {@code more}, then this JVM's class path. */
    public static List<String> defaultJvm(String... more) {
        List<String> l = new ArrayList<>(List.of("@" + Path.of("bin", "jvm.args").toAbsolutePath()));
        l.addAll(List.of(more));
        l.add("-cp");
        l.add(System.getProperty("java.class.path"));
        return l;
    }

    /** A state_dict in the SPI's layout: one {@link LayerWeights} per (layer, direction). */
    public static List<LayerWeights> layerWeights(RnnSpec spec, Map<String, Tensor> sd) {
        List<LayerWeights> out = new ArrayList<>();
        for (int l = 0; l < spec.numLayers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                Tensor bi = sd.get(CellMode.parameterName("bias_ih", l, d));
                Tensor bh = sd.get(CellMode.parameterName("bias_hh", l, d));
                Tensor hr = sd.get(CellMode.parameterName("weight_hr", l, d));
                out.add(new LayerWeights(sd.get(CellMode.parameterName("weight_ih", l, d)).toArray(),
                    sd.get(CellMode.parameterName("weight_hh", l, d)).toArray(), bi == null ? null : bi.toArray(),
                    bh == null ? null : bh.toArray(), hr == null ? null : hr.toArray()));
            }
        }
        return out;
    }
}
