package dev.rnnengine.engine;

import java.util.Arrays;

/**
 * One forward call in canonical layout, plus the caller's scratch. The front-end fills the
 * fields; a backend reads them and writes {@code y}, {@code hN}, {@code cN}. Objects are
 * pooled and reused, so nothing here is allocated per call once warm.
 *
 * <p>Shapes ({@code L} layers, {@code dirs} directions, {@code H_out} = proj or hidden size):
 * <pre>
 *   x       (T, N, D)               input, time-major
 *   h0      (L*dirs, N, H_out)      or null for zeros
 *   c0      (L*dirs, N, H)          LSTM only, or null for zeros
 *   lengths (N)                     each in 1..T, or null when every sequence has length T
 *   y       (T, N, dirs*H_out)      output; zero at steps past a sequence's length
 *   hN      (L*dirs, N, H_out)      may be the same array as h0 (streaming)
 *   cN      (L*dirs, N, H)          LSTM only; may be the same array as c0
 * </pre>
 * Arrays may be longer than the shape; elements start at index 0.
 */
public final class ForwardArgs {
    public int seqLen;
    public int batch;
    public float[] x;
    public float[] h0;
    public float[] c0;
    public int[] lengths;
    public float[] y;
    public float[] hN;
    public float[] cN;
    /** A backend's per-args object (its task, barriers), created on first use and kept. */
    public Object backendCache;

    private float[][] floats = new float[8][];
    private float[][] staging = new float[8][];

    /**
     * A scratch array of at least {@code size} floats for this call, kept for the next call.
     * Contents are undefined. Each slot serves one purpose within a call.
     */
    public float[] scratch(int slot, int size) {
        if (slot >= floats.length) {
            floats = Arrays.copyOf(floats, Math.max(slot + 1, 2 * floats.length));
        }
        return grow(floats, slot, size);
    }

    /** Like {@link #scratch} but reserved for the front-end's layout conversions. */
    public float[] staging(int slot, int size) {
        return grow(staging, slot, size);
    }

    private static float[] grow(float[][] arrays, int slot, int size) {
        float[] a = arrays[slot];
        if (a == null || a.length < size) {
            a = new float[size];
            arrays[slot] = a;
        }
        return a;
    }

    /** Drops the references to the caller's arrays so a pooled object pins no user data. */
    public void clearInputs() {
        x = h0 = c0 = y = hN = cN = null;
        lengths = null;
    }
}
