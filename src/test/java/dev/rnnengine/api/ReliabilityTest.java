package dev.rnnengine.api;

import dev.rnnengine.Fixtures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.api.RnnState;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Determinism, sharing one model between threads, closing under load, NaN and Inf: every backend. */
class ReliabilityTest {
    private static final RnnSpec SPEC = new RnnSpec(CellMode.LSTM, 6, 10, 2, true, false, true, 0);
    private static final Map<String, Tensor> WEIGHTS = StateDicts.random(SPEC, 77);

    /** A mix of call shapes: (T, N, lengths or null). */
    private record Call(Tensor x, int[] lengths) { }

    private static List<Call> calls() {
        return List.of(new Call(StateDicts.randn(1, 5, 1, 6), null),
            new Call(StateDicts.randn(2, 7, 3, 6), new int[] {7, 2, 5}),
            new Call(StateDicts.randn(3, 4, 17, 6), null),
            new Call(StateDicts.randn(4, 6, 20, 6), new int[] {6, 1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 6}));
    }

    static Stream<Fixtures.Config> configs() {
        List<Fixtures.Config> l = new ArrayList<>(Fixtures.configs());
        l.add(new Fixtures.Config("auto", 2));
        return l.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void sameInputSameBits(Fixtures.Config cfg) {
        try (RnnModel m = RnnModel.create(SPEC, WEIGHTS, new EngineOptions(cfg.backend(), cfg.threads()))) {
            List<Call> cs = calls();
            List<RnnOutput> first = new ArrayList<>();
            for (Call c : cs) {
                first.add(m.forward(c.x(), null, null, c.lengths()));
            }
            for (int round = 0; round < 3; round++) {
                for (int i = cs.size() - 1; i >= 0; i--) { // other order: caches and plans already warm
                    RnnOutput again = m.forward(cs.get(i).x(), null, null, cs.get(i).lengths());
                    Fixtures.assertSame("output", first.get(i).output(), again.output());
                    Fixtures.assertSame("h_n", first.get(i).hN(), again.hN());
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void eightThreadsShareOneModelWithSingleThreadedResults(Fixtures.Config cfg) throws Exception {
        RnnSpec uni = new RnnSpec(CellMode.GRU, 6, 10, 2, true, false, false, 0);
        Map<String, Tensor> w = StateDicts.random(uni, 5);
        try (RnnModel m = RnnModel.create(SPEC, WEIGHTS, new EngineOptions(cfg.backend(), cfg.threads()));
             RnnModel stream = RnnModel.create(uni, w, new EngineOptions(cfg.backend(), cfg.threads()))) {
            List<Call> cs = calls();
            List<float[]> expected = new ArrayList<>();
            for (Call c : cs) {
                expected.add(m.forward(c.x(), null, null, c.lengths()).output().toArray());
            }
            Tensor seq = StateDicts.randn(9, 12, 1, 6);
            float[] streamed = streamAll(stream, seq);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int id = t;
                    futures.add(pool.submit(() -> {
                        for (int k = 0; k < 250; k++) {
                            int i = (id + k) % cs.size();
                            assertArrayEquals(expected.get(i), m.forward(cs.get(i).x(), null, null, cs.get(i).lengths())
                                .output().toArray(), "thread " + id + " call " + k);
                            if (k % 50 == 0) { // each thread's streaming state is its own
                                assertArrayEquals(streamed, streamAll(stream, seq), "stream in thread " + id);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get(120, TimeUnit.SECONDS); // a deadlock fails here instead of hanging the build
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static float[] streamAll(RnnModel m, Tensor seq) {
        RnnState s = m.newState(1);
        float[] xs = seq.toArray();
        float[] last = null;
        for (int t = 0; t < seq.size(0); t++) {
            last = m.step(Tensor.wrap(xs, t * 6, 1, 6), s).toArray();
        }
        return last;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void closingUnderLoadLetsRunningCallsFinishAndRefusesTheRest(Fixtures.Config cfg) throws Exception {
        RnnModel m = RnnModel.create(SPEC, WEIGHTS, new EngineOptions(cfg.backend(), cfg.threads()));
        Call c = calls().get(3);
        float[] expected = m.forward(c.x(), null, null, c.lengths()).output().toArray();
        AtomicInteger done = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(4);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            futures.add(pool.submit(() -> {
                started.countDown();
                while (true) {
                    float[] y;
                    try {
                        y = m.forward(c.x(), null, null, c.lengths()).output().toArray();
                    } catch (IllegalStateException e) {
                        assertTrue(e.getMessage().contains("closed"), e.getMessage());
                        return null;
                    }
                    assertArrayEquals(expected, y); // a call that ran, ran on live weights
                    done.incrementAndGet();
                }
            }));
        }
        started.await();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (done.get() < 20) { // a worker that died or hung fails the test instead of hanging it
            if (System.nanoTime() > deadline || futures.stream().anyMatch(Future::isDone)) {
                for (Future<?> f : futures) {
                    if (f.isDone()) {
                        f.get();
                    }
                }
                fail("calls did not run: " + done.get() + " in 60 s");
            }
            Thread.onSpinWait();
        }
        m.close();
        m.close(); // twice is harmless
        for (Future<?> f : futures) {
            f.get(60, TimeUnit.SECONDS);
        }
        pool.shutdownNow();
        assertThrows(IllegalStateException.class, () -> m.forward(c.x(), null, null, c.lengths()));
        assertThrows(IllegalStateException.class, () -> m.newState(1));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void nanAndInfPropagateAsInTheScalarOracle(Fixtures.Config cfg) {
        for (CellMode mode : CellMode.values()) {
            if (mode == CellMode.RNN_RELU && cfg.backend().equals("onednn")) {
                continue; // oneDNN's relu turns NaN into 0: a documented deviation (README, oneDNN)
            }
            RnnSpec spec = new RnnSpec(mode, 4, 8, 1, true, false, true, 0);
            Map<String, Tensor> w = StateDicts.random(spec, 3);
            float[] x = StateDicts.randn(8, 6, 3, 4).toArray(); // (T=6, N=3, D=4)
            x[(2 * 3) * 4 + 1] = Float.NaN;               // sequence 0, step 2
            x[(4 * 3 + 1) * 4] = Float.POSITIVE_INFINITY; // sequence 1, step 4
            x[(1 * 3 + 2) * 4 + 3] = Float.NEGATIVE_INFINITY; // sequence 2, step 1
            Tensor in = Tensor.of(x, 6, 3, 4);
            RnnOutput ref;
            try (RnnModel s = RnnModel.create(spec, w, new EngineOptions("scalar", 1))) {
                ref = s.forward(in);
            }
            try (RnnModel m = RnnModel.create(spec, w, new EngineOptions(cfg.backend(), cfg.threads()))) {
                RnnOutput got = m.forward(in);
                compareWithNaN(mode + " output", ref.output().toArray(), got.output().toArray());
                compareWithNaN(mode + " h_n", ref.hN().toArray(), got.hN().toArray());
            }
        }
    }

    private static void compareWithNaN(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        int nan = 0;
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i];
            float a = actual[i];
            if (Float.isNaN(e) || Float.isNaN(a)) {
                if (Float.isNaN(e) != Float.isNaN(a)) {
                    fail(what + "[" + i + "]: " + a + ", the oracle says " + e);
                }
                nan++;
            } else if (!(e == a || Math.abs(e - a) <= 1e-5 + 1e-4 * Math.abs(e))) {
                fail(what + "[" + i + "]: " + a + ", the oracle says " + e);
            }
        }
        assertTrue(nan > 0, what + ": the NaN input must reach the output");
    }
}
