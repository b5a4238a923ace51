package dev.rnnengine.backend.vector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD kernels. Weights live in <em>unit panels</em>: the hidden units are cut into
 * blocks of V (the vector length), and block u of a matrix with G gate blocks is stored as
 * {@code [u][k][g][V]}: for each input column k, the G gates' weights of those V units, side
 * by side. A step is then broadcast(h[k]) times contiguous vectors, with no horizontal sums,
 * and the G gates of V units finish together so the gate math runs on registers.
 * Rows past the hidden size are zero padding, so no kernel needs a mask or a tail on rows.
 * Packed weights live off the heap, 64-byte aligned, in the model's arena ({@link #aligned}).
 */
final class VectorKernels {
    /** System property that sets the vector width in bits (128, 256, 512); default: the CPU's preferred. */
    static final String BITS_PROPERTY = "rnn.vector.bits";
    static final VectorSpecies<Float> S = species(System.getProperty(BITS_PROPERTY));
    static final int V = S.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final FloatVector ONE = FloatVector.broadcast(S, 1f);
    private static final int KC = 256;
    private static final int MC = 48;
    /**
     * Rows per GEMM register tile: 12 with 512-bit vectors (24 accumulators of AVX-512's 32 registers; 8 for
     * a block of 16 rows, which 12 would leave 4 to the slow tile), 6 with 256-bit, else 4.
     */
    static final int TILE_ROWS = V >= 16 ? 12 : V == 8 ? 6 : 4;
    /**
     * Each thread's packed x tiles of one row block: {@code [tile][k][rows of the tile]}. Per thread, not
     * per call context, since the workers of one direction share a context; made once per thread.
     */
    private static final ThreadLocal<float[]> PACKED = ThreadLocal.withInitial(() -> new float[MC * KC]);

    /** x's rows {@code [0, tr)} of columns {@code [0, kn)}, as {@code [k][tr]} at {@code at}. */
    private static void packTile(float[] x, int xAt, int ldx, int kn, float[] xp, int at, int tr) {
        for (int i = 0; i < tr; i++) {
            int src = xAt + i * ldx;
            for (int k = 0; k < kn; k++) {
                xp[at + k * tr + i] = x[src + k];
            }
        }
    }

    private VectorKernels() { }

    /** The species for a width in bits, or the preferred one; refuses widths this CPU cannot run. */
    static VectorSpecies<Float> species(String bits) {
        if (bits == null || bits.isBlank()) {
            return FloatVector.SPECIES_PREFERRED;
        }
        VectorSpecies<Float> s = switch (bits.trim()) {
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new UnsupportedOperationException("-D" + BITS_PROPERTY + "=" + bits
                + " is not a vector width: use 128, 256 or 512");
        };
        if (s.vectorBitSize() > FloatVector.SPECIES_PREFERRED.vectorBitSize()) {
            throw new UnsupportedOperationException("-D" + BITS_PROPERTY + "=" + bits + ": this CPU's widest vector is "
                + FloatVector.SPECIES_PREFERRED.vectorBitSize() + " bits");
        }
        return s;
    }

    /** Blocks of V units needed for {@code n} units. */
    static int units(int n) {
        return (n + V - 1) / V;
    }

    /**
     * A copy of {@code p} in 64-byte-aligned memory of {@code arena} (the model's, closed with it).
     * A heap array's elements start wherever the GC put it (16 bytes into an object that G1 aligns
     * to 8, or to its region), so most 64-byte loads from it straddle two cache lines: a step
     * streaming 1 MB from L2 ran at 94 GB/s on such an array and at 126 GB/s aligned (AVX-512,
     * Intel Xeon).
     */
    static MemorySegment aligned(Arena arena, float[] p) {
        MemorySegment m = arena.allocate(Math.max(4L, 4L * p.length), 64);
        MemorySegment.copy(p, 0, m, ValueLayout.JAVA_FLOAT, 0, p.length);
        return m;
    }

    /** {@link #aligned(Arena, float[])} for fp16 code pairs. */
    static MemorySegment aligned(Arena arena, int[] p) {
        MemorySegment m = arena.allocate(Math.max(4L, 4L * p.length), 64);
        MemorySegment.copy(p, 0, m, ValueLayout.JAVA_INT, 0, p.length);
        return m;
    }

    /** Packs W {@code (gates*hidden, cols)} row-major into unit panels {@code [u][k][g][V]}, {@link #aligned} in {@code arena}. */
    static MemorySegment pack(Arena arena, float[] w, int gates, int hidden, int cols) {
        int nr = gates * V;
        float[] p = new float[units(hidden) * cols * nr];
        for (int g = 0; g < gates; g++) {
            for (int j = 0; j < hidden; j++) {
                int u = j / V;
                int lane = j % V;
                int src = (g * hidden + j) * cols;
                for (int k = 0; k < cols; k++) {
                    p[(u * cols + k) * nr + g * V + lane] = w[src + k];
                }
            }
        }
        return aligned(arena, p);
    }

    /** Packs a per-row vector {@code (gates*hidden)} into {@code [u][g][V]}, matching {@link #pack}. */
    static float[] packBias(float[] b, int gates, int hidden) {
        float[] p = new float[units(hidden) * gates * V];
        for (int g = 0; g < gates; g++) {
            for (int j = 0; j < hidden; j++) {
                p[((j / V) * gates + g) * V + j % V] = b[g * hidden + j];
            }
        }
        return p;
    }

    /**
     * Packs W {@code (gates*hidden, cols)} for {@link #gemm}: column vector j (gate {@code j % gates}
     * of unit block {@code j / gates}, as in {@link #pack}) goes to pair panel {@code j / 2} laid
     * out {@code [k][2V]}, so the GEMM streams one contiguous 2V-wide row per k. An odd vector
     * count leaves the last pair half zero. {@link #aligned}.
     */
    static MemorySegment packPairs(Arena arena, float[] w, int gates, int hidden, int cols) {
        int vectors = units(hidden) * gates;
        int pairs = (vectors + 1) / 2;
        float[] p = new float[pairs * cols * 2 * V];
        for (int g = 0; g < gates; g++) {
            for (int j = 0; j < hidden; j++) {
                int vec = (j / V) * gates + g;
                int base = (vec / 2) * cols * 2 * V + (vec % 2) * V + j % V;
                int src = (g * hidden + j) * cols;
                for (int k = 0; k < cols; k++) {
                    p[base + k * 2 * V] = w[src + k];
                }
            }
        }
        return aligned(arena, p);
    }

