package dev.rnnengine.io;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.Precision;
import dev.rnnengine.core.QuantizedMatrix;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a PyTorch RNN/LSTM/GRU (its spec and state_dict) as an ONNX model (opset 17) that ONNX
 * Runtime runs with PyTorch's results: one ONNX RNN/LSTM/GRU node per layer (gates reordered:
 * LSTM i,f,g,o to i,o,f,c; GRU r,z,n to z,r,h with {@code linear_before_reset=1}, PyTorch's
 * GRU), layers chained by Transpose + Reshape. Graph input {@code input} and output
 * {@code output} in PyTorch's layout ({@code (T, N, .)}, or {@code (N, T, .)} when batch-first),
 * outputs {@code h_n} {@code (L*dirs, N, H)} and, for an LSTM, {@code c_n}; the initial state is
 * zero. T and N are symbolic dimensions unless fixed. A hand-rolled protobuf encoder: the format
 * is small and this keeps a protobuf dependency out of the library.
 */
public final class OnnxExport {
    private OnnxExport() { }

    /**
     * The ONNX model of a spec and its PyTorch state_dict, for any T and N.
     *
     * @throws UnsupportedOperationException for {@code proj_size} (ONNX's LSTM has no projection)
     * @throws IllegalArgumentException if a tensor of the state_dict is missing or misshapen
     */
    public static byte[] write(RnnSpec spec, Map<String, Tensor> sd) {
        return write(spec, sd, -1, -1);
    }

    /**
     * The same with fixed T and N (ONNX Runtime plans a fixed shape once); -1 leaves one symbolic.
     *
     * @throws UnsupportedOperationException for {@code proj_size}
     * @throws IllegalArgumentException if a tensor of the state_dict is missing or misshapen
     */
    public static byte[] write(RnnSpec spec, Map<String, Tensor> sd, int seqLen, int batch) {
        return write(spec, sd, seqLen, batch, false);
    }

    /**
     * The same LSTM with ONNX Runtime's int8 LSTM ({@code com.microsoft.DynamicQuantizeLSTM}):
     * W and R as int8 codes with one scale per output row, the codes the engine's int8
     * precision holds ({@link QuantizedMatrix}); ONNX Runtime quantizes the activations too, at
     * run time. A peer for the harness: ONNX Runtime alone runs it.
     *
     * @throws UnsupportedOperationException for a GRU or RNN (the op is an LSTM) or {@code proj_size}
     * @throws IllegalArgumentException if a tensor of the state_dict is missing or misshapen
     */
    public static byte[] writeDynamicInt8(RnnSpec spec, Map<String, Tensor> sd, int seqLen, int batch) {
        if (!spec.mode().hasCellState()) {
            throw new UnsupportedOperationException("ONNX Runtime's int8 recurrent op (com.microsoft.DynamicQuantizeLSTM) "
                + "is an LSTM; it has none for " + spec.mode().moduleName());
        }
        return write(spec, sd, seqLen, batch, true, false);
    }

    /**
     * The fp32 model with the initial state as graph inputs {@code h0} {@code (L*dirs, N, H)}
     * and, for an LSTM, {@code c0}: a caller can feed {@code h_n}/{@code c_n} back to step a
     * stream (the harness's ONNX Runtime peer for many streams).
     *
     * @throws UnsupportedOperationException for {@code proj_size}
     * @throws IllegalArgumentException if a tensor of the state_dict is missing or misshapen
     */
    public static byte[] writeWithState(RnnSpec spec, Map<String, Tensor> sd, int seqLen, int batch) {
        return write(spec, sd, seqLen, batch, false, true);
    }

    private static byte[] write(RnnSpec spec, Map<String, Tensor> sd, int seqLen, int batch, boolean int8) {
        return write(spec, sd, seqLen, batch, int8, false);
    }

