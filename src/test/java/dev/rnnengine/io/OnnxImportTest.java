package dev.rnnengine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.rnnengine.Fixtures;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.Tensor;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ONNX import ({@code tools/make_onnx_cases.py} writes the cases): models from
 * {@code torch.onnx.export} (RNN tanh/relu, LSTM, GRU; 1-3 layers, bidirectional, batch-first,
 * with and without initial states; opsets 7 to 17) give PyTorch's outputs under the graph's own
 * output names on every backend, and ONNX Runtime agrees on the same files; the ONNX backend
 * node tests for the recurrent ops pass, or, for what is not supported (LSTM peepholes, ONNX's
 * default GRU with linear_before_reset=0), are refused naming it.
 */
class OnnxImportTest {
    @TempDir
    Path dir;

    private static final Path ROOT = Path.of("src/test/resources/onnx");

    /** The node tests refused on purpose, and the words their refusal must contain. */
    static final Map<String, String> REFUSED = Map.of(
        "test_lstm_with_peepholes", "peepholes",
        "test_gru_defaults", "linear_before_reset=0",
        "test_gru_with_initial_bias", "linear_before_reset=0",
        "test_gru_seq_length", "linear_before_reset=0",
        "test_gru_batchwise", "linear_before_reset=0");

    static Stream<Arguments> cases() throws Exception {
        List<Path> dirs;
        try (Stream<Path> torch = Files.list(ROOT.resolve("torch")); Stream<Path> node = Files.list(ROOT.resolve("node"))) {
            dirs = Stream.concat(torch, node).sorted().toList();
        }
        return dirs.stream().flatMap(d -> Fixtures.expectedBackends().stream()
            .map(b -> Arguments.of(d.getParent().getFileName() + "/" + d.getFileName(), b, d)));
    }

