package dev.rnnengine.io;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The subset of ONNX's protobuf messages the importer reads ({@code onnx.proto}'s published
 * field numbers), from a small wire-format reader hardened like the safetensors reader: every
 * length is checked against the bytes left, varints are at most 10 bytes, sizes and element
 * counts are bounded, nested graphs (control-flow attributes) and other types are skipped
 * without being parsed, so nothing recurses deeper than Model, Graph, Node, Attribute, Tensor;
 * external tensor data is refused. Unknown fields are skipped, as protobuf requires.
 */
final class OnnxProto {
    private OnnxProto() { }

    /** The largest file read: protobuf messages cannot exceed 2 GiB. */
    static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;

    /** ONNX TensorProto.DataType values the importer handles. */
    static final int FLOAT = 1;
    static final int INT32 = 6;
    static final int INT64 = 7;
    /** Read as floats: PyTorch's opset-7 exports write shape constants as doubles and cast them. */
    static final int DOUBLE = 11;

    record Model(long irVersion, List<OpSet> opsets, Graph graph) { }

    record OpSet(String domain, long version) { }

    record Graph(String name, List<Node> nodes, List<Tensor> initializers, List<ValueInfo> inputs, List<ValueInfo> outputs) { }

    record Node(String name, String opType, String domain, List<String> inputs, List<String> outputs, List<Attribute> attributes) {
        Attribute attribute(String n) {
            for (Attribute a : attributes) {
                if (a.name().equals(n)) {
                    return a;
                }
            }
            return null;
        }
    }

    /**
     * An attribute: {@code type} is AttributeProto.AttributeType (1 FLOAT, 2 INT, 3 STRING, 4 TENSOR,
     * 5 GRAPH, 6 FLOATS, 7 INTS, 8 STRINGS, ...); graphs are never parsed (null).
     */
    record Attribute(String name, int type, float f, long i, String s, Tensor t, float[] floats, long[] ints,
                     List<String> strings) { }

    /** A tensor's name, dims and data: floats for FLOAT, longs for INT32 and INT64. */
    record Tensor(String name, long[] dims, int dataType, float[] floats, long[] longs) {
        long numel() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    /** A graph input or output: its name, element type and dims (a symbol as null in {@code symbols}' place). */
    record ValueInfo(String name, int elemType, long[] dims, String[] symbols) { }

    /**
     * Reads and parses a model file.
     *
     * @throws MalformedFileException if it is not a well-formed ONNX model of the subset read
     * @throws java.io.IOException if it cannot be read
     */
    static Model read(Path path) throws java.io.IOException {
        byte[] bytes;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = UserFiles.readAll(path, arena);
            if (m.byteSize() > MAX_FILE_BYTES) {
                throw new MalformedFileException(path, "an ONNX file of " + m.byteSize() + " bytes is over protobuf's 2 GiB");
            }
            bytes = m.toArray(ValueLayout.JAVA_BYTE);
        }
        return parse(path, bytes);
    }

    /**
     * Parses a model from its bytes.
     *
     * @throws MalformedFileException naming the problem and where it is
     */
    static Model parse(Path path, byte[] bytes) throws MalformedFileException {
        try {
            return model(new Reader(bytes, 0, bytes.length));
        } catch (Bad e) {
            throw new MalformedFileException(path, "not a readable ONNX model: " + e.getMessage());
        }
    }

    /** A fault in the bytes; caught at the top and reported with the file. */
    private static final class Bad extends Exception {
        private static final long serialVersionUID = 1L;

        Bad(String m) {
            super(m, null, false, false);
        }
    }

    /** A cursor over one message's bytes {@code [at, end)}. */
    private static final class Reader {
        final byte[] b;
        int at;
        final int end;

        Reader(byte[] b, int at, int end) {
            this.b = b;
            this.at = at;
            this.end = end;
        }

        boolean more() {
            return at < end;
        }

        long varint() throws Bad {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (at >= end) {
                    throw new Bad("truncated varint at byte " + at);
                }
                byte x = b[at++];
                v |= (long) (x & 0x7f) << shift;
                if (x >= 0) {
                    return v;
                }
            }
            throw new Bad("varint longer than 10 bytes at byte " + at);
        }

        /** A length-delimited field's bytes as a sub-reader. */
        Reader sub() throws Bad {
            long n = varint();
            if (n < 0 || n > end - at) {
                throw new Bad("a field of " + n + " bytes at byte " + at + " runs past its message (" + (end - at) + " left)");
            }
            Reader r = new Reader(b, at, at + (int) n);
            at += (int) n;
            return r;
        }

