package dev.rnnengine.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.OnnxGraph;
import dev.rnnengine.io.OnnxImport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Jazzer fuzz test of the ONNX reader and importer: any bytes are refused with a
 * {@link dev.rnnengine.io.MalformedFileException} or recognised as a model that then loads and
 * runs a small input on the scalar backend with outputs of the shapes the graph says. Any other
 * exception, a hang or a crash is a finding. {@code bin/test} replays the kept corpus (seeded
 * with {@code tools/make_onnx_cases.py}'s models); {@code JAZZER_FUZZ=1 mvn test
 * -Dtest=OnnxFuzzTest -Djazzer.max_duration=60s} fuzzes anew.
 */
class OnnxFuzzTest {
    @FuzzTest(maxDuration = "30s")
    void importRefusesOrRuns(byte[] data) throws IOException {
        Path p = Files.createTempFile("fuzz", ".onnx");
        try {
            OnnxGraph g;
            try {
                g = OnnxImport.parse(p, data);
            } catch (IOException e) {
                return; // refused with a message: fine
            }
            RnnSpec s = g.spec();
            if ((long) s.inputSize() * s.hiddenSize() * s.numLayers() * s.directions() > 1_000_000) {
                return; // bounded time per input
            }
            Files.write(p, data);
            try (RnnModel m = RnnModel.load(p, new EngineOptions("scalar", 1), Map.of())) {
                int t = 2;
                int states = s.numLayers() * s.directions();
                Map<String, Tensor> in = new HashMap<>();
                in.put(g.input(), Tensor.of(new float[t * s.inputSize()],
                    g.spec().batchFirst() ? new int[] {1, t, s.inputSize()} : new int[] {t, 1, s.inputSize()}));
                int[] stateShape = g.layout() == 1 ? new int[] {1, states, s.hiddenSize()} : new int[] {states, 1, s.hiddenSize()};
                if (g.h0() != null) {
                    in.put(g.h0(), Tensor.of(new float[states * s.hiddenSize()], stateShape));
                }
                if (g.c0() != null) {
                    in.put(g.c0(), Tensor.of(new float[states * s.hiddenSize()], stateShape));
                }
                Map<String, Tensor> out = m.runGraph(in, g.lengths() == null ? null : new int[] {t});
                if (!out.keySet().equals(g.outputs().stream().map(OnnxGraph.Output::name)
                        .collect(java.util.stream.Collectors.toSet()))) {
                    throw new AssertionError("outputs " + out.keySet() + " are not the graph's " + g.outputs());
                }
            } catch (IOException | IllegalArgumentException | UnsupportedOperationException e) {
                // the graph recognised but refused at load (e.g. a spec PyTorch's checks refuse): fine
            }
        } finally {
            Files.deleteIfExists(p);
        }
    }
}
