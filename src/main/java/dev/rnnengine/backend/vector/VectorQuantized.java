package dev.rnnengine.backend.vector;

import static dev.rnnengine.backend.vector.VectorKernels.S;
import static dev.rnnengine.backend.vector.VectorKernels.V;
import static dev.rnnengine.backend.vector.VectorKernels.units;

import dev.rnnengine.core.Precision;
import dev.rnnengine.core.QuantizedMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * W_hh held as fp16 or int8 codes for the step: {@code W_hh h} of one row streams half or a
 * quarter of fp32's bytes. Codes sit in <em>block panels</em> {@code [u][g][k][V]} (block
 * {@code b = u*G + g} holds gate g of unit block u, contiguous over k), so one kernel serves
 * every cell; the result lands as {@code [u][g][V]}, the layout the gate math reads.
 * int8: lanes widened to floats, summed, and the row's scale applied once at the end. fp16:
 * two halves per int, each moved into a float's bits by shifts and one mask (a half at the top of
 * an int, shifted down 3 with its sign, has its sign, exponent and mantissa where a float's are)
 * and the exponent rebiased by one multiply by 2^112; subnormal halves never occur ({@link QuantizedMatrix}), so no
 * operation meets a denormal float.
 */
final class VectorQuantized {
    /** Rows decoded together: four where 16 accumulators fit the registers (AVX-512's 32), else two. */
    static final int ROWS = V >= 16 ? 4 : 2;
    /** int8 codes need a byte vector of V lanes: 64 bits or more, so V >= 8 (AVX2 and up). */
    static final boolean INT8_CODES = V >= 8;
    private static final VectorSpecies<Byte> B = INT8_CODES ? VectorSpecies.of(byte.class, VectorShape.forBitSize(V * 8)) : null;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final int HALF_TO_FLOAT_MASK = 0x8FFFE000; // float sign, exponent and mantissa of a half << 13
    private static final float REBIAS = 0x1p112f;             // float bias 127 minus half bias 15

    private VectorQuantized() { }

    /** Whether W_hh in {@code p} is streamed as codes here (else the step uses the fp32 values). */
    static boolean streamsCodes(Precision p) {
        return p == Precision.FP16 || (p == Precision.INT8 && INT8_CODES);
    }

    /**
     * int8 codes of W {@code (gates*hidden, cols)} as block panels; padding rows hold 0. On the
     * heap, unlike the fp32 and fp16 panels ({@link VectorKernels#aligned}): a byte load from a
     * memory segment widened to floats ran 12-13% slower here than from an array.
     */
    static byte[] packInt8(QuantizedMatrix q, int gates, int hidden) {
        int cols = q.cols();
        byte[] p = new byte[units(hidden) * gates * cols * V];
        for (int g = 0; g < gates; g++) {
            for (int j = 0; j < hidden; j++) {
                int b = (j / V) * gates + g;
                for (int k = 0; k < cols; k++) {
                    p[(b * cols + k) * V + j % V] = q.int8()[(g * hidden + j) * cols + k];
                }
            }
        }
        return p;
    }

    /**
     * fp16 codes of W as block panels of int pairs: {@code [b][k/2][V]}, each int holding the
     * halves of columns k (low 16 bits) and k+1 (high), so one native-width int load serves two
     * columns with no lane-width conversion; padding rows and an odd last column hold 0.
     */
    static MemorySegment packFp16(Arena arena, QuantizedMatrix q, int gates, int hidden) {
        int cols = q.cols();
        int kp = (cols + 1) / 2;
        int[] p = new int[units(hidden) * gates * kp * V];
        for (int g = 0; g < gates; g++) {
            for (int j = 0; j < hidden; j++) {
                int b = (j / V) * gates + g;
                for (int k = 0; k < cols; k++) {
                    p[(b * kp + k / 2) * V + j % V] |= (q.fp16()[(g * hidden + j) * cols + k] & 0xFFFF) << (16 * (k & 1));
                }
            }
        }
        return VectorKernels.aligned(arena, p);
    }

