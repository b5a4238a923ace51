package dev.rnnengine.api;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

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
 * {@link #close} refuses new steps and answers every queued one first ({@link BatchQueue}
 * holds these rules for this class and {@link SequenceBatcher}).
 */
public final class StreamBatcher implements AutoCloseable {
    private final RnnModel model;
    private final int in;
    private final int hOut;
    private final int hidden;
    private final int layers;
    private final boolean lstm;
    private final RnnState[] states; // by batch size - 1, made on first use
    private final float[][] xs;      // by batch size - 1
    private final Tensor[] xViews;
    private final Steps steps;

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
        this.model = model;
        this.in = spec.inputSize();
        this.hOut = spec.outputHiddenSize();
        this.hidden = spec.hiddenSize();
        this.layers = spec.numLayers();
        this.lstm = spec.mode().hasCellState();
        this.steps = new Steps(maxBatch, maxWait, unit, queueCapacity, blockWhenFull);
        this.states = new RnnState[maxBatch];
        this.xs = new float[maxBatch][];
        this.xViews = new Tensor[maxBatch];
        steps.start();
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

    /** A stream's request in flight: its input copy; {@code result} is the caller's output array. */
    private static final class Step extends BatchQueue.Request<float[]> {
        final Stream stream;
        float[] x;

        Step(Stream stream) {
            this.stream = stream;
        }
    }

    /** One stream: its state, and its one step in flight at most. */
    public final class Stream implements AutoCloseable {
        private final float[] h = new float[layers * hOut];
        private final float[] c = lstm ? new float[layers * hidden] : null;
        private final AtomicBoolean busy = new AtomicBoolean();
        private final Step step = new Step(this);
        private volatile boolean streamClosed;

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
        if (steps.isClosed()) {
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
        return steps.await(stream.step);
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
        Step r = s.step;
        if (r.x == null) {
            r.x = new float[in];
        }
        System.arraycopy(x, 0, r.x, 0, in);
        r.result = out;
        boolean queued = false;
        try {
            steps.enqueue(r, f);
            queued = true;
        } finally {
            if (!queued) {
                r.result = null;
                s.busy.set(false);
            }
        }
    }

    /** The queue of steps: gathers the taken streams' rows, steps them as one batch, scatters the results. */
    private final class Steps extends BatchQueue<Step, float[]> {
        Steps(int maxBatch, long maxWait, TimeUnit unit, int queueCapacity, boolean blockWhenFull) {
            super("step", maxBatch, maxWait, unit, queueCapacity, blockWhenFull);
        }

        @Override
        void released(Step r) {
            r.stream.busy.set(false);
        }

        @Override
        void process(Object[] taken, int n) { // a throw leaves every stream's state unchanged
            RnnState st = states[n - 1];
            if (st == null) { // once per batch size
                st = states[n - 1] = model.newState(n);
                xs[n - 1] = new float[n * in];
                xViews[n - 1] = Tensor.of(xs[n - 1], n, in);
            }
            float[] x = xs[n - 1];
            for (int i = 0; i < n; i++) {
                Step r = (Step) taken[i];
                Stream s = r.stream;
                System.arraycopy(r.x, 0, x, i * in, in);
                for (int l = 0; l < layers; l++) {
                    System.arraycopy(s.h, l * hOut, st.h, (l * n + i) * hOut, hOut);
                    if (s.c != null) {
                        System.arraycopy(s.c, l * hidden, st.c, (l * n + i) * hidden, hidden);
                    }
                }
            }
            model.step(xViews[n - 1], st);
            for (int i = 0; i < n; i++) {
                Step r = (Step) taken[i];
                Stream s = r.stream;
                for (int l = 0; l < layers; l++) {
                    System.arraycopy(st.h, (l * n + i) * hOut, s.h, l * hOut, hOut);
                    if (s.c != null) {
                        System.arraycopy(st.c, (l * n + i) * hidden, s.c, l * hidden, hidden);
                    }
                }
                System.arraycopy(st.out, i * hOut, r.result, 0, hOut);
            }
        }
    }

    /**
     * What a batcher has done so far.
     *
     * @param steps        requests answered (steps; for a {@link SequenceBatcher}, sequences)
     * @param batches      batches run
     * @param queued       requests waiting now
     * @param meanWaitMs   mean time from a request's queueing to its batch's start
     * @param maxWaitMs    the longest such wait
     * @param batchSizes   how many batches had each size (index = rows; index 0 unused)
     */
    public record Stats(long steps, long batches, int queued, double meanWaitMs, double maxWaitMs, long[] batchSizes) {
        /** Mean rows per batch. */
        public double meanBatch() {
            return batches == 0 ? 0 : (double) steps / batches;
        }
    }

    /** The statistics so far. */
    public Stats stats() {
        return steps.stats();
    }

    /**
     * Refuses new steps, answers every queued one, then stops the worker; idempotent. Does not
     * close the model.
     */
    @Override
    public void close() {
        steps.close();
    }

    /** The streams' model. */
    public RnnModel model() {
        return model;
    }
}
