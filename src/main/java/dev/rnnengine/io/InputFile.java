package dev.rnnengine.io;

import dev.rnnengine.core.Tensor;
import java.util.Arrays;
import java.util.Set;

/**
 * The input file contract (DESIGN.md section 3): {@code input} (float), optional {@code h0},
 * {@code c0} (float) and {@code lengths} (I64 or I32, 1-D). Any other tensor is an error.
 *
 * @param input   the sequence batch
 * @param h0      initial hidden state, or null
 * @param c0      initial LSTM cell state, or null
 * @param lengths sequence lengths, or null (values outside int range are clamped, so the
 *                model's range check reports them)
 */
public record InputFile(Tensor input, Tensor h0, Tensor c0, int[] lengths) {
    private static final Set<String> NAMES = Set.of("input", "h0", "c0", "lengths");

    /**
     * Reads an open file's tensors (float tensors are views valid until the file is closed).
     *
     * @throws MalformedFileException if a tensor is missing, unexpected, or of the wrong type or rank
     */
    public static InputFile read(SafetensorsFile f) throws MalformedFileException {
        for (String name : f.names()) {
            if (!NAMES.contains(name)) {
                throw new MalformedFileException(f.path(), "unexpected tensor '" + name
                    + "' (an input file holds input, and optionally h0, c0, lengths)");
            }
        }
        if (!f.contains("input")) {
            throw new MalformedFileException(f.path(), "no tensor named 'input'");
        }
        return new InputFile(f.floats("input"), f.contains("h0") ? f.floats("h0") : null,
            f.contains("c0") ? f.floats("c0") : null, f.contains("lengths") ? lengths(f, "lengths") : null);
    }

    /**
     * Reads the inputs of an ONNX model's graph: the tensors named as its sequences, initial
     * states and {@code sequence_lens} (the ones it has), under the same rules.
     *
     * @throws MalformedFileException if a tensor the graph needs is missing, or another is present
     */
    public static InputFile read(SafetensorsFile f, OnnxGraph g) throws MalformedFileException {
        Set<String> names = new java.util.LinkedHashSet<>();
        for (String n : new String[] {g.input(), g.h0(), g.c0(), g.lengths()}) {
            if (n != null) {
                names.add(n);
                if (!f.contains(n)) {
                    throw new MalformedFileException(f.path(), "no tensor '" + n + "', an input of the ONNX graph");
                }
            }
        }
        for (String name : f.names()) {
            if (!names.contains(name)) {
                throw new MalformedFileException(f.path(), "unexpected tensor '" + name + "' (the ONNX graph's inputs are "
                    + names + ")");
            }
        }
        return new InputFile(f.floats(g.input()), g.h0() == null ? null : f.floats(g.h0()),
            g.c0() == null ? null : f.floats(g.c0()), g.lengths() == null ? null : lengths(f, g.lengths()));
    }

    /** A 1-D integer tensor as lengths; values outside int range are clamped, so the model's range check reports them. */
    private static int[] lengths(SafetensorsFile f, String name) throws MalformedFileException {
        int[] shape = f.info(name).shape();
        if (shape.length != 1) {
            throw new MalformedFileException(f.path(), name + " must be 1-D, got shape " + Arrays.toString(shape));
        }
        long[] l = f.longs(name);
        int[] lengths = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            lengths[i] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, l[i]));
        }
        return lengths;
    }
}
