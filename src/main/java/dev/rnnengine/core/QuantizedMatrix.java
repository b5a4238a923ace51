package dev.rnnengine.core;

/**
 * A weight matrix {@code (rows, cols)}, row-major, held in reduced precision: int8 codes with
 * one scale per row (value = {@code code * scale}), or IEEE half floats (subnormals, below
 * 2^-14, rounded to 0 or 2^-14). {@link #value} is the
 * fp32 number each weight stands for; the scalar backend computes with exactly those, so it is
 * the reference every other kernel of the same precision is checked against.
 *
 * @param precision {@link Precision#INT8} or {@link Precision#FP16}
 * @param int8      the int8 codes, or null
 * @param fp16      the half floats' bits, or null
 * @param scale     int8: one scale per row (0 for an all-zero row); fp16: null
 */
public record QuantizedMatrix(Precision precision, int rows, int cols, byte[] int8, short[] fp16, float[] scale) {

    /**
     * Quantizes {@code w}.
     *
     * @param name the tensor's name, for messages
     * @throws IllegalArgumentException if a weight is not finite, or beyond fp16's range (65504)
     */
    public static QuantizedMatrix of(Precision p, float[] w, int rows, int cols, String name) {
        if (p == Precision.FP32) {
            throw new IllegalArgumentException("fp32 weights are not quantized");
        }
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i]) || (p == Precision.FP16 && Math.abs(w[i]) > 65504f)) {
                throw new IllegalArgumentException(name + "[" + (i / cols) + ", " + (i % cols) + "] = " + w[i]
                    + (Float.isFinite(w[i]) ? " is beyond fp16's range (65504): use fp32 or int8" : " cannot be quantized"));
            }
        }
        if (p == Precision.FP16) {
            short[] h = new short[w.length];
            for (int i = 0; i < w.length; i++) {
                h[i] = Float.floatToFloat16(w[i]);
                if ((h[i] & 0x7c00) == 0 && (h[i] & 0x3ff) != 0) {
                    // Subnormal halves (|w| < 2^-14) go to the nearest of 0 and 2^-14: kernels then
                    // never meet denormal floats, which cost a microcode assist per operation.
                    h[i] = (short) ((h[i] & 0x8000) | (Math.abs(w[i]) >= 0x1p-15f ? 0x0400 : 0));
                }
            }
            return new QuantizedMatrix(p, rows, cols, null, h, null);
        }
        byte[] q = new byte[w.length];
        float[] s = new float[rows];
        for (int r = 0; r < rows; r++) {
            float max = 0;
            for (int c = 0; c < cols; c++) {
                max = Math.max(max, Math.abs(w[r * cols + c]));
            }
            s[r] = max / 127f;
            for (int c = 0; c < cols && max > 0; c++) {
                q[r * cols + c] = (byte) Math.max(-127, Math.min(127, Math.round(w[r * cols + c] / s[r])));
            }
        }
        return new QuantizedMatrix(p, rows, cols, q, null, s);
    }

    /**
     * Codes read from a file ({@code rnn quantize} writes them), checked as {@link #of} would
     * have made them: int8 scales finite and not negative, one per row; fp16 halves finite
     * and not subnormal.
     *
     * @param int8  the codes for {@link Precision#INT8} (with {@code scale}), else null
     * @param fp16  the half floats' bits for {@link Precision#FP16}, else null
     * @param name  the tensor's name, for messages
     * @throws IllegalArgumentException if the codes do not fit the shape or break the rules above
     */
    public static QuantizedMatrix ofCodes(Precision p, int rows, int cols, byte[] int8, short[] fp16, float[] scale,
                                          String name) {
        long n = (long) rows * cols;
        if (p == Precision.INT8) {
            if (int8 == null || int8.length != n || scale == null || scale.length != rows || fp16 != null) {
                throw new IllegalArgumentException(name + ": int8 weights need " + n + " codes and " + rows
                    + " scales (one per row), got " + (int8 == null ? 0 : int8.length) + " and "
                    + (scale == null ? 0 : scale.length));
            }
            for (int r = 0; r < rows; r++) {
                if (!(scale[r] >= 0) || !Float.isFinite(scale[r])) {
                    throw new IllegalArgumentException(name + " scale[" + r + "] = " + scale[r]
                        + ": a scale must be finite and not negative");
                }
            }
            return new QuantizedMatrix(p, rows, cols, int8, null, scale);
        }
        if (p != Precision.FP16 || fp16 == null || fp16.length != n || int8 != null || scale != null) {
            throw new IllegalArgumentException(name + ": " + p.label() + " weights need " + n
                + (p == Precision.FP16 ? " half floats and no scales" : " values; fp32 is not held as codes"));
        }
        for (int i = 0; i < fp16.length; i++) {
            int e = fp16[i] & 0x7c00;
            if (e == 0x7c00 || (e == 0 && (fp16[i] & 0x3ff) != 0)) {
                throw new IllegalArgumentException(name + "[" + (i / cols) + ", " + (i % cols) + "] = "
                    + Float.float16ToFloat(fp16[i]) + (e == 0 ? " is a subnormal half" : " is not finite")
                    + "; fp16 weights are finite and 0 or at least 2^-14 in magnitude (as rnn quantize writes them)");
            }
        }
        return new QuantizedMatrix(p, rows, cols, null, fp16, null);
    }

    /** The fp32 value weight {@code i} (row-major) stands for. */
    public float value(int i) {
        return int8 != null ? int8[i] * scale[i / cols] : Float.float16ToFloat(fp16[i]);
    }

    /** All the values, row-major: what an fp32 kernel computes with to give this precision's answers. */
    public float[] values() {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = value(i);
        }
        return v;
    }

    /** Bytes held: the codes and the scales. */
    public long bytes() {
        return (long) rows * cols * precision.bytesPerWeight() + (scale == null ? 0 : 4L * scale.length);
    }
}
