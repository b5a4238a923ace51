package dev.rnnengine.api;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * The one gathering loop of {@link StreamBatcher} (steps) and {@link SequenceBatcher} (whole
 * sequences): callers queue requests, one worker thread takes the first, waits at most
 * {@code maxWait} after it was queued for more (up to {@code maxBatch}), and runs them as one
 * batch ({@link #process}). Here live the rules that nothing is lost or mixed up: a caller
 * interrupted while its request is still queued withdraws it; a batch that fails fails each of
 * its callers; {@link #close} refuses new requests and answers every queued one first; an
 * {@link Error} in a batch stops the worker, and later requests are refused.
 *
 * @param <R> the request type
 * @param <T> what a request is answered with
 */
abstract class BatchQueue<R extends BatchQueue.Request<T>, T> implements AutoCloseable {
    /** One queued request; the subclass adds its inputs and sets {@link #result} before or in {@link #process}. */
    static class Request<T> {
        T result;
        long queuedAt;
        Thread waiter;
        CompletableFuture<T> future;
        volatile boolean done;
        volatile RuntimeException failure;
    }

    private final String what;
    private final int maxBatch;
    private final long maxWaitNanos;
    private final boolean blockWhenFull;
    private final ArrayBlockingQueue<R> queue;
    private final Object[] taken;
    private final Thread worker;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean stopped;
    private Error fatal; // worker thread only
    private final AtomicLong answered = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong waitNanos = new AtomicLong();
    private final AtomicLong maxWaitSeen = new AtomicLong();
    private final AtomicLongArray batchSizes;

    /**
     * @param what what a request is, for messages ("step", "sequence")
     * @throws IllegalArgumentException if a size is out of range
     */
    BatchQueue(String what, int maxBatch, long maxWait, TimeUnit unit, int queueCapacity, boolean blockWhenFull) {
        if (maxBatch < 1 || queueCapacity < maxBatch || maxWait < 0) {
            throw new IllegalArgumentException("need maxBatch >= 1, queueCapacity >= maxBatch and maxWait >= 0; got "
                + maxBatch + ", " + queueCapacity + ", " + maxWait);
        }
        this.what = what;
        this.maxBatch = maxBatch;
        this.maxWaitNanos = unit.toNanos(maxWait);
        this.blockWhenFull = blockWhenFull;
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.taken = new Object[maxBatch];
        this.batchSizes = new AtomicLongArray(maxBatch + 1);
        this.worker = new Thread(this::run, "rnn-" + what + "-batcher");
        worker.setDaemon(true);
    }

    /** Starts the worker; called last by the subclass's constructor. */
    final void start() {
        worker.start();
    }

    /**
     * Runs {@code n} taken requests as one batch, setting each one's {@code result}, or its
     * {@code failure} to fail that request alone; a throw fails them all.
     */
    abstract void process(Object[] taken, int n);

    /** The request is over (answered, failed or withdrawn): the subclass frees what it holds for it. */
    void released(R r) {
    }

    /** The most requests in one batch. */
    final int maxBatch() {
        return maxBatch;
    }

    /**
     * Queues {@code r} ({@code f} null for a caller that will {@link #await}).
     *
     * @throws IllegalStateException if closed, stopped, or full when not blocking
     * @throws InterruptedException if interrupted while waiting for room
     */
    final void enqueue(R r, CompletableFuture<T> f) throws InterruptedException {
        r.waiter = Thread.currentThread();
        r.future = f;
        r.failure = null;
        r.done = false;
        r.queuedAt = System.nanoTime();
        if (closed.get() || stopped) {
            throw refused();
        }
        if (blockWhenFull) {
            while (!queue.offer(r, 10, TimeUnit.MILLISECONDS)) {
                if (closed.get()) {
                    throw refused();
                }
            }
        } else if (!queue.offer(r)) {
            throw new IllegalStateException("the " + what + " batcher's queue is full (" + queue.size() + " waiting)");
        }
        if (stopped && queue.remove(r)) { // queued after the worker's last drain
            throw refused();
        }
    }

    private IllegalStateException refused() {
        return new IllegalStateException(closed.get() ? "the " + what + " batcher is closed"
            : "the " + what + " batcher's worker stopped after an error");
    }

    /**
     * Waits until {@code r} has run and returns its result.
     *
     * @throws IllegalStateException if its batch failed
     * @throws InterruptedException if interrupted while it was still queued (it is withdrawn;
     *         once taken it completes in a batch's time and the interrupt flag is kept)
     */
    final T await(R r) throws InterruptedException {
        boolean interrupted = false;
        while (!r.done) {
            LockSupport.park(this);
            if (Thread.interrupted()) {
                if (queue.remove(r)) {
                    released(r);
                    throw new InterruptedException("the " + what + " was withdrawn before it ran");
                }
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        RuntimeException e = r.failure;
        T out = r.result;
        r.result = null;
        released(r);
        if (e != null) {
            throw failed(e);
        }
        return out;
    }

    private IllegalStateException failed(RuntimeException e) {
        return new IllegalStateException("the batched " + what + " failed: " + e.getMessage(), e);
    }

    @SuppressWarnings("unchecked")
    private void run() {
        try {
            while (true) {
                R first = queue.poll(20, TimeUnit.MILLISECONDS);
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
                    R r = queue.poll();
                    if (r == null) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0 || closed.get()) {
                            break;
                        }
                        r = queue.poll(left, TimeUnit.NANOSECONDS);
                        if (r == null) {
                            break;
                        }
                    }
                    taken[n++] = r;
                }
                runBatch(n);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stopped = true;
            R r;
            while ((r = queue.poll()) != null) { // only after a failure of the worker itself
                complete(r, new IllegalStateException("the " + what + " batcher stopped"));
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void runBatch(int n) {
        long now = System.nanoTime();
        RuntimeException failure = null;
        try {
            process(taken, n);
        } catch (RuntimeException e) { // every request of the batch learns it
            failure = e;
        } catch (Error e) { // likewise, then the worker stops (enqueue refuses from then on)
            failure = new IllegalStateException(e.toString(), e);
            fatal = e;
        }
        long waited = 0;
        for (int i = 0; i < n; i++) {
            long w = now - ((R) taken[i]).queuedAt;
            waited += w;
            maxWaitSeen.accumulateAndGet(w, Math::max);
        }
        // Counted before anyone is answered: a caller reading stats() after its answer sees its request.
        answered.addAndGet(n);
        batches.incrementAndGet();
        waitNanos.addAndGet(waited);
        batchSizes.incrementAndGet(n);
        for (int i = 0; i < n; i++) {
            R r = (R) taken[i];
            complete(r, failure != null ? failure : r.failure); // process may fail one request alone
            taken[i] = null;
        }
        if (fatal != null) {
            Error e = fatal;
            fatal = null;
            throw e;
        }
    }

    private void complete(R r, RuntimeException failure) {
        r.failure = failure;
        CompletableFuture<T> f = r.future;
        Thread w = r.waiter;
        if (f != null) {
            T out = r.result;
            r.result = null;
            r.future = null;
            released(r);
            if (failure != null) {
                f.completeExceptionally(failed(failure));
            } else {
                f.complete(out);
            }
            return;
        }
        r.done = true;
        LockSupport.unpark(w);
    }

    /** The statistics so far. */
    final StreamBatcher.Stats stats() {
        long[] sizes = new long[batchSizes.length()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = batchSizes.get(i);
        }
        long s = answered.get();
        return new StreamBatcher.Stats(s, batches.get(), queue.size(), s == 0 ? 0 : waitNanos.get() / 1e6 / s,
            maxWaitSeen.get() / 1e6, sizes);
    }

    /** Refuses new requests, answers every queued one, then stops the worker; idempotent. */
    @Override
    public void close() {
        closed.set(true);
        if (Thread.currentThread() == worker) { // from a completion on the worker: it drains and stops after this batch
            return;
        }
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

    /** True once closed. */
    final boolean isClosed() {
        return closed.get();
    }
}
