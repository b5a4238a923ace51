package dev.rnnengine.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.rnnengine.Fixtures;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.Precision;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.core.QuantizedMatrix;
import dev.rnnengine.io.InputFile;
import dev.rnnengine.io.SafetensorsFile;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Reduced-precision weights: every golden case in fp16 and int8 within the documented error
 * against PyTorch's fp32 results (README, "Reduced precision"); the vector kernels, which
 * stream the codes, give the scalar reference's answers (the fp32 values the codes stand for)
 * to within summation order; backends that hold fp32 only refuse, naming who runs it.
 */
class PrecisionTest {
    /**
     * The documented bounds on |engine - PyTorch fp32| over the golden cases, with a margin over
     * the largest error measured (README): a kernel that rounds codes wrongly exceeds them.
     */
    static final Map<Precision, Double> BOUND = Map.of(Precision.FP16, Precision.FP16.errorBound(), Precision.INT8,
        Precision.INT8.errorBound());
    private static final Map<Precision, Double> WORST = new EnumMap<>(Precision.class);

    static Stream<Arguments> cases() {
        return Stream.of(Precision.FP16, Precision.INT8)
            .flatMap(p -> Fixtures.goldenCases().stream().map(c -> Arguments.of(p, c.getFileName().toString(), c)));
    }

