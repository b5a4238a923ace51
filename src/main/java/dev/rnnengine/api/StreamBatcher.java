package dev.rnnengine.api;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * Many streams, one model: each stream's {@link #step} waits in a queue, and one worker thread
 * gathers the waiting streams' rows into a single batched step, so the weights are read once
 * for all of them ("cellular batching"). A stream has its own state (h, and c for an LSTM, every
 * layer); streams open and close at any step. The worker waits at most {@code maxWait} after
 * the first request of a batch for more to arrive, and takes at most {@code maxBatch} rows.
 *
 * <p>Each stream's outputs equal running it alone: to the bit on {@code scalar}; within the
 * reference tolerance on {@code vector} (from 4 rows a step is one GEMM, with another
 * summation order than a single row's) and on the library backends (docs/streams.md).
 * Gathering and scattering the rows allocates nothing; a blocking {@link #step} allocates
 * nothing either ({@link #stepAsync} allocates its future).
 *
 * <p>Nothing is lost or mixed up: a bad input is refused for its stream only, before it is
 * queued; a second step of a stream while one is in flight is refused; a caller interrupted
 * while its step is still queued gets {@link InterruptedException} with the stream's state
 * unchanged (once the worker has taken it, the step completes and the interrupt flag is kept);
 * {@link #close} refuses new steps and answers every queued one first.
 */
public final class StreamBatcher implements AutoCloseable {
    private final RnnModel model;
    private final int maxBatch;
    private final long maxWaitNanos;
    private final boolean blockWhenFull;
    private final int in;
    private final int hOut;
    private final int hidden;
    private final int layers;
    private final boolean lstm;
    private final ArrayBlockingQueue<Stream> queue;
    private final RnnState[] states; // by batch size - 1, made on first use
    private final float[][] xs;      // by batch size - 1
    private final Tensor[] xViews;
    private final Stream[] taken;
    private final Thread worker;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean stopped;
    private Error fatal; // worker thread only
    // Statistics.
    private final AtomicLong steps = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong waitNanos = new AtomicLong();
    private final AtomicLong maxWaitSeen = new AtomicLong();
    private final AtomicLongArray batchSizes;

    /**
     * A batcher over {@code model}, with its own worker thread.
     *
     * @param maxBatch      the most rows in one batched step (at least 1)
     * @param maxWait       how long the worker waits after a batch's first request for more
     * @param queueCapacity how many steps may wait (at least {@code maxBatch})
     * @param blockWhenFull when the queue is full: true blocks the caller, false throws
     *                      {@link IllegalStateException}
     * @throws IllegalArgumentException if a size is out of range, or the model is bidirectional
     * @throws IllegalStateException if the model is closed
     */
    public StreamBatcher(RnnModel model, int maxBatch, long maxWait, TimeUnit unit, int queueCapacity,
                         boolean blockWhenFull) {
        RnnSpec spec = model.spec();
        if (spec.bidirectional()) {
            throw new IllegalArgumentException("a bidirectional model cannot be stepped: its reverse pass needs the "
                + "whole sequence");
        }
        if (maxBatch < 1 || queueCapacity < maxBatch || maxWait < 0) {
            throw new IllegalArgumentException("need maxBatch >= 1, queueCapacity >= maxBatch and maxWait >= 0; got "
                + maxBatch + ", " + queueCapacity + ", " + maxWait);
        }
        this.model = model;
        this.maxBatch = maxBatch;
        this.maxWaitNanos = unit.toNanos(maxWait);
        this.blockWhenFull = blockWhenFull;
        this.in = spec.inputSize();
        this.hOut = spec.outputHiddenSize();
        this.hidden = spec.hiddenSize();
        this.layers = spec.numLayers();
        this.lstm = spec.mode().hasCellState();
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.states = new RnnState[maxBatch];
        this.xs = new float[maxBatch][];
        this.xViews = new Tensor[maxBatch];
        this.taken = new Stream[maxBatch];
        this.batchSizes = new AtomicLongArray(maxBatch + 1);
        this.worker = new Thread(this::run, "rnn-stream-batcher");
        worker.setDaemon(true);
        worker.start();
    }

    /**
     * A batcher with a 200 µs wait, batches of up to 64 and a blocking queue of 1,024.
     *
     * @throws IllegalArgumentException if the model is bidirectional
     * @throws IllegalStateException if the model is closed
     */
    public StreamBatcher(RnnModel model) {
        this(model, 64, 200, TimeUnit.MICROSECONDS, 1024, true);
    }

    /** One stream: its state, and its one step in flight at most. */
    public final class Stream implements AutoCloseable {
        private final float[] h = new float[layers * hOut];
        private final float[] c = lstm ? new float[layers * hidden] : null;
        private final AtomicBoolean busy = new AtomicBoolean();
        private volatile boolean streamClosed;
        // The request in flight: written by the caller before queueing, read by the worker.
        private float[] x;
        private float[] out;
        private Thread waiter;
        private CompletableFuture<float[]> future;
        private volatile boolean done;
        private volatile RuntimeException failure;
        private long queuedAt;

        private Stream() { }

        /** Zeroes the state, to start a new sequence; refused while a step is in flight. */
        public void reset() {
            if (!busy.compareAndSet(false, true)) {
                throw new IllegalStateException("a step of this stream is in flight");
            }
            java.util.Arrays.fill(h, 0f);
            if (c != null) {
                java.util.Arrays.fill(c, 0f);
            }
            busy.set(false);
        }

        /** Closes the stream: later steps are refused; a step in flight completes. */
        @Override
        public void close() {
            streamClosed = true;
        }
    }

    /**
     * Opens a stream with a zero state.
     *
     * @throws IllegalStateException if the batcher is closed
     */
    public Stream open() {
        if (closed.get()) {
            throw new IllegalStateException("the stream batcher is closed");
        }
        return new Stream();
    }

    /**
     * Advances {@code stream} by one step with input {@code x} and writes the top layer's new
     * hidden state into {@code out}; blocks until the batched step that carried it has run.
     *
     * @param x   {@code input_size} floats (copied before this returns)
     * @param out {@code H_out} floats
     * @return {@code out}
     * @throws IllegalArgumentException if x or out has the wrong length
     * @throws IllegalStateException if the stream or the batcher is closed, the stream has a
     *         step in flight, the queue is full (when not blocking), or the step failed
     * @throws InterruptedException if interrupted while the step was still queued (the state
     *         is then unchanged)
     */
    public float[] step(Stream stream, float[] x, float[] out) throws InterruptedException {
        submit(stream, x, out, null);
        boolean interrupted = false;
        while (!stream.done) {
            LockSupport.park(this);
            if (Thread.interrupted()) {
                if (queue.remove(stream)) { // not taken yet: withdrawn, state unchanged
                    stream.busy.set(false);
                    throw new InterruptedException("the step was withdrawn before it ran");
                }
                interrupted = true; // taken: it completes in microseconds
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return finish(stream);
    }

    /**
     * As {@link #step}, without blocking: the future completes with {@code out} (or the
     * failure) when the batched step has run. It completes on the batcher's worker thread:
     * chain with the {@code *Async} methods, as a dependent action that blocks or steps this
     * batcher would hold up or deadlock the worker.
     *
     * @throws IllegalArgumentException if x or out has the wrong length
     * @throws IllegalStateException if the stream or the batcher is closed, the stream has a
     *         step in flight, or the queue is full (when not blocking)
     * @throws InterruptedException if interrupted while waiting for room in a full queue
     */
    public CompletableFuture<float[]> stepAsync(Stream stream, float[] x, float[] out) throws InterruptedException {
        CompletableFuture<float[]> f = new CompletableFuture<>();
        submit(stream, x, out, f);
        return f;
    }

    private void submit(Stream s, float[] x, float[] out, CompletableFuture<float[]> f) throws InterruptedException {
        if (x.length != in || out.length != hOut) {
            throw new IllegalArgumentException("step input must have " + in + " floats and the output " + hOut + "; got "
                + x.length + " and " + out.length);
        }
        if (s.streamClosed) {
            throw new IllegalStateException("the stream is closed");
        }
        if (!s.busy.compareAndSet(false, true)) {
            throw new IllegalStateException("a step of this stream is already in flight: one at a time per stream");
        }
        if (s.x == null) {
            s.x = new float[in];
        }
        System.arraycopy(x, 0, s.x, 0, in);
        s.out = out;
        s.waiter = Thread.currentThread();
        s.future = f;
        s.failure = null;
        s.done = false;
        s.queuedAt = System.nanoTime();
        boolean queued = false;
        try {
            if (closed.get() || stopped) {
                throw new IllegalStateException(closed.get() ? "the stream batcher is closed"
                    : "the stream batcher's worker stopped after an error");
            }
            if (blockWhenFull) {
                while (!queue.offer(s, 10, TimeUnit.MILLISECONDS)) {
                    if (closed.get()) {
                        throw new IllegalStateException("the stream batcher is closed");
                    }
                }
                queued = true;
            } else if (!(queued = queue.offer(s))) {
                throw new IllegalStateException("the stream batcher's queue is full (" + queue.size() + " steps waiting)");
            }
        } finally {
            if (!queued) {
                s.busy.set(false);
            }
        }
        if (stopped && queue.remove(s)) { // queued after the worker's last drain
            s.busy.set(false);
            throw new IllegalStateException(closed.get() ? "the stream batcher is closed"
                : "the stream batcher's worker stopped after an error");
        }
    }

    private float[] finish(Stream s) {
        RuntimeException e = s.failure;
        float[] out = s.out;
        s.out = null;
        s.busy.set(false);
        if (e != null) {
            throw new IllegalStateException("the batched step failed: " + e.getMessage(), e);
        }
        return out;
    }

    private void run() {
        try {
            while (true) {
                Stream first = queue.poll(20, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closed.get() && queue.isEmpty()) {
                        return;
                    }
                    continue;
                }
                int n = 0;
                taken[n++] = first;
                long deadline = first.queuedAt + maxWaitNanos;
                while (n < maxBatch) {
                    Stream s = queue.poll();
                    if (s == null) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0 || closed.get()) {
                            break;
                        }
                        s = queue.poll(left, TimeUnit.NANOSECONDS);
                        if (s == null) {
                            break;
                        }
                    }
                    taken[n++] = s;
                }
                runBatch(n);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stopped = true;
            Stream s;
            while ((s = queue.poll()) != null) { // only after a failure of the worker itself
                complete(s, new IllegalStateException("the stream batcher stopped"));
            }
        }
    }

    /** Gathers the taken streams' rows, steps them as one batch, scatters the results. */
    private void runBatch(int n) {
        long now = System.nanoTime();
        RuntimeException failure = null;
        try {
            RnnState st = states[n - 1];
            if (st == null) { // once per batch size
                st = states[n - 1] = model.newState(n);
                xs[n - 1] = new float[n * in];
                xViews[n - 1] = Tensor.of(xs[n - 1], n, in);
            }
            float[] x = xs[n - 1];
            for (int i = 0; i < n; i++) {
                Stream s = taken[i];
                System.arraycopy(s.x, 0, x, i * in, in);
                for (int l = 0; l < layers; l++) {
                    System.arraycopy(s.h, l * hOut, st.h, (l * n + i) * hOut, hOut);
                    if (s.c != null) {
                        System.arraycopy(s.c, l * hidden, st.c, (l * n + i) * hidden, hidden);
                    }
                }
            }
            model.step(xViews[n - 1], st);
            for (int i = 0; i < n; i++) {
                Stream s = taken[i];
                for (int l = 0; l < layers; l++) {
                    System.arraycopy(st.h, (l * n + i) * hOut, s.h, l * hOut, hOut);
                    if (s.c != null) {
                        System.arraycopy(st.c, (l * n + i) * hidden, s.c, l * hidden, hidden);
                    }
                }
                System.arraycopy(st.out, i * hOut, s.out, 0, hOut);
            }
        } catch (RuntimeException e) { // every row of the batch learns it; the streams' states are unchanged
            failure = e;
        } catch (Error e) { // likewise, then the worker stops (submit refuses from then on)
            failure = new IllegalStateException(e.toString(), e);
            fatal = e;
        }
        long waited = 0;
        for (int i = 0; i < n; i++) {
            waited += now - taken[i].queuedAt;
            maxWaitSeen.accumulateAndGet(now - taken[i].queuedAt, Math::max);
        }
        // Counted before anyone is answered: a caller reading stats() after its answer sees its step.
        steps.addAndGet(n);
        batches.incrementAndGet();
        waitNanos.addAndGet(waited);
        batchSizes.incrementAndGet(n);
        for (int i = 0; i < n; i++) {
            complete(taken[i], failure);
            taken[i] = null;
        }
        if (fatal != null) {
            Error e = fatal;
            fatal = null;
            throw e;
        }
    }

    private static void complete(Stream s, RuntimeException failure) {
        s.failure = failure;
        CompletableFuture<float[]> f = s.future;
        Thread w = s.waiter;
        if (f != null) {
            float[] out = s.out;
            s.out = null;
            s.future = null;
            s.busy.set(false);
            if (failure != null) {
                f.completeExceptionally(new IllegalStateException("the batched step failed: " + failure.getMessage(),
                    failure));
            } else {
                f.complete(out);
            }
            return;
        }
        s.done = true;
        LockSupport.unpark(w);
    }

    /**
     * What the batcher has done so far.
     *
     * @param steps        steps answered
     * @param batches      batched steps run
     * @param queued       steps waiting now
     * @param meanWaitMs   mean time from a step's queueing to its batch's start
     * @param maxWaitMs    the longest such wait
     * @param batchSizes   how many batches had each size (index = rows; index 0 unused)
     */
    public record Stats(long steps, long batches, int queued, double meanWaitMs, double maxWaitMs, long[] batchSizes) {
        /** Mean rows per batched step. */
        public double meanBatch() {
            return batches == 0 ? 0 : (double) steps / batches;
        }
    }

    /** The statistics so far. */
    public Stats stats() {
        long[] sizes = new long[batchSizes.length()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = batchSizes.get(i);
        }
        long s = steps.get();
        return new Stats(s, batches.get(), queue.size(), s == 0 ? 0 : waitNanos.get() / 1e6 / s, maxWaitSeen.get() / 1e6,
            sizes);
    }

    /**
     * Refuses new steps, answers every queued one, then stops the worker; idempotent. Does not
     * close the model.
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            boolean interrupted = false;
            while (worker.isAlive()) {
                try {
                    worker.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The streams' model. */
    public RnnModel model() {
        return model;
    }
}