    private static byte[] write(RnnSpec spec, Map<String, Tensor> sd, int seqLen, int batch, boolean int8,
                                boolean withState) {
        if (spec.projSize() > 0) {
            throw new UnsupportedOperationException("ONNX's LSTM has no proj_size: a model with proj_size="
                + spec.projSize() + " cannot be exported");
        }
        for (Map.Entry<String, int[]> e : spec.parameterShapes().entrySet()) {
            Tensor t = sd.get(e.getKey());
            if (t == null || !java.util.Arrays.equals(t.shape(), e.getValue())) {
                throw new IllegalArgumentException(e.getKey() + " must be " + java.util.Arrays.toString(e.getValue())
                    + ", got " + (t == null ? "nothing" : t.shapeString()));
            }
        }
        int h = spec.hiddenSize();
        int g = spec.gates();
        int dirs = spec.directions();
        int[] order = spec.mode().onnxGateOrder();
        String op = spec.mode().moduleName(); // ONNX's op names are PyTorch's module names
        boolean lstm = spec.mode().hasCellState();
        Proto graph = new Proto();
        List<Proto> initializers = new ArrayList<>();
        String in = "input";
        if (spec.batchFirst()) { // (N, T, D) -> (T, N, D)
            graph.message(1, transpose("input", "input_tnd", "transpose_in", 1, 0, 2));
            in = "input_tnd";
        }
        List<String> hs = new ArrayList<>();
        List<String> cs = new ArrayList<>();
        String[] h0 = new String[spec.numLayers()];
        String[] c0 = new String[spec.numLayers()];
        if (withState) { // each layer's (dirs, N, H) slice of h0 (and c0)
            split(graph, "h0", h0);
            if (lstm) {
                split(graph, "c0", c0);
            }
        }
        for (int l = 0; l < spec.numLayers(); l++) {
            int inSize = spec.layerInputSize(l);
            float[] w = new float[dirs * g * h * inSize];
            float[] r = new float[dirs * g * h * h];
            float[] b = new float[dirs * 2 * g * h];
            for (int d = 0; d < dirs; d++) {
                reorder(sd.get(CellMode.parameterName("weight_ih", l, d)).toArray(), order, h * inSize, w, d * g * h * inSize);
                reorder(sd.get(CellMode.parameterName("weight_hh", l, d)).toArray(), order, h * h, r, d * g * h * h);
                if (spec.bias()) {
                    reorder(sd.get(CellMode.parameterName("bias_ih", l, d)).toArray(), order, h, b, d * 2 * g * h);
                    reorder(sd.get(CellMode.parameterName("bias_hh", l, d)).toArray(), order, h, b, d * 2 * g * h + g * h);
                }
            }
            initializers.add(tensor("B" + l, b, dirs, 2 * g * h));
            Proto node;
            if (int8) {
                quantized(initializers, "W" + l, w, dirs, g * h, inSize);
                quantized(initializers, "R" + l, r, dirs, g * h, h);
                node = new Proto().strings(1, in, "W" + l, "R" + l, "B" + l, "", withState ? h0[l] : "",
                    withState ? c0[l] : "", "", "W" + l + "_scale",
                    "W" + l + "_zero", "R" + l + "_scale", "R" + l + "_zero").strings(2, "Y" + l, "Y_h" + l)
                    .string(3, op + l).string(4, "DynamicQuantizeLSTM").string(7, "com.microsoft");
            } else {
                initializers.add(tensor("W" + l, w, dirs, g * h, inSize));
                initializers.add(tensor("R" + l, r, dirs, g * h, h));
                node = new Proto().strings(1, in, "W" + l, "R" + l, "B" + l).strings(2, "Y" + l, "Y_h" + l)
                    .string(3, op + l).string(4, op);
                if (withState) {
                    node.strings(1, "", h0[l]);
                    if (lstm) {
                        node.strings(1, c0[l]);
                    }
                }
            }
            if (lstm) {
                node.string(2, "Y_c" + l);
                cs.add("Y_c" + l);
            }
            hs.add("Y_h" + l);
            node.message(5, attrInt("hidden_size", h));
            node.message(5, attrString("direction", dirs == 2 ? "bidirectional" : "forward"));
            if (spec.mode().gateWithSeparateRecurrentBias() >= 0) { // GRU: b_hn inside r * (...)
                node.message(5, attrInt("linear_before_reset", 1));
            }
            if (spec.gates() == 1) {
                Proto a = new Proto().string(1, "activations").varint(20, 8);
                for (int d = 0; d < dirs; d++) {
                    a.bytes(9, (spec.mode() == CellMode.RNN_RELU ? "Relu" : "Tanh").getBytes(StandardCharsets.UTF_8));
                }
                node.message(5, a);
            }
            graph.message(1, node);
            // Y (T, dirs, N, H) -> (T, N, dirs, H) -> (T, N, dirs*H); shape [0, 0, -1] keeps T and N.
            graph.message(1, transpose("Y" + l, "Yt" + l, "transpose" + l, 0, 2, 1, 3));
            String out = l < spec.numLayers() - 1 ? "H" + l : spec.batchFirst() ? "output_tnf" : "output";
            graph.message(1, new Proto().strings(1, "Yt" + l, "keep_tn").strings(2, out).string(3, "reshape" + l)
                .string(4, "Reshape"));
            in = out;
        }
        if (spec.batchFirst()) {
            graph.message(1, transpose("output_tnf", "output", "transpose_out", 1, 0, 2));
        }
        graph.message(1, gather(hs, "h_n"));
        if (lstm) {
            graph.message(1, gather(cs, "c_n"));
        }
        initializers.add(longTensor("keep_tn", new long[] {0, 0, -1}));
        graph.string(2, "rnn");
        for (Proto t : initializers) {
            graph.message(5, t);
        }
        Object t = seqLen > 0 ? (Object) (long) seqLen : "T";
        Object n = batch > 0 ? (Object) (long) batch : "N";
        graph.message(11, spec.batchFirst() ? valueInfo("input", n, t, (long) spec.inputSize())
            : valueInfo("input", t, n, (long) spec.inputSize()));
        long states = (long) spec.numLayers() * dirs;
        if (withState) {
            graph.message(11, valueInfo("h0", states, n, (long) h));
            if (lstm) {
                graph.message(11, valueInfo("c0", states, n, (long) h));
            }
        }
        graph.message(12, spec.batchFirst() ? valueInfo("output", n, t, (long) dirs * h)
            : valueInfo("output", t, n, (long) dirs * h));
        graph.message(12, valueInfo("h_n", states, n, (long) h));
        if (lstm) {
            graph.message(12, valueInfo("c_n", states, n, (long) h));
        }
        Proto model = new Proto().varint(1, 8).string(2, "rnn-engine").message(7, graph)
            .message(8, new Proto().string(1, "").varint(2, 17));
        if (int8) {
            model.message(8, new Proto().string(1, "com.microsoft").varint(2, 1));
        }
        return model.toBytes();
    }

