package dev.rnnengine.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import dev.rnnengine.Fixtures;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The hot path allocates nothing: once warm (the Vector API's kernels allocate until C2 has
 * compiled them, so each backend gets up to half a minute of steps to get there), a streaming
 * step allocates no bytes on the calling thread or the pool's workers, and a forward call
 * only its result.
 */
class AllocationTest {
    private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final int ROUND = 2000;

    /** This thread and the pool's worker threads, found once (finding them allocates). */
    private static long[] threadIds() {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t == Thread.currentThread() || t.getName().startsWith("rnn-worker-"))
            .mapToLong(Thread::threadId).toArray();
    }

    /** Bytes allocated so far by these threads; the measurement's own array is subtracted by the caller. */
    private static long allocated(long[] ids) {
        long sum = 0;
        for (long b : THREADS.getThreadAllocatedBytes(ids)) {
            sum += Math.max(0, b);
        }
        return sum;
    }

    /** What one measurement allocates by itself (its result array), measured. */
    private static long overhead(long[] ids) {
        long min = Long.MAX_VALUE;
        for (int i = 0; i < 20; i++) {
            long a = allocated(ids);
            min = Math.min(min, allocated(ids) - a);
        }
        return min;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.rnnengine.Fixtures#configs")
    void aWarmStepAllocatesNothing(Fixtures.Config cfg) {
        warmStepsAllocateNothing(cfg, dev.rnnengine.core.Precision.FP32);
    }

    /** The quantized step kernels (vector's fp16 and int8 codes) likewise. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = dev.rnnengine.core.Precision.class, names = {"FP16", "INT8"})
    void aWarmQuantizedStepAllocatesNothing(dev.rnnengine.core.Precision p) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Fixtures.expectedBackends().contains("vector"), "needs vector");
        warmStepsAllocateNothing(new Fixtures.Config("vector", 1), p);
        warmStepsAllocateNothing(new Fixtures.Config("vector", 2), p);
    }

    private static void warmStepsAllocateNothing(Fixtures.Config cfg, dev.rnnengine.core.Precision p) {
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 16, 40, 2, true, false, false, 0);
        try (RnnModel m = RnnModel.create(spec, StateDicts.random(spec, 2), new EngineOptions(cfg.backend(), cfg.threads(), p))) {
            RnnState s = m.newState(1);
            Tensor x = StateDicts.randn(3, 16);
            m.step(x, s); // the pool's workers exist from here
            long[] ids = threadIds();
            long own = overhead(ids);
            long best = Long.MAX_VALUE;
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (best > 0 && System.nanoTime() < deadline) {
                long before = allocated(ids);
                for (int i = 0; i < ROUND; i++) {
                    m.step(x, s);
                }
                best = Math.min(best, allocated(ids) - before - own);
            }
            assertTrue(best == 0, cfg + " " + p + ": " + ROUND + " warm steps allocated " + best + " bytes");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.rnnengine.Fixtures#configs")
    void aWarmForwardAllocatesOnlyItsResult(Fixtures.Config cfg) {
        RnnSpec spec = new RnnSpec(CellMode.GRU, 16, 40, 2, true, true, true, 0);
        int batch = 20; // auto's batched side too
        int seqLen = 7;
        try (RnnModel m = RnnModel.create(spec, StateDicts.random(spec, 2), new EngineOptions(cfg.backend(), cfg.threads()))) {
            Tensor x = StateDicts.randn(4, batch, seqLen, 16); // batch-first: the transposes are staged
            int[] lengths = new int[batch];
            for (int n = 0; n < batch; n++) {
                lengths[n] = 1 + n % seqLen;
            }
            long result = 4L * (seqLen * batch * 2 * 40 + 4 * batch * 40); // output and h_n floats
            long overhead = 1024; // the Tensor, RnnOutput and shape objects around them
            m.forward(x, null, null, lengths);
            long[] ids = threadIds();
            long own = overhead(ids);
            long best = Long.MAX_VALUE;
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (best > result + overhead && System.nanoTime() < deadline) {
                long before = allocated(ids);
                for (int i = 0; i < 200; i++) {
                    m.forward(x, null, null, lengths);
                }
                best = Math.min(best, (allocated(ids) - before - own) / 200);
            }
            assertTrue(best <= result + overhead, cfg + ": a warm forward allocated " + best + " bytes for a result of "
                + result);
        }
    }
}
