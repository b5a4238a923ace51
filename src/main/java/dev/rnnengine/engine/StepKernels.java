package dev.rnnengine.engine;

/**
 * The kernels of a backend whose recurrence the {@link StepDriver} runs: the input projection
 * of all rows of a layer, one recurrent step (matrix product and gate math fused) over a range
 * of rows and hidden units, and an LSTM's projection of h. The driver owns everything else:
 * layers and the buffers between them, directions and reversed time, initial and final
 * states, length masking, and how threads split the work.
 *
 * <p>Buffers are the driver's, laid out as {@link #geometry()} says; a kernel reads and
 * writes only the rows and units it is given, so workers calling it concurrently on disjoint
 * unit ranges never touch the same element. {@code C} is the kernel's own scratch (sized by
 * the batch), made by {@link #newContext()}: one per direction, since the two directions of a
 * layer may run at once, kept with the driver's buffers and reused by later calls. <b>All
 * workers of a direction call {@link #project}, {@link #step} and {@link #projectHidden} at
 * once with the same context</b>: its scratch must be split the same way (by unit or part),
 * never used whole by one call. {@code BackendContractTest} runs two threads on one context.
 *
 * @param <C> the kernel's per-call context
 */
public interface StepKernels<C> extends Kernels {
    /**
     * How the driver lays out buffers and splits work for these kernels.
     *
     * @param unitBlock       hidden units per indivisible block of a step (the vector length, or 1)
     * @param projectionBlock output units per indivisible block of an LSTM's projection
     * @param inputParts      indivisible work items of one input projection ({@link #project})
     * @param xpStride        floats per row of the input projection buffer (at least G*H)
     * @param hStride         floats per row of h (at least H_out)
     * @param cStride         floats per row of c and of h before the projection (at least H)
     * @param driverThreads   true when the driver's workers split units across cores; false when
     *                        the kernels thread internally (a native library) and the driver runs
     *                        every call on the calling thread alone
     */
    record Geometry(int unitBlock, int projectionBlock, int inputParts, int xpStride, int hStride, int cStride,
                    boolean driverThreads) { }

    /** The layout and work split, fixed for the model. */
    Geometry geometry();

    /** A new context (scratch of one direction); the driver pools it with the call's buffers. */
    C newContext();

    /** Sizes a context's scratch for a call of {@code batch} rows (on the calling thread). */
    default void reserve(C ctx, int seqLen, int batch) { }

    /** Starts a call on the calling thread, before any kernel: take what the library needs (a lock, its thread count). */
    default void begin() { }

    /** Ends a call started by {@link #begin}, also when it failed. */
    default void end() { }

    /**
     * The input projection of a layer for all {@code rows} rows of {@code x}
     * ({@code (rows, in)}, dense): {@code xp[r * xpStride + ...] = W_ih x_r + presummed bias},
     * for the work items {@code [part0, part1)} of {@link Geometry#inputParts()}.
     */
    void project(C ctx, int layer, int dir, float[] x, int rows, float[] xp, int part0, int part1);

    /**
     * Both input projections of a bidirectional layer, as {@link #project} of direction 0 into
     * {@code xpForward} and direction 1 into {@code xpReverse}: a backend whose GEMM can read x
     * once for both directions' weights (one GEMM over their columns) overrides it.
     */
    default void projectBoth(C forward, C reverse, int layer, float[] x, int rows, float[] xpForward,
                             float[] xpReverse, int part0, int part1) {
        project(forward, layer, 0, x, rows, xpForward, part0, part1);
        project(reverse, layer, 1, x, rows, xpReverse, part0, part1);
    }

    /**
     * One recurrent step of rows {@code rows[0..n)}, unit blocks {@code [u0, u1)}: reads
     * {@code h} (row r at {@code r * hStride}) and the input projection's row {@code xpRow0 + r}
     * (which it may overwrite: no later step reads it), updates {@code c} in place (LSTM), and
     * writes the new h into {@code out} (stride hStride; for a projected LSTM, o * tanh(c) with
     * stride cStride). {@code batch} rows of h exist; rows not listed must not be changed.
     * {@code xpRow0} is {@code t * batch} for time step t, so a kernel can tell consecutive steps
     * apart (the vector backend sweeps its weights in alternate directions).
     */
    void step(C ctx, int layer, int dir, float[] h, float[] xp, int xpRow0, float[] c, float[] out, int batch,
              int[] rows, int n, int u0, int u1);

    /**
     * An LSTM's projection {@code h = W_hr hFull} for rows below {@code batch}, output blocks
     * {@code [p0, p1)} of {@link Geometry#projectionBlock()} units.
     *
     * @throws UnsupportedOperationException if the model has no projection (the driver never asks)
     */
    default void projectHidden(C ctx, int layer, int dir, float[] hFull, int batch, float[] h, int p0, int p1) {
        throw new UnsupportedOperationException("no projection");
    }
}