    /** {@code from} split along axis 0 into equal parts, one per layer, named into {@code parts}. */
    private static void split(Proto graph, String from, String[] parts) {
        for (int l = 0; l < parts.length; l++) {
            parts[l] = parts.length == 1 ? from : from + "_l" + l;
        }
        if (parts.length > 1) {
            graph.message(1, new Proto().strings(1, from).strings(2, parts).string(3, "split_" + from)
                .string(4, "Split").message(5, attrInt("axis", 0)));
        }
    }

    private static Proto transpose(String from, String to, String name, long... perm) {
        return new Proto().strings(1, from).strings(2, to).string(3, name).string(4, "Transpose")
            .message(5, attrInts("perm", perm));
    }

    /** The layers' final states, (dirs, N, H) each, as one (L*dirs, N, H). */
    private static Proto gather(List<String> parts, String out) {
        if (parts.size() == 1) {
            return new Proto().strings(1, parts.get(0)).strings(2, out).string(3, out).string(4, "Identity");
        }
        return new Proto().strings(1, parts.toArray(String[]::new)).strings(2, out).string(3, out).string(4, "Concat")
            .message(5, attrInt("axis", 0));
    }

    private static void reorder(float[] src, int[] order, int blockLen, float[] dst, int dstAt) {
        for (int i = 0; i < order.length; i++) {
            System.arraycopy(src, order[i] * blockLen, dst, dstAt + i * blockLen, blockLen);
        }
    }

