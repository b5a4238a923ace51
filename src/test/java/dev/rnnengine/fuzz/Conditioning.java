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
                t = f.floats(name);
            } catch (java.io.IOException e) {
                continue; // not a float tensor
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
}
