package dev.rnnengine.io;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Reads an ONNX model whose graph is a stack of ONNX {@code LSTM}, {@code GRU} or {@code RNN}
 * nodes with the glue {@code torch.onnx.export} writes around them, and recognises it as one
 * PyTorch module ({@link OnnxGraph}), or refuses it naming what it does not support.
 *
 * <p>The graph is evaluated symbolically, node by node in the file's order (an input not yet
 * defined is refused, so cycles are too): constants and shape arithmetic are folded ({@code
 * Shape} of the input gives symbolic dimensions; {@code Gather}, {@code Unsqueeze},
 * {@code Concat}, {@code Cast}, {@code ConstantOfShape}, {@code Slice}), the sequences are
 * tracked with their axes through {@code Transpose}, {@code Squeeze} and {@code Reshape}, and
 * states through {@code Slice} and {@code Concat}. A value is accepted only where it is exactly
 * what the engine computes: each layer reads the previous layer's output as (T, N, features),
 * initial states are zeros or one graph input's rows for that layer, and each graph output is
 * the last layer's output, the stack of final states, or a one-layer node's own Y.
 */
public final class OnnxImport {
    private OnnxImport() { }

    /** True for a path naming an ONNX file ({@code .onnx}, any case): the one test of which reader a model file takes. */
    public static boolean isOnnxFile(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().toLowerCase(java.util.Locale.ROOT).endsWith(".onnx");
    }

    /**
     * Reads and recognises an ONNX file.
     *
     * @throws MalformedFileException if the file is malformed, or its graph is not one the
     *         engine runs exactly (the message names the node, attribute or value)
     * @throws java.io.IOException if it cannot be read
     */
    public static OnnxGraph read(Path path) throws java.io.IOException {
        return recognise(path, OnnxProto.read(path));
    }

    /**
     * Recognises a model from its bytes (the fuzz tests' entry).
     *
     * @throws MalformedFileException as {@link #read}
     */
    public static OnnxGraph parse(Path path, byte[] bytes) throws MalformedFileException {
        return recognise(path, OnnxProto.parse(path, bytes));
    }

    // ---- abstract values ----

    /** A value the evaluation knows. */
    private sealed interface V permits Const, Dims, Zeros, Data, State, Input { }

    /** A graph input not yet read as anything: its first use decides what it is. */
    private record Input(String name) implements V { }

    /** A constant tensor: floats or longs. */
    private record Const(long[] dims, float[] floats, long[] longs) implements V { }

    /** A 1-D (or scalar) int64 vector whose elements are Longs or symbols ("T", "N"). */
    private record Dims(Object[] elems, boolean scalar) implements V { }

    /** Float zeros of a shape given as Longs or symbols. */
    private record Zeros(Object[] shape) implements V { }

    /** Sequences: the graph input (layer -1) or layer l's Y, with named axes (T, N, F; or T, D, N, H for a raw Y). */
    private record Data(int layer, String[] axes) implements V { }

    /**
     * States (dirs*layers, N, H)-shaped: rows {@code [from, to)} (in units of one direction of
     * one layer) of a graph input, or of the layers' final h ("Y_h") or c ("Y_c").
     */
    private record State(String source, int from, int to) implements V { }

    /** One recurrent node as recognised. */
    private record Layer(OnnxProto.Node node, CellMode mode, int hidden, int dirs, int inputSize, float[] w, float[] r,
                         float[] b, V h0, V c0, String lengths, int layout) { }

