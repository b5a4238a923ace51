package dev.rnnengine.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.rnnengine.Fixtures;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.SafetensorsFile;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A misbehaving caller of the Java API: absurd thread counts, batches and lengths whose
 * buffers would not fit an array, tensors over freed memory, a state shared by two threads,
 * a model file rewritten while it is being loaded. Each gets a result or one clear exception,
 * never a crash, a hang or a wrong answer.
 */
class MisuseTest {
    private static final RnnSpec SPEC = new RnnSpec(CellMode.LSTM, 5, 9, 2, true, false, true, 0);
    private static final Map<String, Tensor> WEIGHTS = StateDicts.random(SPEC, 12);
    private static final RnnSpec UNI = new RnnSpec(CellMode.LSTM, 5, 9, 2, true, false, false, 0);

    @TempDir
    Path dir;

    @Test
    void threadCountsBelowOneAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new EngineOptions("auto", 0));
        assertTrue(e.getMessage().contains("at least 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new EngineOptions("auto", -5));
    }

    /** Thousands of threads: capped at the processors, same answer as one thread, no hang (was: hang / SIGSEGV). */
    @ParameterizedTest
    @MethodSource("dev.rnnengine.Fixtures#expectedBackends")
    void thousandsOfThreadsAreCappedAtTheProcessors(String backend) {
        Tensor x = StateDicts.randn(1, 7, 20, 5); // batch 20: auto's batched side too
        float[] one;
        try (RnnModel m = RnnModel.create(SPEC, WEIGHTS, new EngineOptions(backend, 1))) {
            one = m.forward(x).output().toArray();
        }
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (RnnModel m = RnnModel.create(SPEC, WEIGHTS, new EngineOptions(backend, 5000))) {
                assertEquals(Runtime.getRuntime().availableProcessors(), m.threads());
                float[] many = m.forward(x).output().toArray();
                for (int i = 0; i < one.length; i++) {
                    assertEquals(one[i], many[i], 1e-5, "element " + i);
                }
            }
        });
    }

    @Test
    void anOutputTooLargeForAnArrayIsRefusedBeforeAnyWork() {
        // (T*N, D=1) input fits; (T, N, 2*64) output would exceed an array.
        RnnSpec wide = new RnnSpec(CellMode.RNN_TANH, 1, 64, 1, true, false, true, 0);
        int rows = (1 << 24) + 1;
        try (RnnModel m = RnnModel.create(wide, StateDicts.random(wide, 1), new EngineOptions("scalar", 1))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.forward(Tensor.of(new float[rows], rows, 1, 1)));
            assertTrue(e.getMessage().contains("the output") && e.getMessage().contains("smaller batches"), e.getMessage());
        }
    }

    @Test
    void aStateForAHugeBatchIsRefused() {
        try (RnnModel m = RnnModel.create(UNI, StateDicts.random(UNI, 1), new EngineOptions("scalar", 1))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.newState(Integer.MAX_VALUE));
            assertTrue(e.getMessage().contains("state"), e.getMessage());
        }
    }

    /** A tensor over memory its owner has freed: an exception from the copy, and the model still works. */
    @ParameterizedTest
    @MethodSource("dev.rnnengine.Fixtures#expectedBackends")
    void aTensorOverFreedMemoryIsRefused(String backend) {
        try (RnnModel m = RnnModel.create(SPEC, WEIGHTS, new EngineOptions(backend, 1))) {
            Tensor good = StateDicts.randn(2, 3, 2, 5);
            float[] want = m.forward(good).output().toArray();
            Tensor dangling;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = a.allocate(4L * good.numel());
                MemorySegment.copy(good.toArray(), 0, s, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, good.numel());
                dangling = Tensor.of(s, 3, 2, 5);
            }
            assertThrows(IllegalStateException.class, () -> m.forward(dangling));
            assertArrayEquals(want, m.forward(good).output().toArray(), 0f, "the model works after the refusal");
        }
    }

    /** Two threads stepping one state: refused, and each successful step equals a single-threaded run. */
    @ParameterizedTest
    @MethodSource("dev.rnnengine.Fixtures#expectedBackends")
    void aStateSteppedByTwoThreadsAtOnceIsRefusedNotMixed(String backend) throws Exception {
        try (RnnModel m = RnnModel.create(UNI, StateDicts.random(UNI, 3), new EngineOptions(backend, 1))) {
            RnnState s = m.newState(1);
            Tensor x = StateDicts.randn(4, 5);
            AtomicInteger refused = new AtomicInteger();
            AtomicInteger done = new AtomicInteger();
            AtomicReference<Throwable> other = new AtomicReference<>();
            CyclicBarrier start = new CyclicBarrier(2);
            Runnable stepper = () -> {
                try {
                    start.await();
                    for (int i = 0; i < 20_000; i++) {
                        try {
                            m.step(x, s);
                            done.incrementAndGet();
                        } catch (IllegalStateException e) {
                            assertTrue(e.getMessage().contains("another thread"), e.getMessage());
                            refused.incrementAndGet();
                        }
                    }
                } catch (Throwable t) {
                    other.set(t);
                }
            };
            Thread a = new Thread(stepper);
            Thread b = new Thread(stepper);
            a.start();
            b.start();
            a.join(120_000);
            b.join(120_000);
            if (other.get() != null) {
                fail(other.get());
            }
            assertEquals(40_000, done.get() + refused.get());
            // The state advanced exactly `done` steps: the same as stepping alone that many times.
            RnnState alone = m.newState(1);
            Tensor last = null;
            for (int i = 0; i < done.get(); i++) {
                last = m.step(x, alone);
            }
            assertArrayEquals(alone.h().toArray(), s.h().toArray(), 0f, "no step lost or applied twice");
            assertTrue(last != null);
        }
    }

    /**
     * A model file truncated and refilled in place by another thread while it is loaded over
     * and over (was: InternalError from a memory-mapped file): each load ends in a model or an
     * IOException, never any other exception and never a crash. (What a model read half old,
     * half new computes is not checked: no file format without checksums can tell; see the
     * next test for the way to replace a file.)
     */
    @Test
    void aModelFileTruncatedUnderALoadGivesAModelOrAnIoException() throws Exception {
        Path golden = Fixtures.golden("002_lstm");
        byte[] whole = Files.readAllBytes(golden.resolve("model.safetensors"));
        Path file = dir.resolve("model.safetensors");
        Files.write(file, whole);
        AtomicBoolean stop = new AtomicBoolean();
        Thread writer = new Thread(() -> {
            int i = 0;
            while (!stop.get()) {
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                        java.nio.file.StandardOpenOption.WRITE)) {
                    ch.truncate(whole.length * (i++ % 4) / 4); // shrink in place under the reader
                    ch.write(java.nio.ByteBuffer.wrap(whole, 0, whole.length), 0);
                } catch (IOException e) {
                    // try again
                }
            }
        });
        writer.start();
        int refused = 0;
        try {
            for (int i = 0; i < 300; i++) {
                try (RnnModel m = RnnModel.load(file)) {
                    assertEquals("LSTM", m.spec().mode().moduleName());
                } catch (IOException e) {
                    refused++;
                }
            }
        } finally {
            stop.set(true);
            writer.join();
        }
        assertTrue(refused > 0, "the truncations were seen at least once");
    }

    /**
     * A model file replaced the recommended way, a new file renamed over it, by another thread
     * during 300 loads: every load is the old model or the new one, whole.
     */
    @Test
    void aModelFileReplacedByRenameIsAlwaysReadWhole() throws Exception {
        Path golden = Fixtures.golden("002_lstm");
        Path file = dir.resolve("model.safetensors");
        Files.copy(golden.resolve("model.safetensors"), file);
        Tensor x;
        try (SafetensorsFile in = SafetensorsFile.open(golden.resolve("input.safetensors"))) {
            x = Tensor.of(in.floats("input").toArray(), in.info("input").shape());
        }
        float[] want;
        try (RnnModel m = RnnModel.load(file)) {
            want = m.forward(x).output().toArray();
        }
        AtomicBoolean stop = new AtomicBoolean();
        Thread writer = new Thread(() -> {
            Path tmp = dir.resolve("model.tmp");
            while (!stop.get()) {
                try {
                    Files.copy(golden.resolve("model.safetensors"), tmp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        });
        writer.start();
        try {
            for (int i = 0; i < 300; i++) {
                try (RnnModel m = RnnModel.load(file)) {
                    assertArrayEquals(want, m.forward(x).output().toArray(), 0f, "load " + i);
                }
            }
        } finally {
            stop.set(true);
            writer.join();
        }
    }
}
