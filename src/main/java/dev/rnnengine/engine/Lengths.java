package dev.rnnengine.engine;

import java.util.Arrays;

/**
 * PyTorch's packed-sequence semantics, in one place: at time step t a sequence is active iff
 * {@code t < length} (in both directions: the reverse pass starts at the sequence's own last
 * step); inactive sequences keep their state and output zeros. Rows are ordered by length,
 * longest first (stable), so the rows active at step t are the first {@link #active(int)} of
 * {@link #order()}, and equal lengths are contiguous (the groups a whole-layer backend runs).
 * Reused across calls: nothing is allocated once its arrays have grown to the call's size.
 */
final class Lengths {
    private int[] order = new int[0];
    private int[] activeAt = new int[0]; // activeAt[t]: rows with length > t
    private int[] counts = new int[0];
    private int[] lengths;               // null: every row has length seqLen
    private int batch;
    private int seqLen;

    /** Plans a call of {@code batch} rows of at most {@code seqLen} steps; {@code lengths} may be null. */
    void plan(int[] lengths, int seqLen, int batch) {
        this.batch = batch;
        this.seqLen = seqLen;
        this.lengths = uniform(lengths, seqLen, batch) ? null : lengths;
        if (order.length < batch) {
            order = new int[batch];
        }
        if (this.lengths == null) {
            for (int i = 0; i < batch; i++) {
                order[i] = i;
            }
            return;
        }
        // Counting sort by length, longest first, stable: O(N + T).
        if (counts.length < seqLen + 2) {
            counts = new int[seqLen + 2];
        }
        Arrays.fill(counts, 0, seqLen + 2, 0);
        for (int i = 0; i < batch; i++) {
            counts[seqLen - lengths[i]]++;
        }
        for (int k = 0, at = 0; k <= seqLen; k++) {
            int c = counts[k];
            counts[k] = at;
            at += c;
        }
        for (int i = 0; i < batch; i++) {
            order[counts[seqLen - lengths[i]]++] = i;
        }
        if (activeAt.length < seqLen) {
            activeAt = new int[seqLen];
        }
        int n = batch;
        for (int t = 0; t < seqLen; t++) {
            while (n > 0 && lengths[order[n - 1]] <= t) {
                n--;
            }
            activeAt[t] = n;
        }
    }

    private static boolean uniform(int[] lengths, int seqLen, int batch) {
        if (lengths == null) {
            return true;
        }
        for (int i = 0; i < batch; i++) {
            if (lengths[i] != seqLen) {
                return false;
            }
        }
        return true;
    }

    /** Drops the reference to the caller's lengths (the plan stays valid until the next {@link #plan}). */
    void clear() {
        lengths = null;
    }

    /** True when every sequence has the call's full length. */
    boolean uniform() {
        return lengths == null;
    }

    /** Rows by length, longest first; the first {@link #active(int)} are active at step t. */
    int[] order() {
        return order;
    }

    /** The number of rows active at step t. */
    int active(int t) {
        return lengths == null ? batch : activeAt[t];
    }

    /** The length of row {@code row}. */
    int length(int row) {
        return lengths == null ? seqLen : lengths[row];
    }

    /**
     * Writes PyTorch's padding: zeros in columns {@code [from, to)} of {@code y}'s rows at step
     * t (row n at {@code (t * batch + n) * width}) for every sequence inactive at t.
     */
    void zeroInactive(float[] y, int t, int width, int from, int to) {
        for (int i = active(t); i < batch; i++) {
            int at = (t * batch + order[i]) * width;
            Arrays.fill(y, at + from, at + to, 0f);
        }
    }
}
