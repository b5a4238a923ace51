package dev.rnnengine.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.rnnengine.Fixtures;
import dev.rnnengine.Reference;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code auto}: measured per call class on this machine and cached (calls go where the cache
 * says, checked by where they go, not by a name), or, with tuning off, the built-in rule.
 * Every route gives PyTorch's answers.
 */
class AutoBackendTest {
    private static final RnnSpec SPEC = new RnnSpec(CellMode.GRU, 11, 19, 2, true, false, true, 0);
    private static final Map<String, Tensor> SD = StateDicts.random(SPEC, 4);

    @TempDir
    Path cache;

    private static void checkAgainstReference(RnnModel auto) {
        for (int batch : new int[] {1, 3, 15, 16, 33}) {
            for (int seqLen : new int[] {1, 6}) {
                Tensor x = StateDicts.randn(batch, seqLen, batch, 11);
                int[] lengths = new int[batch];
                for (int n = 0; n < batch; n++) {
                    lengths[n] = 1 + (n * 5) % seqLen;
                }
                lengths[batch - 1] = seqLen;
                RnnOutput ref = Reference.forward(SPEC, SD, x, null, null, lengths);
                RnnOutput got = auto.forward(x, null, null, lengths);
                Fixtures.assertClose("output N=" + batch + " T=" + seqLen, ref.output(), got.output());
                Fixtures.assertClose("h_n N=" + batch + " T=" + seqLen, ref.hN(), got.hN());
            }
        }
    }

    @Test
    void withTuningOffTheBuiltInRuleSplitsByBatch() {
        assumeTrue(Fixtures.expectedBackends().containsAll(List.of("vector", "onednn")), "needs vector and onednn");
        System.setProperty(AutoTuner.TUNE_PROPERTY, "false");
        try (RnnModel auto = RnnModel.create(SPEC, SD, new EngineOptions("auto", 2))) {
            assertEquals("vector", auto.backendFor(6, 15));
            assertEquals("onednn", auto.backendFor(6, 16));
            checkAgainstReference(auto);
        } finally {
            System.clearProperty(AutoTuner.TUNE_PROPERTY);
        }
    }

