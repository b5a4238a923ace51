package dev.rnnengine.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.Precision;
import dev.rnnengine.core.RnnSpec;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tuner times OpenBLAS after every other candidate, class by class: OpenBLAS's calls slowed
 * oneDNN's bidirectional layers for a second or more after them, which picked the wrong backend.
 * And a candidate's score is the median of its rounds, so one lucky round does not win.
 */
class AutoTunerOrderTest {
    /** A candidate that records each call and takes a fixed time. */
    private record Fake(String name, long nanos, List<Object[]> log) implements PreparedModel {
        @Override
        public void forward(Call call) {
            synchronized (log) {
                log.add(new Object[] {name, call});
            }
            long end = System.nanoTime() + nanos;
            while (System.nanoTime() < end) {
                Thread.onSpinWait();
            }
        }

        @Override
        public String backendName() {
            return name;
        }

        @Override
        public int threads() {
            return 1;
        }

        @Override
        public void close() { }
    }

    /**
     * A candidate fast (20 us) in one window of calls on a given call, its first measured round,
     * and slow (100 us) otherwise: a window starts after a 10 ms gap (another candidate's turn).
     */
    private static final class Lucky implements PreparedModel {
        private final Map<Call, long[]> seen = new IdentityHashMap<>(); // [windows, last call's end]

        @Override
        public void forward(Call call) {
            long[] w = seen.computeIfAbsent(call, k -> new long[] {0, 0});
            long now = System.nanoTime();
            if (now - w[1] > 10_000_000L) {
                w[0]++; // window 1: the warm-up calls; 2: the first measured round
            }
            long end = now + (w[0] == 2 ? 20_000 : 100_000);
            while (System.nanoTime() < end) {
                Thread.onSpinWait();
            }
            w[1] = System.nanoTime();
        }

        @Override
        public String backendName() {
            return "vector";
        }

        @Override
        public int threads() {
            return 1;
        }

        @Override
        public void close() { }
    }

    @Test
    void openBlasIsTimedAfterTheOthersAndTheFastestStillWins(@TempDir Path cache) {
        withCache(cache, AutoTunerOrderTest::tuneFakes);
    }

    @Test
    void oneLuckyRoundDoesNotDecide(@TempDir Path cache) {
        withCache(cache, () -> {
            RnnSpec spec = new RnnSpec(CellMode.LSTM, 3, 5, 1, true, false, false, 0);
            Map<String, PreparedModel> candidates = new LinkedHashMap<>();
            candidates.put("vector", new Lucky());
            candidates.put("onednn", new Fake("onednn", 60_000, new ArrayList<>()));
            for (AutoTuner.Choice c : AutoTuner.tune(spec, 1, Precision.FP32, candidates)) {
                assertEquals("onednn", c.winner(), "a median of rounds, not the best: " + c.ms());
                assertTrue(c.ms().get("vector") > 0.08, "vector's typical 0.1 ms, not its lucky round: " + c.ms());
            }
        });
    }

    /** The fakes' winners go to a cache of their own, not the one the other tests' auto models read. */
    private static void withCache(Path cache, Runnable r) {
        String before = System.getProperty(AutoTuner.CACHE_PROPERTY);
        System.setProperty(AutoTuner.CACHE_PROPERTY, cache.toString());
        try {
            r.run();
        } finally {
            if (before == null) {
                System.clearProperty(AutoTuner.CACHE_PROPERTY);
            } else {
                System.setProperty(AutoTuner.CACHE_PROPERTY, before);
            }
        }
    }

    private static void tuneFakes() {
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 3, 5, 1, true, false, false, 0);
        List<Object[]> log = new ArrayList<>();
        Map<String, PreparedModel> candidates = new LinkedHashMap<>();
        candidates.put("vector", new Fake("vector", 30_000, log));
        candidates.put("openblas", new Fake("openblas", 5_000, log));
        candidates.put("onednn", new Fake("onednn", 60_000, log));
        AutoTuner.Choice[] choices = AutoTuner.tune(spec, 1, Precision.FP32, candidates);

        // The measured calls are the ones every candidate was given (each warm-up has its own).
        Map<Object, Set<String>> users = new IdentityHashMap<>();
        for (Object[] e : log) {
            users.computeIfAbsent(e[1], k -> new java.util.HashSet<>()).add((String) e[0]);
        }
        int lastOther = -1;
        int firstOpenBlas = Integer.MAX_VALUE;
        for (int i = 0; i < log.size(); i++) {
            if (users.get(log.get(i)[1]).size() < 2) {
                continue; // a warm-up call
            }
            if (log.get(i)[0].equals("openblas")) {
                firstOpenBlas = Math.min(firstOpenBlas, i);
            } else {
                lastOther = i;
            }
        }
        assertTrue(lastOther >= 0 && firstOpenBlas < Integer.MAX_VALUE, "both kinds were measured");
        assertTrue(lastOther < firstOpenBlas, "every other candidate's measured call comes before OpenBLAS's");
        assertEquals(AutoTuner.BUCKETS.size(), choices.length);
        for (AutoTuner.Choice c : choices) {
            assertEquals("openblas", c.winner(), "the fastest wins, measured late or not: " + c.ms());
            assertEquals(Set.of("vector", "openblas", "onednn"), c.ms().keySet());
        }
    }
}
