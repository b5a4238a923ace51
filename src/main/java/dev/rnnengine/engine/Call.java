package dev.rnnengine.engine;

/**
 * One forward call in the canonical, time-major layout, as the front-end hands it to a
 * {@link PreparedModel}. The front-end fills the fields after checking every size; the
 * driver reads them and writes {@code y}, {@code hN}, {@code cN}.
 *
 * <p>Shapes ({@code L} layers, {@code dirs} directions, {@code H_out} = proj or hidden size):
 * <pre>
 *   x       (T, N, D)               input
 *   h0      (L*dirs, N, H_out)      or null for zeros
 *   c0      (L*dirs, N, H)          LSTM only, or null for zeros
 *   lengths (N)                     each in 1..T, or null when every sequence has length T
 *   y       (T, N, dirs*H_out)      output; zero at steps past a sequence's length
 *   hN      (L*dirs, N, H_out)      may be the same array as h0 (streaming)
 *   cN      (L*dirs, N, H)          LSTM only; may be the same array as c0
 * </pre>
 * Arrays may be longer than the shape; elements start at index 0.
 */
public final class Call {
    public int seqLen;
    public int batch;
    public float[] x;
    public float[] h0;
    public float[] c0;
    public int[] lengths;
    public float[] y;
    public float[] hN;
    public float[] cN;

    /** Drops the references to the caller's arrays so a pooled call pins no user data. */
    public void clear() {
        x = h0 = c0 = y = hN = cN = null;
        lengths = null;
    }
}