    /** out[b*V..] = scale_b * (codes_b . h) for blocks {@code [b0, b1)}. */
    static void matvecInt8(byte[] w, float[] scale, int cols, float[] h, int hAt, float[] out, int outAt, int b0, int b1, boolean down) {
        for (int q = b0; q < b1; q++) {
            int b = down ? b1 - 1 - (q - b0) : q;
            int p = b * cols * V;
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            int k = 0;
            for (; k + 3 < cols; k += 4) {
                int at = p + k * V;
                a0 = int8(w, at).fma(FloatVector.broadcast(S, h[hAt + k]), a0);
                a1 = int8(w, at + V).fma(FloatVector.broadcast(S, h[hAt + k + 1]), a1);
                a2 = int8(w, at + 2 * V).fma(FloatVector.broadcast(S, h[hAt + k + 2]), a2);
                a3 = int8(w, at + 3 * V).fma(FloatVector.broadcast(S, h[hAt + k + 3]), a3);
            }
            for (; k < cols; k++) {
                a0 = int8(w, p + k * V).fma(FloatVector.broadcast(S, h[hAt + k]), a0);
            }
            a0.add(a1).add(a2.add(a3)).mul(FloatVector.fromArray(S, scale, b * V)).intoArray(out, outAt + b * V);
        }
    }

    /**
     * {@link #matvecInt8} for two rows at once: each code vector is loaded and widened once for
     * both. Each row's sums run in exactly {@link #matvecInt8}'s order (four accumulators by
     * {@code k mod 4}, combined the same way), so a row's bits do not depend on being paired.
     */
    static void matvecInt8x2(byte[] w, float[] scale, int cols, float[] h, int hAt, int hBt, float[] out, int outAt,
                             int outBt, int b0, int b1, boolean down) {
        for (int q = b0; q < b1; q++) {
            int b = down ? b1 - 1 - (q - b0) : q;
            int p = b * cols * V;
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector c0 = a0;
            FloatVector c1 = a0;
            FloatVector c2 = a0;
            FloatVector c3 = a0;
            int k = 0;
            for (; k + 3 < cols; k += 4) {
                int at = p + k * V;
                FloatVector w0 = int8(w, at);
                FloatVector w1 = int8(w, at + V);
                FloatVector w2 = int8(w, at + 2 * V);
                FloatVector w3 = int8(w, at + 3 * V);
                a0 = w0.fma(FloatVector.broadcast(S, h[hAt + k]), a0);
                a1 = w1.fma(FloatVector.broadcast(S, h[hAt + k + 1]), a1);
                a2 = w2.fma(FloatVector.broadcast(S, h[hAt + k + 2]), a2);
                a3 = w3.fma(FloatVector.broadcast(S, h[hAt + k + 3]), a3);
                c0 = w0.fma(FloatVector.broadcast(S, h[hBt + k]), c0);
                c1 = w1.fma(FloatVector.broadcast(S, h[hBt + k + 1]), c1);
                c2 = w2.fma(FloatVector.broadcast(S, h[hBt + k + 2]), c2);
                c3 = w3.fma(FloatVector.broadcast(S, h[hBt + k + 3]), c3);
            }
            for (; k < cols; k++) {
                FloatVector w0 = int8(w, p + k * V);
                a0 = w0.fma(FloatVector.broadcast(S, h[hAt + k]), a0);
                c0 = w0.fma(FloatVector.broadcast(S, h[hBt + k]), c0);
            }
            FloatVector sc = FloatVector.fromArray(S, scale, b * V);
            a0.add(a1).add(a2.add(a3)).mul(sc).intoArray(out, outAt + b * V);
            c0.add(c1).add(c2.add(c3)).mul(sc).intoArray(out, outBt + b * V);
        }
    }

