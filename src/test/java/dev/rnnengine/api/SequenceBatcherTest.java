package dev.rnnengine.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.Fixtures;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Whole sequences of different lengths from many callers, coalesced into padded batches run
 * with lengths: every caller gets what forward of its sequence alone gives (to the bit on
 * scalar, within the reference tolerance elsewhere), with and without initial states, on a
 * bidirectional batch-first LSTM and a time-major GRU; and nothing is lost or mixed up.
 */
@Timeout(120)
class SequenceBatcherTest {
    private static final RnnSpec BI_LSTM = new RnnSpec(CellMode.LSTM, 5, 7, 2, true, true, true, 0);
    private static final RnnSpec GRU = new RnnSpec(CellMode.GRU, 4, 9, 1, true, false, false, 0);

    private static void manyCallers(RnnSpec spec, String backend, boolean exact) throws Exception {
        int states = spec.numLayers() * spec.directions();
        try (RnnModel m = RnnModel.create(spec, StateDicts.random(spec, 8), new EngineOptions(backend, 1));
             SequenceBatcher b = new SequenceBatcher(m, 8, 500, TimeUnit.MICROSECONDS, 64, true)) {
            int callers = 24;
            Tensor[] xs = new Tensor[callers];
            Tensor[] h0s = new Tensor[callers];
            Tensor[] c0s = new Tensor[callers];
            RnnOutput[] got = new RnnOutput[callers];
            AtomicReference<Throwable> failed = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int k = 0; k < callers; k++) {
                int id = k;
                xs[k] = StateDicts.randn(50 + k, 1 + (k * 5) % 13, spec.inputSize());
                if (k % 3 == 0) { // some start from a state of their own
                    h0s[k] = StateDicts.randn(90 + k, states, spec.outputHiddenSize());
                    c0s[k] = spec.mode().hasCellState() ? StateDicts.randn(70 + k, states, spec.hiddenSize()) : null;
                }
                Thread t = new Thread(() -> {
                    try {
                        got[id] = id % 2 == 0 ? b.forward(xs[id], h0s[id], c0s[id])
                            : b.forwardAsync(xs[id], h0s[id], c0s[id]).get();
                    } catch (Throwable e) {
                        failed.compareAndSet(null, e);
                    }
                });
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) {
                t.join();
            }
            if (failed.get() != null) {
                throw new AssertionError("a caller failed", failed.get());
            }
            for (int k = 0; k < callers; k++) {
                RnnOutput want = m.forward(xs[k], h0s[k], c0s[k], null);
                String what = spec.mode() + " " + backend + " caller " + k + " (T=" + xs[k].size(0) + ")";
                if (exact) {
                    Fixtures.assertSame(what + " output", want.output(), got[k].output());
                    Fixtures.assertSame(what + " h_n", want.hN(), got[k].hN());
                } else {
                    Fixtures.assertClose(what + " output", want.output(), got[k].output());
                    Fixtures.assertClose(what + " h_n", want.hN(), got[k].hN());
                }
                if (want.cN() != null) {
                    Fixtures.assertClose(what + " c_n", want.cN(), got[k].cN());
                }
            }
            StreamBatcher.Stats st = b.stats();
            assertEquals(callers, st.steps(), "every sequence answered once");
            assertTrue(st.meanBatch() > 1, "sequences of several callers were batched: " + st);
        }
    }

    @Test
    void scalarCallersGetTheirOwnSequencesResultToTheBit() throws Exception {
        manyCallers(BI_LSTM, "scalar", true);
        manyCallers(GRU, "scalar", true);
    }

    @Test
    void everyBackendMatchesRunningAlone() throws Exception {
        for (String backend : Fixtures.expectedBackends()) {
            manyCallers(BI_LSTM, backend, false);
            manyCallers(GRU, backend, false);
        }
    }

    /** A slow model (scalar, wide) keeps the worker busy, so queueing is observable. */
    private static RnnModel slowModel() {
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 6, 768, 2, true, false, false, 0);
        return RnnModel.create(spec, StateDicts.random(spec, 3), new EngineOptions("scalar", 1));
    }

    @Test
    void badInputsAreRefusedForTheirCallerOnlyAndAFullQueueThrows() throws Exception {
        try (RnnModel m = slowModel(); SequenceBatcher b = new SequenceBatcher(m, 1, 0, TimeUnit.MICROSECONDS, 1, false)) {
            Tensor x = StateDicts.randn(1, 3, 6);
            for (Tensor bad : new Tensor[] {StateDicts.randn(1, 3, 5), Tensor.of(new float[0], 0, 6),
                    StateDicts.randn(1, 1, 3, 6)}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.forward(bad));
                assertTrue(e.getMessage().contains("(T, 6)"), e.getMessage());
            }
            IllegalArgumentException half = assertThrows(IllegalArgumentException.class,
                () -> b.forward(x, StateDicts.randn(2, 2, 768), null));
            assertTrue(half.getMessage().contains("both h0 and c0"), half.getMessage());
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> b.forward(x, StateDicts.randn(2, 1, 768), StateDicts.randn(3, 2, 768)));
            assertTrue(shape.getMessage().contains("h0 must be (2, 768)"), shape.getMessage());
            assertEquals(0, b.stats().steps());
            CompletableFuture<RnnOutput> first = b.forwardAsync(x, null, null);
            while (b.stats().queued() > 0) { // the worker has taken it: it runs for milliseconds
                Thread.onSpinWait();
            }
            CompletableFuture<RnnOutput> second = b.forwardAsync(x, null, null); // the one queue slot
            IllegalStateException full = assertThrows(IllegalStateException.class, () -> b.forwardAsync(x, null, null));
            assertTrue(full.getMessage().contains("queue is full"), full.getMessage());
            Fixtures.assertSame("first", m.forward(x).output(), first.get().output());
            Fixtures.assertSame("second", m.forward(x).output(), second.get().output());
            assertEquals(2, b.stats().steps());
        }
    }

    @Test
    void anInterruptedQueuedCallerIsWithdrawnAndCloseAnswersEveryQueuedOne() throws Exception {
        RnnModel m = slowModel();
        Tensor x = StateDicts.randn(4, 5, 6);
        try (SequenceBatcher b = new SequenceBatcher(m, 1, 0, TimeUnit.MICROSECONDS, 8, true)) {
            CompletableFuture<RnnOutput> busy = b.forwardAsync(x, null, null); // occupies the worker
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            Thread caller = new Thread(() -> {
                started.countDown();
                try {
                    b.forward(x);
                    outcome.set(new AssertionError("returned"));
                } catch (Throwable e) {
                    outcome.set(e);
                }
            });
            caller.start();
            started.await();
            while (b.stats().queued() == 0 && !busy.isDone()) {
                Thread.onSpinWait();
            }
            caller.interrupt();
            caller.join();
            busy.get();
            assertTrue(outcome.get() instanceof InterruptedException || outcome.get() instanceof AssertionError,
                String.valueOf(outcome.get()));
            long answered = b.stats().steps();
            assertEquals(outcome.get() instanceof InterruptedException ? 1 : 2, answered, "a withdrawn call never runs");
        }
        SequenceBatcher b = new SequenceBatcher(m, 2, 0, TimeUnit.MICROSECONDS, 16, true);
        List<CompletableFuture<RnnOutput>> fs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            fs.add(b.forwardAsync(StateDicts.randn(i, 1 + i, 6), null, null));
        }
        b.close();
        for (int i = 0; i < 6; i++) {
            assertTrue(fs.get(i).isDone(), "close returned with a call unanswered");
            assertArrayEquals(m.forward(StateDicts.randn(i, 1 + i, 6)).output().toArray(),
                fs.get(i).get().output().toArray());
        }
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> b.forward(x));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        // Closed from a completion, which runs on the worker: no self-join, the queued call still answered.
        SequenceBatcher c = new SequenceBatcher(m, 1, 0, TimeUnit.MICROSECONDS, 8, true);
        CompletableFuture<RnnOutput> first = c.forwardAsync(x, null, null);
        CompletableFuture<RnnOutput> second = c.forwardAsync(x, null, null);
        first.thenRun(c::close).get(60, TimeUnit.SECONDS);
        second.get(60, TimeUnit.SECONDS);
        c.close();
        assertThrows(IllegalStateException.class, () -> c.forward(x));
        m.close();
    }
}
