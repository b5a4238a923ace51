package dev.rnnengine.backend.vector;

import static dev.rnnengine.backend.vector.VectorKernels.V;
import static dev.rnnengine.backend.vector.VectorKernels.units;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.Precision;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.StepKernels;
import dev.rnnengine.internal.Sizes;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The vector backend's weights, repacked once, and its kernels: the input projection as one
 * GEMM over pair panels, a step as broadcast-FMAs over unit panels with the gate math fused
 * (or, from a batch of {@link #BATCHED_MIN}, one GEMM of W_hh h over all rows then the gate math),
 * and an LSTM's projection as a GEMM. Buffers are padded to whole vectors: h rows are
 * {@code hOutPad} wide, c rows {@code hPad}, input-projection rows {@code G * hPad} in
 * {@code [u][g][V]} order. The context is the batched path's {@code W_hh h} {@code (N, G*hPad)}.
 */
final class VectorStepKernels implements StepKernels<VectorStepKernels.Scratch> {
    /** From this batch size on, a step's W_hh h is a GEMM over all rows, then the gate math. */
    static final int BATCHED_MIN = 4;

    private final CellMode mode;
    private final int gates;
    private final int hidden;
    private final int hOut;
    private final int dirs;
    private final int units;     // blocks of V hidden units
    private final int outUnits;  // blocks of V output units (proj or hidden)
    private final int hPad;      // units * V
    private final int hOutPad;   // outUnits * V
    private final int[] inSize;
    private final MemorySegment[] wx;  // per (layer, dir): W_ih in pair panels
    private final MemorySegment[] wh;  // W_hh in unit panels
    private final float[][] bx;  // presummed bias as [u][g][V], or null
    private final float[][] bhn; // GRU b_hn as [u][V], or null
    private final MemorySegment[] wr;  // W_hr in pair panels, or null
    private final Precision codes;  // W_hh streamed as fp16 or int8 codes, or null (fp32 unit panels)
    private final byte[][] whInt8;  // int8 W_hh in block panels
    private final float[][] whScale; // their scales as [u][g][V]
    private final MemorySegment[] whFp16;   // fp16 W_hh in block panels of int pairs
    // The packed weights' native memory, 64-byte aligned (VectorKernels.aligned); freed by close().
    private final Arena arena = Arena.ofShared();

    /** Per call: W_hh h for every row of a batched step. */
    static final class Scratch {
        float[] gh = new float[0];
    }

    VectorStepKernels(RnnSpec spec, List<LayerWeights> weights) {
        this.mode = spec.mode();
        this.gates = spec.gates();
        this.hidden = spec.hiddenSize();
        this.hOut = spec.outputHiddenSize();
        this.dirs = spec.directions();
        this.units = units(hidden);
        this.outUnits = units(hOut);
        this.hPad = units * V;
        this.hOutPad = outUnits * V;
        int n = weights.size();
        inSize = new int[n];
        wx = new MemorySegment[n];
        wh = new MemorySegment[n];
        bx = new float[n][];
        bhn = new float[n][];
        wr = new MemorySegment[n];
        Precision p = weights.get(0).precision();
        this.codes = VectorQuantized.streamsCodes(p) ? p : null;
        whInt8 = new byte[n][];
        whScale = new float[n][];
        whFp16 = new MemorySegment[n];
        try {
            for (int lw = 0; lw < n; lw++) {
                LayerWeights w = weights.get(lw);
                inSize[lw] = spec.layerInputSize(lw / dirs);
                // W_ih and W_hr as the fp32 values their codes stand for: the GEMMs read them once per call.
                wx[lw] = VectorKernels.packPairs(arena, w.wIh(), gates, hidden, inSize[lw]);
                if (codes == Precision.INT8) {
                    whInt8[lw] = VectorQuantized.packInt8(w.qHh(), gates, hidden);
                    whScale[lw] = VectorKernels.packBias(w.qHh().scale(), gates, hidden);
                } else if (codes == Precision.FP16) {
                    whFp16[lw] = VectorQuantized.packFp16(arena, w.qHh(), gates, hidden);
                } else {
                    wh[lw] = VectorKernels.pack(arena, w.wHh(), gates, hidden, hOut);
                }
                float[] b = mode.presummedBias(w.bIh(), w.bHh());
                bx[lw] = b == null ? null : VectorKernels.packBias(b, gates, hidden);
                float[] bn = mode.separateRecurrentBias(w.bHh());
                bhn[lw] = bn == null ? null : VectorKernels.packBias(bn, 1, hidden);
                wr[lw] = w.wHr() == null ? null : VectorKernels.packPairs(arena, w.wHr(), 1, hOut, hidden);
            }
        } catch (RuntimeException | Error e) { // e.g. out of memory half-way: free what was packed
            arena.close();
            throw e;
        }
    }

    /** Frees the packed weights; the driver calls it once, after every call in flight. */
    @Override
    public void close() {
        arena.close();
    }

    @Override
    public Geometry geometry() {
        // Input projection: column vectors split in pairs, so each worker starts on a pair panel.
        return new Geometry(V, 2 * V, (units * gates + 1) / 2, gates * hPad, hOutPad, hPad, true);
    }

    @Override
    public Scratch newContext() {
        return new Scratch();
    }

    @Override
    public void reserve(Scratch s, int seqLen, int batch) {
        if (batch >= BATCHED_MIN || codes != null) {
            int size = Sizes.elements("W_hh h for the batch (N x gates x H)", batch, gates, hPad);
            if (s.gh.length < size) {
                s.gh = new float[size];
            }
        }
    }

    @Override
    public void project(Scratch s, int layer, int dir, float[] x, int rows, float[] xp, int part0, int part1) {
        int lw = layer * dirs + dir;
        VectorKernels.gemm(x, 0, inSize[lw], rows, inSize[lw], wx[lw], 2, bx[lw], xp, 0, gates * hPad,
            2 * part0, Math.min(units * gates, 2 * part1));
    }

    /** One GEMM over both directions' columns: x packed once per block (W_ih and bias share the layout). */
    @Override
    public void projectBoth(Scratch forward, Scratch reverse, int layer, float[] x, int rows, float[] xpForward,
                            float[] xpReverse, int part0, int part1) {
        int f = layer * dirs;
        VectorKernels.gemm(x, 0, inSize[f], rows, inSize[f], 2, wx[f], bx[f], xpForward, wx[f + 1], bx[f + 1],
            xpReverse, 0, gates * hPad, 2 * part0, Math.min(units * gates, 2 * part1), false);
    }

    @Override
    public void step(Scratch s, int layer, int dir, float[] h, float[] xp, int xpRow0, float[] c, float[] out,
                     int batch, int[] rows, int n, int u0, int u1) {
        final int lw = layer * dirs + dir;
        final int xpWidth = gates * hPad;
        final boolean proj = wr[lw] != null;
        final int outStride = proj ? hPad : hOutPad;
        // Odd steps sweep the weights downwards: the weights read last are read first, while still
        // in L2, so weights somewhat past L2 are partly read from it (xpRow0 is t * batch).
        final boolean down = ((xpRow0 / batch) & 1) == 1;
        if (codes != null) { // W_hh h from the codes, rows in pairs sharing each decoded code, then the gate math
            int i = 0;
            if (VectorQuantized.ROWS == 4) {
                for (; i + 3 < n; i += 4) {
                    int r0 = rows[i];
                    int r1 = rows[i + 1];
                    int r2 = rows[i + 2];
                    int r3 = rows[i + 3];
                    if (codes == Precision.INT8) {
                        VectorQuantized.matvecInt8x4(whInt8[lw], whScale[lw], hOut, h, r0 * hOutPad, r1 * hOutPad,
                            r2 * hOutPad, r3 * hOutPad, s.gh, r0 * xpWidth, r1 * xpWidth, r2 * xpWidth, r3 * xpWidth,
                            u0 * gates, u1 * gates, down);
                    } else {
                        VectorQuantized.matvecFp16x4(whFp16[lw], hOut, h, r0 * hOutPad, r1 * hOutPad, r2 * hOutPad,
                            r3 * hOutPad, s.gh, r0 * xpWidth, r1 * xpWidth, r2 * xpWidth, r3 * xpWidth, u0 * gates,
                            u1 * gates, down);
                    }
                }
            }
            for (; i + 1 < n; i += 2) {
                int r = rows[i];
                int q = rows[i + 1];
                if (codes == Precision.INT8) {
                    VectorQuantized.matvecInt8x2(whInt8[lw], whScale[lw], hOut, h, r * hOutPad, q * hOutPad, s.gh,
                        r * xpWidth, q * xpWidth, u0 * gates, u1 * gates, down);
                } else {
                    VectorQuantized.matvecFp16x2(whFp16[lw], hOut, h, r * hOutPad, q * hOutPad, s.gh, r * xpWidth,
                        q * xpWidth, u0 * gates, u1 * gates, down);
                }
            }
            for (; i < n; i++) {
                int r = rows[i];
                if (codes == Precision.INT8) {
                    VectorQuantized.matvecInt8(whInt8[lw], whScale[lw], hOut, h, r * hOutPad, s.gh, r * xpWidth,
                        u0 * gates, u1 * gates, down);
                } else {
                    VectorQuantized.matvecFp16(whFp16[lw], hOut, h, r * hOutPad, s.gh, r * xpWidth, u0 * gates,
                        u1 * gates, down);
                }
            }
            gates(s.gh, lw, h, xp, xpRow0, c, out, rows, n, u0, u1, outStride);
            return;
        }
        if (batch >= BATCHED_MIN) {
            // W_hh h for every row at once: 4 rows share each weight load. By batch, not by the
            // rows still active, so a row's bits never depend on the other sequences' lengths.
            VectorKernels.gemm(h, 0, hOutPad, batch, hOut, gates, wh[lw], null, s.gh, null, null, null, 0, xpWidth,
                u0 * gates, u1 * gates, down);
            gates(s.gh, lw, h, xp, xpRow0, c, out, rows, n, u0, u1, outStride);
            return;
        }
        for (int i = 0; i < n; i++) {
            int r = rows[i];
            int xpAt = (xpRow0 + r) * xpWidth;
            switch (mode) {
                case LSTM -> VectorKernels.lstmStep(wh[lw], hOut, h, r * hOutPad, xp, xpAt, c, r * hPad, out,
                    r * outStride, u0, u1, down);
                case GRU -> VectorKernels.gruStep(wh[lw], hOut, h, r * hOutPad, xp, xpAt, bhn[lw], out, r * hOutPad,
                    u0, u1, down);
                case RNN_TANH, RNN_RELU -> VectorKernels.rnnStep(wh[lw], hOut, h, r * hOutPad, xp, xpAt,
                    mode == CellMode.RNN_RELU, out, r * hOutPad, u0, u1, down);
            }
        }
    }

    /** The gate math of the active rows from {@code gh = W_hh h} ({@code [row][u][g][V]}). */
    private void gates(float[] gh, int lw, float[] h, float[] xp, int xpRow0, float[] c, float[] out, int[] rows, int n,
                       int u0, int u1, int outStride) {
        int xpWidth = gates * hPad;
        for (int i = 0; i < n; i++) {
            int r = rows[i];
            int xpAt = (xpRow0 + r) * xpWidth;
            switch (mode) {
                case LSTM -> VectorKernels.lstmGates(xp, xpAt, gh, r * xpWidth, c, r * hPad, out, r * outStride, u0, u1);
                case GRU -> VectorKernels.gruGates(xp, xpAt, gh, r * xpWidth, bhn[lw], h, r * hOutPad, out, r * hOutPad,
                    u0, u1);
                case RNN_TANH, RNN_RELU -> VectorKernels.rnnGates(xp, xpAt, gh, r * xpWidth, mode == CellMode.RNN_RELU,
                    out, r * hOutPad, u0, u1);
            }
        }
    }

    @Override
    public void projectHidden(Scratch s, int layer, int dir, float[] hFull, int batch, float[] h, int p0, int p1) {
        VectorKernels.gemm(hFull, 0, hPad, batch, hidden, wr[layer * dirs + dir], 2, null, h, 0, hOutPad,
            2 * p0, Math.min(outUnits, 2 * p1));
    }
}