    /** {@link #matvecFp16} for two rows at once, each row summed in its order (see {@link #matvecInt8x2}). */
    static void matvecFp16x2(MemorySegment w, int cols, float[] h, int hAt, int hBt, float[] out, int outAt, int outBt,
                             int b0, int b1, boolean down) {
        int kp = (cols + 1) / 2;
        for (int q = b0; q < b1; q++) {
            int b = down ? b1 - 1 - (q - b0) : q;
            int p = b * kp * V;
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector c0 = a0;
            FloatVector c1 = a0;
            FloatVector c2 = a0;
            FloatVector c3 = a0;
            int k2 = 0;
            for (; k2 + 1 < cols / 2; k2 += 2) {
                IntVector v0 = IntVector.fromMemorySegment(I, w, 4L * (p + k2 * V), NO);
                IntVector v1 = IntVector.fromMemorySegment(I, w, 4L * (p + (k2 + 1) * V), NO);
                FloatVector l0 = low(v0);
                FloatVector h0 = high(v0);
                FloatVector l1 = low(v1);
                FloatVector h1 = high(v1);
                int k = 2 * k2;
                a0 = l0.fma(FloatVector.broadcast(S, h[hAt + k]), a0);
                a1 = h0.fma(FloatVector.broadcast(S, h[hAt + k + 1]), a1);
                a2 = l1.fma(FloatVector.broadcast(S, h[hAt + k + 2]), a2);
                a3 = h1.fma(FloatVector.broadcast(S, h[hAt + k + 3]), a3);
                c0 = l0.fma(FloatVector.broadcast(S, h[hBt + k]), c0);
                c1 = h0.fma(FloatVector.broadcast(S, h[hBt + k + 1]), c1);
                c2 = l1.fma(FloatVector.broadcast(S, h[hBt + k + 2]), c2);
                c3 = h1.fma(FloatVector.broadcast(S, h[hBt + k + 3]), c3);
            }
            for (; k2 < kp; k2++) {
                IntVector v = IntVector.fromMemorySegment(I, w, 4L * (p + k2 * V), NO);
                FloatVector l = low(v);
                a0 = l.fma(FloatVector.broadcast(S, h[hAt + 2 * k2]), a0);
                c0 = l.fma(FloatVector.broadcast(S, h[hBt + 2 * k2]), c0);
                if (2 * k2 + 1 < cols) {
                    FloatVector hi = high(v);
                    a1 = hi.fma(FloatVector.broadcast(S, h[hAt + 2 * k2 + 1]), a1);
                    c1 = hi.fma(FloatVector.broadcast(S, h[hBt + 2 * k2 + 1]), c1);
                }
            }
            a0.add(a1).add(a2.add(a3)).intoArray(out, outAt + b * V);
            c0.add(c1).add(c2.add(c3)).intoArray(out, outBt + b * V);
        }
    }

    /** {@link #matvecInt8x2} for four rows (wide vectors: 16 accumulators fit the 32 registers of AVX-512). */
    static void matvecInt8x4(byte[] w, float[] scale, int cols, float[] h, int h0, int h1, int h2, int h3, float[] out,
                             int o0, int o1, int o2, int o3, int b0, int b1, boolean down) {
        for (int q = b0; q < b1; q++) {
            int b = down ? b1 - 1 - (q - b0) : q;
            int p = b * cols * V;
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector c0 = a0;
            FloatVector c1 = a0;
            FloatVector c2 = a0;
            FloatVector c3 = a0;
            FloatVector d0 = a0;
            FloatVector d1 = a0;
            FloatVector d2 = a0;
            FloatVector d3 = a0;
            FloatVector e0 = a0;
            FloatVector e1 = a0;
            FloatVector e2 = a0;
            FloatVector e3 = a0;
            int k = 0;
            for (; k + 3 < cols; k += 4) {
                int at = p + k * V;
                FloatVector w0 = int8(w, at);
                FloatVector w1 = int8(w, at + V);
                FloatVector w2 = int8(w, at + 2 * V);
                FloatVector w3 = int8(w, at + 3 * V);
                a0 = w0.fma(FloatVector.broadcast(S, h[h0 + k]), a0);
                a1 = w1.fma(FloatVector.broadcast(S, h[h0 + k + 1]), a1);
                a2 = w2.fma(FloatVector.broadcast(S, h[h0 + k + 2]), a2);
                a3 = w3.fma(FloatVector.broadcast(S, h[h0 + k + 3]), a3);
                c0 = w0.fma(FloatVector.broadcast(S, h[h1 + k]), c0);
                c1 = w1.fma(FloatVector.broadcast(S, h[h1 + k + 1]), c1);
                c2 = w2.fma(FloatVector.broadcast(S, h[h1 + k + 2]), c2);
                c3 = w3.fma(FloatVector.broadcast(S, h[h1 + k + 3]), c3);
                d0 = w0.fma(FloatVector.broadcast(S, h[h2 + k]), d0);
                d1 = w1.fma(FloatVector.broadcast(S, h[h2 + k + 1]), d1);
                d2 = w2.fma(FloatVector.broadcast(S, h[h2 + k + 2]), d2);
                d3 = w3.fma(FloatVector.broadcast(S, h[h2 + k + 3]), d3);
                e0 = w0.fma(FloatVector.broadcast(S, h[h3 + k]), e0);
                e1 = w1.fma(FloatVector.broadcast(S, h[h3 + k + 1]), e1);
                e2 = w2.fma(FloatVector.broadcast(S, h[h3 + k + 2]), e2);
                e3 = w3.fma(FloatVector.broadcast(S, h[h3 + k + 3]), e3);
            }
            for (; k < cols; k++) {
                FloatVector w0 = int8(w, p + k * V);
                a0 = w0.fma(FloatVector.broadcast(S, h[h0 + k]), a0);
                c0 = w0.fma(FloatVector.broadcast(S, h[h1 + k]), c0);
                d0 = w0.fma(FloatVector.broadcast(S, h[h2 + k]), d0);
                e0 = w0.fma(FloatVector.broadcast(S, h[h3 + k]), e0);
            }
            FloatVector sc = FloatVector.fromArray(S, scale, b * V);
            a0.add(a1).add(a2.add(a3)).mul(sc).intoArray(out, o0 + b * V);
            c0.add(c1).add(c2.add(c3)).mul(sc).intoArray(out, o1 + b * V);
            d0.add(d1).add(d2.add(d3)).mul(sc).intoArray(out, o2 + b * V);
            e0.add(e1).add(e2.add(e3)).mul(sc).intoArray(out, o3 + b * V);
        }
    }

