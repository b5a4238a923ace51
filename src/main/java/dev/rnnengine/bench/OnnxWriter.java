package dev.rnnengine.bench;

import dev.rnnengine.core.CellMode;
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
 * Writes an ONNX model (opset 17) equal to a PyTorch RNN/LSTM/GRU from its state_dict, so
 * ONNX Runtime can run the same weights with no Python: one ONNX RNN/LSTM/GRU node per layer
 * (gates reordered: LSTM i,f,g,o to i,o,f,c; GRU r,z,n to z,r,h with linear_before_reset=1),
 * layers chained by Transpose + Reshape. Input {@code X (T, N, D)}, output {@code Y (T, N, dirs*H)}.
 * A hand-rolled protobuf encoder: the format is small and this avoids a protobuf dependency.
 */
public final class OnnxWriter {
    private OnnxWriter() { }

    /**
     * The ONNX model bytes for a spec and its PyTorch state_dict, at fixed T and N.
     *
     * @throws UnsupportedOperationException for proj_size (ONNX's LSTM has no projection)
     */
    public static byte[] write(RnnSpec spec, Map<String, Tensor> sd, int seqLen, int batch) {
        if (spec.projSize() > 0) {
            throw new UnsupportedOperationException("ONNX LSTM has no proj_size");
        }
        int h = spec.hiddenSize();
        int g = spec.gates();
        int dirs = spec.directions();
        int[] order = spec.mode().onnxGateOrder();
        String op = spec.mode().moduleName(); // ONNX's op names are PyTorch's module names
        Proto graph = new Proto();
        List<Proto> initializers = new ArrayList<>();
        String in = "X";
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
            initializers.add(tensor("W" + l, w, dirs, g * h, inSize));
            initializers.add(tensor("R" + l, r, dirs, g * h, h));
            initializers.add(tensor("B" + l, b, dirs, 2 * g * h));
            Proto node = new Proto().strings(1, in, "W" + l, "R" + l, "B" + l).strings(2, "Y" + l)
                .string(3, op + l).string(4, op);
            node.message(5, attrInt("hidden_size", h));
            node.message(5, attrString("direction", dirs == 2 ? "bidirectional" : "forward"));
            if (spec.mode().gateWithSeparateRecurrentBias() >= 0) { // GRU: b_hn inside r * (...)
                node.message(5, attrInt("linear_before_reset", 1));
            }
            if (spec.gates() == 1) {
                Proto a = new Proto().string(1, "activations").varint(20, 8);
                a.bytes(9, (spec.mode() == CellMode.RNN_RELU ? "Relu" : "Tanh").getBytes(StandardCharsets.UTF_8));
                node.message(5, a);
            }
            graph.message(1, node);
            // Y (T, dirs, N, H) -> (T, N, dirs, H) -> (T, N, dirs*H)
            graph.message(1, new Proto().strings(1, "Y" + l).strings(2, "Yt" + l).string(3, "transpose" + l)
                .string(4, "Transpose").message(5, attrInts("perm", 0, 2, 1, 3)));
            String out = l == spec.numLayers() - 1 ? "Y" : "H" + l;
            graph.message(1, new Proto().strings(1, "Yt" + l, "shape").strings(2, out).string(3, "reshape" + l)
                .string(4, "Reshape"));
            in = out;
        }
        initializers.add(longTensor("shape", new long[] {seqLen, batch, (long) dirs * h}));
        graph.string(2, "rnn");
        for (Proto t : initializers) {
            graph.message(5, t);
        }
        graph.message(11, valueInfo("X", seqLen, batch, spec.inputSize()));
        graph.message(12, valueInfo("Y", seqLen, batch, dirs * h));
        Proto model = new Proto().varint(1, 8).string(2, "rnn-engine").message(7, graph)
            .message(8, new Proto().string(1, "").varint(2, 17));
        return model.toBytes();
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

    private static Proto valueInfo(String name, long... dims) {
        Proto shape = new Proto();
        for (long d : dims) {
            shape.message(1, new Proto().varint(1, d));
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
