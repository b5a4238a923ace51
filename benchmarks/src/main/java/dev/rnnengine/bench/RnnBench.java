package dev.rnnengine.bench;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.api.RnnState;
import dev.rnnengine.bench.Shapes;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
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
 * One forward call per invocation over DESIGN.md's shape set, per backend and thread count.
 * lstm2_step_b1 is measured as one streaming {@code step} (the latency use case). Custom
 * shapes are written {@code cell:D:H:T:N[:layers[:bi]]} (see {@link Shapes#get}).
 * Run with bin/jmh (see README); add {@code -prof gc} for the allocation per call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RnnBench {
    @Param({"lstm_small_b1", "lstm_512_b1", "lstm_1024_b1", "lstm_512_b64", "gru_512_b1", "gru_512_b64",
        "rnn_1760_b1", "bilstm2_b16", "lstm2_step_b1"})
    public String shape;

    @Param({"scalar", "vector", "openblas", "onednn"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    private RnnModel model;
    private Tensor input;
    private RnnState state;
    private Tensor stepInput;

    @Setup(Level.Trial)
    public void setUp() {
        Shapes.Shape s = Shapes.get(shape);
        model = RnnModel.create(s.spec(), StateDicts.random(s.spec(), 1), new EngineOptions(backend, threads));
        input = StateDicts.randn(2, s.seqLen(), s.batch(), s.spec().inputSize());
        if (s.seqLen() == 1 && !s.spec().bidirectional()) {
            state = model.newState(s.batch());
            stepInput = input.reshape(s.batch(), s.spec().inputSize());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    @Benchmark
    public Object forward() {
        if (state != null) {
            return model.step(stepInput, state);
        }
        RnnOutput out = model.forward(input);
        return out.output();
    }
}
