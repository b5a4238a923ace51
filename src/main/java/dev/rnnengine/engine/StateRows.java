package dev.rnnengine.engine;

import java.util.Arrays;

/**
 * The initial-state copy (copy or zero) and the final-state write-back, in one place, for
 * both drivers. A state array is {@code (blocks, batch, width)}: block {@code layer * dirs + dir}.
 */
final class StateRows {
    private StateRows() { }

    /**
     * {@code dst[(b * n + i) * dstStride + k] = src[((block0 + b) * batch + row(i)) * width + k]}
     * for {@code b < blocks}, {@code i < n}, {@code from <= k < to}, or zero when {@code src}
     * is null; {@code row(i)} is {@code rows[rowsAt + i]}, or i when {@code rows} is null.
     */
    static void load(float[] src, int block0, int blocks, int batch, int[] rows, int rowsAt, int n, int width,
                     int from, int to, float[] dst, int dstStride) {
        if (to <= from) {
            return;
        }
        for (int b = 0; b < blocks; b++) {
            for (int i = 0; i < n; i++) {
                int d = (b * n + i) * dstStride;
                if (src == null) {
                    Arrays.fill(dst, d + from, d + to, 0f);
                } else {
                    int row = rows == null ? i : rows[rowsAt + i];
                    System.arraycopy(src, ((block0 + b) * batch + row) * width + from, dst, d + from, to - from);
                }
            }
        }
    }

    /** The inverse of {@link #load}: writes the rows back into a {@code (blocks, batch, width)} state. */
    static void store(float[] src, int srcStride, int blocks, int n, int[] rows, int rowsAt, int from, int to,
                      float[] dst, int block0, int batch, int width) {
        if (to <= from) {
            return;
        }
        for (int b = 0; b < blocks; b++) {
            for (int i = 0; i < n; i++) {
                int row = rows == null ? i : rows[rowsAt + i];
                System.arraycopy(src, (b * n + i) * srcStride + from, dst, ((block0 + b) * batch + row) * width + from,
                    to - from);
            }
        }
    }
}
