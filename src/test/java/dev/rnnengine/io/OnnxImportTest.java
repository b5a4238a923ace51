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
