package dev.rnnengine.core;

import java.util.Locale;

/**
 * The precision the weight matrices ({@code W_ih}, {@code W_hh}, {@code W_hr}) are held in.
 * Biases, activations, states and every sum stay fp32. Only {@link #FP32} reproduces PyTorch
 * to the last bits; the others trade a documented error (docs/precision.md) for
 * fewer bytes streamed per step.
 */
public enum Precision {
    /** PyTorch's weights as they are (the default). */
    FP32(4, 0),
    /** IEEE half-precision weights (round to nearest even), fp32 arithmetic. */
    FP16(2, 5e-3),
    /** Symmetric int8 weights, one fp32 scale per output row (max |w| / 127), fp32 arithmetic. */
    INT8(1, 5e-2);

    private final int bytes;
    private final double bound;

    Precision(int bytes, double bound) {
        this.bytes = bytes;
        this.bound = bound;
    }

    /**
     * The documented bound on |output - PyTorch fp32| for models like the reference cases
     * (weights and inputs of order 1, states bounded by the activations); measured over every
     * reference case with a margin (docs/precision.md). 0 for fp32, which is held to
     * PyTorch's results at {@code 1e-5 + 1e-5|b|}.
     */
    public double errorBound() {
        return bound;
    }

    /** Bytes per weight held. */
    public int bytesPerWeight() {
        return bytes;
    }

    /** The lower-case name used on the command line and in files ({@code fp32}, {@code fp16}, {@code int8}). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The precision named {@code s} (case-insensitive).
     *
     * @throws IllegalArgumentException if {@code s} names none
     */
    public static Precision parse(String s) {
        for (Precision p : values()) {
            if (p.label().equalsIgnoreCase(s == null ? "" : s.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + s + "': choose fp32, fp16 or int8");
    }
}
