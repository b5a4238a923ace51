package dev.rnnengine.internal;

/**
 * The one checked size arithmetic: every buffer length the engine computes from user-given
 * sizes (batch, length, features, file header fields) goes through here, so an overflow is an
 * {@link IllegalArgumentException} naming the buffer, never a negative array size or an index
 * out of bounds deep inside a kernel.
 */
public final class Sizes {
    /** The largest Java array the engine asks for (HotSpot refuses a few elements below Integer.MAX_VALUE). */
    public static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    private Sizes() { }

    /**
     * {@code a * b} as an array length (no varargs: this runs on the hot path).
     *
     * @param what names the buffer in the message, e.g. "the hidden state (N x H)"
     * @throws IllegalArgumentException if a factor is negative or the product exceeds {@link #MAX_ARRAY}
     */
    public static int elements(String what, long a, long b) {
        if (a >= 0 && b >= 0 && (b == 0 || a <= MAX_ARRAY / b)) {
            return (int) (a * b);
        }
        return (int) product(what, MAX_ARRAY, a, b); // throws with the message
    }

    /**
     * {@code a * b * c} as an array length.
     *
     * @throws IllegalArgumentException if a factor is negative or the product exceeds {@link #MAX_ARRAY}
     */
    public static int elements(String what, long a, long b, long c) {
        if (a >= 0 && b >= 0 && c >= 0 && (b == 0 || a <= MAX_ARRAY / b) && (c == 0 || a * b <= MAX_ARRAY / c)) {
            return (int) (a * b * c);
        }
        return (int) product(what, MAX_ARRAY, a, b, c);
    }

    /**
     * The product of the factors, at most {@code limit}.
     *
     * @throws IllegalArgumentException if a factor is negative or the product exceeds the limit
     */
    public static long product(String what, long limit, long... factors) {
        long n = 1;
        for (long f : factors) {
            if (f < 0) {
                throw new IllegalArgumentException(what + ": negative size " + f);
            }
            if (f != 0 && n > limit / f) {
                throw new IllegalArgumentException(what + " would hold " + describe(factors) + " elements, more than "
                    + limit + "; use smaller batches or shorter sequences");
            }
            n *= f;
        }
        return n;
    }

    private static String describe(long[] factors) {
        StringBuilder b = new StringBuilder();
        java.math.BigInteger p = java.math.BigInteger.ONE;
        for (int i = 0; i < factors.length; i++) {
            b.append(i == 0 ? "" : " x ").append(factors[i]);
            p = p.multiply(java.math.BigInteger.valueOf(factors[i]));
        }
        return b.append(" = ").append(p).toString();
    }
}
