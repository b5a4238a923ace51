package dev.rnnengine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.Fixtures;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.Precision;
import dev.rnnengine.core.QuantizedMatrix;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Quantized model files ({@code rnn quantize}, {@link ModelFile#write}): they load in their
 * precision from their own codes, giving exactly what quantizing the fp32 file at load gives,
 * and a file that breaks the contract is refused with a message naming the tensor.
 */
class QuantizedFileTest {
    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        return Stream.of(Precision.FP16, Precision.INT8)
            .flatMap(p -> Fixtures.goldenCases().stream().map(c -> Arguments.of(p, c.getFileName().toString(), c)));
    }

    /** Every golden case: the written file loads on scalar and vector to the bit of the fp32 file quantized at load. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void aQuantizedFileRunsAsTheFp32FileQuantizedAtLoad(Precision p, String name, Path c) throws IOException {
        Path q = dir.resolve("q.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(c.resolve("model.safetensors"))) {
            ModelFile.read(f, Map.of()).write(q, p);
        }
        try (SafetensorsFile in = SafetensorsFile.open(c.resolve("input.safetensors"))) {
            InputFile i = InputFile.read(in);
            for (String backend : List.of("scalar", "vector", "onednn")) {
                if (!Fixtures.expectedBackends().contains(backend)) {
                    continue;
                }
                try (RnnModel fromFile = RnnModel.load(q, new EngineOptions(backend, 1), Map.of());
                     RnnModel atLoad = RnnModel.load(c.resolve("model.safetensors"), new EngineOptions(backend, 1, p),
                         Map.of())) {
                    assertEquals(p, fromFile.precision());
                    assertEquals(atLoad.weightBytes(), fromFile.weightBytes());
                    RnnOutput a = fromFile.forward(i.input(), i.h0(), i.c0(), i.lengths());
                    RnnOutput b = atLoad.forward(i.input(), i.h0(), i.c0(), i.lengths());
                    Fixtures.assertSame(name + " " + backend + " output", b.output(), a.output());
                    Fixtures.assertSame(name + " " + backend + " h_n", b.hN(), a.hN());
                    if (b.cN() != null) {
                        Fixtures.assertSame(name + " " + backend + " c_n", b.cN(), a.cN());
                    }
                }
            }
        }
    }

    private static final RnnSpec SPEC = RnnSpec.builder(CellMode.LSTM, 3, 4).numLayers(2).build();

    /** The codes and scales written are the quantizer's, and read back as they are. */
    @Test
    void theCodesAndScalesRoundTrip() throws IOException {
        Map<String, Tensor> sd = StateDicts.random(SPEC, 3);
        Path q = dir.resolve("q.safetensors");
        new ModelFile(SPEC, sd).write(q, Precision.INT8);
        try (SafetensorsFile f = SafetensorsFile.open(q)) {
            ModelFile m = ModelFile.read(f, Map.of());
            assertEquals(Precision.INT8, m.precision());
            assertEquals(SPEC, m.spec());
            assertEquals(4, m.quantized().size()); // weight_ih and weight_hh of two layers
            QuantizedMatrix want = QuantizedMatrix.of(Precision.INT8, sd.get("weight_hh_l1").toArray(), 16, 4, "w");
            QuantizedMatrix got = m.quantized().get("weight_hh_l1");
            assertArrayEquals(want.int8(), got.int8());
            assertArrayEquals(want.scale(), got.scale());
            assertArrayEquals(want.values(), m.stateDict().get("weight_hh_l1").toArray());
            assertArrayEquals(sd.get("bias_ih_l0").toArray(), m.stateDict().get("bias_ih_l0").toArray());
            assertEquals(DType.I8, f.info("weight_ih_l0").dtype());
            assertEquals(DType.F32, f.info("bias_hh_l1").dtype());
        }
    }

    /**
     * Codes whose scale is not max|w|/127 (another tool's) must be used as they are: quantizing
     * their values again would give other codes, and other outputs.
     */
    @Test
    void codesAreNotQuantizedAgain() throws IOException {
        RnnSpec spec = RnnSpec.builder(CellMode.GRU, 5, 6).build();
        Map<String, Tensor> sd = StateDicts.random(spec, 5);
        Map<String, Tensor> values = new LinkedHashMap<>(sd);
        SafetensorsWriter w = new SafetensorsWriter().metadata("precision", "int8").metadata("batch_first", "false");
        for (Map.Entry<String, Tensor> e : sd.entrySet()) {
            Tensor t = e.getValue();
            if (!e.getKey().startsWith("weight")) {
                w.put(e.getKey(), t);
                continue;
            }
            int rows = t.size(0);
            int cols = t.size(1);
            byte[] codes = new byte[rows * cols];
            float[] scale = new float[rows];
            float[] v = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                scale[r] = 0.01f * (r + 1);
                for (int k = 0; k < cols; k++) {
                    codes[r * cols + k] = (byte) ((r * 7 + k * 13) % 201 - 100); // |code| <= 100, not 127
                    v[r * cols + k] = codes[r * cols + k] * scale[r];
                }
            }
            w.putInt8s(e.getKey(), codes, rows, cols).put(e.getKey() + ".scale", Tensor.of(scale, rows));
            values.put(e.getKey(), Tensor.of(v, rows, cols));
        }
        Path q = dir.resolve("q.safetensors");
        w.write(q);
        Tensor x = StateDicts.randn(9, 7, 2, 5);
        try (RnnModel fromFile = RnnModel.load(q, new EngineOptions("scalar", 1), Map.of());
             RnnModel exact = RnnModel.create(spec, values, new EngineOptions("scalar", 1))) {
            Fixtures.assertSame("output", exact.forward(x).output(), fromFile.forward(x).output());
        }
    }

    @Test
    void optionsMayAskForTheFilesPrecisionOrTheDefaultOnly() throws IOException {
        Path q = dir.resolve("q.safetensors");
        new ModelFile(SPEC, StateDicts.random(SPEC, 3)).write(q, Precision.FP16);
        try (RnnModel m = RnnModel.load(q, new EngineOptions("scalar", 1, Precision.FP16), Map.of())) {
            assertEquals(Precision.FP16, m.precision());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> RnnModel.load(q, new EngineOptions("scalar", 1, Precision.INT8), Map.of()));
        assertTrue(e.getMessage().contains("holds fp16 weights") && e.getMessage().contains("not int8"), e.getMessage());
        if (Fixtures.expectedBackends().contains("openblas")) {
            UnsupportedOperationException u = assertThrows(UnsupportedOperationException.class,
                () -> RnnModel.load(q, new EngineOptions("openblas", 1), Map.of()));
            assertTrue(u.getMessage().contains("fp32 weights only"), u.getMessage());
        }
        try (SafetensorsFile f = SafetensorsFile.open(q)) {
            ModelFile m = ModelFile.read(f, Map.of());
            IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> m.write(dir.resolve("qq.safetensors"), Precision.INT8));
            assertTrue(twice.getMessage().contains("already"), twice.getMessage());
        }
    }

    /** A half-precision state_dict without the precision key is an fp32 model whose weights came as F16. */
    @Test
    void f16WeightsWithoutThePrecisionKeyAreAnFp32Model() throws IOException {
        Path q = dir.resolve("q.safetensors");
        new ModelFile(SPEC, StateDicts.random(SPEC, 3)).write(q, Precision.FP16);
        Path plain = rewrite(q, "plain", w -> { }, Map.of("precision", ""));
        try (RnnModel m = RnnModel.load(plain, new EngineOptions("scalar", 1), Map.of())) {
            assertEquals(Precision.FP32, m.precision());
        }
    }

    static Stream<Arguments> malformed() {
        float nan = Float.NaN;
        return Stream.of(
            Arguments.of("int8", "no scale", (Edit) w -> w.remove("weight_hh_l0.scale"), "has no 'weight_hh_l0.scale'"),
            Arguments.of("int8", "scale of the wrong length",
                (Edit) w -> w.put("weight_hh_l0.scale", Tensor.of(new float[15], 15)), "must be F32 [16]"),
            Arguments.of("int8", "scale not F32",
                (Edit) w -> w.put("weight_ih_l1.scale", new long[16]), "must be F32 [16]"),
            Arguments.of("int8", "NaN scale",
                (Edit) w -> w.put("weight_ih_l0.scale", Tensor.of(fill(16, nan), 16)), "must be finite"),
            Arguments.of("int8", "negative scale",
                (Edit) w -> w.put("weight_ih_l0.scale", Tensor.of(fill(16, -1f), 16)), "not negative"),
            Arguments.of("int8", "F32 matrix",
                (Edit) w -> w.put("weight_hh_l1", Tensor.of(new float[64], 16, 4)), "has dtype F32 but an int8 file"),
            Arguments.of("int8", "codes of the wrong shape",
                (Edit) w -> w.put("weight_hh_l1", new byte[60]), "weight_hh_l1.scale is F32 [16]; it must be F32 [15]"),
            Arguments.of("int8", "codes of the wrong shape, scales to match", (Edit) w -> {
                w.put("weight_hh_l1", new byte[60]);
                w.put("weight_hh_l1.scale", Tensor.of(new float[15], 15));
            }, "size mismatch for weight_hh_l1"),
            Arguments.of("int8", "a stray scale on a bias",
                (Edit) w -> w.put("bias_ih_l0.scale", Tensor.of(new float[16], 16)), "Unexpected key(s)"),
            Arguments.of("int8", "a scale of a scale",
                (Edit) w -> w.put("weight_ih_l0.scale.scale", Tensor.of(new float[16], 16)), "Unexpected key(s)"),
            Arguments.of("int8", "I8 without the precision key", (Edit) w -> w.meta.remove("precision"),
                "holds I8 codes but the metadata says no"),
            Arguments.of("int8", "an unknown precision", (Edit) w -> w.meta.put("precision", "int4"), "unknown precision 'int4'"),
            Arguments.of("fp16", "a subnormal half",
                (Edit) w -> w.put("weight_hh_l0", halves(64, (short) 0x0001)), "subnormal half"),
            Arguments.of("fp16", "an infinite half",
                (Edit) w -> w.put("weight_ih_l1", halves(64, (short) 0x7c00)), "is not finite"),
            Arguments.of("fp16", "I8 codes in an fp16 file",
                (Edit) w -> w.put("weight_ih_l0", new byte[48]), "has dtype I8 but an fp16 file"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("malformed")
    void aBrokenQuantizedFileIsRefusedNamingWhy(String precision, String what, Edit edit, String message)
            throws IOException {
        Path q = dir.resolve("q.safetensors");
        new ModelFile(SPEC, StateDicts.random(SPEC, 3)).write(q, Precision.parse(precision));
        Path bad = rewrite(q, "bad", edit, Map.of());
        MalformedFileException e = assertThrows(MalformedFileException.class,
            () -> RnnModel.load(bad, new EngineOptions("scalar", 1), Map.of()).close(), what);
        assertTrue(e.getMessage().contains(message), what + ": " + e.getMessage());
        Path input = dir.resolve("input.safetensors");
        new SafetensorsWriter().put("input", StateDicts.randn(1, 2, 1, 3)).write(input);
        Fixtures.Cli cli = Fixtures.cli("infer", "--model", bad.toString(), "--input", input.toString(), "--output",
            dir.resolve("out.safetensors").toString(), "--backend", "scalar");
        assertEquals(1, cli.code(), what + ": " + cli.err());
        assertTrue(cli.err().contains(message), cli.err());
    }

    @Test
    void theCommandWritesAFileThatLoadsAndRefusesNonsense() throws IOException {
        Path c = Fixtures.golden("011_lstm");
        Path q = dir.resolve("q.safetensors");
        Fixtures.Cli ok = Fixtures.cli("quantize", "--model", c.resolve("model.safetensors").toString(), "--precision",
            "int8", "--output", q.toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("weight matrices in int8"), ok.out());
        Fixtures.Cli info = Fixtures.cli("info", q.toString());
        assertTrue(info.out().contains("int8 weight matrices (rnn quantize)") && info.out().contains("int8 0.00 MB (held)"),
            info.out());
        Fixtures.Cli fp32 = Fixtures.cli("quantize", "--model", c.resolve("model.safetensors").toString(), "--precision",
            "fp32", "--output", dir.resolve("x").toString());
        assertEquals(2, fp32.code());
        assertTrue(fp32.err().contains("int8 or fp16"), fp32.err());
        Fixtures.Cli twice = Fixtures.cli("quantize", "--model", q.toString(), "--precision", "fp16", "--output",
            dir.resolve("y").toString());
        assertEquals(1, twice.code());
        assertTrue(twice.err().contains("int8 already"), twice.err());
        Fixtures.Cli over = Fixtures.cli("quantize", "--model", q.toString(), "--precision", "fp16", "--output", q.toString());
        assertEquals(1, over.code(), over.err());
        assertTrue(over.err().contains("refusing to overwrite"), over.err());
        assertTrue(Files.size(q) > 0);
    }

    private static float[] fill(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static short[] halves(int n, short v) {
        short[] a = new short[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    /** A file's tensors (Tensor, long[], byte[] codes or short[] halves) and metadata, to change before writing it again. */
    static final class Tensors {
        final Map<String, Object> all = new LinkedHashMap<>();
        final Map<String, String> meta = new LinkedHashMap<>();

        void put(String name, Object value) {
            all.put(name, value);
        }

        void remove(String name) {
            all.remove(name);
        }
    }

    interface Edit extends Consumer<Tensors> { }

    /** {@code q} written again after {@code edit}; a metadata value "" removes the key. */
    private Path rewrite(Path q, String name, Consumer<Tensors> edit, Map<String, String> meta) throws IOException {
        Tensors t = new Tensors();
        try (SafetensorsFile f = SafetensorsFile.open(q)) {
            t.meta.putAll(f.metadata());
            for (String n : f.names()) {
                switch (f.info(n).dtype()) {
                    case I8 -> t.put(n, f.int8s(n));
                    case F16 -> t.put(n, f.float16Bits(n));
                    default -> t.put(n, Tensor.of(f.floats(n).toArray(), f.info(n).shape()));
                }
            }
        }
        t.meta.putAll(meta);
        edit.accept(t);
        SafetensorsWriter w = new SafetensorsWriter();
        for (Map.Entry<String, Object> e : t.all.entrySet()) {
            String n = e.getKey();
            Object v = e.getValue();
            if (v instanceof Tensor x) {
                w.put(n, x);
            } else if (v instanceof long[] l) {
                w.putLongs(n, l, l.length);
            } else if (v instanceof byte[] b) {
                w.putInt8s(n, b, shapeOf(n, b.length));
            } else {
                w.putFloat16Bits(n, (short[]) v, shapeOf(n, ((short[]) v).length));
            }
        }
        t.meta.forEach((k, v) -> {
            if (!v.isEmpty()) {
                w.metadata(k, v);
            }
        });
        Path out = dir.resolve(name + ".safetensors");
        w.write(out);
        return out;
    }

    /** Codes as rows of this test's spec: 3 columns for weight_ih_l0, else 4. */
    private static int[] shapeOf(String n, int len) {
        int cols = n.startsWith("weight_ih_l0") ? 3 : 4;
        return new int[] {len / cols, cols};
    }
}