    /**
     * {@code out[r][j*V + c] = bias[j*V + c] + sum_k x[r][k] * W[j][k][c]} for rows {@code r < rows}
     * and column vectors {@code j0 <= j < j1}, where vector j is vector {@code j % pg} of panel
     * {@code j / pg} in {@code [panel][k][pg][V]} layout: a {@link #packPairs} panel (pg = 2) or a
     * {@link #pack} unit panel (pg = G). {@code j*V} is also vector j's column in {@code [u][g][V]}
     * order. Register tiles of up to {@link #TILE_ROWS} rows x 2 vectors over x packed per tile; every
     * output sums over k in one order whatever its tile, so the bits do not depend on the blocking.
     * bias may be null.
     */
    static void gemm(float[] x, int xOff, int ldx, int rows, int cols, MemorySegment panel, int pg, float[] bias,
                     float[] out, int outOff, int ldo, int j0, int j1) {
        gemm(x, xOff, ldx, rows, cols, pg, panel, bias, out, null, null, null, outOff, ldo, j0, j1, false);
    }

    /**
     * {@link #gemm} of one x against two weight sets (a bidirectional layer's two input projections),
     * {@code panel0, bias0 -> out0} and {@code panel1, bias1 -> out1}, both in the same layout and
     * column range: as one GEMM over the two sets' columns, each block of x is packed once and
     * swept by both. The bits are those of two {@link #gemm} calls. {@code panel1} null: one set.
     * Successive blocks of x sweep the columns in alternate directions, the first downwards if
     * {@code down}, so the next row block of the same k block reads first the panels read last,
     * from cache. A caller alternating {@code down} per call gets the same from one call to the
     * next only when a call is one block (rows up to 48, columns up to 256); the order does not
     * change the bits.
     */
    static void gemm(float[] x, int xOff, int ldx, int rows, int cols, int pg, MemorySegment panel0, float[] bias0,
                     float[] out0, MemorySegment panel1, float[] bias1, float[] out1, int outOff, int ldo, int j0, int j1,
                     boolean down) {
        final float[] xp = TILE_ROWS > 4 ? PACKED.get() : null;
        // Blocks of KC columns and MC rows keep x's block in L1 while the panels sweep it;
        // partial sums go through out, which keeps an unblocked loop's summation order (and bits).
        boolean d = down;
        for (int kb = 0; kb < cols; kb += KC) {
            int kn = Math.min(KC, cols - kb);
            for (int mb = 0; mb < rows; mb += MC) {
                int mEnd = Math.min(rows, mb + MC);
                sweep(x, xOff, ldx, cols, pg, panel0, bias0, out0, outOff, ldo, j0, j1, kb, kn, mb, mEnd, xp, true, d);
                if (panel1 != null) {
                    sweep(x, xOff, ldx, cols, pg, panel1, bias1, out1, outOff, ldo, j0, j1, kb, kn, mb, mEnd, xp, false,
                        d);
                }
                d = !d;
            }
        }
    }

    /**
     * Column vectors {@code [j0, j1)} of rows {@code [mb, mEnd)}, columns {@code [kb, kb+kn)} of x, in
     * pairs upwards or, if {@code down}, downwards (a lone last vector first); packs x's tiles into xp
     * in the first pair if {@code pack}.
     */
    private static void sweep(float[] x, int xOff, int ldx, int cols, int pg, MemorySegment panel, float[] bias,
                              float[] out, int outOff, int ldo, int j0, int j1, int kb, int kn, int mb, int mEnd,
                              float[] xp, boolean pack, boolean down) {
        final int nr = pg * V;
        final boolean first = kb == 0;
        final float[] init = first ? bias : out;
        final int pairs = (j1 - j0) / 2;
        final boolean lone = j0 + 2 * pairs < j1; // an odd vector count leaves one
        if (down && lone) {
            sweepLone(x, xOff, ldx, cols, pg, panel, init, first, out, outOff, ldo, j1 - 1, kb, kn, mb, mEnd);
        }
        for (int i = 0; i < pairs; i++) {
            int j = j0 + 2 * (down ? pairs - 1 - i : i);
            int pA = (j / pg) * cols * nr + (j % pg) * V + kb * nr;
            int pB = ((j + 1) / pg) * cols * nr + ((j + 1) % pg) * V + kb * nr;
            int r = mb;
            // The widest row tile whose accumulators fit the registers: 24 of AVX-512's 32,
            // 12 of AVX2's 16 (two FMA pipes of 4-cycle latency need 8 chains at least).
            while (TILE_ROWS > 4 && (mEnd - r >= TILE_ROWS || TILE_ROWS == 12 && mEnd - r >= 8)) {
                int tr = TILE_ROWS == 12 && (mEnd - r < 12 || mEnd - r == 16) ? 8 : TILE_ROWS;
                int o = outOff + r * ldo + j * V;
                int at = (r - mb) * KC; // this tile's x, packed [k][tr]: one line per k
                if (pack && i == 0) {
                    packTile(x, xOff + r * ldx + kb, ldx, kn, xp, at, tr);
                }
                int iAt = first ? j * V : o;
                int ldi = first ? 0 : ldo;
                if (tr == 12) {
                    gemm12x2(xp, at, kn, panel, pA, pB, nr, init, iAt, ldi, out, o, ldo);
                } else if (tr == 8) {
                    gemm8x2(xp, at, kn, panel, pA, pB, nr, init, iAt, ldi, out, o, ldo);
                } else {
                    gemm6x2(xp, at, kn, panel, pA, pB, nr, init, iAt, ldi, out, o, ldo);
                }
                r += tr;
            }
            for (; r + 4 <= mEnd; r += 4) {
                int o = outOff + r * ldo + j * V;
                gemm4x2(x, xOff + r * ldx + kb, ldx, kn, panel, pA, pB, nr, init, first ? j * V : o,
                    first ? 0 : ldo, out, o, ldo);
            }
            for (; r < mEnd; r++) {
                int o = outOff + r * ldo + j * V;
                gemm1x2(x, xOff + r * ldx + kb, kn, panel, pA, pB, nr, init, first ? j * V : o, out, o);
            }
        }
        if (!down && lone) {
            sweepLone(x, xOff, ldx, cols, pg, panel, init, first, out, outOff, ldo, j1 - 1, kb, kn, mb, mEnd);
        }
    }

    /** Column vector j alone, for {@link #sweep}. */
    private static void sweepLone(float[] x, int xOff, int ldx, int cols, int pg, MemorySegment panel, float[] init,
                                  boolean first, float[] out, int outOff, int ldo, int j, int kb, int kn, int mb,
                                  int mEnd) {
        final int nr = pg * V;
        int pA = (j / pg) * cols * nr + (j % pg) * V + kb * nr;
        for (int r = mb; r < mEnd; r++) {
            int o = outOff + r * ldo + j * V;
            gemm1x1(x, xOff + r * ldx + kb, kn, panel, pA, nr, init, first ? j * V : o, out, o);
        }
    }