    private static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String m) {
            super(m, null, false, false);
        }
    }

    private static OnnxGraph recognise(Path path, OnnxProto.Model m) throws MalformedFileException {
        try {
            return new Evaluation(m).run();
        } catch (Refused e) {
            throw new MalformedFileException(path, e.getMessage());
        } catch (ArithmeticException | IllegalArgumentException e) {
            throw new MalformedFileException(path, "not an ONNX model the engine runs: " + e.getMessage());
        }
    }

    private static final class Evaluation {
        private final OnnxProto.Model model;
        private final OnnxProto.Graph g;
        private final Map<String, V> values = new HashMap<>();
        private final List<Layer> layers = new ArrayList<>();
        private final Set<String> usedInputs = new HashSet<>();
        /** Elements folded constants may still take: what the initializers hold, four times, plus 2^20. */
        private long budget = 1 << 20;
        private String dataInput;
        private long opset;

        Evaluation(OnnxProto.Model model) {
            this.model = model;
            this.g = model.graph();
        }

        OnnxGraph run() throws Refused {
            opset = -1;
            for (OnnxProto.OpSet o : model.opsets()) {
                if (o.domain().isEmpty() || o.domain().equals("ai.onnx")) {
                    opset = o.version();
                }
            }
            if (opset < 7 || opset > 22) {
                throw new Refused(opset < 0 ? "no ai.onnx opset import" : "opset " + opset + " (7 to 22 are read)");
            }
            for (OnnxProto.Tensor t : g.initializers()) {
                values.put(t.name(), constant(t));
                budget += 4 * t.numel();
            }
            Map<String, OnnxProto.ValueInfo> graphInputs = new LinkedHashMap<>();
            for (OnnxProto.ValueInfo in : g.inputs()) {
                if (!values.containsKey(in.name())) { // an input that is also an initializer is a constant
                    graphInputs.put(in.name(), in);
                    values.put(in.name(), new Input(in.name()));
                }
            }
            for (OnnxProto.Node n : g.nodes()) {
                node(n);
            }
            if (layers.isEmpty()) {
                throw new Refused("the graph has no LSTM, GRU or RNN node");
            }
            for (String name : graphInputs.keySet()) {
                if (!usedInputs.contains(name)) {
                    throw new Refused("graph input '" + name + "' is not used as the sequences, an initial state or "
                        + "sequence_lens of the recurrent nodes");
                }
            }
            return assemble();
        }

        private static boolean isInput(V v) {
            return v instanceof Input;
        }

        private static String inputName(V v) {
            return ((Input) v).name();
        }

        private static Const constant(OnnxProto.Tensor t) {
            return new Const(t.dims(), t.floats(), t.longs());
        }

        private V in(OnnxProto.Node n, int i) throws Refused {
            if (i >= n.inputs().size() || n.inputs().get(i).isEmpty()) {
                return null;
            }
            String name = n.inputs().get(i);
            V v = values.get(name);
            if (v == null) {
                throw new Refused(what(n) + " reads '" + name + "', which no earlier node, initializer or graph input "
                    + "defines (nodes must be in topological order; a cycle is never)");
            }
            return v;
        }

        private static String what(OnnxProto.Node n) {
            return n.opType() + " node" + (n.name().isEmpty() ? "" : " '" + n.name() + "'");
        }

        private void out(OnnxProto.Node n, int i, V v) throws Refused {
            if (i < n.outputs().size() && !n.outputs().get(i).isEmpty()) {
                String name = n.outputs().get(i);
                if (values.containsKey(name)) {
                    throw new Refused(what(n) + " writes '" + name + "', which is already defined");
                }
                values.put(name, v);
            }
        }

        private long[] longs(OnnxProto.Node n, V v, String what) throws Refused {
            if (v instanceof Const c && c.longs() != null) {
                return c.longs();
            }
            if (v instanceof Dims d) {
                long[] out = new long[d.elems().length];
                for (int i = 0; i < out.length; i++) {
                    if (!(d.elems()[i] instanceof Long l)) {
                        throw new Refused(what(n) + ": " + what + " depends on the input's size " + d.elems()[i]);
                    }
                    out[i] = l;
                }
                return out;
            }
            throw new Refused(what(n) + ": " + what + " must be a constant integer tensor");
        }

        private long[] attrOrInput(OnnxProto.Node n, String attr, int input) throws Refused {
            OnnxProto.Attribute a = n.attribute(attr);
            if (a != null) {
                return a.ints();
            }
            V v = in(n, input);
            return v == null ? null : longs(n, v, attr);
        }

        private void node(OnnxProto.Node n) throws Refused {
            if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
                throw new Refused(what(n) + " is in domain '" + n.domain() + "'; only ONNX's own operators are read");
            }
            switch (n.opType()) {
                case "Constant" -> out(n, 0, constantNode(n));
                case "Identity" -> out(n, 0, in(n, 0));
                case "Cast" -> out(n, 0, cast(n));
                case "ConstantFill" -> out(n, 0, constantFill(n));
                case "Shape" -> out(n, 0, shape(n, in(n, 0)));
                case "Gather" -> out(n, 0, gather(n));
                case "Unsqueeze" -> out(n, 0, unsqueeze(n));
                case "Squeeze" -> out(n, 0, squeeze(n));
                case "Concat" -> out(n, 0, concat(n));
                case "ConstantOfShape" -> out(n, 0, constantOfShape(n));
                case "Slice" -> out(n, 0, slice(n));
                case "Transpose" -> out(n, 0, transpose(n));
                case "Reshape" -> out(n, 0, reshape(n));
                case "LSTM", "GRU", "RNN" -> recurrent(n);
                default -> throw new Refused(what(n) + ": operator " + n.opType() + " is not one the importer reads "
                    + "(the recurrent nodes and the glue torch.onnx.export writes around them)");
            }
        }

        private V constantNode(OnnxProto.Node n) throws Refused {
            for (OnnxProto.Attribute a : n.attributes()) {
                switch (a.name()) {
                    case "value" -> {
                        if (a.t() == null || a.t().floats() == null && a.t().longs() == null) {
                            throw new Refused(what(n) + ": a value of a type other than float, int32 and int64");
                        }
                        return constant(a.t());
                    }
                    case "value_float" -> {
                        return new Const(new long[0], new float[] {a.f()}, null);
                    }
                    case "value_floats" -> {
                        return new Const(new long[] {a.floats().length}, a.floats(), null);
                    }
                    case "value_int" -> {
                        return new Const(new long[0], null, new long[] {a.i()});
                    }
                    case "value_ints" -> {
                        return new Const(new long[] {a.ints().length}, null, a.ints());
                    }
                    default -> { }
                }
            }
            throw new Refused(what(n) + " has no value the importer reads");
        }

        private V shape(OnnxProto.Node n, V v) throws Refused {
            if (n.attribute("start") != null || n.attribute("end") != null) {
                throw new Refused(what(n) + ": start/end attributes");
            }
            if (isInput(v)) {
                claimData(n, v);
                v = values.get(n.inputs().get(0));
            }
            if (v instanceof Data d && d.layer() < 0) {
                return new Dims(d.axes().clone(), false);
            }
            if (v instanceof Const c) {
                return new Dims(Arrays.stream(c.dims()).boxed().toArray(), false);
            }
            throw new Refused(what(n) + ": the shape of a value other than the input sequences");
        }

        /** The graph input read as sequences: (T, N, F) unless a Transpose says otherwise later. */
        private void claimData(OnnxProto.Node n, V v) throws Refused {
            String name = inputName(v);
            if (dataInput != null && !dataInput.equals(name)) {
                throw new Refused(what(n) + " uses graph input '" + name + "' as sequences, but '" + dataInput
                    + "' already is");
            }
            dataInput = name;
            usedInputs.add(name);
            values.put(name, new Data(-1, new String[] {"A0", "A1", "A2"})); // axes named when a layer reads them
        }

        private V gather(OnnxProto.Node n) throws Refused {
            V data = in(n, 0);
            V idx = in(n, 1);
            OnnxProto.Attribute axis = n.attribute("axis");
            if (axis != null && axis.i() != 0 || !(data instanceof Dims d)) {
                throw new Refused(what(n) + ": only elements of a shape are gathered");
            }
            long[] ix = longs(n, idx, "indices");
            boolean scalar = idx instanceof Const c && c.dims().length == 0;
            Object[] out = new Object[ix.length];
            for (int i = 0; i < ix.length; i++) {
                long k = ix[i] < 0 ? ix[i] + d.elems().length : ix[i];
                if (k < 0 || k >= d.elems().length) {
                    throw new Refused(what(n) + ": index " + ix[i] + " out of range");
                }
                out[i] = d.elems()[(int) k];
            }
            return new Dims(out, scalar);
        }

        private V unsqueeze(OnnxProto.Node n) throws Refused {
            V v = in(n, 0);
            long[] axes = attrOrInput(n, "axes", 1);
            if (v instanceof Dims d && d.scalar() && axes != null && axes.length == 1 && axes[0] == 0) {
                return new Dims(d.elems(), false);
            }
            if (v instanceof Const c && axes != null) {
                int rank = c.dims().length + axes.length;
                boolean[] inserted = new boolean[rank];
                for (long a : axes) {
                    long k0 = a < 0 ? a + rank : a;
                    int k = k0 < 0 || k0 >= rank ? -1 : (int) k0;
                    if (k < 0 || inserted[k]) {
                        throw new Refused(what(n) + ": axes " + Arrays.toString(axes));
                    }
                    inserted[k] = true;
                }
                long[] dims = new long[rank];
                for (int i = 0, j = 0; i < rank; i++) {
                    dims[i] = inserted[i] ? 1 : c.dims()[j++];
                }
                return new Const(dims, c.floats(), c.longs());
            }
            throw new Refused(what(n) + ": only a shape element or a constant is unsqueezed");
        }

        private V squeeze(OnnxProto.Node n) throws Refused {
            V v = in(n, 0);
            long[] axes = attrOrInput(n, "axes", 1);
            if (v instanceof Data d && d.layer() >= 0 && axes != null && axes.length == 1 && d.axes().length == 4) {
                long a0 = axes[0] < 0 ? axes[0] + 4 : axes[0];
                int a = a0 < 0 || a0 >= 4 ? -1 : (int) a0;
                if (a >= 0 && d.axes()[a].equals("D") && layers.get(d.layer()).dirs() == 1) {
                    String[] rest = new String[3];
                    for (int i = 0, j = 0; i < 4; i++) {
                        if (i != a) {
                            rest[j++] = d.axes()[i].equals("H") ? "F" : d.axes()[i];
                        }
                    }
                    return new Data(d.layer(), rest);
                }
            }
            throw new Refused(what(n) + ": only a one-direction layer's direction axis is squeezed");
        }

        private V concat(OnnxProto.Node n) throws Refused {
            OnnxProto.Attribute axis = n.attribute("axis");
            List<V> parts = new ArrayList<>();
            for (int i = 0; i < n.inputs().size(); i++) {
                parts.add(in(n, i));
            }
            if (parts.stream().allMatch(p -> p instanceof Const) && !parts.isEmpty()) {
                return concatConst(n, parts, axis == null ? 0 : axis.i());
            }
            if (axis == null || axis.i() != 0) {
                throw new Refused(what(n) + ": only constants are concatenated on an axis other than 0");
            }
            if (parts.stream().allMatch(p -> p instanceof Dims || p instanceof Const c && c.longs() != null
                    && c.dims().length == 1)) {
                List<Object> e = new ArrayList<>();
                for (V p : parts) {
                    if (p instanceof Dims d) {
                        e.addAll(Arrays.asList(d.elems()));
                    } else {
                        for (long x : ((Const) p).longs()) {
                            e.add(x);
                        }
                    }
                }
                if (e.size() > 64) {
                    throw new Refused(what(n) + ": a shape of " + e.size() + " dimensions");
                }
                return new Dims(e.toArray(), false);
            }
            if (parts.stream().allMatch(p -> p instanceof State s && s.from() >= 0)) {
                State first = (State) parts.get(0);
                int to = first.to();
                for (V p : parts.subList(1, parts.size())) {
                    State s = (State) p;
                    if (!s.source().equals(first.source()) || s.from() != to) {
                        throw new Refused(what(n) + " concatenates states other than consecutive layers' in order");
                    }
                    to = s.to();
                }
                return new State(first.source(), first.from(), to);
            }
            throw new Refused(what(n) + " concatenates values other than shapes or consecutive layers' states");
        }

        private V constantOfShape(OnnxProto.Node n) throws Refused {
            OnnxProto.Attribute value = n.attribute("value");
            if (value != null && (value.t() == null || value.t().floats() == null || value.t().floats().length != 1
                    || value.t().floats()[0] != 0f)) {
                throw new Refused(what(n) + ": only float zeros (initial states) are made");
            }
            V s = in(n, 0);
            if (s instanceof Dims d) {
                return new Zeros(d.elems());
            }
            return new Zeros(Arrays.stream(longs(n, s, "shape")).boxed().toArray());
        }

        private V slice(OnnxProto.Node n) throws Refused {
            V v = in(n, 0);
            long[] starts = attrOrInput(n, "starts", 1);
            long[] ends = attrOrInput(n, "ends", 2);
            long[] axes = attrOrInput(n, "axes", 3);
            long[] steps = n.attribute("starts") != null ? null : in(n, 4) == null ? null : longs(n, in(n, 4), "steps");
            if (v instanceof Const c && starts != null && ends != null) {
                return sliceConst(n, c, starts, ends, axes, steps);
            }
            if (starts == null || ends == null || starts.length != 1 || ends.length != 1
                    || axes != null && (axes.length != 1 || axes[0] != 0) || steps != null && (steps.length != 1 || steps[0] != 1)) {
                throw new Refused(what(n) + ": only a range of axis 0 of a state is sliced");
            }
            if (v instanceof Zeros z && z.shape().length == 3 && z.shape()[0] instanceof Long rows) {
                long from = clamp(starts[0], rows);
                long to = clamp(ends[0], rows);
                Object[] shape = z.shape().clone();
                shape[0] = Math.max(0, to - from);
                return new Zeros(shape);
            }
            if (isInput(v)) {
                String name = inputName(v);
                if (starts[0] < 0 || ends[0] <= starts[0] || starts[0] > 4096) {
                    throw new Refused(what(n) + ": rows [" + starts[0] + ", " + ends[0] + ") of '" + name + "' are not "
                        + "a layer's initial state");
                }
                usedInputs.add(name);
                return new State("input:" + name, (int) starts[0], (int) Math.min(ends[0], starts[0] + 4096));
            }
            throw new Refused(what(n) + ": only initial states (zeros or a graph input) are sliced");
        }

        /** A constant's values must be of a type read (float, int32, int64, double), and folding stays in budget. */
        private Const data(OnnxProto.Node n, Const c) throws Refused {
            if (c.floats() == null && c.longs() == null) {
                throw new Refused(what(n) + ": a constant of a type other than float, double, int32 and int64");
            }
            return c;
        }

        private void spend(OnnxProto.Node n, long elements) throws Refused {
            budget -= elements;
            if (budget < 0) {
                throw new Refused(what(n) + ": the constants folded so far outgrow the model's own weights");
            }
        }

        private V cast(OnnxProto.Node n) throws Refused {
            V v = in(n, 0);
            if (v instanceof Const c) {
                data(n, c);
            }
            OnnxProto.Attribute to = n.attribute("to");
            long t = to == null ? -1 : to.i();
            if (v instanceof Dims && (t == OnnxProto.INT64 || t == OnnxProto.INT32)) {
                return v;
            }
            if (v instanceof Const c && (t == OnnxProto.FLOAT || t == OnnxProto.INT64 || t == OnnxProto.INT32)) {
                if (t == OnnxProto.FLOAT) {
                    if (c.floats() != null) {
                        return c;
                    }
                    float[] f = new float[c.longs().length];
                    for (int i = 0; i < f.length; i++) {
                        f[i] = c.longs()[i];
                    }
                    return new Const(c.dims(), f, null);
                }
                if (c.longs() != null) {
                    return c;
                }
                long[] l = new long[c.floats().length];
                for (int i = 0; i < l.length; i++) {
                    l[i] = (long) c.floats()[i];
                }
                return new Const(c.dims(), null, l);
            }
            throw new Refused(what(n) + ": only constants and shapes are cast, to float, int32 or int64");
        }

        /** Opset 7's ConstantFill (as PyTorch wrote it): float zeros of a shape given as input. */
        private V constantFill(OnnxProto.Node n) throws Refused {
            OnnxProto.Attribute asShape = n.attribute("input_as_shape");
            OnnxProto.Attribute value = n.attribute("value");
            OnnxProto.Attribute dtype = n.attribute("dtype");
            if (asShape == null || asShape.i() != 1 || value != null && value.f() != 0f || dtype != null && dtype.i() != 1
                    || n.attribute("extra_shape") != null || n.attribute("shape") != null) {
                throw new Refused(what(n) + ": only float zeros of an input shape are made");
            }
            V s = in(n, 0);
            return new Zeros(s instanceof Dims d ? d.elems() : Arrays.stream(longs(n, s, "shape")).boxed().toArray());
        }

        private static int axis(OnnxProto.Node n, long a, int rank) throws Refused {
            long k = a < 0 ? a + rank : a;
            if (k < 0 || k >= rank) {
                throw new Refused(what(n) + ": axis " + a + " of a rank-" + rank + " value");
            }
            return (int) k;
        }

        private V concatConst(OnnxProto.Node n, List<V> parts, long axisAttr) throws Refused {
            for (V p : parts) {
                data(n, (Const) p);
            }
            Const first = (Const) parts.get(0);
            int rank = first.dims().length;
            int axis = axis(n, axisAttr, rank);
            boolean floats = first.floats() != null;
            long total = 0;
            for (V p : parts) {
                Const c = (Const) p;
                if (c.dims().length != rank || (c.floats() != null) != floats) {
                    throw new Refused(what(n) + ": concatenated constants differ in rank or type");
                }
                for (int i = 0; i < rank; i++) {
                    if (i != axis && c.dims()[i] != first.dims()[i]) {
                        throw new Refused(what(n) + ": concatenated constants differ in shape");
                    }
                }
                total += c.dims()[axis];
            }
            long[] dims = first.dims().clone();
            dims[axis] = total;
            long elements = 1;
            for (long x : dims) {
                elements = Math.multiplyExact(elements, x);
            }
            spend(n, elements);
            long outer = 1;
            for (int i = 0; i < axis; i++) {
                outer *= dims[i];
            }
            long inner = 1;
            for (int i = axis + 1; i < rank; i++) {
                inner *= dims[i];
            }
            int size = Math.toIntExact(outer * total * inner);
            float[] f = floats ? new float[size] : null;
            long[] l = floats ? null : new long[size];
            int at = 0;
            for (long o = 0; o < outer; o++) {
                for (V p : parts) {
                    Const c = (Const) p;
                    int len = Math.toIntExact(c.dims()[axis] * inner);
                    int from = Math.toIntExact(o * len);
                    if (floats) {
                        System.arraycopy(c.floats(), from, f, at, len);
                    } else {
                        System.arraycopy(c.longs(), from, l, at, len);
                    }
                    at += len;
                }
            }
            return new Const(dims, f, l);
        }

        private V sliceConst(OnnxProto.Node n, Const c, long[] starts, long[] ends, long[] axes, long[] steps)
                throws Refused {
            data(n, c);
            int rank = c.dims().length;
            if (starts.length != ends.length || axes != null && axes.length != starts.length
                    || steps != null && steps.length != starts.length) {
                throw new Refused(what(n) + ": starts, ends, axes and steps of different lengths");
            }
            long[] from = new long[rank];
            long[] to = c.dims().clone();
            for (int k = 0; k < starts.length; k++) {
                if (steps != null && steps[k] != 1) {
                    throw new Refused(what(n) + ": steps other than 1");
                }
                int a = axis(n, axes == null ? k : axes[k], rank);
                from[a] = clamp(starts[k], c.dims()[a]);
                to[a] = Math.max(from[a], clamp(ends[k], c.dims()[a]));
            }
            long[] dims = new long[rank];
            long size = 1;
            for (int i = 0; i < rank; i++) {
                dims[i] = to[i] - from[i];
                size *= dims[i];
            }
            spend(n, size);
            boolean floats = c.floats() != null;
            float[] f = floats ? new float[Math.toIntExact(size)] : null;
            long[] l = floats ? null : new long[Math.toIntExact(size)];
            long[] idx = new long[rank];
            for (int o = 0; o < size; o++) {
                long rem = o;
                long src = 0;
                for (int i = rank - 1; i >= 0; i--) {
                    idx[i] = rem % dims[i];
                    rem /= dims[i];
                }
                for (int i = 0; i < rank; i++) {
                    src = src * c.dims()[i] + from[i] + idx[i];
                }
                if (floats) {
                    f[o] = c.floats()[(int) src];
                } else {
                    l[o] = c.longs()[(int) src];
                }
            }
            return new Const(dims, f, l);
        }

        private static long clamp(long x, long size) {
            long v = x < 0 ? x + size : x;
            return Math.max(0, Math.min(size, v));
        }

        private V transpose(OnnxProto.Node n) throws Refused {
            V v = in(n, 0);
            if (isInput(v)) {
                claimData(n, v);
                v = values.get(n.inputs().get(0));
            }
            OnnxProto.Attribute perm = n.attribute("perm");
            if (!(v instanceof Data d) || perm == null || perm.ints().length != d.axes().length) {
                throw new Refused(what(n) + ": only sequences are transposed, with an explicit perm");
            }
            String[] out = new String[d.axes().length];
            boolean[] seen = new boolean[out.length];
            for (int i = 0; i < out.length; i++) {
                long p = perm.ints()[i];
                if (p < 0 || p >= out.length || seen[(int) p]) {
                    throw new Refused(what(n) + ": perm " + Arrays.toString(perm.ints()) + " is not a permutation");
                }
                seen[(int) p] = true;
                out[i] = d.axes()[(int) p];
            }
            return new Data(d.layer(), out);
        }

        private V reshape(OnnxProto.Node n) throws Refused {
            V v = in(n, 0);
            long[] shape = longs(n, in(n, 1), "shape");
            OnnxProto.Attribute allowzero = n.attribute("allowzero");
            boolean zerosKeep = allowzero == null || allowzero.i() == 0; // 0 in shape copies the input's dimension
            if (zerosKeep && v instanceof Data d && d.layer() >= 0
                    && Arrays.equals(d.axes(), new String[] {"T", "N", "D", "H"})) {
                Layer l = layers.get(d.layer());
                if (shape.length == 3 && shape[0] == 0 && shape[1] == 0 && (shape[2] == -1
                        || shape[2] == (long) l.dirs() * l.hidden())) {
                    return new Data(d.layer(), new String[] {"T", "N", "F"});
                }
            }
            throw new Refused(what(n) + ": only a layer's (T, N, dirs, H) output is reshaped, to (T, N, dirs*H) with "
                + "shape [0, 0, -1]");
        }

        private void recurrent(OnnxProto.Node n) throws Refused {
            CellMode mode;
            int gates;
            switch (n.opType()) {
                case "LSTM" -> {
                    mode = CellMode.LSTM;
                    gates = 4;
                }
                case "GRU" -> {
                    mode = CellMode.GRU;
                    gates = 3;
                }
                default -> {
                    mode = CellMode.RNN_TANH;
                    gates = 1;
                }
            }
            int dirs = 1;
            long hidden = -1;
            int layout = 0;
            for (OnnxProto.Attribute a : n.attributes()) {
                switch (a.name()) {
                    case "hidden_size" -> hidden = a.i();
                    case "direction" -> {
                        String d = a.s() == null ? "" : a.s();
                        if (d.equals("bidirectional")) {
                            dirs = 2;
                        } else if (!d.equals("forward")) {
                            throw new Refused(what(n) + ": direction '" + d + "' (PyTorch has forward and bidirectional "
                                + "only)");
                        }
                    }
                    case "layout" -> {
                        if (a.i() != 0 && a.i() != 1) {
                            throw new Refused(what(n) + ": layout=" + a.i());
                        }
                        layout = (int) a.i();
                    }
                    case "linear_before_reset" -> {
                        if (a.i() != 1 && mode == CellMode.GRU) {
                            throw new Refused(what(n) + ": linear_before_reset=" + a.i() + " is ONNX's other GRU "
                                + "(the reset gate applied before the recurrent product), not PyTorch's; not supported");
                        }
                    }
                    case "activations" -> { } // checked below, once the direction is known
                    case "clip" -> throw new Refused(what(n) + ": clip (cell clipping) is not supported");
                    case "input_forget" -> {
                        if (a.i() != 0) {
                            throw new Refused(what(n) + ": input_forget=1 (coupled gates) is not supported");
                        }
                    }
                    case "activation_alpha", "activation_beta" -> throw new Refused(what(n) + ": " + a.name()
                        + " is not supported");
                    default -> throw new Refused(what(n) + ": attribute '" + a.name() + "' is not supported");
                }
            }
            if (mode == CellMode.GRU && n.attribute("linear_before_reset") == null) {
                throw new Refused(what(n) + ": linear_before_reset=0 (ONNX's default GRU, the reset gate applied before "
                    + "the recurrent product) is not PyTorch's GRU; not supported");
            }
            OnnxProto.Attribute act = n.attribute("activations"); // checked again once direction is known
            if (act != null) {
                mode = activations(n, act.strings(), mode, dirs);
            }
            if (hidden <= 0 || hidden > Integer.MAX_VALUE / 8) {
                throw new Refused(what(n) + ": hidden_size " + hidden);
            }
            int h = (int) hidden;
            int layer = layers.size();
            if (layout == 1 && layer > 0 || !layers.isEmpty() && layers.get(0).layout() == 1) {
                throw new Refused(what(n) + ": layout=1 (batch-major X, Y and states) is read in one-node graphs only");
            }
            String[] reads = layout == 0 ? new String[] {"T", "N", "F"} : new String[] {"N", "T", "F"};
            V x = in(n, 0);
            if (isInput(x)) {
                claimData(n, x);
                x = values.get(n.inputs().get(0));
            }
            if (!(x instanceof Data d) || d.layer() != layer - 1 || d.axes().length != 3) {
                throw new Refused(what(n) + ": its X is not " + (layer == 0 ? "the input sequences"
                    : "the previous recurrent node's output as (T, N, dirs*H)"));
            }
            if (layer == 0) { // name the input's axes by how the first layer reads them
                values.put(dataInput, new Data(-1, name(d.axes(), reads)));
            } else if (!Arrays.equals(d.axes(), new String[] {"T", "N", "F"})) {
                throw new Refused(what(n) + ": its X is the previous layer's output in another axis order");
            }
            float[] w = weights(n, 1, "W", dirs, gates * h, -1);
            int inputSize = w.length / (dirs * gates * h);
            float[] r = weights(n, 2, "R", dirs, gates * h, h);
            float[] b = in(n, 3) == null ? null : weights(n, 3, "B", dirs, 2 * gates * h, 0);
            String lengths = null;
            V sl = in(n, 4);
            if (sl != null) {
                if (!isInput(sl)) {
                    throw new Refused(what(n) + ": sequence_lens must be a graph input");
                }
                lengths = inputName(sl);
                usedInputs.add(lengths);
            }
            V h0 = state(n, 5, "initial_h", dirs, h, layout);
            V c0 = mode == CellMode.LSTM ? state(n, 6, "initial_c", dirs, h, layout) : null;
            if (mode == CellMode.LSTM && in(n, 7) != null) {
                throw new Refused(what(n) + ": peepholes (input P) are not supported");
            }
            if (n.inputs().size() > (mode == CellMode.LSTM ? 8 : 6)) {
                throw new Refused(what(n) + " has more inputs than ONNX's " + n.opType());
            }
            if (!layers.isEmpty()) {
                Layer first = layers.get(0);
                if (first.mode() != mode || first.hidden() != h || first.dirs() != dirs
                        || !Objects.equals(first.lengths(), lengths)) {
                    throw new Refused(what(n) + ": the recurrent nodes differ in cell, hidden_size, direction or "
                        + "sequence_lens, which one PyTorch module cannot");
                }
            }
            layers.add(new Layer(n, mode, h, dirs, inputSize, w, r, b, h0, c0, lengths, layout));
            out(n, 0, new Data(layer, layout == 0 ? new String[] {"T", "D", "N", "H"} : new String[] {"N", "T", "D", "H"}));
            out(n, 1, new State("Y_h", layer * dirs, (layer + 1) * dirs));
            if (mode == CellMode.LSTM) {
                out(n, 2, new State("Y_c", layer * dirs, (layer + 1) * dirs));
            }
        }

        /** The input's axes named from how the first layer reads them ({@code reads}: (T, N, F), or (N, T, F) in layout 1). */
        private static String[] name(String[] readAs, String[] reads) {
            String[] names = new String[3];
            for (int i = 0; i < 3; i++) {
                int a = Integer.parseInt(readAs[i].substring(1));
                names[a] = reads[i];
            }
            return names;
        }

        private static CellMode activations(OnnxProto.Node n, List<String> acts, CellMode mode, int dirs) throws Refused {
            List<String> want = switch (mode) {
                case LSTM -> List.of("Sigmoid", "Tanh", "Tanh");
                case GRU -> List.of("Sigmoid", "Tanh");
                default -> null;
            };
            if (want == null) { // RNN: Tanh or Relu, the same in both directions
                if (acts.isEmpty() || acts.size() != 1 && acts.size() != dirs
                        || !acts.stream().allMatch(acts.get(0)::equalsIgnoreCase)) {
                    throw new Refused(what(n) + ": activations " + acts + " (PyTorch's RNN has Tanh or Relu)");
                }
                if (acts.get(0).equalsIgnoreCase("Tanh")) {
                    return CellMode.RNN_TANH;
                }
                if (acts.get(0).equalsIgnoreCase("Relu")) {
                    return CellMode.RNN_RELU;
                }
                throw new Refused(what(n) + ": activation " + acts.get(0) + " (PyTorch's RNN has Tanh or Relu)");
            }
            for (int i = 0; i < acts.size(); i++) {
                if (!acts.get(i).equalsIgnoreCase(want.get(i % want.size())) || acts.size() % want.size() != 0) {
                    throw new Refused(what(n) + ": activations " + acts + " (PyTorch's " + mode.moduleName() + " uses "
                        + want + ")");
                }
            }
            return mode;
        }

        /** A weight input: a constant (dirs, rows, cols) tensor; cols -1 takes it from the tensor, 0 means (dirs, rows). */
        private float[] weights(OnnxProto.Node n, int i, String name, int dirs, int rows, int cols) throws Refused {
            V v = in(n, i);
            if (!(v instanceof Const c) || c.floats() == null) {
                throw new Refused(what(n) + ": " + name + " must be a float initializer or constant"
                    + (isInput(v) ? " (it is graph input '" + inputName(v) + "')" : ""));
            }
            long[] d = c.dims();
            boolean ok = cols == 0 ? d.length == 2 && d[0] == dirs && d[1] == rows
                : d.length == 3 && d[0] == dirs && d[1] == rows && (cols < 0 ? d[2] > 0 : d[2] == cols);
            if (ok) {
                long numel = 1;
                for (long x : d) {
                    numel *= x;
                }
                ok = numel == c.floats().length;
            }
            if (!ok) {
                throw new Refused(what(n) + ": " + name + " is " + Arrays.toString(d) + ", expected [" + dirs + ", " + rows
                    + (cols == 0 ? "" : ", " + (cols < 0 ? "input_size" : cols)) + "]");
            }
            return c.floats();
        }

        /** An initial state: absent, zeros of (dirs, N, H) (layout 1: (N, dirs, H)), or this layer's rows of a graph input. */
        private V state(OnnxProto.Node n, int i, String name, int dirs, int h, int layout) throws Refused {
            V v = in(n, i);
            if (v == null) {
                return null;
            }
            int dirsAt = layout == 0 ? 0 : 1;
            if (v instanceof Zeros z && z.shape().length == 3 && Objects.equals(z.shape()[dirsAt], (long) dirs)
                    && Objects.equals(z.shape()[2], (long) h) && batchSymbol(z.shape()[1 - dirsAt])) {
                return v;
            }
            if (isInput(v)) { // the whole input: one layer's state
                usedInputs.add(inputName(v));
                return new State("input:" + inputName(v), 0, dirs);
            }
            if (v instanceof State s && s.source().startsWith("input:") && s.to() - s.from() == dirs) {
                return v;
            }
            throw new Refused(what(n) + ": " + name + " is neither zeros of (" + dirs + ", N, " + h + ") nor a graph "
                + "input's rows for this layer");
        }

        /** Whether a symbolic dimension is the batch size: the input's axis that the first layer reads as N. */
        private boolean batchSymbol(Object dim) {
            if (!(dim instanceof String s)) {
                return false;
            }
            if (s.equals("N")) {
                return true;
            }
            return s.startsWith("A") && values.get(dataInput) instanceof Data d
                && Arrays.asList(d.axes()).indexOf("N") == Integer.parseInt(s.substring(1));
        }

        private OnnxGraph assemble() throws Refused {
            Layer first = layers.get(0);
            int dirs = first.dirs();
            int h = first.hidden();
            int gates = first.mode().gates();
            String[] inAxes = ((Data) values.get(dataInput)).axes();
            boolean batchFirst;
            if (Arrays.equals(inAxes, new String[] {"T", "N", "F"})) {
                batchFirst = false;
            } else if (Arrays.equals(inAxes, new String[] {"N", "T", "F"})) {
                batchFirst = true;
            } else {
                throw new Refused("the input sequences' axes are " + Arrays.toString(inAxes) + "; (T, N, D) or (N, T, D) "
                    + "are read");
            }
            // Initial states: none, zeros, or one graph input's rows of every layer in order.
            String h0 = initial(layers.stream().map(Layer::h0).toList(), "initial_h", dirs);
            String c0 = first.mode() == CellMode.LSTM ? initial(layers.stream().map(Layer::c0).toList(), "initial_c", dirs)
                : null;
            if (first.mode() == CellMode.LSTM && (h0 == null) != (c0 == null)) {
                throw new Refused("an LSTM's initial_h and initial_c must both come from graph inputs or both be zeros");
            }
            int l = layers.size();
            List<OnnxGraph.Output> outs = new ArrayList<>();
            Set<String> names = new HashSet<>();
            for (OnnxProto.ValueInfo o : g.outputs()) {
                if (!names.add(o.name())) {
                    throw new Refused("graph output '" + o.name() + "' is listed twice");
                }
                V v = values.get(o.name());
                OnnxGraph.Kind kind = null;
                if (v instanceof Data d && d.layer() == l - 1) {
                    if (Arrays.equals(d.axes(), first.layout() == 0 ? new String[] {"T", "D", "N", "H"}
                            : new String[] {"N", "T", "D", "H"}) && l == 1) {
                        kind = OnnxGraph.Kind.Y;
                    } else if (Arrays.equals(d.axes(), batchFirst ? new String[] {"N", "T", "F"}
                            : new String[] {"T", "N", "F"})) {
                        kind = OnnxGraph.Kind.OUTPUT;
                    }
                } else if (v instanceof State s && s.from() == 0 && s.to() == l * dirs) {
                    kind = s.source().equals("Y_h") ? OnnxGraph.Kind.H_N : s.source().equals("Y_c") ? OnnxGraph.Kind.C_N
                        : null;
                }
                if (kind == null) {
                    throw new Refused("graph output '" + o.name() + "' is not one the engine computes: the last layer's "
                        + "output in the input's layout, a one-layer node's Y, or every layer's Y_h / Y_c");
                }
                outs.add(new OnnxGraph.Output(o.name(), kind));
            }
            if (outs.isEmpty()) {
                throw new Refused("the graph has no outputs");
            }
            Map<String, Tensor> sd = new LinkedHashMap<>();
            int[] order = first.mode().onnxGateOrder();
            boolean bias = layers.stream().anyMatch(x -> x.b() != null);
            for (int k = 0; k < l; k++) {
                Layer y = layers.get(k);
                int in = y.inputSize();
                int expectIn = k == 0 ? y.inputSize() : dirs * h;
                if (in != expectIn) {
                    throw new Refused(what(y.node()) + ": W's input size " + in + " is not the previous layer's "
                        + expectIn);
                }
                for (int d = 0; d < dirs; d++) {
                    sd.put(CellMode.parameterName("weight_ih", k, d), Tensor.of(
                        pytorchOrder(y.w(), d * gates * h * in, order, h * in), gates * h, in));
                    sd.put(CellMode.parameterName("weight_hh", k, d), Tensor.of(
                        pytorchOrder(y.r(), d * gates * h * h, order, h * h), gates * h, h));
                    if (bias) {
                        float[] b = y.b() == null ? new float[dirs * 2 * gates * h] : y.b();
                        sd.put(CellMode.parameterName("bias_ih", k, d), Tensor.of(
                            pytorchOrder(b, d * 2 * gates * h, order, h), gates * h));
                        sd.put(CellMode.parameterName("bias_hh", k, d), Tensor.of(
                            pytorchOrder(b, d * 2 * gates * h + gates * h, order, h), gates * h));
                    }
                }
            }
            RnnSpec spec = new RnnSpec(first.mode(), first.inputSize(), h, l, bias, batchFirst, dirs == 2, 0);
            return new OnnxGraph(spec, sd, dataInput, h0, c0, first.lengths(), List.copyOf(outs), opset, first.layout());
        }

        /** The graph input every layer's initial state comes from (its rows in layer order), or null for zeros. */
        private static String initial(List<V> states, String what, int dirs) throws Refused {
            String source = null;
            boolean zeros = false;
            for (int k = 0; k < states.size(); k++) {
                V v = states.get(k);
                if (v == null || v instanceof Zeros) {
                    zeros = true;
                    continue;
                }
                State s = (State) v;
                if (s.from() != k * dirs || s.to() != (k + 1) * dirs || source != null && !source.equals(s.source())) {
                    throw new Refused(what + " of layer " + k + " is not rows [" + k * dirs + ", " + (k + 1) * dirs
                        + ") of the one initial-state input");
                }
                source = s.source();
            }
            if (zeros && source != null) {
                throw new Refused(what + " is given for some layers and zero for others");
            }
            if (source != null && states.size() == 1 && ((State) states.get(0)).from() != 0) {
                throw new Refused(what + " is not the initial-state input's rows for the layer");
            }
            return source == null ? null : source.substring("input:".length());
        }

        /** One direction's block of G gate blocks from ONNX's gate order to PyTorch's. */
        private static float[] pytorchOrder(float[] src, int at, int[] order, int block) {
            float[] out = new float[order.length * block];
            for (int k = 0; k < order.length; k++) {
                System.arraycopy(src, at + k * block, out, order[k] * block, block);
            }
            return out;
        }
    }
}
