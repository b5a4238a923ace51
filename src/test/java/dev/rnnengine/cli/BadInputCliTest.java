package dev.rnnengine.cli;

import dev.rnnengine.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.core.Tensor;
import dev.rnnengine.cli.Main;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Broken files and inputs through {@code rnn infer} on every backend: exit status 1, one line
 * on stderr naming the problem, quickly; never a crash.
 */
class BadInputCliTest {
    @TempDir
    static Path dir;

    private static Path lstm() {
        return Fixtures.golden("002_lstm");
    }

    /** A broken model or input: name, model file, input file, words the error must contain. */
    private record Bad(String name, Path model, Path input, String expect) {
        Bad {
            if (expect.isBlank()) { // contains("") is always true: a check that cannot fail
                throw new IllegalArgumentException(name + ": say what the message must contain");
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static Path raw(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] withHeader(long len, String json) {
        return withHeader(len, json, false);
    }

    /** A header of json (latin1: one byte per char, so 0xff is not UTF-8) and 16 data bytes; len -1: the true length. */
    private static byte[] withHeader(long len, String json, boolean latin1) {
        byte[] h = json.getBytes(latin1 ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
        len = len < 0 ? h.length : len;
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(len).put(h);
        return b.array();
    }

    /** The golden model's tensors with other metadata. */
    private static Path model(String name, Map<String, String> metadata) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(lstm().resolve("model.safetensors"))) {
            for (String n : f.names()) {
                w.put(n, Tensor.of(f.floats(n).toArray(), f.info(n).shape()));
            }
        }
        metadata.forEach(w::metadata);
        Path p = dir.resolve(name + ".safetensors");
        w.write(p);
        return p;
    }

    /** The golden input with some tensors replaced (null removes one). */
    private static Path input(String name, Map<String, Object> changes) throws IOException {
        Map<String, Object> t = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(lstm().resolve("input.safetensors"))) {
            for (String n : f.names()) {
                t.put(n, n.equals("lengths") ? f.longs(n) : Tensor.of(f.floats(n).toArray(), f.info(n).shape()));
            }
        }
        t.putAll(changes);
        SafetensorsWriter w = new SafetensorsWriter();
        for (Map.Entry<String, Object> e : t.entrySet()) {
            if (e.getValue() instanceof Tensor x) {
                w.put(e.getKey(), x);
            } else if (e.getValue() instanceof long[] l) {
                w.putLongs(e.getKey(), l, l.length);
            }
        }
        Path p = dir.resolve(name + ".safetensors");
        w.write(p);
        return p;
    }

