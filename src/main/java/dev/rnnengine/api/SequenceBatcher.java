package dev.rnnengine.api;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Many callers, one model, whole sequences: each caller's {@link #forward} of one sequence
 * waits in a queue, and one worker thread packs the waiting sequences, of any lengths, into one
 * padded batch run with lengths ({@link RnnModel#forward(Tensor, Tensor, Tensor, int[])},
 * PyTorch's packed-sequence semantics), so the weights are read once per step for all of
 * them. Each caller gets what {@code model.forward} of its sequence alone gives: to the bit on
 * {@code scalar}, within the reference tolerance on the other backends (a batch sums in another
 * order than one row). Bidirectional models work too.
 *
 * <p>The same rules as {@link StreamBatcher} ({@link BatchQueue}): a bad input is refused for
 * its caller before it is queued; a caller interrupted while its sequence is still queued gets
 * {@link InterruptedException}; {@link #close} refuses new calls and answers every queued one.
 * A call allocates its result tensors (as {@code forward} does); the batch's buffers are reused.
 */
public final class SequenceBatcher implements AutoCloseable {
    private final RnnModel model;
    private final RnnSpec spec;
    private final int in;
    private final int features;
    private final int states;
    private final Calls calls;
    // The worker's buffers, grown to the largest batch seen.
    private float[] x = new float[0];
    private float[] h0 = new float[0];
    private float[] c0 = new float[0];
    private final int[][] lengths;
    /** The most floats of a padded batch (input or output); beyond it the calls run one by one. */
    static final long PADDED_LIMIT = 1L << 25;

    /**
     * A batcher over {@code model}, with its own worker thread.
     *
     * @param maxBatch      the most sequences in one batch (at least 1)
     * @param maxWait       how long the worker waits after a batch's first call for more
     * @param queueCapacity how many calls may wait (at least {@code maxBatch})
     * @param blockWhenFull when the queue is full: true blocks the caller, false throws
     *                      {@link IllegalStateException}
     * @throws IllegalArgumentException if a size is out of range
     * @throws IllegalStateException if the model is closed
     */
    public SequenceBatcher(RnnModel model, int maxBatch, long maxWait, TimeUnit unit, int queueCapacity,
                           boolean blockWhenFull) {
        this.model = model;
        this.spec = model.spec();
        this.in = spec.inputSize();
        this.features = spec.directions() * spec.outputHiddenSize();
        this.states = spec.numLayers() * spec.directions();
        this.calls = new Calls(maxBatch, maxWait, unit, queueCapacity, blockWhenFull);
        this.lengths = new int[maxBatch][];
        calls.start();
    }

    /**
     * A batcher with a 200 µs wait, batches of up to 64 sequences and a blocking queue of 1,024.
     *
     * @throws IllegalStateException if the model is closed
     */
    public SequenceBatcher(RnnModel model) {
        this(model, 64, 200, TimeUnit.MICROSECONDS, 1024, true);
    }

    /** One caller's sequence and initial state (copied), then its result. */
    private static final class Call extends BatchQueue.Request<RnnOutput> {
        final float[] x;
        final int steps;
        final float[] h0;
        final float[] c0;

        Call(float[] x, int steps, float[] h0, float[] c0) {
            this.x = x;
            this.steps = steps;
            this.h0 = h0;
            this.c0 = c0;
        }
    }

    /**
     * Runs one unbatched sequence, as {@code model.forward(x, h0, c0, null)}; blocks until the
     * batch that carried it has run.
     *
     * @param x  {@code (T, input_size)}, T at least 1 (copied before this returns)
     * @param h0 {@code (L*dirs, H_out)}, or null for zeros
     * @param c0 LSTM only: {@code (L*dirs, H)}, or null; an LSTM takes both or neither
     * @return output {@code (T, dirs*H_out)}, h_n {@code (L*dirs, H_out)} and, for an LSTM, c_n
     *         {@code (L*dirs, H)}
     * @throws IllegalArgumentException if a shape is wrong (nothing is queued)
     * @throws IllegalStateException if the batcher is closed, the queue is full (when not
     *         blocking), or the batch failed
     * @throws InterruptedException if interrupted while the call was still queued
     */
    public RnnOutput forward(Tensor x, Tensor h0, Tensor c0) throws InterruptedException {
        Call c = call(x, h0, c0);
        calls.enqueue(c, null);
        return calls.await(c);
    }

    /**
     * As {@link #forward(Tensor, Tensor, Tensor)} from zero states.
     *
     * @throws IllegalArgumentException if x's shape is wrong
     * @throws IllegalStateException if the batcher is closed, the queue is full (when not
     *         blocking), or the batch failed
     * @throws InterruptedException if interrupted while the call was still queued
     */
    public RnnOutput forward(Tensor x) throws InterruptedException {
        return forward(x, null, null);
    }

    /**
     * As {@link #forward(Tensor, Tensor, Tensor)}, without blocking; the future completes on the
     * batcher's worker thread (chain with the {@code *Async} methods).
     *
     * @throws IllegalArgumentException if a shape is wrong
     * @throws IllegalStateException if the batcher is closed or the queue is full (when not blocking)
     * @throws InterruptedException if interrupted while waiting for room in a full queue
     */
    public CompletableFuture<RnnOutput> forwardAsync(Tensor x, Tensor h0, Tensor c0) throws InterruptedException {
        CompletableFuture<RnnOutput> f = new CompletableFuture<>();
        calls.enqueue(call(x, h0, c0), f);
        return f;
    }

    private Call call(Tensor x, Tensor h0, Tensor c0) {
        if (x == null || x.dim() != 2 || x.size(0) < 1 || x.size(1) != in) {
            throw new IllegalArgumentException("a sequence must be (T, " + in + ") with T >= 1, got "
                + (x == null ? "null" : x.shapeString()));
        }
        boolean lstm = spec.mode().hasCellState();
        if (lstm && (h0 == null) != (c0 == null)) {
            throw new IllegalArgumentException("an LSTM takes both h0 and c0 or neither");
        }
        if (!lstm && c0 != null) {
            throw new IllegalArgumentException(spec.mode().moduleName() + " has no cell state: c0 must be null");
        }
        checkState("h0", h0, spec.outputHiddenSize());
        checkState("c0", c0, spec.hiddenSize());
        return new Call(x.toArray(), x.size(0), h0 == null ? null : h0.toArray(), c0 == null ? null : c0.toArray());
    }

    private void checkState(String name, Tensor t, int width) {
        if (t != null && (t.dim() != 2 || t.size(0) != states || t.size(1) != width)) {
            throw new IllegalArgumentException(name + " must be (" + states + ", " + width + "), got " + t.shapeString());
        }
    }

    /** The queue of calls: packs the taken sequences, runs them with lengths, hands each its rows. */
    private final class Calls extends BatchQueue<Call, RnnOutput> {
        Calls(int maxBatch, long maxWait, TimeUnit unit, int queueCapacity, boolean blockWhenFull) {
            super("sequence", maxBatch, maxWait, unit, queueCapacity, blockWhenFull);
        }

        @Override
        void process(Object[] taken, int n) {
            int t = 0;
            boolean withState = false;
            for (int i = 0; i < n; i++) {
                Call c = (Call) taken[i];
                t = Math.max(t, c.steps);
                withState |= c.h0 != null;
            }
            boolean bf = spec.batchFirst();
            int hOut = spec.outputHiddenSize();
            int hidden = spec.hiddenSize();
            boolean lstm = spec.mode().hasCellState();
            if ((long) t * n * Math.max(in, features) > PADDED_LIMIT) { // one long sequence must not inflate the batch
                alone(taken, n);
                return;
            }
            if (x.length < t * n * in) {
                x = new float[t * n * in];
            }
            Arrays.fill(x, 0, t * n * in, 0f); // padding: rows past a length are never read, but keep them finite
            int[] len = lengths[n - 1] == null ? (lengths[n - 1] = new int[n]) : lengths[n - 1];
            for (int i = 0; i < n; i++) {
                Call c = (Call) taken[i];
                len[i] = c.steps;
                for (int s = 0; s < c.steps; s++) {
                    System.arraycopy(c.x, s * in, x, (bf ? i * t + s : s * n + i) * in, in);
                }
            }
            Tensor h = null;
            Tensor cs = null;
            if (withState) {
                h0 = atLeast(h0, states * n * hOut);
                if (lstm) {
                    c0 = atLeast(c0, states * n * hidden);
                }
                for (int i = 0; i < n; i++) {
                    Call c = (Call) taken[i];
                    for (int k = 0; k < states; k++) {
                        copyOrZero(c.h0, k * hOut, h0, (k * n + i) * hOut, hOut);
                        if (lstm) {
                            copyOrZero(c.c0, k * hidden, c0, (k * n + i) * hidden, hidden);
                        }
                    }
                }
                h = Tensor.wrap(h0, 0, states, n, hOut); // views over the buffers' prefix
                cs = lstm ? Tensor.wrap(c0, 0, states, n, hidden) : null;
            }
            Tensor input = bf ? Tensor.wrap(x, 0, n, t, in) : Tensor.wrap(x, 0, t, n, in);
            RnnOutput r = model.forward(input, h, cs, len);
            float[] y = r.output().toArray();
            float[] hn = r.hN().toArray();
            float[] cn = r.cN() == null ? null : r.cN().toArray();
            for (int i = 0; i < n; i++) {
                Call c = (Call) taken[i];
                float[] out = new float[c.steps * features];
                for (int s = 0; s < c.steps; s++) {
                    System.arraycopy(y, (bf ? i * t + s : s * n + i) * features, out, s * features, features);
                }
                c.result = new RnnOutput(Tensor.of(out, c.steps, features), Tensor.of(rows(hn, i, n, hOut), states, hOut),
                    cn == null ? null : Tensor.of(rows(cn, i, n, hidden), states, hidden));
            }
        }

        /** Each call run by itself; one that fails fails alone. */
        private void alone(Object[] taken, int n) {
            for (int i = 0; i < n; i++) {
                Call c = (Call) taken[i];
                try {
                    Tensor h = c.h0 == null ? null : Tensor.of(c.h0, states, spec.outputHiddenSize());
                    Tensor cs = c.c0 == null ? null : Tensor.of(c.c0, states, spec.hiddenSize());
                    c.result = model.forward(Tensor.of(c.x, c.steps, in), h, cs, null);
                } catch (RuntimeException e) {
                    c.failure = e;
                }
            }
        }

        private float[] rows(float[] all, int i, int n, int width) {
            float[] out = new float[states * width];
            for (int k = 0; k < states; k++) {
                System.arraycopy(all, (k * n + i) * width, out, k * width, width);
            }
            return out;
        }
    }

    private static float[] atLeast(float[] a, int size) {
        return a.length < size ? new float[size] : a;
    }

    private static void copyOrZero(float[] src, int from, float[] dst, int to, int len) {
        if (src == null) {
            Arrays.fill(dst, to, to + len, 0f);
        } else {
            System.arraycopy(src, from, dst, to, len);
        }
    }

    /** The statistics so far ({@code steps} counts sequences answered). */
    public StreamBatcher.Stats stats() {
        return calls.stats();
    }

    /**
     * Refuses new calls, answers every queued one, then stops the worker; idempotent. Does not
     * close the model.
     */
    @Override
    public void close() {
        calls.close();
    }

    /** The model. */
    public RnnModel model() {
        return model;
    }
}