    private static FloatVector init(float[] bias, int at) {
        return bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, at);
    }

    /** Vectors j and j+1 (panel offsets pA, pB; columns bAt and bAt+V) for 4 rows. */
    /** Init row i from {@code init[iAt + i*ldi]} (ldi 0: one bias row for all; init null: zero). */
    private static void gemm4x2(float[] x, int xAt, int ldx, int cols, MemorySegment p, int pA, int pB, int nr,
                                float[] init, int iAt, int ldi, float[] out, int oAt, int ldo) {
        FloatVector a00 = init(init, iAt);
        FloatVector a01 = init(init, iAt + V);
        FloatVector a10 = init(init, iAt + ldi);
        FloatVector a11 = init(init, iAt + ldi + V);
        FloatVector a20 = init(init, iAt + 2 * ldi);
        FloatVector a21 = init(init, iAt + 2 * ldi + V);
        FloatVector a30 = init(init, iAt + 3 * ldi);
        FloatVector a31 = init(init, iAt + 3 * ldi + V);
        long wAt = 4L * pA; // as in gemm12x2
        final long toB = 4L * (pB - pA);
        final long wStep = 4L * nr;
        for (int k = 0; k < cols; k++, wAt += wStep) {
            FloatVector w0 = FloatVector.fromMemorySegment(S, p, wAt, NO);
            FloatVector w1 = FloatVector.fromMemorySegment(S, p, wAt + toB, NO);
            FloatVector x0 = FloatVector.broadcast(S, x[xAt + k]);
            a00 = w0.fma(x0, a00);
            a01 = w1.fma(x0, a01);
            FloatVector x1 = FloatVector.broadcast(S, x[xAt + ldx + k]);
            a10 = w0.fma(x1, a10);
            a11 = w1.fma(x1, a11);
            FloatVector x2 = FloatVector.broadcast(S, x[xAt + 2 * ldx + k]);
            a20 = w0.fma(x2, a20);
            a21 = w1.fma(x2, a21);
            FloatVector x3 = FloatVector.broadcast(S, x[xAt + 3 * ldx + k]);
            a30 = w0.fma(x3, a30);
            a31 = w1.fma(x3, a31);
        }
        a00.intoArray(out, oAt);
        a01.intoArray(out, oAt + V);
        a10.intoArray(out, oAt + ldo);
        a11.intoArray(out, oAt + ldo + V);
        a20.intoArray(out, oAt + 2 * ldo);
        a21.intoArray(out, oAt + 2 * ldo + V);
        a30.intoArray(out, oAt + 3 * ldo);
        a31.intoArray(out, oAt + 3 * ldo + V);
    }

    /** Like {@link #gemm8x2} for 12 rows: 24 accumulators, each weight load shared by 12 FMAs. */
    private static void gemm12x2(float[] x, int xAt, int cols, MemorySegment p, int pA, int pB, int nr,
                                 float[] init, int iAt, int ldi, float[] out, int oAt, int ldo) {
        FloatVector a00 = init(init, iAt);
        FloatVector a01 = init(init, iAt + V);
        FloatVector a10 = init(init, iAt + ldi);
        FloatVector a11 = init(init, iAt + ldi + V);
        FloatVector a20 = init(init, iAt + 2 * ldi);
        FloatVector a21 = init(init, iAt + 2 * ldi + V);
        FloatVector a30 = init(init, iAt + 3 * ldi);
        FloatVector a31 = init(init, iAt + 3 * ldi + V);
        FloatVector a40 = init(init, iAt + 4 * ldi);
        FloatVector a41 = init(init, iAt + 4 * ldi + V);
        FloatVector a50 = init(init, iAt + 5 * ldi);
        FloatVector a51 = init(init, iAt + 5 * ldi + V);
        FloatVector a60 = init(init, iAt + 6 * ldi);
        FloatVector a61 = init(init, iAt + 6 * ldi + V);
        FloatVector a70 = init(init, iAt + 7 * ldi);
        FloatVector a71 = init(init, iAt + 7 * ldi + V);
        FloatVector a80 = init(init, iAt + 8 * ldi);
        FloatVector a81 = init(init, iAt + 8 * ldi + V);
        FloatVector a90 = init(init, iAt + 9 * ldi);
        FloatVector a91 = init(init, iAt + 9 * ldi + V);
        FloatVector a100 = init(init, iAt + 10 * ldi);
        FloatVector a101 = init(init, iAt + 10 * ldi + V);
        FloatVector a110 = init(init, iAt + 11 * ldi);
        FloatVector a111 = init(init, iAt + 11 * ldi + V);
        long wAt = 4L * pA; // bytes, running, and w1 at a fixed distance: fewer index
        // instructions per FMA (this tile from L1: 187 -> 207 GFLOP/s, Intel Xeon, AVX-512; same bits)
        final long toB = 4L * (pB - pA);
        final long wStep = 4L * nr;
        for (int k = 0, xk = xAt; k < cols; k++, xk += 12, wAt += wStep) {
            FloatVector w0 = FloatVector.fromMemorySegment(S, p, wAt, NO);
            FloatVector w1 = FloatVector.fromMemorySegment(S, p, wAt + toB, NO);
            FloatVector x0 = FloatVector.broadcast(S, x[xk]);
            a00 = w0.fma(x0, a00);
            a01 = w1.fma(x0, a01);
            FloatVector x1 = FloatVector.broadcast(S, x[xk + 1]);
            a10 = w0.fma(x1, a10);
            a11 = w1.fma(x1, a11);
            FloatVector x2 = FloatVector.broadcast(S, x[xk + 2]);
            a20 = w0.fma(x2, a20);
            a21 = w1.fma(x2, a21);
            FloatVector x3 = FloatVector.broadcast(S, x[xk + 3]);
            a30 = w0.fma(x3, a30);
            a31 = w1.fma(x3, a31);
            FloatVector x4 = FloatVector.broadcast(S, x[xk + 4]);
            a40 = w0.fma(x4, a40);
            a41 = w1.fma(x4, a41);
            FloatVector x5 = FloatVector.broadcast(S, x[xk + 5]);
            a50 = w0.fma(x5, a50);
            a51 = w1.fma(x5, a51);
            FloatVector x6 = FloatVector.broadcast(S, x[xk + 6]);
            a60 = w0.fma(x6, a60);
            a61 = w1.fma(x6, a61);
            FloatVector x7 = FloatVector.broadcast(S, x[xk + 7]);
            a70 = w0.fma(x7, a70);
            a71 = w1.fma(x7, a71);
            FloatVector x8 = FloatVector.broadcast(S, x[xk + 8]);
            a80 = w0.fma(x8, a80);
            a81 = w1.fma(x8, a81);
            FloatVector x9 = FloatVector.broadcast(S, x[xk + 9]);
            a90 = w0.fma(x9, a90);
            a91 = w1.fma(x9, a91);
            FloatVector x10 = FloatVector.broadcast(S, x[xk + 10]);
            a100 = w0.fma(x10, a100);
            a101 = w1.fma(x10, a101);
            FloatVector x11 = FloatVector.broadcast(S, x[xk + 11]);
            a110 = w0.fma(x11, a110);
            a111 = w1.fma(x11, a111);
        }
        a00.intoArray(out, oAt);
        a01.intoArray(out, oAt + V);
        a10.intoArray(out, oAt + ldo);
        a11.intoArray(out, oAt + ldo + V);
        a20.intoArray(out, oAt + 2 * ldo);
        a21.intoArray(out, oAt + 2 * ldo + V);
        a30.intoArray(out, oAt + 3 * ldo);
        a31.intoArray(out, oAt + 3 * ldo + V);
        a40.intoArray(out, oAt + 4 * ldo);
        a41.intoArray(out, oAt + 4 * ldo + V);
        a50.intoArray(out, oAt + 5 * ldo);
        a51.intoArray(out, oAt + 5 * ldo + V);
        a60.intoArray(out, oAt + 6 * ldo);
        a61.intoArray(out, oAt + 6 * ldo + V);
        a70.intoArray(out, oAt + 7 * ldo);
        a71.intoArray(out, oAt + 7 * ldo + V);
        a80.intoArray(out, oAt + 8 * ldo);
        a81.intoArray(out, oAt + 8 * ldo + V);
        a90.intoArray(out, oAt + 9 * ldo);
        a91.intoArray(out, oAt + 9 * ldo + V);
        a100.intoArray(out, oAt + 10 * ldo);
        a101.intoArray(out, oAt + 10 * ldo + V);
        a110.intoArray(out, oAt + 11 * ldo);
        a111.intoArray(out, oAt + 11 * ldo + V);
    }

    /** Like {@link #gemm4x2} for 8 rows of a packed tile ({@link #packTile}): 16 accumulators (AVX-512, blocks of 16 rows). */
    private static void gemm8x2(float[] x, int xAt, int cols, MemorySegment p, int pA, int pB, int nr,
                                float[] init, int iAt, int ldi, float[] out, int oAt, int ldo) {
        FloatVector a00 = init(init, iAt);
        FloatVector a01 = init(init, iAt + V);
        FloatVector a10 = init(init, iAt + ldi);
        FloatVector a11 = init(init, iAt + ldi + V);
        FloatVector a20 = init(init, iAt + 2 * ldi);
        FloatVector a21 = init(init, iAt + 2 * ldi + V);
        FloatVector a30 = init(init, iAt + 3 * ldi);
        FloatVector a31 = init(init, iAt + 3 * ldi + V);
        FloatVector a40 = init(init, iAt + 4 * ldi);
        FloatVector a41 = init(init, iAt + 4 * ldi + V);
        FloatVector a50 = init(init, iAt + 5 * ldi);
        FloatVector a51 = init(init, iAt + 5 * ldi + V);
        FloatVector a60 = init(init, iAt + 6 * ldi);
        FloatVector a61 = init(init, iAt + 6 * ldi + V);
        FloatVector a70 = init(init, iAt + 7 * ldi);
        FloatVector a71 = init(init, iAt + 7 * ldi + V);
        long wAt = 4L * pA; // bytes, running, and w1 at a fixed distance: see gemm12x2
        final long toB = 4L * (pB - pA);
        final long wStep = 4L * nr;
        for (int k = 0, xk = xAt; k < cols; k++, xk += 8, wAt += wStep) {
            FloatVector w0 = FloatVector.fromMemorySegment(S, p, wAt, NO);
            FloatVector w1 = FloatVector.fromMemorySegment(S, p, wAt + toB, NO);
            FloatVector x0 = FloatVector.broadcast(S, x[xk]);
            a00 = w0.fma(x0, a00);
            a01 = w1.fma(x0, a01);
            FloatVector x1 = FloatVector.broadcast(S, x[xk + 1]);
            a10 = w0.fma(x1, a10);
            a11 = w1.fma(x1, a11);
            FloatVector x2 = FloatVector.broadcast(S, x[xk + 2]);
            a20 = w0.fma(x2, a20);
            a21 = w1.fma(x2, a21);
            FloatVector x3 = FloatVector.broadcast(S, x[xk + 3]);
            a30 = w0.fma(x3, a30);
            a31 = w1.fma(x3, a31);
            FloatVector x4 = FloatVector.broadcast(S, x[xk + 4]);
            a40 = w0.fma(x4, a40);
            a41 = w1.fma(x4, a41);
            FloatVector x5 = FloatVector.broadcast(S, x[xk + 5]);
            a50 = w0.fma(x5, a50);
            a51 = w1.fma(x5, a51);
            FloatVector x6 = FloatVector.broadcast(S, x[xk + 6]);
            a60 = w0.fma(x6, a60);
            a61 = w1.fma(x6, a61);
            FloatVector x7 = FloatVector.broadcast(S, x[xk + 7]);
            a70 = w0.fma(x7, a70);
            a71 = w1.fma(x7, a71);
        }
        a00.intoArray(out, oAt);
        a01.intoArray(out, oAt + V);
        a10.intoArray(out, oAt + ldo);
        a11.intoArray(out, oAt + ldo + V);
        a20.intoArray(out, oAt + 2 * ldo);
        a21.intoArray(out, oAt + 2 * ldo + V);
        a30.intoArray(out, oAt + 3 * ldo);
        a31.intoArray(out, oAt + 3 * ldo + V);
        a40.intoArray(out, oAt + 4 * ldo);
        a41.intoArray(out, oAt + 4 * ldo + V);
        a50.intoArray(out, oAt + 5 * ldo);
        a51.intoArray(out, oAt + 5 * ldo + V);
        a60.intoArray(out, oAt + 6 * ldo);
        a61.intoArray(out, oAt + 6 * ldo + V);
        a70.intoArray(out, oAt + 7 * ldo);
        a71.intoArray(out, oAt + 7 * ldo + V);
    }

    /** Like {@link #gemm4x2} for 6 rows of a packed tile: 12 accumulators (AVX2's 16 registers hold them and the operands). */
    private static void gemm6x2(float[] x, int xAt, int cols, MemorySegment p, int pA, int pB, int nr,
                                float[] init, int iAt, int ldi, float[] out, int oAt, int ldo) {
        FloatVector a00 = init(init, iAt);
        FloatVector a01 = init(init, iAt + V);
        FloatVector a10 = init(init, iAt + ldi);
        FloatVector a11 = init(init, iAt + ldi + V);
        FloatVector a20 = init(init, iAt + 2 * ldi);
        FloatVector a21 = init(init, iAt + 2 * ldi + V);
        FloatVector a30 = init(init, iAt + 3 * ldi);
        FloatVector a31 = init(init, iAt + 3 * ldi + V);
        FloatVector a40 = init(init, iAt + 4 * ldi);
        FloatVector a41 = init(init, iAt + 4 * ldi + V);
        FloatVector a50 = init(init, iAt + 5 * ldi);
        FloatVector a51 = init(init, iAt + 5 * ldi + V);
        long wAt = 4L * pA; // bytes, running, and w1 at a fixed distance: see gemm12x2
        final long toB = 4L * (pB - pA);
        final long wStep = 4L * nr;
        for (int k = 0, xk = xAt; k < cols; k++, xk += 6, wAt += wStep) {
            FloatVector w0 = FloatVector.fromMemorySegment(S, p, wAt, NO);
            FloatVector w1 = FloatVector.fromMemorySegment(S, p, wAt + toB, NO);
            FloatVector x0 = FloatVector.broadcast(S, x[xk]);
            a00 = w0.fma(x0, a00);
            a01 = w1.fma(x0, a01);
            FloatVector x1 = FloatVector.broadcast(S, x[xk + 1]);
            a10 = w0.fma(x1, a10);
            a11 = w1.fma(x1, a11);
            FloatVector x2 = FloatVector.broadcast(S, x[xk + 2]);
            a20 = w0.fma(x2, a20);
            a21 = w1.fma(x2, a21);
            FloatVector x3 = FloatVector.broadcast(S, x[xk + 3]);
            a30 = w0.fma(x3, a30);
            a31 = w1.fma(x3, a31);
            FloatVector x4 = FloatVector.broadcast(S, x[xk + 4]);
            a40 = w0.fma(x4, a40);
            a41 = w1.fma(x4, a41);
            FloatVector x5 = FloatVector.broadcast(S, x[xk + 5]);
            a50 = w0.fma(x5, a50);
            a51 = w1.fma(x5, a51);
        }
        a00.intoArray(out, oAt);
        a01.intoArray(out, oAt + V);
        a10.intoArray(out, oAt + ldo);
        a11.intoArray(out, oAt + ldo + V);
        a20.intoArray(out, oAt + 2 * ldo);
        a21.intoArray(out, oAt + 2 * ldo + V);
        a30.intoArray(out, oAt + 3 * ldo);
        a31.intoArray(out, oAt + 3 * ldo + V);
        a40.intoArray(out, oAt + 4 * ldo);
        a41.intoArray(out, oAt + 4 * ldo + V);
        a50.intoArray(out, oAt + 5 * ldo);
        a51.intoArray(out, oAt + 5 * ldo + V);
    }

    // The tails sum over k in the same order as gemm4x2, so a vector's result never depends
    // on which kernel (and so which thread split) computed it: runs are bit-reproducible.
    private static void gemm1x2(float[] x, int xAt, int cols, MemorySegment p, int pA, int pB, int nr, float[] bias,
                                int bAt, float[] out, int oAt) {
        FloatVector a0 = init(bias, bAt);
        FloatVector a1 = init(bias, bAt + V);
        for (int k = 0; k < cols; k++) {
            FloatVector x0 = FloatVector.broadcast(S, x[xAt + k]);
            a0 = FloatVector.fromMemorySegment(S, p, 4L * (pA + k * nr), NO).fma(x0, a0);
            a1 = FloatVector.fromMemorySegment(S, p, 4L * (pB + k * nr), NO).fma(x0, a1);
        }
        a0.intoArray(out, oAt);
        a1.intoArray(out, oAt + V);
    }

    private static void gemm1x1(float[] x, int xAt, int cols, MemorySegment p, int pA, int nr, float[] bias, int bAt,
                                float[] out, int oAt) {
        FloatVector a0 = init(bias, bAt);
        for (int k = 0; k < cols; k++) {
            a0 = FloatVector.fromMemorySegment(S, p, 4L * (pA + k * nr), NO).fma(FloatVector.broadcast(S, x[xAt + k]), a0);
        }
        a0.intoArray(out, oAt);
    }

    // ---- one time step of one sequence, unit blocks u0..u1 ----
    // Pre-activations go back into xp (each row of xp is read by one step only), then
    // activate() runs over them in place; see activate() for why it is not fused.
    // down: the unit blocks in the order u1-1 .. u0 (the caller alternates it; same bits).

    /**
     * LSTM: gates = xp + W_hh h (xp holds W_ih x + b_ih + b_hh); c' = f*c + i*g; hNew = o*tanh(c').
     * {@code c} and {@code hNew} are padded to whole unit blocks; xp's row is overwritten.
     */
    static void lstmStep(MemorySegment w, int cols, float[] h, int hAt, float[] xp, int xpAt,
                         float[] c, int cAt, float[] hNew, int hNewAt, int u0, int u1, boolean down) {
        final int nr = 4 * V;
        for (int q = u0; q < u1; q++) {
            int u = down ? u1 - 1 - (q - u0) : q;
            int pu = u * cols * nr;
            int xu = xpAt + u * nr;
            FloatVector i0 = FloatVector.fromArray(S, xp, xu);
            FloatVector f0 = FloatVector.fromArray(S, xp, xu + V);
            FloatVector g0 = FloatVector.fromArray(S, xp, xu + 2 * V);
            FloatVector o0 = FloatVector.fromArray(S, xp, xu + 3 * V);
            FloatVector i1 = FloatVector.zero(S);
            FloatVector f1 = i1;
            FloatVector g1 = i1;
            FloatVector o1 = i1;
            int k = 0;
            long at = 4L * pu; // bytes: a running offset spares a multiply and widening per iteration
            // Four columns per iteration, two per chain: fewer loop instructions per weight
            // keep more loads in flight (a GEMV from L2 ran 12% faster); same chains, same bits.
            for (; k + 3 < cols; k += 4, at += 16L * nr) {
                FloatVector h0 = FloatVector.broadcast(S, h[hAt + k]);
                FloatVector h1 = FloatVector.broadcast(S, h[hAt + k + 1]);
                i0 = FloatVector.fromMemorySegment(S, w, at, NO).fma(h0, i0);
                f0 = FloatVector.fromMemorySegment(S, w, at + 4 * V, NO).fma(h0, f0);
                g0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * V), NO).fma(h0, g0);
                o0 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * V), NO).fma(h0, o0);
                i1 = FloatVector.fromMemorySegment(S, w, at + 4 * nr, NO).fma(h1, i1);
                f1 = FloatVector.fromMemorySegment(S, w, at + 4 * (nr + V), NO).fma(h1, f1);
                g1 = FloatVector.fromMemorySegment(S, w, at + 4 * (nr + 2 * V), NO).fma(h1, g1);
                o1 = FloatVector.fromMemorySegment(S, w, at + 4 * (nr + 3 * V), NO).fma(h1, o1);
                h0 = FloatVector.broadcast(S, h[hAt + k + 2]);
                h1 = FloatVector.broadcast(S, h[hAt + k + 3]);
                i0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * nr), NO).fma(h0, i0);
                f0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * nr + V), NO).fma(h0, f0);
                g0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * nr + 2 * V), NO).fma(h0, g0);
                o0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * nr + 3 * V), NO).fma(h0, o0);
                i1 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * nr), NO).fma(h1, i1);
                f1 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * nr + V), NO).fma(h1, f1);
                g1 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * nr + 2 * V), NO).fma(h1, g1);
                o1 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * nr + 3 * V), NO).fma(h1, o1);
            }
            for (; k + 1 < cols; k += 2, at += 8L * nr) {
                FloatVector h0 = FloatVector.broadcast(S, h[hAt + k]);
                FloatVector h1 = FloatVector.broadcast(S, h[hAt + k + 1]);
                i0 = FloatVector.fromMemorySegment(S, w, at, NO).fma(h0, i0);
                f0 = FloatVector.fromMemorySegment(S, w, at + 4 * V, NO).fma(h0, f0);
                g0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * V), NO).fma(h0, g0);
                o0 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * V), NO).fma(h0, o0);
                i1 = FloatVector.fromMemorySegment(S, w, at + 4 * nr, NO).fma(h1, i1);
                f1 = FloatVector.fromMemorySegment(S, w, at + 4 * (nr + V), NO).fma(h1, f1);
                g1 = FloatVector.fromMemorySegment(S, w, at + 4 * (nr + 2 * V), NO).fma(h1, g1);
                o1 = FloatVector.fromMemorySegment(S, w, at + 4 * (nr + 3 * V), NO).fma(h1, o1);
            }
            if (k < cols) {
                FloatVector h0 = FloatVector.broadcast(S, h[hAt + k]);
                i0 = FloatVector.fromMemorySegment(S, w, at, NO).fma(h0, i0);
                f0 = FloatVector.fromMemorySegment(S, w, at + 4 * V, NO).fma(h0, f0);
                g0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * V), NO).fma(h0, g0);
                o0 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * V), NO).fma(h0, o0);
            }
            i0.add(i1).intoArray(xp, xu);
            f0.add(f1).intoArray(xp, xu + V);
            g0.add(g1).intoArray(xp, xu + 2 * V);
            o0.add(o1).intoArray(xp, xu + 3 * V);
        }
        lstmFinish(xp, xpAt, 4 * V, V, c, cAt, hNew, hNewAt, u0, u1);
    }

    /**
     * LSTM from pre-activations: gate g of unit block u at {@code pre[preAt + u*unitStride + g*gateStride]}
     * (unit panels: {@code [u][i,f,g,o][V]}, strides 4V and V; PyTorch's {@code [g][H]}: V and H).
     * Updates c, writes hNew = o * tanh(c'); the g slot ends holding tanh(c').
     */
    static void lstmFinish(float[] pre, int preAt, int unitStride, int gateStride, float[] c, int cAt,
                           float[] hNew, int hNewAt, int u0, int u1) {
        int base = preAt + u0 * unitStride;
        activate(pre, base, u1 - u0, unitStride, 4, gateStride, 0b1011, 0b0100);
        for (int u = u0; u < u1; u++) {
            int xu = preAt + u * unitStride;
            FloatVector i = FloatVector.fromArray(S, pre, xu);
            FloatVector f = FloatVector.fromArray(S, pre, xu + gateStride);
            FloatVector g = FloatVector.fromArray(S, pre, xu + 2 * gateStride);
            FloatVector cNew = i.fma(g, f.mul(FloatVector.fromArray(S, c, cAt + u * V)));
            cNew.intoArray(c, cAt + u * V);
            cNew.intoArray(pre, xu + 2 * gateStride);
        }
        activate(pre, base, u1 - u0, unitStride, 4, gateStride, 0, 0b0100);
        for (int u = u0; u < u1; u++) {
            int xu = preAt + u * unitStride;
            FloatVector.fromArray(S, pre, xu + 3 * gateStride).mul(FloatVector.fromArray(S, pre, xu + 2 * gateStride))
                .intoArray(hNew, hNewAt + u * V);
        }
    }

    /**
     * GRU: r, z = sigmoid(xp + W_h h); n = tanh(xp_n + r * (W_hn h + b_hn)); h' = (1-z)*n + z*h.
     * xp's n block holds W_in x + b_in only; {@code bhn} is b_hn as {@code [u][V]} (null: none).
     * xp's row is overwritten.
     */
    static void gruStep(MemorySegment w, int cols, float[] h, int hAt, float[] xp, int xpAt, float[] bhn,
                        float[] hNew, int hNewAt, int u0, int u1, boolean down) {
        final int nr = 3 * V;
        for (int q = u0; q < u1; q++) {
            int u = down ? u1 - 1 - (q - u0) : q;
            int pu = u * cols * nr;
            int xu = xpAt + u * nr;
            FloatVector r0 = FloatVector.fromArray(S, xp, xu);
            FloatVector z0 = FloatVector.fromArray(S, xp, xu + V);
            FloatVector n0 = bhn == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bhn, u * V);
            FloatVector r1 = FloatVector.zero(S);
            FloatVector z1 = r1;
            FloatVector n1 = r1;
            int k = 0;
            long at = 4L * pu;
            for (; k + 3 < cols; k += 4, at += 16L * nr) { // four columns per iteration, as in lstmStep
                FloatVector h0 = FloatVector.broadcast(S, h[hAt + k]);
                FloatVector h1 = FloatVector.broadcast(S, h[hAt + k + 1]);
                r0 = FloatVector.fromMemorySegment(S, w, at, NO).fma(h0, r0);
                z0 = FloatVector.fromMemorySegment(S, w, at + 4 * V, NO).fma(h0, z0);
                n0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * V), NO).fma(h0, n0);
                r1 = FloatVector.fromMemorySegment(S, w, at + 4 * nr, NO).fma(h1, r1);
                z1 = FloatVector.fromMemorySegment(S, w, at + 4 * (nr + V), NO).fma(h1, z1);
                n1 = FloatVector.fromMemorySegment(S, w, at + 4 * (nr + 2 * V), NO).fma(h1, n1);
                h0 = FloatVector.broadcast(S, h[hAt + k + 2]);
                h1 = FloatVector.broadcast(S, h[hAt + k + 3]);
                r0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * nr), NO).fma(h0, r0);
                z0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * nr + V), NO).fma(h0, z0);
                n0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * nr + 2 * V), NO).fma(h0, n0);
                r1 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * nr), NO).fma(h1, r1);
                z1 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * nr + V), NO).fma(h1, z1);
                n1 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * nr + 2 * V), NO).fma(h1, n1);
            }
            for (; k + 1 < cols; k += 2, at += 8L * nr) {
                FloatVector h0 = FloatVector.broadcast(S, h[hAt + k]);
                FloatVector h1 = FloatVector.broadcast(S, h[hAt + k + 1]);
                r0 = FloatVector.fromMemorySegment(S, w, at, NO).fma(h0, r0);
                z0 = FloatVector.fromMemorySegment(S, w, at + 4 * V, NO).fma(h0, z0);
                n0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * V), NO).fma(h0, n0);
                r1 = FloatVector.fromMemorySegment(S, w, at + 4 * nr, NO).fma(h1, r1);
                z1 = FloatVector.fromMemorySegment(S, w, at + 4 * (nr + V), NO).fma(h1, z1);
                n1 = FloatVector.fromMemorySegment(S, w, at + 4 * (nr + 2 * V), NO).fma(h1, n1);
            }
            if (k < cols) {
                FloatVector h0 = FloatVector.broadcast(S, h[hAt + k]);
                r0 = FloatVector.fromMemorySegment(S, w, at, NO).fma(h0, r0);
                z0 = FloatVector.fromMemorySegment(S, w, at + 4 * V, NO).fma(h0, z0);
                n0 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * V), NO).fma(h0, n0);
            }
            r0.add(r1).intoArray(xp, xu);
            z0.add(z1).intoArray(xp, xu + V);
            n0.add(n1).intoArray(hNew, hNewAt + u * V); // W_hn h + b_hn, parked until n is known
        }
        gruFinish(xp, xpAt, 3 * V, V, h, hAt, hNew, hNewAt, u0, u1);
    }

    /**
     * GRU from r, z pre-activations and W_in x + b_in in the n slot (laid out as in
     * {@link #lstmFinish}), with W_hn h + b_hn parked in hNew; overwrites the slots.
     */
    static void gruFinish(float[] pre, int preAt, int unitStride, int gateStride, float[] h, int hAt,
                          float[] hNew, int hNewAt, int u0, int u1) {
        int base = preAt + u0 * unitStride;
        activate(pre, base, u1 - u0, unitStride, 3, gateStride, 0b011, 0);
        for (int u = u0; u < u1; u++) {
            int xu = preAt + u * unitStride;
            FloatVector r = FloatVector.fromArray(S, pre, xu);
            r.fma(FloatVector.fromArray(S, hNew, hNewAt + u * V), FloatVector.fromArray(S, pre, xu + 2 * gateStride))
                .intoArray(pre, xu + 2 * gateStride);
        }
        activate(pre, base, u1 - u0, unitStride, 3, gateStride, 0, 0b100);
        for (int u = u0; u < u1; u++) {
            int xu = preAt + u * unitStride;
            FloatVector z = FloatVector.fromArray(S, pre, xu + gateStride);
            FloatVector n = FloatVector.fromArray(S, pre, xu + 2 * gateStride);
            FloatVector.fromArray(S, h, hAt + u * V).sub(n).fma(z, n).intoArray(hNew, hNewAt + u * V); // n + z*(h - n)
        }
    }

    /** Vanilla RNN: h' = act(xp + W_hh h), act tanh or relu. Four FMA chains over k (chain k mod 4). */
    static void rnnStep(MemorySegment w, int cols, float[] h, int hAt, float[] xp, int xpAt, boolean relu,
                        float[] hNew, int hNewAt, int u0, int u1, boolean down) {
        for (int q = u0; q < u1; q++) {
            int u = down ? u1 - 1 - (q - u0) : q;
            FloatVector a0 = FloatVector.fromArray(S, xp, xpAt + u * V);
            FloatVector a1 = FloatVector.zero(S);
            FloatVector a2 = a1;
            FloatVector a3 = a1;
            int k = 0;
            long at = 4L * u * cols * V; // bytes, running: as in lstmStep
            // Eight columns per iteration, two per chain in k order (same bits as four): 2% faster
            // streaming rnn_1760_b1's 12 MB from L3 (Intel Xeon, AVX-512).
            for (; k + 7 < cols; k += 8, at += 32L * V) {
                a0 = FloatVector.fromMemorySegment(S, w, at, NO).fma(FloatVector.broadcast(S, h[hAt + k]), a0);
                a1 = FloatVector.fromMemorySegment(S, w, at + 4 * V, NO).fma(FloatVector.broadcast(S, h[hAt + k + 1]), a1);
                a2 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * V), NO).fma(FloatVector.broadcast(S, h[hAt + k + 2]), a2);
                a3 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * V), NO).fma(FloatVector.broadcast(S, h[hAt + k + 3]), a3);
                a0 = FloatVector.fromMemorySegment(S, w, at + 4 * (4 * V), NO).fma(FloatVector.broadcast(S, h[hAt + k + 4]), a0);
                a1 = FloatVector.fromMemorySegment(S, w, at + 4 * (5 * V), NO).fma(FloatVector.broadcast(S, h[hAt + k + 5]), a1);
                a2 = FloatVector.fromMemorySegment(S, w, at + 4 * (6 * V), NO).fma(FloatVector.broadcast(S, h[hAt + k + 6]), a2);
                a3 = FloatVector.fromMemorySegment(S, w, at + 4 * (7 * V), NO).fma(FloatVector.broadcast(S, h[hAt + k + 7]), a3);
            }
            for (; k + 3 < cols; k += 4, at += 16L * V) {
                a0 = FloatVector.fromMemorySegment(S, w, at, NO).fma(FloatVector.broadcast(S, h[hAt + k]), a0);
                a1 = FloatVector.fromMemorySegment(S, w, at + 4 * V, NO).fma(FloatVector.broadcast(S, h[hAt + k + 1]), a1);
                a2 = FloatVector.fromMemorySegment(S, w, at + 4 * (2 * V), NO).fma(FloatVector.broadcast(S, h[hAt + k + 2]), a2);
                a3 = FloatVector.fromMemorySegment(S, w, at + 4 * (3 * V), NO).fma(FloatVector.broadcast(S, h[hAt + k + 3]), a3);
            }
            for (; k < cols; k++, at += 4L * V) {
                a0 = FloatVector.fromMemorySegment(S, w, at, NO).fma(FloatVector.broadcast(S, h[hAt + k]), a0);
            }
            FloatVector pre = a0.add(a1).add(a2.add(a3));
            (relu ? pre.max(0f) : pre).intoArray(hNew, hNewAt + u * V);
        }
        if (!relu) {
            activate(hNew, hNewAt + u0 * V, u1 - u0, V, 1, 0, 0, 1);
        }
    }

    // ---- batched steps: gates = W_hh h came from gemm; the gate math per row ----

    /** LSTM gate math for one row from {@code xp} (W_ih x + biases, overwritten) and {@code gh} (W_hh h). */
    static void lstmGates(float[] xp, int xpAt, float[] gh, int ghAt, float[] c, int cAt, float[] hNew, int hNewAt,
                          int u0, int u1) {
        int from = u0 * 4 * V;
        int to = u1 * 4 * V;
        for (int q = from; q < to; q += V) {
            FloatVector.fromArray(S, xp, xpAt + q).add(FloatVector.fromArray(S, gh, ghAt + q)).intoArray(xp, xpAt + q);
        }
        lstmFinish(xp, xpAt, 4 * V, V, c, cAt, hNew, hNewAt, u0, u1);
    }

    /** GRU gate math for one row; {@code gh}'s n block is W_hn h without b_hn. xp's row is overwritten. */
    static void gruGates(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] h, int hAt,
                         float[] hNew, int hNewAt, int u0, int u1) {
        final int nr = 3 * V;
        for (int u = u0; u < u1; u++) {
            int x = xpAt + u * nr;
            int g = ghAt + u * nr;
            FloatVector.fromArray(S, xp, x).add(FloatVector.fromArray(S, gh, g)).intoArray(xp, x);
            FloatVector.fromArray(S, xp, x + V).add(FloatVector.fromArray(S, gh, g + V)).intoArray(xp, x + V);
            FloatVector hn = FloatVector.fromArray(S, gh, g + 2 * V);
            if (bhn != null) {
                hn = hn.add(FloatVector.fromArray(S, bhn, u * V));
            }
            hn.intoArray(hNew, hNewAt + u * V);
        }
        gruFinish(xp, xpAt, 3 * V, V, h, hAt, hNew, hNewAt, u0, u1);
    }

    /** Vanilla RNN activation for one row. */
    static void rnnGates(float[] xp, int xpAt, float[] gh, int ghAt, boolean relu, float[] hNew, int hNewAt,
                         int u0, int u1) {
        for (int u = u0; u < u1; u++) {
            FloatVector pre = FloatVector.fromArray(S, xp, xpAt + u * V).add(FloatVector.fromArray(S, gh, ghAt + u * V));
            (relu ? pre.max(0f) : pre).intoArray(hNew, hNewAt + u * V);
        }
        if (!relu) {
            activate(hNew, hNewAt + u0 * V, u1 - u0, V, 1, 0, 0, 1);
        }
    }

    // ---- sigmoid and tanh ----
    // Built from IEEE-exact operations only (+, *, fma, /, compare, blend, integer shifts), so
    // interpreted, C1 and C2 code give the same bits: the Vector API's EXP and TANH do not (C2
    // calls SVML, the fallback Math per lane), and a call's answer changed once C2 compiled it.
    // They run in place over arrays, with the polynomials written once in this loop, because a
    // helper taking and returning FloatVector is not reliably inlined into the large kernels,
    // and an un-inlined FloatVector is boxed on every call (10-30x slower, tried in 41d16f7).
    // For the same reason constants are FloatVector.broadcast here, not a helper: past C2's
    // inlining budget even a one-line helper stays a call and allocates.
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float SHIFTER = 12582912f; // 1.5 * 2^23: adding it rounds to an integer in the low bits

    /**
     * In place, over vector g of unit block u at {@code a[at + u*unitStride + g*gateStride]} for u in
     * {@code [0, units)}: sigmoid where bit g of {@code sigmoidGates} is set, tanh where bit g of
     * {@code tanhGates} is, nothing elsewhere. Cephes' expf polynomial (about 1 ulp) and its
     * tanhf series below |x| = 0.625; NaN stays NaN, +-Inf gives 0, 1 or +-1 as in PyTorch.
     */
    static void activate(float[] a, int at, int units, int unitStride, int gates, int gateStride, int sigmoidGates,
                         int tanhGates) {
        // One gate at a time, the function fixed for the loop (C2 unswitches it; same bits): one
        // loop choosing per vector, which formed both arguments, took 7.8 ns per sigmoid of 16
        // lanes and 10.2 per tanh, this one 6.6-6.9 and 9.1-9.6 (Intel Xeon, AVX-512).
        for (int g = 0; g < gates; g++) {
            if ((tanhGates >>> g & 1) != 0) {
                activate(a, at + g * gateStride, units, unitStride, true);
            } else if ((sigmoidGates >>> g & 1) != 0) {
                activate(a, at + g * gateStride, units, unitStride, false);
            }
        }
    }

    /** In place, {@code a[at + u*stride]} for u in {@code [0, units)}: tanh(x) or 1 / (1 + exp(-x)). */
    private static void activate(float[] a, int at, int units, int stride, boolean tanh) {
        final FloatVector inf = FloatVector.broadcast(S, Float.POSITIVE_INFINITY);
        final FloatVector ln2Hi = FloatVector.broadcast(S, -LN2_HI);
        final FloatVector e2 = FloatVector.broadcast(S, 8.3334519073e-3f);
        final FloatVector e3 = FloatVector.broadcast(S, 4.1665795894e-2f);
        final FloatVector e4 = FloatVector.broadcast(S, 1.6666665459e-1f);
        final FloatVector e5 = FloatVector.broadcast(S, 5.0000001201e-1f);
        final FloatVector t2 = FloatVector.broadcast(S, -5.37397155531e-2f);
        final FloatVector t3 = FloatVector.broadcast(S, 1.33314422036e-1f);
        final FloatVector t4 = FloatVector.broadcast(S, -3.33332819422e-1f);
        for (int u = 0, i = at; u < units; u++, i += stride) {
            FloatVector x = FloatVector.fromArray(S, a, i);
            // e = exp(-x) for sigmoid, exp(-2|x|) for tanh
            FloatVector arg = tanh ? x.abs().mul(-2f) : x.neg();
            FloatVector cl = arg.max(-87f).min(88f);
            FloatVector t = cl.fma(LOG2E, SHIFTER); // n = round(cl * log2 e) in t's low bits
            FloatVector n = t.sub(SHIFTER);
            FloatVector r = n.fma(ln2Hi, cl).sub(n.mul(LN2_LO)); // n * LN2_HI is exact: 9 bits times |n| < 2^7
            FloatVector y = r.fma(1.9875691500e-4f, 1.3981999507e-3f).fma(r, e2).fma(r, e3).fma(r, e4).fma(r, e5);
            y = y.fma(r.mul(r), r).add(1f);
            FloatVector scale = t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).add(0x3F800000)
                .reinterpretAsFloats(); // 2^n
            FloatVector e = y.mul(scale).blend(inf, arg.compare(VectorOperators.GT, 88f));
            FloatVector q = ONE.div(e.add(1f));
            if (!tanh) {
                q.intoArray(a, i);
                continue;
            }
            FloatVector large = ONE.sub(e).mul(q);
            large = large.blend(large.neg(), x.compare(VectorOperators.LT, 0f));
            FloatVector z = x.mul(x);
            FloatVector p = z.fma(-5.70498872745e-3f, 2.06390887954e-2f).fma(z, t2).fma(z, t3).fma(z, t4);
            large.blend(p.mul(z).fma(x, x), x.abs().compare(VectorOperators.LT, 0.625f)).intoArray(a, i);
        }
    }
}
