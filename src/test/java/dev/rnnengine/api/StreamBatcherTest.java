package dev.rnnengine.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.rnnengine.Fixtures;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The stream batcher: every stream's outputs are those of running it alone (to the bit on
 * scalar, within the reference tolerance on vector) while streams of different lengths join
 * and leave; and nothing is lost or mixed up when a stream misbehaves, the queue is full, a
 * caller is interrupted or the batcher closes with work in flight.
 */
@Timeout(120)
class StreamBatcherTest {
    private static final RnnSpec SPEC = new RnnSpec(CellMode.LSTM, 6, 10, 2, true, false, false, 0);
    private static final Map<String, Tensor> SD = StateDicts.random(SPEC, 21);

    /** The top layer's outputs of one stream run alone, (T, H). */
    private static float[] alone(RnnModel m, float[] xs, int steps) {
        return m.forward(Tensor.of(xs, steps, 1, SPEC.inputSize())).output().toArray();
    }

    private static void manyStreams(String backend, boolean exact) throws Exception {
        try (RnnModel m = RnnModel.create(SPEC, SD, new EngineOptions(backend, 1));
             StreamBatcher b = new StreamBatcher(m, 8, 300, TimeUnit.MICROSECONDS, 64, true)) {
            int streams = 24;
            List<Thread> threads = new ArrayList<>();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            float[][] got = new float[streams][];
            float[][] inputs = new float[streams][];
            int[] lengths = new int[streams];
            for (int k = 0; k < streams; k++) {
                int id = k;
                lengths[k] = 3 + (k * 7) % 19; // streams of different lengths: they leave at different steps
                inputs[k] = StateDicts.randn(100 + k, lengths[k], 1, SPEC.inputSize()).toArray();
                Thread t = new Thread(() -> {
                    try {
                        Thread.sleep(id % 5); // and join at different times
                        try (StreamBatcher.Stream s = b.open()) {
                            float[] x = new float[SPEC.inputSize()];
                            float[] out = new float[SPEC.hiddenSize()];
                            got[id] = new float[lengths[id] * SPEC.hiddenSize()];
                            for (int t0 = 0; t0 < lengths[id]; t0++) {
                                System.arraycopy(inputs[id], t0 * x.length, x, 0, x.length);
                                if (t0 % 2 == 0) {
                                    b.step(s, x, out);
                                } else {
                                    assertTrue(out == b.stepAsync(s, x, out).get());
                                }
                                System.arraycopy(out, 0, got[id], t0 * out.length, out.length);
                            }
                        }
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
                throw new AssertionError("a stream failed", failed.get());
            }
            long total = 0;
            for (int k = 0; k < streams; k++) {
                float[] ref = alone(m, inputs[k], lengths[k]);
                if (exact) {
                    assertArrayEquals(ref, got[k], "stream " + k + " differs from running it alone");
                } else {
                    Fixtures.assertClose("stream " + k, Tensor.of(ref, ref.length), Tensor.of(got[k], got[k].length));
                }
                total += lengths[k];
            }
            StreamBatcher.Stats st = b.stats();
            assertEquals(total, st.steps(), "every step answered once");
            long rows = 0;
            for (int n = 1; n < st.batchSizes().length; n++) {
                rows += n * st.batchSizes()[n];
            }
            assertEquals(total, rows, "batch sizes account for every step");
            assertTrue(st.meanBatch() > 1, "steps of several streams were batched: " + st);
        }
    }

    @Test
    void scalarStreamsAreBitIdenticalToRunningAlone() throws Exception {
        manyStreams("scalar", true);
    }

    @Test
    void vectorStreamsMatchRunningAlone() throws Exception {
        assumeTrue(Fixtures.expectedBackends().contains("vector"), "needs vector");
        manyStreams("vector", false);
    }

    /** A slow model (scalar, wide, one row per batch) keeps the worker busy, so queueing is observable. */
    private static RnnModel slowModel() {
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 6, 768, 2, true, false, false, 0);
        return RnnModel.create(spec, StateDicts.random(spec, 3), new EngineOptions("scalar", 1));
    }

    @Test
    void badInputsFullQueuesAndDoubleStepsAreRefusedForTheirStreamOnly() throws Exception {
        try (RnnModel m = slowModel(); StreamBatcher b = new StreamBatcher(m, 1, 0, TimeUnit.MICROSECONDS, 1, false)) {
            StreamBatcher.Stream a = b.open();
            StreamBatcher.Stream c = b.open();
            StreamBatcher.Stream d = b.open();
            float[] x = new float[6];
            float[] out = new float[768];
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> b.step(a, new float[5], out));
            assertTrue(bad.getMessage().contains("6 floats"), bad.getMessage());
            CompletableFuture<float[]> fa = b.stepAsync(a, x, out); // the worker takes it
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> b.stepAsync(a, x, out));
            assertTrue(twice.getMessage().contains("in flight"), twice.getMessage());
            while (b.stats().queued() > 0) { // the worker has taken a's step: it runs for milliseconds
                Thread.onSpinWait();
            }
            CompletableFuture<float[]> fc = b.stepAsync(c, x, new float[768]); // waits in the one queue slot
            IllegalStateException full = assertThrows(IllegalStateException.class, () -> b.stepAsync(d, x, new float[768]));
            assertTrue(full.getMessage().contains("queue is full"), full.getMessage());
            fa.get();
            fc.get();
            b.step(d, x, new float[768]); // d was refused, not broken
            assertEquals(3, b.stats().steps());
        }
    }

