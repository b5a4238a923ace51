package dev.rnnengine.internal;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A pool of reusable per-call objects that allocates nothing to take or return one (a
 * {@code ConcurrentLinkedQueue} allocates a node per {@code offer}, which made every streaming
 * step allocate): a fixed array of slots, scanned from the first, so a lone caller keeps
 * reusing the same object (and its warm buffers). Under more concurrent callers than slots,
 * the extra objects are simply dropped when returned.
 *
 * @param <T> what is pooled
 */
public final class SlotPool<T> {
    private final AtomicReferenceArray<T> slots;

    /** A pool of at most {@code size} idle objects. */
    public SlotPool(int size) {
        slots = new AtomicReferenceArray<>(size);
    }

    /** An idle object, or null when there is none. */
    public T poll() {
        for (int i = 0; i < slots.length(); i++) {
            T t = slots.get(i);
            if (t != null && slots.compareAndSet(i, t, null)) {
                return t;
            }
        }
        return null;
    }

    /** Returns an object for later calls (dropped when every slot is taken). */
    public void offer(T t) {
        for (int i = 0; i < slots.length(); i++) {
            if (slots.get(i) == null && slots.compareAndSet(i, null, t)) {
                return;
            }
        }
    }

    /** Drops every idle object. */
    public void clear() {
        for (int i = 0; i < slots.length(); i++) {
            slots.set(i, null);
        }
    }
}
