package dev.rnnengine.fuzz;

import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.SafetensorsFile;

/**
 * How closely two backends must agree on fuzzed weights. Float rounding differs between
 * backends by design (summation order, fused multiply-add), and a recurrence amplifies a
 * difference by up to its recurrent matrix's norm per step (tanh, sigmoid and ReLU are
 * 1-Lipschitz): after T steps, by up to {@code max(1, ||W_hh||_inf)^T}. The tolerance is a
 * float-rounding budget times that bound; where the bound makes any comparison meaningless
 * (chaotic weights, long sequences, non-finite or huge values) there is no comparison.
 */
final class Conditioning {
    private Conditioning() { }

    /**
     * The tolerance for comparing outputs after {@code steps} steps of the model whose tensors
     * start with {@code prefix}, or NaN when they cannot be compared.
     */
    static double tolerance(SafetensorsFile f, String prefix, int steps) {
        double norm = 1;  // largest row sum of |W_hh|
        double scale = 1; // largest |value| anywhere
        for (String name : f.names()) {
            if (!name.startsWith(prefix)) {
                continue;
            }
            Tensor t;
            try {
                t = f.info(name).dtype() == dev.rnnengine.io.DType.I8 ? int8Values(f, name) : f.floats(name);
            } catch (java.io.IOException | RuntimeException e) {
                continue; // not a float tensor, or codes without their scales (the model refuses those)
            }
            int[] shape = t.shape();
            boolean recurrent = name.contains("weight_hh");
            int cols = shape.length == 2 ? Math.max(1, shape[1]) : 1;
            for (int r = 0; r < t.numel() / cols; r++) {
                double rowSum = 0;
                for (int k = 0; k < cols; k++) {
                    float v = t.get(r * cols + k);
                    if (!Float.isFinite(v)) {
                        return Double.NaN;
                    }
                    rowSum += Math.abs(v);
                    scale = Math.max(scale, Math.abs(v));
                }
                if (recurrent) {
                    norm = Math.max(norm, rowSum);
                }
            }
        }
        double tol = 1e-4 * scale * Math.pow(norm, steps + 1);
        return tol <= 0.05 ? tol : Double.NaN;
    }

    /** An int8 matrix as the values its codes and per-row scales stand for. */
    private static Tensor int8Values(SafetensorsFile f, String name) throws java.io.IOException {
        byte[] codes = f.int8s(name);
        float[] scale = f.floats(name + ".scale").toArray();
        int cols = codes.length / scale.length;
        float[] v = new float[codes.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = codes[i] * scale[i / cols];
        }
        return Tensor.of(v, scale.length, cols);
    }
}
