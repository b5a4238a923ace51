package dev.rnnengine.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.Fixtures;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one thread-count policy, and worker pools that end with their last model. */
class ThreadsTest {
    @TempDir
    Path dir;

    @Test
    void requestsAreCappedAtTheProcessors() {
        int max = Runtime.getRuntime().availableProcessors();
        assertEquals(max, Threads.max());
        assertEquals(1, Threads.effective(1));
        assertEquals(max, Threads.effective(max));
        assertEquals(max, Threads.effective(100_000));
        assertThrows(IllegalArgumentException.class, () -> Threads.effective(0));
    }

    private static long workerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().startsWith("rnn-worker-"))
            .count();
    }

    /** Models of every thread count on every backend, then closed: no pool thread outlives them (was: hundreds left). */
    @Test
    void poolThreadsEndWhenTheLastModelCloses() throws Exception {
        RnnSpec spec = new RnnSpec(CellMode.GRU, 4, 8, 1, true, false, false, 0);
        List<RnnModel> models = new ArrayList<>();
        for (String b : Fixtures.expectedBackends()) {
            for (int t = 1; t <= 64; t *= 2) {
                RnnModel m = RnnModel.create(spec, StateDicts.random(spec, 1), new EngineOptions(b, t));
                m.forward(StateDicts.randn(1, 3, 2, 4));
                models.add(m);
            }
        }
        assertTrue(WorkerPool.liveThreads() <= Threads.max() - 1, "one pool per effective count, at most "
            + (Threads.max() - 1) + " threads: " + WorkerPool.liveThreads());
        models.forEach(RnnModel::close);
        assertEquals(0, WorkerPool.liveThreads());
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (workerThreads() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, workerThreads(), "rnn-worker threads still alive after every model closed");
    }

    /** A malformed -Drnn.threads does not fail a command that gives --threads; without it, it is reported. */
    @Test
    void aMalformedThreadsPropertyOnlyMattersWhenItIsUsed() throws Exception {
        Path c = Fixtures.golden("002_lstm");
        String[] infer = {"infer", "--model", c.resolve("model.safetensors").toString(), "--input",
            c.resolve("input.safetensors").toString(), "--output", dir.resolve("o.safetensors").toString()};
        List<String> withThreads = new ArrayList<>(List.of(infer));
        withThreads.addAll(List.of("--threads", "1"));
        Fixtures.Cli ok = Fixtures.childCli(dir, Fixtures.defaultJvm("-Drnn.threads=two"), 120, withThreads.toArray(new String[0]));
        assertEquals(0, ok.code(), ok.err());
        Fixtures.Cli bad = Fixtures.childCli(dir, Fixtures.defaultJvm("-Drnn.threads=two"), 120, infer);
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("-Drnn.threads must be a positive integer, got 'two'"), bad.err());
    }

    /** oneDNN's directions apart: each bidirectional model owns a pool of two, which ends with it. */
    @Test
    void directionPoolsAreEachModelsOwnAndEndWithIt() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Fixtures.expectedBackends().contains("onednn")
            && Threads.max() >= 2 && dev.rnnengine.internal.CpuCaches.l2() > 0, "needs oneDNN, 2 cores and a known L2");
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 4, 8, 2, true, false, true, 0);
        int before = WorkerPool.liveThreads();
        List<RnnModel> models = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            RnnModel m = RnnModel.create(spec, StateDicts.random(spec, 1), new EngineOptions("onednn", 2));
            m.forward(StateDicts.randn(1, 3, 2, 4));
            models.add(m);
        }
        assertEquals(before + 3, WorkerPool.liveThreads(), "one worker per bidirectional oneDNN model");
        models.forEach(RnnModel::close);
        assertEquals(before, WorkerPool.liveThreads());
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (workerThreads() > before && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(before, workerThreads(), "rnn-worker threads still alive after their models closed");
    }
}