    @Test
    void anInterruptedCallerWhoseStepWasStillQueuedLeavesItsStateUnchanged() throws Exception {
        try (RnnModel m = slowModel(); StreamBatcher b = new StreamBatcher(m, 1, 0, TimeUnit.MICROSECONDS, 8, true)) {
            StreamBatcher.Stream busy = b.open();
            StreamBatcher.Stream s = b.open();
            float[] x = StateDicts.randn(4, 6).toArray();
            CompletableFuture<float[]> f = b.stepAsync(busy, x, new float[768]);
            f.get(); // warm the worker's state for batch 1
            f = b.stepAsync(busy, x, new float[768]); // occupies the worker
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            Thread caller = new Thread(() -> {
                started.countDown();
                try {
                    b.step(s, x, new float[768]);
                    outcome.set(new AssertionError("returned"));
                } catch (Throwable e) {
                    outcome.set(e);
                }
            });
            caller.start();
            started.await();
            while (b.stats().queued() == 0 && !f.isDone()) {
                Thread.onSpinWait();
            }
            caller.interrupt();
            caller.join();
            f.get();
            if (outcome.get() instanceof InterruptedException) { // withdrawn: s's state is still zero
                float[] first = b.step(s, x, new float[768]);
                float[] alone = m.forward(Tensor.of(x, 1, 1, 6)).output().toArray();
                assertArrayEquals(alone, first);
            } else { // the worker had taken it already: it completed, with the interrupt flag kept
                assertTrue(outcome.get() instanceof AssertionError, String.valueOf(outcome.get()));
            }
        }
    }

    @Test
    void closingWithWorkInFlightAnswersEveryQueuedStep() throws Exception {
        RnnModel m = slowModel();
        List<CompletableFuture<float[]>> fs = new ArrayList<>();
        StreamBatcher b = new StreamBatcher(m, 2, 0, TimeUnit.MICROSECONDS, 16, true);
        for (int i = 0; i < 6; i++) {
            fs.add(b.stepAsync(b.open(), new float[6], new float[768]));
        }
        b.close();
        for (CompletableFuture<float[]> f : fs) {
            assertTrue(f.isDone(), "close returned with a step unanswered");
            f.get(); // answered, not failed
        }
        assertEquals(6, b.stats().steps());
        assertThrows(IllegalStateException.class, b::open);
        m.close();
        // A closed model: the batch fails, each caller learns it, the batcher goes on.
        try (StreamBatcher b2 = new StreamBatcher(slowModel(), 2, 0, TimeUnit.MICROSECONDS, 16, true)) {
            b2.model().close();
            StreamBatcher.Stream s = b2.open();
            ExecutionException e = assertThrows(ExecutionException.class,
                () -> b2.stepAsync(s, new float[6], new float[768]).get());
            assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
        }
    }
}
