package dev.rnnengine.engine;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Counts calls in flight so that {@code close()} can refuse new calls at once and free
 * native memory only after running calls have returned: no call ever touches freed memory.
 */
public final class CallGuard {
    private static final long CLOSED = 1L;
    private final AtomicLong state = new AtomicLong(); // (calls in flight << 1) | CLOSED
    private final String what;

    /** A guard for an object described as {@code what} in messages ("model", "state"). */
    public CallGuard(String what) {
        this.what = what;
    }

    /**
     * Registers a call; pair with {@link #exit()} in a finally block.
     *
     * @throws IllegalStateException if closed
     */
    public void enter() {
        while (true) {
            long s = state.get();
            if ((s & CLOSED) != 0) {
                throw new IllegalStateException("the " + what + " is closed");
            }
            if (state.compareAndSet(s, s + 2)) {
                return;
            }
        }
    }

    /**
     * For methods that only read fixed facts: no registration, just the closed check.
     *
     * @throws IllegalStateException if closed
     */
    public void checkOpen() {
        if (isClosed()) {
            throw new IllegalStateException("the " + what + " is closed");
        }
    }

    /** Ends a call registered by {@link #enter()}. */
    public void exit() {
        state.addAndGet(-2);
    }

    /** True once {@link #close()} has been called. */
    public boolean isClosed() {
        return (state.get() & CLOSED) != 0;
    }

    /**
     * Refuses new calls, then waits for calls in flight to return.
     *
     * @return true for the first call, which must then free the resources; false after
     */
    public boolean close() {
        while (true) {
            long s = state.get();
            if ((s & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s | CLOSED)) {
                break;
            }
        }
        while ((state.get() >>> 1) != 0) {
            LockSupport.parkNanos(50_000);
        }
        return true;
    }
}