    /** {@link #matvecFp16x2} for four rows (wide vectors, as {@link #matvecInt8x4}). */
    static void matvecFp16x4(MemorySegment w, int cols, float[] h, int h0, int h1, int h2, int h3, float[] out, int o0, int o1,
                             int o2, int o3, int b0, int b1, boolean down) {
        int kp = (cols + 1) / 2;
        for (int q = b0; q < b1; q++) {
            int b = down ? b1 - 1 - (q - b0) : q;
            int p = b * kp * V;
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector c0 = a0;
            FloatVector c1 = a0;
            FloatVector c2 = a0;
            FloatVector c3 = a0;
            FloatVector d0 = a0;
            FloatVector d1 = a0;
            FloatVector d2 = a0;
            FloatVector d3 = a0;
            FloatVector e0 = a0;
            FloatVector e1 = a0;
            FloatVector e2 = a0;
            FloatVector e3 = a0;
            int k2 = 0;
            for (; k2 + 1 < cols / 2; k2 += 2) {
                IntVector v0 = IntVector.fromMemorySegment(I, w, 4L * (p + k2 * V), NO);
                IntVector v1 = IntVector.fromMemorySegment(I, w, 4L * (p + (k2 + 1) * V), NO);
                FloatVector l0 = low(v0);
                FloatVector g0 = high(v0);
                FloatVector l1 = low(v1);
                FloatVector g1 = high(v1);
                int k = 2 * k2;
                a0 = l0.fma(FloatVector.broadcast(S, h[h0 + k]), a0);
                a1 = g0.fma(FloatVector.broadcast(S, h[h0 + k + 1]), a1);
                a2 = l1.fma(FloatVector.broadcast(S, h[h0 + k + 2]), a2);
                a3 = g1.fma(FloatVector.broadcast(S, h[h0 + k + 3]), a3);
                c0 = l0.fma(FloatVector.broadcast(S, h[h1 + k]), c0);
                c1 = g0.fma(FloatVector.broadcast(S, h[h1 + k + 1]), c1);
                c2 = l1.fma(FloatVector.broadcast(S, h[h1 + k + 2]), c2);
                c3 = g1.fma(FloatVector.broadcast(S, h[h1 + k + 3]), c3);
                d0 = l0.fma(FloatVector.broadcast(S, h[h2 + k]), d0);
                d1 = g0.fma(FloatVector.broadcast(S, h[h2 + k + 1]), d1);
                d2 = l1.fma(FloatVector.broadcast(S, h[h2 + k + 2]), d2);
                d3 = g1.fma(FloatVector.broadcast(S, h[h2 + k + 3]), d3);
                e0 = l0.fma(FloatVector.broadcast(S, h[h3 + k]), e0);
                e1 = g0.fma(FloatVector.broadcast(S, h[h3 + k + 1]), e1);
                e2 = l1.fma(FloatVector.broadcast(S, h[h3 + k + 2]), e2);
                e3 = g1.fma(FloatVector.broadcast(S, h[h3 + k + 3]), e3);
            }
            for (; k2 < kp; k2++) {
                IntVector v = IntVector.fromMemorySegment(I, w, 4L * (p + k2 * V), NO);
                FloatVector l = low(v);
                int k = 2 * k2;
                a0 = l.fma(FloatVector.broadcast(S, h[h0 + k]), a0);
                c0 = l.fma(FloatVector.broadcast(S, h[h1 + k]), c0);
                d0 = l.fma(FloatVector.broadcast(S, h[h2 + k]), d0);
                e0 = l.fma(FloatVector.broadcast(S, h[h3 + k]), e0);
                if (k + 1 < cols) {
                    FloatVector g = high(v);
                    a1 = g.fma(FloatVector.broadcast(S, h[h0 + k + 1]), a1);
                    c1 = g.fma(FloatVector.broadcast(S, h[h1 + k + 1]), c1);
                    d1 = g.fma(FloatVector.broadcast(S, h[h2 + k + 1]), d1);
                    e1 = g.fma(FloatVector.broadcast(S, h[h3 + k + 1]), e1);
                }
            }
            a0.add(a1).add(a2.add(a3)).intoArray(out, o0 + b * V);
            c0.add(c1).add(c2.add(c3)).intoArray(out, o1 + b * V);
            d0.add(d1).add(d2.add(d3)).intoArray(out, o2 + b * V);
            e0.add(e1).add(e2.add(e3)).intoArray(out, o3 + b * V);
        }
    }