    private static Map<String, Tensor> tensors(Path file, Map<String, long[]> longs) throws Exception {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) {
                if (f.info(n).dtype() == DType.I64 || f.info(n).dtype() == DType.I32) {
                    longs.put(n, f.longs(n));
                } else {
                    Tensor t = f.floats(n);
                    out.put(n, Tensor.of(t.toArray(), t.shape()));
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void theGraphsOutputsArePyTorchsOrTheRefusalNamesWhy(String name, String backend, Path d) throws Exception {
        Path model = d.resolve("model.onnx");
        String refused = REFUSED.get(d.getFileName().toString());
        if (refused != null) {
            MalformedFileException e = assertThrows(MalformedFileException.class,
                () -> RnnModel.load(model, new EngineOptions(backend, 1), Map.of()).close());
            assertTrue(e.getMessage().contains(refused), e.getMessage());
            return;
        }
        Map<String, long[]> ints = new HashMap<>();
        Map<String, Tensor> inputs = tensors(d.resolve("input.safetensors"), ints);
        Map<String, Tensor> expected = tensors(d.resolve("expected.safetensors"), new HashMap<>());
        try (RnnModel m = RnnModel.load(model, new EngineOptions(backend, 1), Map.of())) {
            OnnxGraph g = m.onnxGraph();
            int[] lengths = null;
            if (g.lengths() != null) {
                long[] l = ints.get(g.lengths());
                lengths = new int[l.length];
                for (int i = 0; i < l.length; i++) {
                    lengths[i] = (int) l[i];
                }
            }
            Map<String, Tensor> got = m.runGraph(inputs, lengths);
            assertEquals(expected.keySet(), got.keySet(), name + ": the graph's output names");
            for (Map.Entry<String, Tensor> e : expected.entrySet()) {
                Fixtures.assertClose(name + " " + e.getKey(), e.getValue(), got.get(e.getKey()));
            }
        }
    }

    static Stream<Arguments> badFiles() {
        return Stream.of(
            Arguments.of("missing_initializer", "reads 'R', which no earlier node, initializer or graph input defines"),
            Arguments.of("cycle", "reads 'B2', which no earlier node"),
            Arguments.of("external_data", "external file, which is not supported"),
            Arguments.of("unsupported_op", "operator Relu is not one the importer reads"),
            Arguments.of("clip", "clip (cell clipping) is not supported"),
            Arguments.of("input_forget", "input_forget=1"),
            Arguments.of("activations", "activations [Sigmoid, Relu, Tanh]"),
            Arguments.of("reverse", "direction 'reverse'"),
            Arguments.of("weights_as_inputs", "W must be a float initializer or constant (it is graph input 'W')"),
            Arguments.of("wrong_weight_shape", "R is [1, 8, 3], expected [1, 8, 2]"),
            Arguments.of("concat_bomb", "the constants folded so far outgrow the model's own weights"),
            Arguments.of("bool_constant", "a constant of a type other than float, double, int32 and int64"),
            Arguments.of("dims_overflow", "has too many elements"),
            Arguments.of("negative_state_rows", "rows [-1, 2) of 'h' are not a layer's initial state"));
    }

    /** Unsupported or inconsistent graphs: one line naming what, on load and through the CLI. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("badFiles")
    void aGraphTheEngineDoesNotRunIsRefusedInOneLine(String file, String message) {
        Path model = ROOT.resolve("bad").resolve(file + ".onnx");
        MalformedFileException e = assertThrows(MalformedFileException.class,
            () -> RnnModel.load(model, EngineOptions.defaults(), Map.of()).close());
        assertTrue(e.getMessage().contains(message) && !e.getMessage().contains("\n"), e.getMessage());
        Fixtures.Cli cli = Fixtures.cli("info", model.toString());
        assertEquals(1, cli.code(), cli.out());
        assertEquals(1, cli.err().strip().lines().count(), cli.err());
        assertTrue(cli.err().contains(message), cli.err());
    }

    /** Broken bytes: truncated, wrong wire types, lengths past the end, garbage; one line each, never a crash. */
    @Test
    void malformedBytesAreRefusedInOneLine() throws Exception {
        byte[] good = Files.readAllBytes(ROOT.resolve("torch").resolve("01_lstm_l2_bi_h0_op9").resolve("model.onnx"));
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("truncated", java.util.Arrays.copyOf(good, good.length / 2));
        bad.put("empty", new byte[0]);
        bad.put("wrong wire type", new byte[] {0x3a & ~7, 1}); // field 7 (the graph) as a varint
        bad.put("a length past the end", new byte[] {0x3a, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 0});
        bad.put("a varint of 11 bytes", new byte[] {0x08, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80,
            (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x01});
        bad.put("a group", new byte[] {0x0b, 0x0c});
        bad.put("text", "ir_version: 8\ngraph { }".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            Path f = dir.resolve("bad.onnx");
            Files.write(f, e.getValue());
            MalformedFileException x = assertThrows(MalformedFileException.class, () -> OnnxImport.read(f), e.getKey());
            assertTrue(!x.getMessage().contains("\n") && x.getMessage().contains("bad.onnx"), e.getKey() + ": " + x.getMessage());
        }
    }

    /** rnn infer on an ONNX model reads the graph's input names and writes its output names, with ONNX's shapes. */
    @Test
    void theCliRunsAnOnnxModelWithTheGraphsNames() throws Exception {
        for (String c : List.of("torch/15_rnntanh_l3_bi_bf_h0_op13", "node/test_lstm_batchwise")) {
            Path d = ROOT.resolve(c);
            Path out = dir.resolve("out.safetensors");
            Fixtures.Cli r = Fixtures.cli("infer", "--model", d.resolve("model.onnx").toString(), "--input",
                d.resolve("input.safetensors").toString(), "--output", out.toString(), "--backend", "scalar");
            assertEquals(0, r.code(), r.err());
            Map<String, Tensor> expected = tensors(d.resolve("expected.safetensors"), new HashMap<>());
            Map<String, Tensor> got = tensors(out, new HashMap<>());
            assertEquals(expected.keySet(), got.keySet(), c);
            for (String k : expected.keySet()) {
                Fixtures.assertClose(c + " " + k, expected.get(k), got.get(k));
            }
            Fixtures.Cli info = Fixtures.cli("info", d.resolve("model.onnx").toString());
            assertTrue(info.out().contains("onnx:") && info.out().contains("outputs '"), info.out());
        }
        Path d = ROOT.resolve("torch/13_rnntanh_l1_bi_h0_op11");
        Fixtures.Cli missing = Fixtures.cli("infer", "--model", d.resolve("model.onnx").toString(), "--input",
            ROOT.resolve("torch/00_lstm_l1_op7/input.safetensors").toString(), "--output", dir.resolve("o").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("no tensor 'h0', an input of the ONNX graph"), missing.err());
    }

    /** Every reference model exported by {@code rnn export --onnx} loads back as the same module, to the bit on scalar. */
    @Test
    void exportedModelsLoadBack() throws Exception {
        int n = 0;
        for (Path c : Fixtures.goldenCases()) {
            ModelFile mf;
            Map<String, Tensor> sd = new HashMap<>();
            try (SafetensorsFile f = SafetensorsFile.open(c.resolve("model.safetensors"))) {
                mf = ModelFile.read(f, Map.of());
                mf.stateDict().forEach((k, v) -> sd.put(k, Tensor.of(v.toArray(), v.shape())));
            }
            if (mf.spec().projSize() > 0) {
                continue;
            }
            Path onnx = dir.resolve("m.onnx");
            Files.write(onnx, OnnxExport.write(mf.spec(), sd));
            Tensor x = dev.rnnengine.bench.StateDicts.randn(n, 3, 2, mf.spec().inputSize());
            try (RnnModel a = RnnModel.create(mf.spec(), sd, new EngineOptions("scalar", 1));
                 RnnModel b = RnnModel.load(onnx, new EngineOptions("scalar", 1), Map.of())) {
                dev.rnnengine.core.RnnSpec s = mf.spec(); // the export writes B always (zeros without bias)
                assertEquals(new dev.rnnengine.core.RnnSpec(s.mode(), s.inputSize(), s.hiddenSize(), s.numLayers(), true,
                    s.batchFirst(), s.bidirectional(), 0), b.spec(), c.toString());
                Fixtures.assertSame(c + " output", a.forward(x).output(), b.runGraph(Map.of("input", x), null).get("output"));
                Fixtures.assertSame(c + " h_n", a.forward(x).hN(), b.runGraph(Map.of("input", x), null).get("h_n"));
            }
            n++;
        }
        assertTrue(n >= 40, "exported and loaded back: " + n);
    }

    /** ONNX Runtime runs the same files to the same outputs: the cases are what they say. */
    @Test
    void onnxRuntimeAgreesOnEveryCaseItRuns() throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int ran = 0;
        List<Path> dirs;
        try (Stream<Path> torch = Files.list(ROOT.resolve("torch")); Stream<Path> node = Files.list(ROOT.resolve("node"))) {
            dirs = Stream.concat(torch, node).sorted().toList();
        }
        for (Path d : dirs) {
            if (d.getFileName().toString().endsWith("_batchwise")) {
                continue; // ONNX Runtime 1.29's CPU kernels refuse layout=1 ("Batchwise recurrent operations ... not supported")
            }
            Map<String, long[]> ints = new HashMap<>();
            Map<String, Tensor> inputs = tensors(d.resolve("input.safetensors"), ints);
            Map<String, Tensor> expected = tensors(d.resolve("expected.safetensors"), new HashMap<>());
            Map<String, OnnxTensor> feed = new HashMap<>();
            OrtSession session;
            try {
                session = env.createSession(d.resolve("model.onnx").toString(), new OrtSession.SessionOptions());
            } catch (ai.onnxruntime.OrtException e) { // opset 7's ConstantFill is gone from ONNX Runtime
                assertTrue(e.getMessage().contains("ConstantFill") && d.getFileName().toString().endsWith("_op7"),
                    d + ": " + e.getMessage());
                continue;
            }
            try (OrtSession s = session) {
                for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
                    feed.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue().toArray()),
                        java.util.Arrays.stream(e.getValue().shape()).asLongStream().toArray()));
                }
                for (Map.Entry<String, long[]> e : ints.entrySet()) {
                    feed.put(e.getKey(), OnnxTensor.createTensor(env, IntBuffer.wrap(java.util.Arrays.stream(e.getValue())
                        .mapToInt(v -> (int) v).toArray()), new long[] {e.getValue().length}));
                }
                try (OrtSession.Result r = s.run(feed)) {
                    for (Map.Entry<String, Tensor> e : expected.entrySet()) {
                        OnnxTensor t = (OnnxTensor) r.get(e.getKey()).orElseThrow();
                        FloatBuffer b = t.getFloatBuffer();
                        float[] v = new float[b.remaining()];
                        b.get(v);
                        Fixtures.assertClose(d.getFileName() + " " + e.getKey() + " (ONNX Runtime)", e.getValue(),
                            Tensor.of(v, e.getValue().shape()), 1e-4, 1e-4);
                    }
                }
                ran++;
            } finally {
                feed.values().forEach(OnnxTensor::close);
            }
        }
        assertTrue(ran >= 28, "cases ONNX Runtime ran: " + ran);
    }
}
