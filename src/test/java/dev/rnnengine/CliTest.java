package dev.rnnengine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.cli.Main;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.SafetensorsWriter;
import dev.rnnengine.api.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rnn command in-process: results, exit codes and one-line errors. */
class CliTest {
    @TempDir
    Path dir;

    private record Result(int code, String out, String err) { }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Path lstmCase() {
        return TestSupport.goldenCases().stream().filter(p -> p.getFileName().toString().equals("002_lstm")).findFirst().orElseThrow();
    }

    @Test
    void inferWritesPyTorchsAnswer() throws IOException {
        Path c = lstmCase();
        Path out = dir.resolve("out.safetensors");
        Result r = run("infer", "--model", c.resolve("model.safetensors").toString(), "--input",
            c.resolve("input.safetensors").toString(), "--output", out.toString(), "--backend", "scalar", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        try (SafetensorsFile got = SafetensorsFile.open(out); SafetensorsFile exp = SafetensorsFile.open(c.resolve("expected.safetensors"))) {
            assertEquals(java.util.Set.of("output", "h_n", "c_n"), got.names());
            for (String n : got.names()) {
                TestSupport.assertClose(n, exp.floats(n), got.floats(n));
            }
        }
    }

    @Test
    void infoDescribesModelAndBackends() {
        Result r = run("info", lstmCase().resolve("model.safetensors").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("mode:         LSTM"), r.out());
        assertTrue(r.out().contains("num_layers:   3"), r.out());
        assertTrue(r.out().contains("scalar    available"), r.out());
        assertTrue(r.out().contains("auto selects: "), r.out());
    }

    @Test
    void demoRunsEveryExpectedBackendAndStreamingMatches() {
        Result r = run("demo");
        assertEquals(0, r.code(), r.err());
        for (String b : TestSupport.expectedBackends()) {
            assertTrue(r.out().lines().anyMatch(l -> l.trim().startsWith(b + " ") && l.contains("ms/forward")), r.out());
        }
        // Every streaming line reports a difference to forward below 1e-5.
        r.out().lines().filter(l -> l.contains("streaming")).forEach(l ->
            assertTrue(Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)) < 1e-5, l));
    }

    @Test
    void badArgumentsExitTwo() {
        assertEquals(2, run().code());
        assertEquals(2, run("frobnicate").code());
        assertEquals(2, run("infer", "--model").code());
        assertEquals(2, run("infer", "--model", "a", "--input", "b").code());
        assertEquals(2, run("infer", "--bogus", "1").code());
        Result r = run("infer", "--model", "a", "--input", "b", "--output", "c", "--threads", "zero");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--threads takes an integer"), r.err());
        assertEquals(2, run("info").code());
        assertEquals(0, run("help").code());
    }

    @Test
    void badFilesAndShapesExitOneWithOneLine() throws IOException {
        Path c = lstmCase();
        String model = c.resolve("model.safetensors").toString();
        Path out = dir.resolve("o.safetensors");
        Result missing = run("infer", "--model", dir.resolve("nope").toString(), "--input", model, "--output", out.toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("no such file"), missing.err());

        Path garbage = Files.write(dir.resolve("garbage"), "not a safetensors file at all".getBytes(StandardCharsets.UTF_8));
        Result g = run("infer", "--model", garbage.toString(), "--input", model, "--output", out.toString());
        assertEquals(1, g.code());
        assertEquals(1, g.err().strip().lines().count(), g.err());

        Path wrongInput = dir.resolve("in.safetensors");
        new SafetensorsWriter().put("input", Tensor.zeros(3, 2, 5)).write(wrongInput);
        Result w = run("infer", "--model", model, "--input", wrongInput.toString(), "--output", out.toString());
        assertEquals(1, w.code());
        assertTrue(w.err().contains("input.size(-1) must be equal to input_size. Expected 1, got 5"), w.err());

        Path stray = dir.resolve("stray.safetensors");
        new SafetensorsWriter().put("input", Tensor.zeros(3, 2, 1)).put("hx", Tensor.zeros(1)).write(stray);
        assertTrue(run("infer", "--model", model, "--input", stray.toString(), "--output", out.toString()).err()
            .contains("unexpected tensor 'hx'"));

        Path badLengths = dir.resolve("len.safetensors");
        new SafetensorsWriter().put("input", Tensor.zeros(3, 2, 1)).putLongs("lengths", new long[] {1, 1L << 40}, 2).write(badLengths);
        Result l = run("infer", "--model", model, "--input", badLengths.toString(), "--output", out.toString());
        assertEquals(1, l.code());
        assertTrue(l.err().contains("longer than the input's sequence length"), l.err());

        Result unknown = run("infer", "--model", model, "--input", model, "--output", out.toString(), "--backend", "cuda");
        assertEquals(1, unknown.code());
        assertTrue(unknown.err().contains("unknown backend 'cuda'"), unknown.err());
        assertTrue(!unknown.err().contains(model), "a bad option is not blamed on the model file: " + unknown.err());
        assertTrue(!Files.exists(out), "no output file after a failure");
    }
}