    /** out[b*V..] = codes_b . h for blocks {@code [b0, b1)}, fp16 codes in int pairs ({@link #packFp16}). */
    static void matvecFp16(MemorySegment w, int cols, float[] h, int hAt, float[] out, int outAt, int b0, int b1, boolean down) {
        int kp = (cols + 1) / 2;
        for (int q = b0; q < b1; q++) {
            int b = down ? b1 - 1 - (q - b0) : q;
            int p = b * kp * V;
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            int k2 = 0;
            for (; k2 + 1 < cols / 2; k2 += 2) {
                IntVector v0 = IntVector.fromMemorySegment(I, w, 4L * (p + k2 * V), NO);
                IntVector v1 = IntVector.fromMemorySegment(I, w, 4L * (p + (k2 + 1) * V), NO);
                int k = hAt + 2 * k2;
                a0 = low(v0).fma(FloatVector.broadcast(S, h[k]), a0);
                a1 = high(v0).fma(FloatVector.broadcast(S, h[k + 1]), a1);
                a2 = low(v1).fma(FloatVector.broadcast(S, h[k + 2]), a2);
                a3 = high(v1).fma(FloatVector.broadcast(S, h[k + 3]), a3);
            }
            for (; k2 < kp; k2++) {
                IntVector v = IntVector.fromMemorySegment(I, w, 4L * (p + k2 * V), NO);
                a0 = low(v).fma(FloatVector.broadcast(S, h[hAt + 2 * k2]), a0);
                if (2 * k2 + 1 < cols) {
                    a1 = high(v).fma(FloatVector.broadcast(S, h[hAt + 2 * k2 + 1]), a1);
                }
            }
            a0.add(a1).add(a2.add(a3)).intoArray(out, outAt + b * V);
        }
    }

    /** The half in the low 16 bits as a float: moved to the top, shifted down 3 with its sign, masked, rebiased. */
    private static FloatVector low(IntVector v) {
        return v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_TO_FLOAT_MASK)
            .reinterpretAsFloats().mul(REBIAS);
    }

    /** The half in the high 16 bits as a float. */
    private static FloatVector high(IntVector v) {
        return v.lanewise(VectorOperators.ASHR, 3).and(HALF_TO_FLOAT_MASK).reinterpretAsFloats().mul(REBIAS);
    }

    private static FloatVector int8(byte[] w, int at) {
        return (FloatVector) ByteVector.fromArray(B, w, at).convertShape(VectorOperators.B2F, S, 0);
    }

}