        String string() throws Bad {
            Reader r = sub();
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, r.at, r.end - r.at)).toString();
            } catch (CharacterCodingException e) {
                throw new Bad("a string at byte " + r.at + " is not UTF-8");
            }
        }

        int fixed32() throws Bad {
            need(4);
            int v = ByteBuffer.wrap(b, at, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
            at += 4;
            return v;
        }

        void need(int n) throws Bad {
            if (end - at < n) {
                throw new Bad("truncated at byte " + at);
            }
        }

        /** Skips a field of wire type {@code wt}; groups (3, 4) are refused, as ONNX has none. */
        void skip(int wt) throws Bad {
            switch (wt) {
                case 0 -> varint();
                case 1 -> {
                    need(8);
                    at += 8;
                }
                case 2 -> sub();
                case 5 -> {
                    need(4);
                    at += 4;
                }
                default -> throw new Bad("wire type " + wt + " at byte " + at + " (groups or garbage)");
            }
        }
    }

    /** Reads a key; returns {field, wire type}. */
    private static int[] key(Reader r) throws Bad {
        long k = r.varint();
        int field = (int) (k >>> 3);
        if (field <= 0 || k >>> 3 > 536_870_911L) {
            throw new Bad("field number " + (k >>> 3) + " at byte " + r.at);
        }
        return new int[] {field, (int) (k & 7)};
    }

    private static void expect(int[] k, int wt) throws Bad {
        if (k[1] != wt) {
            throw new Bad("field " + k[0] + " has wire type " + k[1] + ", expected " + wt);
        }
    }

    private static Model model(Reader r) throws Bad {
        long ir = 0;
        List<OpSet> opsets = new ArrayList<>();
        Graph graph = null;
        while (r.more()) {
            int[] k = key(r);
            switch (k[0]) {
                case 1 -> {
                    expect(k, 0);
                    ir = r.varint();
                }
                case 7 -> {
                    expect(k, 2);
                    if (graph != null) {
                        throw new Bad("two graphs");
                    }
                    graph = graph(r.sub());
                }
                case 8 -> {
                    expect(k, 2);
                    opsets.add(opset(r.sub()));
                }
                default -> r.skip(k[1]);
            }
        }
        if (graph == null) {
            throw new Bad("no graph (field 7 of ModelProto)");
        }
        return new Model(ir, opsets, graph);
    }

    private static OpSet opset(Reader r) throws Bad {
        String domain = "";
        long version = 0;
        while (r.more()) {
            int[] k = key(r);
            if (k[0] == 1 && k[1] == 2) {
                domain = r.string();
            } else if (k[0] == 2 && k[1] == 0) {
                version = r.varint();
            } else {
                r.skip(k[1]);
            }
        }
        return new OpSet(domain, version);
    }

    private static Graph graph(Reader r) throws Bad {
        String name = "";
        List<Node> nodes = new ArrayList<>();
        List<Tensor> inits = new ArrayList<>();
        List<ValueInfo> inputs = new ArrayList<>();
        List<ValueInfo> outputs = new ArrayList<>();
        while (r.more()) {
            int[] k = key(r);
            switch (k[0]) {
                case 1 -> {
                    expect(k, 2);
                    nodes.add(node(r.sub()));
                }
                case 2 -> {
                    expect(k, 2);
                    name = r.string();
                }
                case 5 -> {
                    expect(k, 2);
                    inits.add(tensor(r.sub()));
                }
                case 11 -> {
                    expect(k, 2);
                    inputs.add(valueInfo(r.sub()));
                }
                case 12 -> {
                    expect(k, 2);
                    outputs.add(valueInfo(r.sub()));
                }
                case 15 -> throw new Bad("sparse initializers are not supported");
                default -> r.skip(k[1]);
            }
        }
        return new Graph(name, nodes, inits, inputs, outputs);
    }

    private static Node node(Reader r) throws Bad {
        String name = "";
        String op = "";
        String domain = "";
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        List<Attribute> attrs = new ArrayList<>();
        while (r.more()) {
            int[] k = key(r);
            switch (k[0]) {
                case 1 -> {
                    expect(k, 2);
                    in.add(r.string());
                }
                case 2 -> {
                    expect(k, 2);
                    out.add(r.string());
                }
                case 3 -> {
                    expect(k, 2);
                    name = r.string();
                }
                case 4 -> {
                    expect(k, 2);
                    op = r.string();
                }
                case 5 -> {
                    expect(k, 2);
                    attrs.add(attribute(r.sub()));
                }
                case 7 -> {
                    expect(k, 2);
                    domain = r.string();
                }
                default -> r.skip(k[1]);
            }
        }
        return new Node(name, op, domain, in, out, attrs);
    }

    private static Attribute attribute(Reader r) throws Bad {
        String name = "";
        int type = 0;
        float f = 0;
        long i = 0;
        String s = null;
        Tensor t = null;
        FloatList floats = new FloatList();
        LongList ints = new LongList();
        List<String> strings = new ArrayList<>();
        while (r.more()) {
            int[] k = key(r);
            switch (k[0]) {
                case 1 -> {
                    expect(k, 2);
                    name = r.string();
                }
                case 2 -> {
                    expect(k, 5);
                    f = Float.intBitsToFloat(r.fixed32());
                }
                case 3 -> {
                    expect(k, 0);
                    i = r.varint();
                }
                case 4 -> {
                    expect(k, 2);
                    s = r.string();
                }
                case 5 -> {
                    expect(k, 2);
                    t = tensor(r.sub());
                }
                case 7 -> floats.read(r, k[1]);
                case 8 -> ints.read(r, k[1]);
                case 9 -> {
                    expect(k, 2);
                    strings.add(r.string());
                }
                case 20 -> {
                    expect(k, 0);
                    type = (int) r.varint();
                }
                default -> r.skip(k[1]); // graphs (6, 11) and the rest: not parsed
            }
        }
        return new Attribute(name, type, f, i, s, t, floats.toArray(), ints.toArray(), strings);
    }

    /** The most elements of one tensor: Java arrays. */
    private static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private static Tensor tensor(Reader r) throws Bad {
        String name = "";
        LongList dims = new LongList();
        int type = 0;
        FloatList floatData = new FloatList();
        LongList longData = new LongList();
        FloatList doubleData = new FloatList();
        Reader raw = null;
        while (r.more()) {
            int[] k = key(r);
            switch (k[0]) {
                case 1 -> dims.read(r, k[1]);
                case 2 -> {
                    expect(k, 0);
                    type = (int) r.varint();
                }
                case 4 -> floatData.read(r, k[1]);
                case 5, 7 -> longData.read(r, k[1]); // int32_data, int64_data (varints)
                case 10 -> doubleData.readDoubles(r, k[1]);
                case 8 -> {
                    expect(k, 2);
                    name = r.string();
                }
                case 9 -> {
                    expect(k, 2);
                    raw = r.sub();
                }
                case 13 -> throw new Bad("tensor '" + name + "' keeps its data in an external file, which is not supported");
                case 14 -> {
                    expect(k, 0);
                    if (r.varint() != 0) {
                        throw new Bad("tensor '" + name + "' keeps its data in an external file, which is not supported");
                    }
                }
                default -> r.skip(k[1]);
            }
        }
        long[] d = dims.toArray();
        if (d.length > 64) {
            throw new Bad("tensor '" + name + "' has " + d.length + " dimensions");
        }
        long n = 1;
        for (long x : d) {
            if (x < 0) {
                throw new Bad("tensor '" + name + "' has a negative dimension " + Arrays.toString(d));
            }
            if (x != 0 && n > MAX_ELEMENTS / x) { // checked before multiplying: a product must not wrap
                throw new Bad("tensor '" + name + "' " + Arrays.toString(d) + " has too many elements");
            }
            n *= x;
        }
        if (type != FLOAT && type != INT32 && type != INT64 && type != DOUBLE) {
            // Kept by name and shape only: the importer refuses it where it needs its values.
            return new Tensor(name, d, type, null, null);
        }
        int count = (int) n;
        if (raw != null) {
            int size = type == INT64 || type == DOUBLE ? 8 : 4;
            if ((long) (raw.end - raw.at) != (long) count * size) {
                throw new Bad("tensor '" + name + "' " + Arrays.toString(d) + " has " + (raw.end - raw.at)
                    + " bytes of raw data, expected " + (long) count * size);
            }
            ByteBuffer bb = ByteBuffer.wrap(raw.b, raw.at, raw.end - raw.at).order(ByteOrder.LITTLE_ENDIAN);
            if (type == DOUBLE) {
                float[] v = new float[count];
                for (int i = 0; i < count; i++) {
                    v[i] = (float) bb.getDouble();
                }
                return new Tensor(name, d, type, v, null);
            }
            if (type == FLOAT) {
                float[] v = new float[count];
                bb.asFloatBuffer().get(v);
                return new Tensor(name, d, type, v, null);
            }
            long[] v = new long[count];
            for (int i = 0; i < count; i++) {
                v[i] = type == INT64 ? bb.getLong() : bb.getInt();
            }
            return new Tensor(name, d, type, null, v);
        }
        if (type == DOUBLE) {
            if (doubleData.size != count) {
                throw new Bad("tensor '" + name + "' " + Arrays.toString(d) + " has " + doubleData.size + " doubles");
            }
            return new Tensor(name, d, type, doubleData.toArray(), null);
        }
        if (type == FLOAT) {
            if (floatData.size != count) {
                throw new Bad("tensor '" + name + "' " + Arrays.toString(d) + " has " + floatData.size + " floats");
            }
            return new Tensor(name, d, type, floatData.toArray(), null);
        }
        if (longData.size != count) {
            throw new Bad("tensor '" + name + "' " + Arrays.toString(d) + " has " + longData.size + " integers");
        }
        long[] v = longData.toArray();
        if (type == INT32) {
            for (int i = 0; i < count; i++) {
                v[i] = (int) v[i];
            }
        }
        return new Tensor(name, d, type, null, v);
    }

    private static ValueInfo valueInfo(Reader r) throws Bad {
        String name = "";
        int elem = 0;
        LongList dims = new LongList();
        List<String> symbols = new ArrayList<>();
        boolean shaped = false;
        while (r.more()) {
            int[] k = key(r);
            if (k[0] == 1 && k[1] == 2) {
                name = r.string();
            } else if (k[0] == 2 && k[1] == 2) { // TypeProto
                Reader type = r.sub();
                while (type.more()) {
                    int[] tk = key(type);
                    if (tk[0] == 1 && tk[1] == 2) { // tensor_type
                        Reader tt = type.sub();
                        while (tt.more()) {
                            int[] k2 = key(tt);
                            if (k2[0] == 1 && k2[1] == 0) {
                                elem = (int) tt.varint();
                            } else if (k2[0] == 2 && k2[1] == 2) { // shape
                                shaped = true;
                                Reader shape = tt.sub();
                                while (shape.more()) {
                                    int[] k3 = key(shape);
                                    if (k3[0] == 1 && k3[1] == 2) {
                                        Reader dim = shape.sub();
                                        long value = -1;
                                        String symbol = null;
                                        while (dim.more()) {
                                            int[] k4 = key(dim);
                                            if (k4[0] == 1 && k4[1] == 0) {
                                                value = dim.varint();
                                            } else if (k4[0] == 2 && k4[1] == 2) {
                                                symbol = dim.string();
                                            } else {
                                                dim.skip(k4[1]);
                                            }
                                        }
                                        dims.add(value);
                                        symbols.add(symbol);
                                    } else {
                                        shape.skip(k3[1]);
                                    }
                                }
                            } else {
                                tt.skip(k2[1]);
                            }
                        }
                    } else {
                        type.skip(tk[1]); // sequence, map, optional types: not parsed
                    }
                }
            } else {
                r.skip(k[1]);
            }
        }
        return new ValueInfo(name, elem, shaped ? dims.toArray() : null, symbols.toArray(String[]::new));
    }

    /** A growable float list for packed or unpacked repeated floats. */
    private static final class FloatList {
        float[] a = new float[8];
        int size;

        void read(Reader r, int wt) throws Bad {
            if (wt == 5) {
                add(Float.intBitsToFloat(r.fixed32()));
            } else if (wt == 2) {
                Reader p = r.sub();
                if ((p.end - p.at) % 4 != 0) {
                    throw new Bad("packed floats of " + (p.end - p.at) + " bytes");
                }
                while (p.more()) {
                    add(Float.intBitsToFloat(p.fixed32()));
                }
            } else {
                throw new Bad("floats with wire type " + wt);
            }
        }

        /** Doubles (fixed64, packed or not), kept as floats. */
        void readDoubles(Reader r, int wt) throws Bad {
            if (wt == 1) {
                r.need(8);
                add((float) ByteBuffer.wrap(r.b, r.at, 8).order(ByteOrder.LITTLE_ENDIAN).getDouble());
                r.at += 8;
            } else if (wt == 2) {
                Reader p = r.sub();
                if ((p.end - p.at) % 8 != 0) {
                    throw new Bad("packed doubles of " + (p.end - p.at) + " bytes");
                }
                while (p.more()) {
                    add((float) ByteBuffer.wrap(p.b, p.at, 8).order(ByteOrder.LITTLE_ENDIAN).getDouble());
                    p.at += 8;
                }
            } else {
                throw new Bad("doubles with wire type " + wt);
            }
        }

        void add(float v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, a.length * 2);
            }
            a[size++] = v;
        }

        float[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }

    /** A growable long list for packed or unpacked repeated varints (at most 2^24: a varint byte becomes 8). */
    private static final class LongList {
        long[] a = new long[8];
        int size;

        void read(Reader r, int wt) throws Bad {
            if (wt == 0) {
                add(r.varint());
            } else if (wt == 2) {
                Reader p = r.sub();
                while (p.more()) {
                    add(p.varint());
                }
            } else {
                throw new Bad("integers with wire type " + wt);
            }
        }

        void add(long v) throws Bad {
            if (size == a.length) {
                if (size >= 1 << 24) {
                    throw new Bad("more than 2^24 integers in one field (use raw_data for large tensors)");
                }
                a = Arrays.copyOf(a, a.length * 2);
            }
            a[size++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
