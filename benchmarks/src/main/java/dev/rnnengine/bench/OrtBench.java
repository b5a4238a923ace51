package dev.rnnengine.bench;

import ai.onnxruntime.OrtException;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.bench.Shapes;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ONNX Runtime Java 1.29 on the same shapes, weights and inputs as {@link RnnBench}, at the
 * same thread counts. Setup checks ORT's output against the engine's scalar oracle, so a
 * mistranslated model cannot be timed.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class OrtBench {
    @Param({"lstm_small_b1", "lstm_512_b1", "lstm_1024_b1", "lstm_512_b64", "gru_512_b1", "gru_512_b64",
        "rnn_1760_b1", "bilstm2_b16", "lstm2_step_b1"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private OrtRunner ort;

    @Setup(Level.Trial)
    public void setUp() throws OrtException {
        Shapes.Shape s = Shapes.get(shape);
        RnnSpec spec = s.spec();
        Map<String, Tensor> sd = StateDicts.random(spec, 1);
        Tensor x = StateDicts.randn(2, s.seqLen(), s.batch(), spec.inputSize());
        ort = new OrtRunner(spec, sd, x, threads);
        float[] y = ort.run();
        try (RnnModel ref = RnnModel.create(spec, sd, new EngineOptions("vector", 1))) {
            float[] want = ref.forward(x).output().toArray();
            for (int i = 0; i < want.length; i++) {
                if (!(Math.abs(y[i] - want[i]) <= 1e-4 + 1e-3 * Math.abs(want[i]))) {
                    throw new IllegalStateException("ONNX Runtime disagrees with the engine at " + i + ": "
                        + y[i] + " vs " + want[i]);
                }
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        ort.close();
    }

    @Benchmark
    public float[] forward() throws OrtException {
        return ort.run();
    }
}
