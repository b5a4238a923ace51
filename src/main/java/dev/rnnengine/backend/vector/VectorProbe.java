package dev.rnnengine.backend.vector;

import dev.rnnengine.engine.MachineProbe;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's limits as the vector kernels see them, for the comparison harness's report:
 * the single-thread FMA peak and read bandwidth at a given working-set size.
 */
public final class VectorProbe implements MachineProbe {
    private static final VectorSpecies<Float> S = VectorKernels.S;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /** Made by {@code Backends.probe()} once the vector backend is known to run. */
    public VectorProbe() { }

    @Override
    public double fmaGflops(long millis) {
        float sink = 0;
        // Compile first: short passes until C2 has the loop (an interpreted pass of a long loop
        // takes seconds and measured the interpreter, 0.4 GFLOP/s).
        for (int i = 0; i < 200; i++) {
            sink += fmaLoop(10_000);
        }
        long iters = 1 << 20;
        double best = 0;
        long end = System.nanoTime() + millis * 1_000_000L;
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            sink += fmaLoop(iters);
            double s = (System.nanoTime() - t0) / 1e9;
            best = Math.max(best, iters * CHAINS * 2.0 * S.length() / s / 1e9);
        }
        return sink == 42 ? best + 1e-9 : best; // sink keeps the loop alive
    }

    /** Independent FMA chains: 16 cover two pipes of 4-cycle latency, twice over. */
    private static final int CHAINS = 16;

    private static float fmaLoop(long iters) {
        FloatVector m = FloatVector.broadcast(S, 0.999999f);
        FloatVector c = FloatVector.broadcast(S, 1e-7f);
        FloatVector a0 = c, a1 = c, a2 = c, a3 = c, a4 = c, a5 = c, a6 = c, a7 = c;
        FloatVector b0 = c, b1 = c, b2 = c, b3 = c, b4 = c, b5 = c, b6 = c, b7 = c;
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            b0 = b0.fma(m, c);
            b1 = b1.fma(m, c);
            b2 = b2.fma(m, c);
            b3 = b3.fma(m, c);
            b4 = b4.fma(m, c);
            b5 = b5.fma(m, c);
            b6 = b6.fma(m, c);
            b7 = b7.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7)
            .add(b0.add(b1).add(b2).add(b3).add(b4).add(b5).add(b6).add(b7)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public double readGBps(int bytes, long millis) {
        int n = Math.max(S.length() * 4, bytes / 4 / (S.length() * 4) * (S.length() * 4));
        float sink = 0;
        double best = 0;
        // Aligned, as the backend's weights are: a heap array's 64-byte loads mostly straddle two lines.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(4L * n, 64);
            a.fill((byte) 0x3F); // floats of about 0.75
            for (int i = 0; i < 50; i++) { // compile the loop before timing it
                sink += sum(a, 4L * Math.min(n, 1 << 14));
            }
            long end = System.nanoTime() + millis * 1_000_000L;
            int reps = (int) Math.max(1, (64L << 20) / (4L * n));
            while (System.nanoTime() < end) {
                long t0 = System.nanoTime();
                for (int r = 0; r < reps; r++) {
                    sink += sum(a, 4L * n);
                }
                double s = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, 4.0 * n * reps / s / 1e9);
            }
        }
        return sink == 42 ? best + 1e-9 : best;
    }

    private static float sum(MemorySegment a, long bytes) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        long vb = 4L * S.length();
        for (long i = 0; i + 4 * vb <= bytes; i += 4 * vb) {
            s0 = s0.add(FloatVector.fromMemorySegment(S, a, i, NO));
            s1 = s1.add(FloatVector.fromMemorySegment(S, a, i + vb, NO));
            s2 = s2.add(FloatVector.fromMemorySegment(S, a, i + 2 * vb, NO));
            s3 = s3.add(FloatVector.fromMemorySegment(S, a, i + 3 * vb, NO));
        }
        return s0.add(s1).add(s2).add(s3).reduceLanes(VectorOperators.ADD);
    }
}
