package dev.rnnengine.engine;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Persistent worker threads shared by every open model that asks for the same thread count.
 *
 * <p>The caller is worker 0; {@code threads - 1} daemon threads are the others. Idle workers
 * spin briefly (a streaming caller's next step usually comes within microseconds), then
 * park. One task runs at a time: a caller that finds the pool busy runs its task alone on its
 * own thread, so several Java threads calling at once never oversubscribe the cores and
 * never wait for each other. Pools are counted by their users ({@link #acquire},
 * {@link #release}): when the last model using one closes, its threads end.
 */
final class WorkerPool {
    /** Work split across workers; {@code abort} breaks its barriers when a worker fails. */
    interface Task {
        /** Runs worker {@code worker}'s share, {@code 0 <= worker < workers}. */
        void run(int worker, int workers);

        /** Called when a worker has thrown: release every barrier so the others return. */
        void abort();
    }

    private static final Map<Integer, WorkerPool> SHARED = new HashMap<>(); // guarded by itself
    private static final java.util.Set<WorkerPool> OWN = new java.util.HashSet<>(); // one user's pools; guarded by SHARED
    private static final long IDLE_SPIN_NANOS = 200_000;

    private final int size;
    private final Thread[] threads;
    private final ReentrantLock busy = new ReentrantLock();
    private final AtomicInteger remaining = new AtomicInteger();
    private int users; // guarded by SHARED
    private volatile boolean stopped;
    private volatile Task task;
    private volatile int epoch;
    private volatile Throwable failure;

    private WorkerPool(int size) {
        this.size = size;
        this.threads = new Thread[size - 1];
        for (int i = 1; i < size; i++) {
            int id = i;
            Thread t = new Thread(() -> loop(id), "rnn-worker-" + id + "-of-" + size);
            t.setDaemon(true);
            threads[i - 1] = t;
            try {
                t.start();
            } catch (OutOfMemoryError | RuntimeException e) { // the process's thread limit
                stop();
                throw new IllegalStateException("could not start worker thread " + id + " of " + (size - 1) + " ("
                    + e.getMessage() + "): use fewer threads, or raise the process's thread limit (ulimit -u)", e);
            }
        }
    }

    /**
     * A pool of {@code threads} workers for one user alone (no other model's task makes it busy);
     * pair with {@link #release()}.
     *
     * @throws IllegalArgumentException if threads is below 1
     * @throws IllegalStateException if the threads cannot be started
     */
    static WorkerPool own(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        WorkerPool p = new WorkerPool(threads);
        synchronized (SHARED) {
            p.users = 1;
            OWN.add(p);
        }
        return p;
    }

    /**
     * The process-wide pool of {@code threads} workers, created on first use; pair with
     * {@link #release()} when the user closes.
     *
     * @throws IllegalArgumentException if threads is below 1
     * @throws IllegalStateException if the threads cannot be started
     */
    static WorkerPool acquire(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        synchronized (SHARED) {
            WorkerPool p = SHARED.get(threads);
            if (p == null) {
                p = new WorkerPool(threads);
                SHARED.put(threads, p);
            }
            p.users++;
            return p;
        }
    }

    /** Ends one user's claim; the last one stops the threads (a task in flight finishes first). */
    void release() {
        synchronized (SHARED) {
            if (--users > 0) {
                return;
            }
            SHARED.remove(size, this);
            OWN.remove(this);
        }
        busy.lock(); // no task runs once we hold it
        try {
            stop();
        } finally {
            busy.unlock();
        }
    }

    private void stop() {
        stopped = true;
        for (Thread t : threads) {
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    /** The number of live pool threads in the process (for tests and {@code rnn soak}). */
    static int liveThreads() {
        synchronized (SHARED) {
            int n = 0;
            for (WorkerPool p : SHARED.values()) {
                n += p.size - 1;
            }
            for (WorkerPool p : OWN) {
                n += p.size - 1;
            }
            return n;
        }
    }

    /** The number of workers, the caller included. */
    int size() {
        return size;
    }

    /**
     * Runs a task on every worker and returns when all are done; runs it alone on the calling
     * thread ({@code workers == 1}) when the pool is busy with another caller's task.
     *
     * @throws RuntimeException the first failure of any worker
     */
    void run(Task t) {
        if (size == 1 || !busy.tryLock()) {
            t.run(0, 1);
            return;
        }
        try {
            if (stopped) { // released while this caller's model was closing: run alone
                t.run(0, 1);
                return;
            }
            failure = null;
            task = t;
            remaining.set(size - 1);
            epoch = epoch + 1; // publishes the task
            for (Thread th : threads) {
                LockSupport.unpark(th);
            }
            Throwable mine = null;
            try {
                t.run(0, size);
            } catch (Throwable e) {
                mine = e;
                t.abort();
            }
            while (remaining.get() != 0) {
                Thread.onSpinWait();
            }
            task = null;
            // A worker's own exception is the cause; the caller's is then only the broken barrier.
            Throwable f = failure != null ? failure : mine;
            if (failure != null && mine != null && mine != failure) {
                failure.addSuppressed(mine);
            }
            if (f instanceof RuntimeException re) {
                throw re;
            }
            if (f instanceof Error er) {
                throw er;
            }
            if (f != null) {
                throw new IllegalStateException(f);
            }
        } finally {
            busy.unlock();
        }
    }

    private void loop(int id) {
        int seen = 0;
        while (true) {
            long spinStart = System.nanoTime();
            while (epoch == seen) {
                if (stopped) {
                    return;
                }
                if (System.nanoTime() - spinStart < IDLE_SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            seen = epoch;
            Task t = task;
            try {
                t.run(id, size);
            } catch (Throwable e) {
                failure = e;
                t.abort();
            } finally {
                remaining.decrementAndGet();
            }
        }
    }
}
