package dev.rnnengine.text;

import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;

/** How the encoder's outputs become one vector per sequence, as PyTorch users write it. */
public enum Pooling {
    /**
     * The last layer's final state, {@code h_n[-1]}; bidirectional: {@code cat(h_n[-2], h_n[-1])},
     * the forward direction's state after each sequence's last step and the backward one's after its first.
     */
    LAST,
    /** The mean of the output over each sequence's valid steps. */
    MEAN,
    /** The element-wise maximum of the output over each sequence's valid steps. */
    MAX;

    /**
     * The pooling of a name ({@code last}, {@code mean}, {@code max}).
     *
     * @throws IllegalArgumentException for any other name
     */
    public static Pooling of(String name) {
        return switch (name) {
            case "last" -> LAST;
            case "mean" -> MEAN;
            case "max" -> MAX;
            default -> throw new IllegalArgumentException("unknown pooling '" + name + "': use last, mean or max");
        };
    }

    /**
     * Pools a batch: {@code (N, dirs*H_out)} written to {@code out} row by row.
     *
     * @param r       the encoder's result for input {@code (N, T, .)} (batch-first or not, as {@code spec})
     * @param lengths each sequence's valid steps, 1..T
     */
    void pool(RnnSpec spec, RnnOutput r, int[] lengths, float[] out) {
        int n = lengths.length;
        int hOut = spec.outputHiddenSize();
        int width = spec.directions() * hOut;
        if (this == LAST) {
            Tensor h = r.hN(); // (L*dirs, N, H_out)
            int states = spec.numLayers() * spec.directions();
            for (int b = 0; b < n; b++) {
                for (int d = 0; d < spec.directions(); d++) {
                    int layerDir = states - spec.directions() + d;
                    for (int j = 0; j < hOut; j++) {
                        out[b * width + d * hOut + j] = h.get((layerDir * n + b) * hOut + j);
                    }
                }
            }
            return;
        }
        Tensor y = r.output();
        int steps = spec.batchFirst() ? y.size(1) : y.size(0);
        for (int b = 0; b < n; b++) {
            for (int j = 0; j < width; j++) {
                float acc = this == MEAN ? 0f : Float.NEGATIVE_INFINITY;
                for (int t = 0; t < lengths[b]; t++) {
                    int row = spec.batchFirst() ? b * steps + t : t * n + b;
                    float v = y.get(row * width + j);
                    acc = this == MEAN ? acc + v : Math.max(acc, v);
                }
                out[b * width + j] = this == MEAN ? acc / lengths[b] : acc;
            }
        }
    }
}
