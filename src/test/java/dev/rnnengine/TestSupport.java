package dev.rnnengine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.rnnengine.core.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Shared helpers: the golden case directories, tolerances, backends under test. */
public final class TestSupport {
    private TestSupport() { }

    /**
     * The backends this build must run; a listed backend that is unavailable fails the suite.
     * Override with -Drnn.test.backends=scalar,vector.
     */
    public static List<String> expectedBackends() {
        return List.of(System.getProperty("rnn.test.backends", "scalar,vector,openblas,onednn").split(","));
    }

    /** A backend at a thread count. */
    public record Config(String backend, int threads) {
        @Override
        public String toString() {
            return backend + "x" + threads;
        }
    }

    /** Each expected backend at 1 thread, and the multi-threaded ones at 2 as well. */
    public static List<Config> configs() {
        List<Config> l = new java.util.ArrayList<>();
        for (String b : expectedBackends()) {
            l.add(new Config(b, 1));
            if (!b.equals("scalar")) {
                l.add(new Config(b, 2));
            }
        }
        return l;
    }

    /** Every golden case directory: shared/golden's cases and the project's extra ones. */
    public static List<Path> goldenCases() {
        try {
            Path root = Path.of(TestSupport.class.getResource("/golden").toURI());
            try (Stream<Path> s = Files.list(root.resolve("cases"));
                 Stream<Path> e = Files.list(root.resolve("extra"))) {
                return Stream.concat(s, e).filter(p -> Files.isRegularFile(p.resolve("model.safetensors"))).sorted().toList();
            }
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** DESIGN.md's tolerance: |a - b| <= atol + rtol * |b| (NaN fails). */
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

    /** The golden tolerance. */
    public static void assertClose(String what, Tensor expected, Tensor actual) {
        assertClose(what, expected, actual, 1e-4, 1e-3);
    }

    /** Elements equal to the bit (for determinism and layout-only transformations). */
    public static void assertSame(String what, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        assertArrayEquals(expected.toArray(), actual.toArray(), 0f, what);
    }

    /** What an in-process run of the {@code rnn} command returned and printed. */
    public record Cli(int code, String out, String err) { }

    /** Runs {@code rnn args...} in this JVM, capturing both streams. */
    public static Cli cli(String... args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int code = dev.rnnengine.cli.Main.run(args, new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
            new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        return new Cli(code, out.toString(java.nio.charset.StandardCharsets.UTF_8),
            err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }
}