    private static Proto tensor(String name, float[] v, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        Proto t = new Proto();
        for (long d : dims) {
            t.varint(1, d);
        }
        return t.varint(2, 1).string(8, name).bytes(9, b.array());
    }

    /**
     * {@code v} ({@code dirs} matrices {@code (rows, cols)}, ONNX's gate order) as
     * DynamicQuantizeLSTM wants it: int8 codes transposed to {@code (dirs, cols, rows)}, one
     * scale and a zero point of 0 per row.
     */
    private static void quantized(List<Proto> out, String name, float[] v, int dirs, int rows, int cols) {
        byte[] codes = new byte[v.length];
        float[] scales = new float[dirs * rows];
        for (int d = 0; d < dirs; d++) {
            QuantizedMatrix q = QuantizedMatrix.of(Precision.INT8,
                java.util.Arrays.copyOfRange(v, d * rows * cols, (d + 1) * rows * cols), rows, cols, name);
            System.arraycopy(q.scale(), 0, scales, d * rows, rows);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    codes[d * rows * cols + c * rows + r] = q.int8()[r * cols + c];
                }
            }
        }
        out.add(new Proto().varint(1, dirs).varint(1, cols).varint(1, rows).varint(2, 3).string(8, name)
            .bytes(9, codes));
        out.add(tensor(name + "_scale", scales, dirs, rows));
        out.add(new Proto().varint(1, dirs).varint(1, rows).varint(2, 3).string(8, name + "_zero")
            .bytes(9, new byte[dirs * rows]));
    }

    private static Proto longTensor(String name, long[] v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(v);
        return new Proto().varint(1, v.length).varint(2, 7).string(8, name).bytes(9, b.array());
    }

    private static Proto attrInt(String name, long v) {
        return new Proto().string(1, name).varint(3, v).varint(20, 2);
    }

    private static Proto attrString(String name, String v) {
        return new Proto().string(1, name).bytes(4, v.getBytes(StandardCharsets.UTF_8)).varint(20, 3);
    }

    private static Proto attrInts(String name, long... v) {
        Proto a = new Proto().string(1, name).varint(20, 7);
        for (long x : v) {
            a.varint(8, x);
        }
        return a;
    }

    /** A float tensor's name and shape; a dimension is a number or a symbol (a String). */
    private static Proto valueInfo(String name, Object... dims) {
        Proto shape = new Proto();
        for (Object d : dims) {
            shape.message(1, d instanceof String s ? new Proto().string(2, s) : new Proto().varint(1, (Long) d));
        }
        Proto tensorType = new Proto().varint(1, 1).message(2, shape);
        return new Proto().string(1, name).message(2, new Proto().message(1, tensorType));
    }

    /** Protobuf wire format: varints (type 0) and length-delimited fields (type 2). */
    private static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto varint(int field, long v) {
            key(field, 0);
            raw(v);
            return this;
        }

        Proto bytes(int field, byte[] b) {
            key(field, 2);
            raw(b.length);
            out.writeBytes(b);
            return this;
        }

        Proto string(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Proto strings(int field, String... s) {
            for (String x : s) {
                string(field, x);
            }
            return this;
        }

        Proto message(int field, Proto m) {
            return bytes(field, m.toBytes());
        }

        byte[] toBytes() {
            return out.toByteArray();
        }

        private void key(int field, int type) {
            raw(((long) field << 3) | type);
        }

        private void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
