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
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rnn export --onnx}: every reference case's model, exported, run by ONNX Runtime on the
 * case's input gives the engine's output, h_n and c_n (zero initial state, full lengths); one
 * exported file serves any T and N. ONNX Runtime is another implementation (its own GEMM and
 * activations), so the tolerance is 1e-4 + 1e-4|b|, not the golden 1e-5.
 */
class OnnxExportTest {
    @TempDir
    Path dir;

    @Test
    void onnxRuntimeRunsEveryExportedReferenceModelWithTheEnginesResults() throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int exported = 0;
        int refused = 0;
        for (Path c : Fixtures.goldenCases()) {
            RnnSpec spec;
            Map<String, Tensor> sd = new HashMap<>();
            Tensor input;
            try (SafetensorsFile f = SafetensorsFile.open(c.resolve("model.safetensors"));
                 SafetensorsFile in = SafetensorsFile.open(c.resolve("input.safetensors"))) {
                ModelFile mf = ModelFile.read(f, Map.of(), "");
                spec = mf.spec();
                mf.stateDict().forEach((k, v) -> sd.put(k, Tensor.of(v.toArray(), v.shape())));
                Tensor x = in.floats("input");
                input = x.dim() == 3 ? Tensor.of(x.toArray(), x.shape()) // unbatched (T, D): one sequence
                    : spec.batchFirst() ? Tensor.of(x.toArray(), 1, x.size(0), x.size(1)) : Tensor.of(x.toArray(), x.size(0), 1, x.size(1));
            }
            if (spec.projSize() > 0) {
                UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> OnnxExport.write(spec, sd));
                assertTrue(e.getMessage().contains("proj_size"), e.getMessage());
                refused++;
                continue;
            }
            byte[] onnx = OnnxExport.write(spec, sd);
            RnnOutput want;
            try (RnnModel m = RnnModel.create(spec, sd, new EngineOptions("scalar", 1))) {
                want = m.forward(input);
            }
            try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                o.setIntraOpNumThreads(1);
                try (OrtSession s = env.createSession(onnx, o);
                     OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.toArray()),
                         Arrays.stream(input.shape()).asLongStream().toArray());
                     OrtSession.Result r = s.run(Map.of("input", x))) {
                    String name = c.getFileName().toString();
                    assertClose(name + " output", want.output(), (OnnxTensor) r.get("output").orElseThrow());
                    assertClose(name + " h_n", want.hN(), (OnnxTensor) r.get("h_n").orElseThrow());
                    if (want.cN() != null) {
                        assertClose(name + " c_n", want.cN(), (OnnxTensor) r.get("c_n").orElseThrow());
                    }
                }
            }
            exported++;
        }
        assertTrue(exported >= 40, "exported " + exported);
        assertTrue(refused >= 1, "proj_size cases refused: " + refused);
    }

    private static void assertClose(String what, Tensor expected, OnnxTensor actual) throws Exception {
        long[] shape = actual.getInfo().getShape();
        assertEquals(Arrays.toString(expected.shape()), Arrays.toString(Arrays.stream(shape).mapToInt(v -> (int) v).toArray()),
            what + ": shape");
        FloatBuffer b = actual.getFloatBuffer();
        float[] got = new float[b.remaining()];
        b.get(got);
        Fixtures.assertClose(what, expected, Tensor.of(got, expected.shape()), 1e-4, 1e-4);
    }

    /**
     * The harness's int8 peer: ONNX Runtime's DynamicQuantizeLSTM on the engine's int8 codes. It
     * quantizes activations too, so it is neither the fp32 result (it must differ: else the
     * weights were not quantized) nor far from it; a GRU is refused.
     */
    @Test
    void theInt8ExportIsOnnxRuntimesQuantizedLstmOnTheSameCodes() throws Exception {
        RnnSpec spec = RnnSpec.builder(dev.rnnengine.core.CellMode.LSTM, 16, 32).numLayers(2).bidirectional(true).build();
        Map<String, Tensor> sd = dev.rnnengine.bench.StateDicts.random(spec, 4);
        Tensor x = dev.rnnengine.bench.StateDicts.randn(5, 7, 3, 16);
        float[] want;
        try (RnnModel m = RnnModel.create(spec, sd, new EngineOptions("scalar", 1))) {
            want = m.forward(x).output().toArray();
        }
        float[] got;
        try (dev.rnnengine.bench.OrtRunner ort = new dev.rnnengine.bench.OrtRunner(
                OnnxExport.writeDynamicInt8(spec, sd, 7, 3), x, 1)) {
            got = ort.run();
        }
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(want[i] - got[i]));
        }
        assertTrue(worst > 1e-4 && worst < 0.05, "int8 ONNX Runtime vs fp32: largest |difference| " + worst);
        RnnSpec gru = RnnSpec.builder(dev.rnnengine.core.CellMode.GRU, 4, 8).build();
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
            () -> OnnxExport.writeDynamicInt8(gru, dev.rnnengine.bench.StateDicts.random(gru, 1), 2, 1));
        assertTrue(e.getMessage().contains("is an LSTM"), e.getMessage());
    }

    /** The model with h0/c0 as graph inputs (the streams peer): ONNX Runtime gives forward(x, h0, c0)'s results. */
    @Test
    void theInitialStateAsGraphInputsIsUsed() throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        for (dev.rnnengine.core.CellMode mode : new dev.rnnengine.core.CellMode[] {dev.rnnengine.core.CellMode.LSTM,
                dev.rnnengine.core.CellMode.GRU}) {
            RnnSpec spec = RnnSpec.builder(mode, 3, 5).numLayers(2).bidirectional(true).build();
            Map<String, Tensor> sd = dev.rnnengine.bench.StateDicts.random(spec, 6);
            Tensor x = dev.rnnengine.bench.StateDicts.randn(1, 4, 2, 3);
            Tensor h0 = dev.rnnengine.bench.StateDicts.randn(2, 4, 2, 5);
            Tensor c0 = mode == dev.rnnengine.core.CellMode.LSTM ? dev.rnnengine.bench.StateDicts.randn(3, 4, 2, 5) : null;
            RnnOutput want;
            try (RnnModel m = RnnModel.create(spec, sd, new EngineOptions("scalar", 1))) {
                want = m.forward(x, h0, c0, null);
            }
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put("input", OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toArray()), new long[] {4, 2, 3}));
            in.put("h0", OnnxTensor.createTensor(env, FloatBuffer.wrap(h0.toArray()), new long[] {4, 2, 5}));
            if (c0 != null) {
                in.put("c0", OnnxTensor.createTensor(env, FloatBuffer.wrap(c0.toArray()), new long[] {4, 2, 5}));
            }
            try (OrtSession s = env.createSession(OnnxExport.writeWithState(spec, sd, -1, -1), new OrtSession.SessionOptions());
                 OrtSession.Result r = s.run(in)) {
                assertClose(mode + " output", want.output(), (OnnxTensor) r.get("output").orElseThrow());
                assertClose(mode + " h_n", want.hN(), (OnnxTensor) r.get("h_n").orElseThrow());
                if (c0 != null) {
                    assertClose(mode + " c_n", want.cN(), (OnnxTensor) r.get("c_n").orElseThrow());
                }
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }
    }

    @Test
    void theCliWritesTheFileAndRefusesWhatItCannot() throws Exception {
        Path c = Fixtures.goldenCases().stream().filter(p -> p.getFileName().toString().endsWith("_gru")).findFirst().orElseThrow();
        Path out = dir.resolve("gru.onnx");
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream e = new java.io.ByteArrayOutputStream();
        int code = dev.rnnengine.cli.Main.run(new String[] {"export", "--onnx", "--model", c.resolve("model.safetensors").toString(),
            "--output", out.toString()}, new java.io.PrintStream(o), new java.io.PrintStream(e));
        assertEquals(0, code, e.toString());
        assertTrue(o.toString().contains("outputs 'output', 'h_n'"), o.toString());
        try (OrtSession s = OrtEnvironment.getEnvironment().createSession(out.toString(), new OrtSession.SessionOptions())) {
            assertEquals(java.util.Set.of("output", "h_n"), s.getOutputNames());
        }
        assertEquals(2, dev.rnnengine.cli.Main.run(new String[] {"export", "--model", c.resolve("model.safetensors").toString(),
            "--output", out.toString()}, new java.io.PrintStream(o), new java.io.PrintStream(e)), "no --onnx");
        e.reset();
        assertEquals(1, dev.rnnengine.cli.Main.run(new String[] {"export", "--onnx", "--model", c.resolve("model.safetensors").toString(),
            "--output", c.resolve("model.safetensors").toString()}, new java.io.PrintStream(o), new java.io.PrintStream(e)));
        assertTrue(e.toString().contains("refusing to overwrite"), e.toString());
        assertTrue(Files.size(c.resolve("model.safetensors")) > 0);
    }
}
