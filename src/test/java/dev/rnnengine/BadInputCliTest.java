package dev.rnnengine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.api.Tensor;
import dev.rnnengine.cli.Main;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.SafetensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
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
        return TestSupport.goldenCases().stream().filter(p -> p.getFileName().toString().equals("002_lstm"))
            .findFirst().orElseThrow();
    }

    /** A broken model or input: name, model file, input file, words the error must contain. */
    private record Bad(String name, Path model, Path input, String expect) {
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

    private static byte[] withHeader(long len, String json) { // len -1: the true length
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        len = len < 0 ? h.length : len;
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(len).put(h);
        return b.array();
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
        int n = shape[0];
        int t = shape[1];
        List<Bad> l = new ArrayList<>();
        l.add(new Bad("truncated model", raw("trunc.safetensors", java.util.Arrays.copyOf(good, good.length / 2)), in, ""));
        l.add(new Bad("header longer than the file", raw("long.safetensors", withHeader(1 << 20, "{}")), in, "header"));
        l.add(new Bad("absurd header length", raw("absurd.safetensors", withHeader(1L << 60, "{}")), in, "header"));
        l.add(new Bad("not JSON", raw("notjson.safetensors", withHeader(-1, "{nope!!}")), in, ""));
        l.add(new Bad("duplicate names", raw("dup.safetensors", withHeader(-1,
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")), in, "a"));
        l.add(new Bad("empty file", raw("empty.safetensors", new byte[0]), in, ""));
        l.add(new Bad("input of the wrong width", model, input("wide", Map.of("input", Tensor.zeros(n, t, 3))), "input_size"));
        l.add(new Bad("h0 of the wrong shape", model, input("h0", Map.of("h0", Tensor.zeros(1, n, 3))), "hidden"));
        l.add(new Bad("lengths zero", model, input("len0", Map.of("lengths", lengths(n, t, 0))), "length"));
        l.add(new Bad("lengths negative", model, input("lenneg", Map.of("lengths", lengths(n, t, -2))), "length"));
        l.add(new Bad("lengths past T", model, input("lenlong", Map.of("lengths", lengths(n, t, t + 1))), "length"));
        l.add(new Bad("lengths of the wrong count", model, input("lencount", Map.of("lengths", new long[n + 1])), "length"));
        l.add(new Bad("empty batch", model, input("empty", Map.of("input", Tensor.zeros(0, t, shape[2]))), ""));
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
        return TestSupport.expectedBackends().stream().flatMap(be -> b.stream().map(x -> Arguments.of(be, x)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("runs")
    void refusedWithOneLine(String backend, Bad bad) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int code = Main.run(new String[] {"infer", "--model", bad.model().toString(), "--input", bad.input().toString(),
            "--output", dir.resolve("out.safetensors").toString(), "--backend", backend},
            new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String e = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, code, bad + ": " + e);
        assertEquals(1, e.lines().count(), "one line: " + e);
        assertTrue(e.toLowerCase(java.util.Locale.ROOT).contains(bad.expect().toLowerCase(java.util.Locale.ROOT)), e);
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "took over 10 s");
    }
}