    private static double maxErr(Tensor expected, Tensor got) {
        double m = 0;
        for (int i = 0; i < expected.numel(); i++) {
            m = Math.max(m, Math.abs(expected.get(i) - got.get(i)));
        }
        return m;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void withinTheDocumentedErrorAndVectorMatchesTheReference(Precision p, String name, Path dir) throws Exception {
        try (SafetensorsFile in = SafetensorsFile.open(dir.resolve("input.safetensors"));
             SafetensorsFile exp = SafetensorsFile.open(dir.resolve("expected.safetensors"));
             RnnModel ref = RnnModel.load(dir.resolve("model.safetensors"), new EngineOptions("scalar", 1, p), Map.of())) {
            InputFile i = InputFile.read(in);
            RnnOutput r = ref.forward(i.input(), i.h0(), i.c0(), i.lengths());
            double err = Math.max(maxErr(exp.floats("output"), r.output()), maxErr(exp.floats("h_n"), r.hN()));
            synchronized (WORST) {
                WORST.merge(p, err, Math::max);
            }
            assertTrue(err <= BOUND.get(p), name + " " + p + ": max |error| " + err + " over the bound " + BOUND.get(p));
            for (String backend : Fixtures.expectedBackends()) {
                if (!backend.equals("vector") && !backend.equals("onednn")) {
                    continue;
                }
                for (int threads : new int[] {1, 2}) {
                    try (RnnModel m = RnnModel.load(dir.resolve("model.safetensors"), new EngineOptions(backend, threads, p),
                        Map.of())) {
                        RnnOutput got = m.forward(i.input(), i.h0(), i.c0(), i.lengths());
                        Fixtures.assertClose(name + " " + p + " output", r.output(), got.output());
                        Fixtures.assertClose(name + " " + p + " h_n", r.hN(), got.hN());
                        if (r.cN() != null) {
                            Fixtures.assertClose(name + " " + p + " c_n", r.cN(), got.cN());
                        }
                    }
                }
            }
        }
    }

    /**
     * The vector step decodes each code once for a pair of rows; a row's result must not depend
     * on which row it was paired with, or whether it was paired at all. Rows are paired in the
     * order of the rows still running, so the same batch with other lengths pairs them otherwise:
     * every row's valid steps must come out bit for bit the same.
     */
    @Test
    void aRowsBitsDoNotDependOnTheRowItIsPairedWith() {
        assumeTrue(Fixtures.expectedBackends().contains("vector"));
        for (Precision p : new Precision[] {Precision.FP16, Precision.INT8}) {
            for (CellMode mode : new CellMode[] {CellMode.LSTM, CellMode.GRU}) {
                RnnSpec spec = RnnSpec.builder(mode, 24, 40).numLayers(2).build();
                Map<String, Tensor> sd = StateDicts.random(spec, 11);
                int n = 5;
                Tensor x = StateDicts.randn(4, 9, n, 24);
                int[] mixed = {9, 3, 9, 6, 1}; // step 1: pairs (0,2), (3,1); all 9: (0,1), (2,3), 4 alone
                try (RnnModel m = RnnModel.create(spec, sd, new EngineOptions("vector", 1, p))) {
                    RnnOutput a = m.forward(x, null, null, mixed);
                    RnnOutput b = m.forward(x);
                    for (int r = 0; r < n; r++) {
                        for (int s = 0; s < mixed[r]; s++) {
                            for (int j = 0; j < 40; j++) {
                                int at = (s * n + r) * 40 + j;
                                assertEquals(b.output().get(at), a.output().get(at), p + " " + mode + " row " + r + " step " + s);
                            }
                        }
                    }
                }
            }
        }
    }

    @AfterAll
    static void reportTheWorst() {
        WORST.forEach((p, e) -> System.out.printf(Locale.ROOT, "largest |error| against PyTorch fp32, %s: %.3g%n", p, e));
    }

    /** A wrong code would pass a loose bound: the vector kernels must reproduce the reference's values exactly enough. */
    @Test
    void quantizationIsWhatItSays() {
        float[] w = {0.5f, -1f, 0.25f, 0f, 0f, 0f, 3e-5f, -70000f};
        QuantizedMatrix q = QuantizedMatrix.of(Precision.INT8, new float[] {0.5f, -1f, 0.25f, 0f, 0f, 0f}, 2, 3, "w");
        assertEquals(1f / 127, q.scale()[0], 0);
        assertEquals(-1f, q.value(1), 0);
        assertEquals(Math.round(0.5f * 127) / 127f, q.value(0), 1e-7);
        assertEquals(0f, q.value(4), 0); // an all-zero row: scale 0, no division by zero
        QuantizedMatrix h = QuantizedMatrix.of(Precision.FP16, new float[] {0.1f, 4e-5f, 1e-6f, -65504f}, 1, 4, "w");
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(0.1f)), h.value(0), 0);
        assertEquals(0x1p-14f, h.value(1), 0); // a subnormal half goes to the nearest of 0 and 2^-14
        assertEquals(0f, h.value(2), 0);
        assertEquals(-65504f, h.value(3), 0);
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
            () -> QuantizedMatrix.of(Precision.FP16, w, 2, 4, "weight_hh_l0"));
        assertTrue(big.getMessage().contains("weight_hh_l0[1, 3]") && big.getMessage().contains("fp16"), big.getMessage());
    }

    @Test
    void fp32OnlyBackendsRefuseNamingWhoRunsIt() {
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 4, 8, 1, true, false, false, 0);
        Map<String, Tensor> sd = StateDicts.random(spec, 3);
        for (String b : List.of("openblas")) {
            if (!Fixtures.expectedBackends().contains(b)) {
                continue;
            }
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> RnnModel.create(spec, sd, new EngineOptions(b, 1, Precision.INT8)).close());
            assertTrue(e.getMessage().contains("fp32 weights only") && e.getMessage().contains("vector")
                && e.getMessage().contains("onednn") && e.getMessage().contains("scalar"), e.getMessage());
        }
    }

    /** Weight bytes held: about half in fp16, a quarter plus one scale per row in int8; auto runs them too. */
    @Test
    void weightBytesAndAuto() {
        assumeTrue(Fixtures.expectedBackends().contains("vector"), "needs vector");
        RnnSpec spec = new RnnSpec(CellMode.GRU, 64, 128, 1, true, false, false, 0);
        Map<String, Tensor> sd = StateDicts.random(spec, 5);
        Map<Precision, Long> bytes = new HashMap<>();
        Tensor x = StateDicts.randn(1, 7, 2, 64);
        for (Precision p : Precision.values()) {
            try (RnnModel m = RnnModel.create(spec, sd, new EngineOptions("vector", 1, p))) {
                assertEquals(p, m.precision());
                bytes.put(p, m.weightBytes());
            }
        }
        long matrices = 3L * 128 * (64 + 128);
        long biases = 2L * 3 * 128 * 4;
        assertEquals(matrices * 4 + biases, bytes.get(Precision.FP32));
        assertEquals(matrices * 2 + biases, bytes.get(Precision.FP16));
        assertEquals(matrices + 2L * 3 * 128 * 4 + biases, bytes.get(Precision.INT8));
        System.setProperty("rnn.auto.tune", "false");
        try (RnnModel auto = RnnModel.create(spec, sd, new EngineOptions("auto", 1, Precision.INT8));
             RnnModel vec = RnnModel.create(spec, sd, new EngineOptions("vector", 1, Precision.INT8))) {
            assertEquals("vector", auto.backendName());
            Fixtures.assertSame("auto int8 = vector int8", vec.forward(x).output(), auto.forward(x).output());
        } finally {
            System.clearProperty("rnn.auto.tune");
        }
    }
}
