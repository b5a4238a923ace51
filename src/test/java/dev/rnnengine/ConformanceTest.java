package dev.rnnengine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every fast backend against the scalar oracle over awkward sizes (1, 3, 7, 13, 31, 127, ...)
 * and every cell kind, at 1 and 2 threads; for the vector backend, whose thread split never
 * changes the arithmetic, 1 and 2 threads must agree to the bit.
 */
class ConformanceTest {
    private static final AtomicInteger CHECKED = new AtomicInteger();
    private static final int[] SIZES = {1, 3, 7, 13, 31, 127};
    /** Backends whose results do not depend on the thread count (OpenBLAS's threaded kernels do). */
    private static final java.util.Set<String> SPLIT_INVARIANT = java.util.Set.of("vector");

    static List<Object[]> shapes() {
        List<Object[]> l = new ArrayList<>();
        int i = 0;
        for (CellMode mode : CellMode.values()) {
            for (int h : SIZES) {
                int d = SIZES[(i + 2) % SIZES.length];
                int batch = new int[] {1, 2, 5}[i % 3];
                int layers = 1 + i % 3;
                boolean bidir = i % 2 == 1;
                int proj = mode == CellMode.LSTM && h > 3 && i % 3 != 0 ? h / 3 : 0;
                boolean packed = i % 4 == 2 && batch > 1;
                l.add(new Object[] {mode, d, h, layers, bidir, proj, batch, 1 + (i * 7) % 19, packed});
                i++;
            }
        }
        l.add(new Object[] {CellMode.LSTM, 129, 513, 1, false, 0, 1, 9, false});
        l.add(new Object[] {CellMode.GRU, 65, 257, 2, true, 0, 3, 6, true});
        // A batch past auto's split point, with many distinct lengths (oneDNN runs one group per length).
        l.add(new Object[] {CellMode.LSTM, 17, 33, 2, true, 11, 20, 12, true});
        return l;
    }

    static Stream<Arguments> cases() {
        return TestSupport.expectedBackends().stream().filter(b -> !b.equals("scalar"))
            .flatMap(b -> shapes().stream().map(s -> Arguments.of(b, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8])));
    }

    @ParameterizedTest(name = "{0} {1} D={2} H={3} L={4} bidir={5} proj={6} N={7} T={8} packed={9}")
    @MethodSource("cases")
    void agreesWithScalar(String backend, CellMode mode, int d, int h, int layers, boolean bidir, int proj,
                          int batch, int seqLen, boolean packed) {
        RnnSpec spec = new RnnSpec(mode, d, h, layers, true, false, bidir, proj);
        Map<String, Tensor> sd = StateDicts.random(spec, h * 31L + d);
        Tensor x = StateDicts.randn(d + h, seqLen, batch, d);
        int states = layers * spec.directions();
        Tensor h0 = StateDicts.randn(5, states, batch, spec.outputHiddenSize());
        Tensor c0 = mode == CellMode.LSTM ? StateDicts.randn(6, states, batch, h) : null;
        int[] lengths = null;
        if (packed) {
            lengths = new int[batch];
            for (int n = 0; n < batch; n++) {
                lengths[n] = 1 + (n * 5) % seqLen;
            }
            lengths[batch - 1] = seqLen;
        }
        RnnOutput ref;
        try (RnnModel scalar = RnnModel.create(spec, sd, new EngineOptions("scalar", 1))) {
            ref = scalar.forward(x, h0, c0, lengths);
        }
        RnnOutput one;
        RnnOutput two;
        try (RnnModel m1 = RnnModel.create(spec, sd, new EngineOptions(backend, 1));
             RnnModel m2 = RnnModel.create(spec, sd, new EngineOptions(backend, 2))) {
            assertEquals(backend, m1.backendName());
            one = m1.forward(x, h0, c0, lengths);
            two = m2.forward(x, h0, c0, lengths);
        }
        // Float accumulation over depth K: error grows like sqrt(K) ulps.
        double atol = 3e-6 * Math.sqrt(Math.max(d, h) * (1 + layers));
        TestSupport.assertClose("output", ref.output(), one.output(), atol, 1e-4);
        TestSupport.assertClose("h_n", ref.hN(), one.hN(), atol, 1e-4);
        if (c0 != null) {
            TestSupport.assertClose("c_n", ref.cN(), one.cN(), atol, 1e-4);
        }
        TestSupport.assertClose("output at 2 threads", ref.output(), two.output(), atol, 1e-4);
        TestSupport.assertClose("h_n at 2 threads", ref.hN(), two.hN(), atol, 1e-4);
        if (SPLIT_INVARIANT.contains(backend)) {
            TestSupport.assertSame("output 1 vs 2 threads", one.output(), two.output());
            TestSupport.assertSame("h_n 1 vs 2 threads", one.hN(), two.hN());
            if (c0 != null) {
                TestSupport.assertSame("c_n 1 vs 2 threads", one.cN(), two.cN());
            }
        }
        CHECKED.incrementAndGet();
    }

    @AfterAll
    static void everyFastBackendWasChecked() {
        long fast = TestSupport.expectedBackends().stream().filter(b -> !b.equals("scalar")).count();
        assertTrue(fast > 0, "no fast backend under test");
        assertEquals(fast * shapes().size(), CHECKED.get(), "conformance checks actually run");
    }
}
