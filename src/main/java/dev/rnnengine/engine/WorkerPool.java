package dev.rnnengine.engine;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Persistent worker threads shared by every model that asks for the same thread count.
 *
 * <p>The caller is worker 0; {@code threads - 1} daemon threads are the others. Idle workers
 * spin briefly (a streaming caller's next step usually comes within microseconds), then
 * park. One task runs at a time: a caller that finds the pool busy runs its task alone on its
 * own thread, so several Java threads calling at once never oversubscribe the cores and
 * never wait for each other.
 */
public final class WorkerPool {
    /** Work split across workers; {@code abort} breaks its barriers when a worker fails. */
    public interface Task {
        /** Runs worker {@code worker}'s share, {@code 0 <= worker < workers}. */
        void run(int worker, int workers);

        /** Called when a worker has thrown: release every barrier so the others return. */
        void abort();
    }

    private static final ConcurrentHashMap<Integer, WorkerPool> SHARED = new ConcurrentHashMap<>();
    private static final long IDLE_SPIN_NANOS = 200_000;

    private final int size;
    private final Thread[] threads;
    private final ReentrantLock busy = new ReentrantLock();
    private final AtomicInteger remaining = new AtomicInteger();
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
            t.start();
        }
    }

    /**
     * The process-wide pool of {@code threads} workers (created on first use).
     *
     * @throws IllegalArgumentException if threads is below 1
     */
    public static WorkerPool shared(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        return SHARED.computeIfAbsent(threads, WorkerPool::new);
    }

    /** The number of workers, the caller included. */
    public int size() {
        return size;
    }

    /**
     * Runs a task on every worker and returns when all are done; runs it alone on the calling
     * thread ({@code workers == 1}) when the pool is busy with another caller's task.
     *
     * @throws RuntimeException the first failure of any worker
     */
    public void run(Task t) {
        if (size == 1 || !busy.tryLock()) {
            t.run(0, 1);
            return;
        }
        try {
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
            Throwable f = mine != null ? mine : failure;
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