    static List<Bad> bads() throws IOException {
        Path model = lstm().resolve("model.safetensors");
        Path in = lstm().resolve("input.safetensors");
        byte[] good = Files.readAllBytes(model);
        int[] shape;
        try (SafetensorsFile f = SafetensorsFile.open(in)) {
            shape = f.info("input").shape();
        }
        int t = shape[0]; // 002_lstm is time-major: (T, N, D)
        int n = shape[1];
        List<Bad> l = new ArrayList<>();
        l.add(new Bad("truncated model", raw("trunc.safetensors", java.util.Arrays.copyOf(good, good.length / 2)), in,
            "outside the data section"));
        l.add(new Bad("header longer than the file", raw("long.safetensors", withHeader(1 << 20, "{}")), in, "header"));
        l.add(new Bad("absurd header length", raw("absurd.safetensors", withHeader(1L << 60, "{}")), in, "header"));
        l.add(new Bad("not JSON", raw("notjson.safetensors", withHeader(-1, "{nope!!}")), in, "invalid JSON at offset 1"));
        l.add(new Bad("duplicate names", raw("dup.safetensors", withHeader(-1,
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")), in, "a"));
        l.add(new Bad("empty file", raw("zero-bytes.safetensors", new byte[0]), in, "0 bytes is shorter than the 8-byte header"));
        l.add(new Bad("input of the wrong width", model, input("wide", Map.of("input", Tensor.zeros(n, t, 3))), "input_size"));
        l.add(new Bad("h0 of the wrong shape", model, input("h0", Map.of("h0", Tensor.zeros(1, n, 3))), "hidden"));
        l.add(new Bad("lengths zero", model, input("len0", Map.of("lengths", lengths(n, t, 0))), "length"));
        l.add(new Bad("lengths negative", model, input("lenneg", Map.of("lengths", lengths(n, t, -2))), "length"));
        l.add(new Bad("lengths past T", model, input("lenlong", Map.of("lengths", lengths(n, t, t + 1))), "length"));
        l.add(new Bad("lengths of the wrong count", model, input("lencount", Map.of("lengths", new long[n + 1])), "length"));
        l.add(new Bad("empty batch", model, input("empty", Map.of("input", Tensor.zeros(t, 0, shape[2]))), "batch"));
        l.add(new Bad("c0 of the wrong shape", model, input("c0", Map.of("c0", Tensor.zeros(3, n, 5))), "hidden[1]"));
        String t8 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[%s],\"data_offsets\":[%s]}%s}";
        l.add(new Bad("offsets outside the data", raw("outside.safetensors", withHeader(-1, t8.formatted("8", "0,32", ""))), in,
            "outside the data section"));
        l.add(new Bad("overlapping tensors", raw("overlap.safetensors", withHeader(-1, t8.formatted("2", "0,8",
            ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}"))), in, "overlap"));
        l.add(new Bad("byte size not matching the shape", raw("size.safetensors", withHeader(-1, t8.formatted("3", "0,8", ""))),
            in, "needs 12"));
        l.add(new Bad("shape product overflowing", raw("overflow.safetensors",
            withHeader(-1, t8.formatted("65536,65536,65536", "0,16", ""))), in, "more than"));
        l.add(new Bad("dimension past int", raw("dim.safetensors",
            withHeader(-1, t8.formatted("4294967296", "0,16", ""))), in, "bad size"));
        l.add(new Bad("header not UTF-8", raw("utf8.safetensors", withHeader(-1, "{\"\u00ff\"}", true)), in, "UTF-8"));
        l.add(new Bad("metadata missing", model("nometa", Map.of()), in, "batch_first"));
        l.add(new Bad("metadata contradicting the tensors", model("contra", Map.of("batch_first", "false", "hidden_size", "5")),
            in, "hidden_size"));
        l.add(new Bad("input for another model", model, input("other", Map.of("input", Tensor.zeros(t, n, 4))), "input_size"));
        return l;
    }

    private static long[] lengths(int n, int t, long first) {
        long[] l = new long[n];
        java.util.Arrays.fill(l, t);
        l[0] = first;
        return l;
    }

    static Stream<Arguments> runs() throws IOException {
        List<Bad> b = bads();
        return Fixtures.expectedBackends().stream().flatMap(be -> b.stream().map(x -> Arguments.of(be, x)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("runs")
    void refusedWithOneLine(String backend, Bad bad) {
        Fixtures.Cli r = Fixtures.cli("infer", "--model", bad.model().toString(), "--input", bad.input().toString(),
            "--output", dir.resolve("out.safetensors").toString(), "--backend", backend);
        String e = r.err();
        assertEquals(1, r.code(), bad + ": " + e);
        assertEquals(1, e.lines().count(), "one line: " + e);
        assertTrue(e.toLowerCase(java.util.Locale.ROOT).contains(bad.expect().toLowerCase(java.util.Locale.ROOT)), e);
    }

    /**
     * The same files in a child JVM with a 64 MB heap: absurd sizes are refused before anything
     * is allocated, and no {@code hs_err} file is ever written.
     */
    @org.junit.jupiter.api.Test
    void refusedInASmallHeapWithoutAnyCrashFile() throws Exception {
        Path crashDir = Files.createDirectories(dir.resolve("child"));
        for (Bad bad : bads()) {
            Fixtures.Cli r = Fixtures.childCli(crashDir, Fixtures.defaultJvm("-Xmx64m",
                "-XX:ErrorFile=" + crashDir.resolve("hs_err_pid%p.log")), 60, "infer", "--model", bad.model().toString(),
                "--input", bad.input().toString(), "--output", crashDir.resolve("out.safetensors").toString());
            String log = r.out() + r.err();
            assertEquals(1, r.code(), bad + ": " + log);
            assertTrue(log.toLowerCase(java.util.Locale.ROOT).contains(bad.expect().toLowerCase(java.util.Locale.ROOT)), log);
        }
        try (Stream<Path> files = Files.list(crashDir)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith("hs_err")).toList());
        }
    }

    /** NaN and Inf are inputs, not errors: exit 0, NaN only in the outputs of the sequence that had it (PyTorch). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.rnnengine.Fixtures#expectedBackends")
    void nanAndInfInputsRunAndStayInTheirSequence(String backend) throws IOException {
        int[] shape;
        float[] x;
        try (SafetensorsFile f = SafetensorsFile.open(lstm().resolve("input.safetensors"))) {
            shape = f.info("input").shape();
            x = f.floats("input").toArray();
        }
        int n = shape[1];
        int d = shape[2];
        x[0] = Float.NaN; // t = 0, sequence 0
        x[(shape[0] - 1) * n * d + (n - 1) * d] = Float.POSITIVE_INFINITY; // last step, last sequence
        Path in = input("nan", Map.of("input", Tensor.of(x, shape)));
        Path out = dir.resolve("nan-" + backend + ".safetensors");
        Fixtures.Cli r = Fixtures.cli("infer", "--model", lstm().resolve("model.safetensors").toString(), "--input",
            in.toString(), "--output", out.toString(), "--backend", backend);
        assertEquals(0, r.code(), r.err());
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            int[] os = f.info("output").shape();
            float[] y = f.floats("output").toArray();
            int h = os[2];
            for (int t = 0; t < os[0]; t++) {
                for (int b = 0; b < n; b++) {
                    for (int j = 0; j < h; j++) {
                        float v = y[(t * n + b) * h + j];
                        boolean poisoned = b == 0; // NaN at t = 0 reaches every later step of its sequence
                        assertEquals(poisoned, Float.isNaN(v), "t=" + t + " b=" + b + " j=" + j + ": " + v);
                    }
                }
            }
        }
    }
}
