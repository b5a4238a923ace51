package dev.rnnengine.engine;

/**
 * The kernels of a backend that runs whole layers itself (oneDNN's RNN primitives): one call
 * per layer, both directions, over sequences that all have the same length. The
 * {@link LayerDriver} gives every call such a batch (grouping sequences by length), the
 * initial state (copied or zero), and writes back outputs, final states and the zero padding.
 *
 * @param <C> the kernel's per-call context
 */
public interface LayerKernels<C> extends Kernels {
    /** A new per-call context; the driver pools it. */
    C newContext();

    /** Starts a call on the calling thread (a core permit, the library's thread count). */
    default void begin(C ctx) { }

    /** Ends a call started by {@link #begin}, also when it failed. */
    default void end(C ctx) { }

    /**
     * Runs layer {@code layer} over {@code batch} sequences of length {@code seqLen}, dense:
     * {@code x (T, N, in)}, {@code h0}/{@code hN} {@code (dirs, N, H_out)} from their offsets,
     * {@code c0}/{@code cN} {@code (dirs, N, H)} (LSTM, else null), {@code y (T, N, dirs*H_out)}.
     * {@code hN} may be {@code h0}'s array: read the initial state before writing the final one.
     */
    void runLayer(C ctx, int layer, int seqLen, int batch, float[] x, float[] h0, int h0At, float[] c0, int c0At,
                  float[] y, float[] hN, int hNAt, float[] cN, int cNAt);

    /**
     * Whether {@link #runDirection} runs one direction of a bidirectional layer on its own, so the
     * driver may run the two directions at once, one per thread (each on half the threads).
     */
    default boolean directionsApart() {
        return false;
    }

    /**
     * Direction {@code dir} of {@link #runLayer}'s layer, with the same arguments, of which it reads
     * and writes only its own parts: block {@code dir} of h0, c0, hN and cN, and columns
     * {@code [dir*H_out, (dir+1)*H_out)} of y. The driver may call it for both directions at once,
     * from two threads, with the same context, between {@link #begin} and {@link #end} on its own thread.
     *
     * @throws UnsupportedOperationException unless {@link #directionsApart()}
     */
    default void runDirection(C ctx, int layer, int dir, int seqLen, int batch, float[] x, float[] h0, int h0At,
                              float[] c0, int c0At, float[] y, float[] hN, int hNAt, float[] cN, int cNAt) {
        throw new UnsupportedOperationException("these kernels run both directions of a layer together");
    }
}