    /** A cache that names, per call class, scalar or vector by turns: calls go exactly there. */
    @Test
    void callsGoWhereTheCacheSays() throws Exception {
        System.setProperty(AutoTuner.CACHE_PROPERTY, cache.toString());
        try {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < AutoTuner.BUCKETS.size(); i++) {
                b.append(AutoTuner.fingerprint()).append('\t').append(AutoTuner.key(SPEC, 1)).append('\t')
                    .append(AutoTuner.BUCKETS.get(i).name()).append('\t').append(i % 2 == 0 ? "scalar" : "vector")
                    .append("\tscalar=1.0,vector=2.0\n");
            }
            Files.createDirectories(cache);
            Files.writeString(AutoTuner.cacheFile(), b, StandardCharsets.UTF_8);
            try (RnnModel auto = RnnModel.create(SPEC, SD, new EngineOptions("auto", 1))) {
                assertEquals("scalar", auto.backendFor(1, 1));   // N=1 step
                assertEquals("vector", auto.backendFor(9, 1));   // N=1 seq
                assertEquals("scalar", auto.backendFor(100, 1)); // N=1 seq>=32
                assertEquals("vector", auto.backendFor(1, 5));   // N=2-7 step
                assertEquals("scalar", auto.backendFor(31, 7));  // N=2-7 seq
                assertEquals("vector", auto.backendFor(32, 7));  // N=2-7 seq>=32
                assertEquals("scalar", auto.backendFor(1, 8));   // N=8-31 step
                assertEquals("vector", auto.backendFor(100, 31)); // N=8-31 seq
                assertEquals("scalar", auto.backendFor(1, 32));  // N=32+ step
                assertEquals("vector", auto.backendFor(9, 40));  // N=32+ seq
                assertEquals("scalar+vector", auto.backendName());
                checkAgainstReference(auto);
            }
        } finally {
            System.clearProperty(AutoTuner.CACHE_PROPERTY);
        }
    }

    /** With no cache, the first auto model measures every backend and writes one line per call class. */
    @Test
    void theFirstAutoModelMeasuresAndCaches() throws Exception {
        System.setProperty(AutoTuner.CACHE_PROPERTY, cache.toString());
        try {
            try (RnnModel auto = RnnModel.create(SPEC, SD, new EngineOptions("auto", 1))) {
                checkAgainstReference(auto);
            }
            List<String> lines = Files.readAllLines(AutoTuner.cacheFile());
            assertEquals(AutoTuner.BUCKETS.size(), lines.size(), String.join("\n", lines));
            for (String l : lines) {
                String[] f = l.split("\t");
                assertEquals(AutoTuner.key(SPEC, 1), f[1]);
                assertTrue(Backends.NAMES.contains(f[3]) && !f[3].equals("scalar") || Fixtures.expectedBackends().size() == 1,
                    "a measured winner: " + l);
            }
            AutoTuner.Choice[] c = AutoTuner.cached(SPEC, 1);
            assertTrue(c != null && c.length == AutoTuner.BUCKETS.size());
            // Measured once: the next model reads the cache (the file does not grow).
            try (RnnModel again = RnnModel.create(SPEC, SD, new EngineOptions("auto", 1))) {
                assertEquals(c[0].winner(), again.backendFor(1, 1));
            }
            assertEquals(lines.size(), Files.readAllLines(AutoTuner.cacheFile()).size());
        } finally {
            System.clearProperty(AutoTuner.CACHE_PROPERTY);
        }
    }

    /**
     * A winner whose Java kernels are not compiled yet: its calls go to oneDNN (measured within
     * 1.5x of it) while they warm in the background, then to it; a model closed during the
     * warm-up stops it (no hang, no failure) and the next model still warms. Where oneDNN was
     * measured 2x slower, the kernels warm at load instead. PyTorch's answers on every route.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120)
    void aColdJavaWinnerAnswersFromOneDnnWhileItWarms() throws Exception {
        assumeTrue(Fixtures.expectedBackends().containsAll(List.of("vector", "onednn")), "needs vector and onednn");
        RnnSpec spec = new RnnSpec(CellMode.RNN_RELU, 5, 7, 3, true, false, true, 0); // a family no other test warms
        Map<String, Tensor> sd = StateDicts.random(spec, 9);
        System.setProperty(AutoTuner.CACHE_PROPERTY, cache.toString());
        System.setProperty(Warmup.PROPERTY, "true");
        try {
            StringBuilder b = new StringBuilder();
            for (AutoTuner.Bucket bucket : AutoTuner.BUCKETS) {
                b.append(AutoTuner.fingerprint()).append('\t').append(AutoTuner.key(spec, 1)).append('\t')
                    .append(bucket.name()).append("\tvector\tvector=1.0,onednn=1.2\n");
            }
            Files.createDirectories(cache);
            Files.writeString(AutoTuner.cacheFile(), b, StandardCharsets.UTF_8);
            Tensor x = StateDicts.randn(5, 6, 2, 5);
            RnnOutput ref = Reference.forward(spec, sd, x, null, null, null);
            try (RnnModel closedEarly = RnnModel.create(spec, sd, new EngineOptions("auto", 1))) {
                Fixtures.assertClose("output while cold", ref.output(), closedEarly.forward(x).output());
            } // closed while its warm-up runs: returns, and the family does not count as warm
            assertTrue(!Warmup.done("vector", spec), "a stopped warm-up does not count");
            try (RnnModel auto = RnnModel.create(spec, sd, new EngineOptions("auto", 1))) {
                assertEquals("onednn", auto.backendFor(6, 2), "cold vector: calls go to oneDNN");
                Fixtures.assertClose("output on oneDNN", ref.output(), auto.forward(x).output());
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (!auto.backendFor(6, 2).equals("vector") && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertEquals("vector", auto.backendFor(6, 2), "warm: calls go to the winner");
                assertTrue(Warmup.done("vector", spec));
                RnnOutput got = auto.forward(x);
                Fixtures.assertClose("output on vector", ref.output(), got.output());
                Fixtures.assertClose("h_n on vector", ref.hN(), got.hN());
            }
            RnnSpec slowInterim = new RnnSpec(CellMode.RNN_TANH, 5, 7, 3, true, false, true, 0);
            StringBuilder c = new StringBuilder();
            for (AutoTuner.Bucket bucket : AutoTuner.BUCKETS) {
                c.append(AutoTuner.fingerprint()).append('\t').append(AutoTuner.key(slowInterim, 1)).append('\t')
                    .append(bucket.name()).append("\tvector\tvector=1.0,onednn=2.0\n");
            }
            Files.writeString(AutoTuner.cacheFile(), c, StandardCharsets.UTF_8);
            Map<String, Tensor> sd2 = StateDicts.random(slowInterim, 10);
            try (RnnModel auto = RnnModel.create(slowInterim, sd2, new EngineOptions("auto", 1))) {
                assertTrue(Warmup.done("vector", slowInterim), "warmed at load");
                assertEquals("vector", auto.backendFor(6, 2));
                Fixtures.assertClose("output", Reference.forward(slowInterim, sd2, x, null, null, null).output(),
                    auto.forward(x).output());
            }
        } finally {
            System.clearProperty(AutoTuner.CACHE_PROPERTY);
            System.clearProperty(Warmup.PROPERTY);
        }
    }

    /** The fastest wins; within 2% the tie goes to the backend that does not serialise callers. */
    @Test
    void tiesGoToTheBackendWithoutALock() {
        java.util.Map<String, Double> coinFlip = new java.util.LinkedHashMap<>();
        coinFlip.put("vector", 2.3992);
        coinFlip.put("openblas", 2.3971);
        coinFlip.put("onednn", 6.2510);
        assertEquals("vector", AutoTuner.winner(coinFlip));
        java.util.Map<String, Double> clear = new java.util.LinkedHashMap<>();
        clear.put("vector", 1.0566);
        clear.put("openblas", 1.2867);
        clear.put("onednn", 0.8862);
        assertEquals("onednn", AutoTuner.winner(clear));
        java.util.Map<String, Double> justOutside = new java.util.LinkedHashMap<>();
        justOutside.put("openblas", 1.0);
        justOutside.put("vector", 1.0 * (1 + AutoTuner.TIE) + 1e-3);
        assertEquals("openblas", AutoTuner.winner(justOutside));
        java.util.Map<String, Double> nativeTie = new java.util.LinkedHashMap<>();
        nativeTie.put("openblas", 1.000);
        nativeTie.put("onednn", 1.015);
        assertEquals("onednn", AutoTuner.winner(nativeTie));
    }
}
