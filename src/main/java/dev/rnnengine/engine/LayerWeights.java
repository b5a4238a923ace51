package dev.rnnengine.engine;

import dev.rnnengine.core.Precision;
import dev.rnnengine.core.QuantizedMatrix;
import java.util.Map;

/**
 * One (layer, direction)'s parameters in PyTorch's layout, row-major, gates stacked in
 * PyTorch's order (LSTM i,f,g,o; GRU r,z,n). Backends repack these once in {@code prepare};
 * bias pre-summing follows {@link dev.rnnengine.core.CellMode#presummedBias}. In reduced
 * precision the weight matrices are also held quantized ({@code q*}), and the fp32 arrays hold
 * the values the codes stand for, so a kernel may stream either and give the same answers.
 *
 * @param wIh {@code (G*H, in)}
 * @param wHh {@code (G*H, H_out)}
 * @param bIh {@code (G*H)}, or null without bias
 * @param bHh {@code (G*H)}, or null without bias
 * @param wHr {@code (H_out, H)} for a projected LSTM, else null
 * @param qIh W_ih quantized, or null in fp32; likewise {@code qHh}, {@code qHr}
 */
public record LayerWeights(float[] wIh, float[] wHh, float[] bIh, float[] bHh, float[] wHr,
                           QuantizedMatrix qIh, QuantizedMatrix qHh, QuantizedMatrix qHr) {

    /** fp32 weights. */
    public LayerWeights(float[] wIh, float[] wHh, float[] bIh, float[] bHh, float[] wHr) {
        this(wIh, wHh, bIh, bHh, wHr, null, null, null);
    }

    /** The precision the weight matrices are held in. */
    public Precision precision() {
        return qHh == null ? Precision.FP32 : qHh.precision();
    }

    /**
     * These fp32 weights in precision {@code p} (themselves for fp32).
     *
     * @param rows  G*H; {@code hidden} H; {@code in}, {@code hOut} the other sizes
     * @param where the parameter names' suffix, for messages ({@code _l0}, {@code _l1_reverse})
     * @throws IllegalArgumentException if a weight cannot be held in {@code p}
     */
    public LayerWeights in(Precision p, int rows, int in, int hidden, int hOut, String where) {
        return in(p, rows, in, hidden, hOut, where, Map.of());
    }

    /**
     * Like {@link #in(Precision, int, int, int, int, String)}, taking the matrices {@code given}
     * holds (by PyTorch name, e.g. read from a quantized file) as they are instead of quantizing
     * the fp32 values again, which could move a scale by a rounding.
     *
     * @throws IllegalArgumentException if a weight cannot be held in {@code p}, or a given matrix
     *         is of another precision or shape
     */
    public LayerWeights in(Precision p, int rows, int in, int hidden, int hOut, String where,
                           Map<String, QuantizedMatrix> given) {
        if (p == Precision.FP32) {
            return this;
        }
        QuantizedMatrix ih = quantize(p, wIh, rows, in, "weight_ih" + where, given);
        QuantizedMatrix hh = quantize(p, wHh, rows, hOut, "weight_hh" + where, given);
        QuantizedMatrix hr = wHr == null ? null : quantize(p, wHr, hOut, hidden, "weight_hr" + where, given);
        return new LayerWeights(ih.values(), hh.values(), bIh, bHh, hr == null ? null : hr.values(), ih, hh, hr);
    }

    private static QuantizedMatrix quantize(Precision p, float[] w, int rows, int cols, String name,
                                            Map<String, QuantizedMatrix> given) {
        QuantizedMatrix q = given.get(name);
        if (q == null) {
            return QuantizedMatrix.of(p, w, rows, cols, name);
        }
        if (q.precision() != p || q.rows() != rows || q.cols() != cols) {
            throw new IllegalArgumentException(name + " is held as " + q.precision().label() + " (" + q.rows() + ", "
                + q.cols() + "); the model needs " + p.label() + " (" + rows + ", " + cols + ")");
        }
        return q;
    }

    /** Bytes the weights take as held (codes and scales in reduced precision; biases fp32). */
    public long bytes() {
        long b = 4L * ((bIh == null ? 0 : bIh.length) + (bHh == null ? 0 : bHh.length));
        if (qHh == null) {
            return b + 4L * (wIh.length + wHh.length + (wHr == null ? 0 : wHr.length));
        }
        return b + qIh.bytes() + qHh.bytes() + (qHr == null ? 0 : qHr.bytes());
    }
}
