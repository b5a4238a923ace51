package dev.rnnengine.backend.vector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The vector backend's input-projection GEMM alone: rows x cols times cols x (vectors*V). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class GemmBench {
    @Param({"100"})
    public int rows;
    @Param({"512"})
    public int cols;
    @Param({"1536"})
    public int outCols;

    private float[] x;
    private MemorySegment panel;
    private float[] bias;
    private float[] out;

    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(1);
        x = new float[rows * cols];
        float[] w = new float[outCols * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextDouble(-1, 1);
        }
        panel = VectorKernels.packPairs(Arena.ofAuto(), w, 1, outCols, cols);
        bias = new float[outCols];
        out = new float[rows * outCols];
    }

    @Benchmark
    public float[] gemm() {
        VectorKernels.gemm(x, 0, cols, rows, cols, panel, 2, bias, out, 0, outCols, 0, outCols / VectorKernels.V);
        return out;
    }
}
