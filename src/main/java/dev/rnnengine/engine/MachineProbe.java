package dev.rnnengine.engine;

/** The machine's limits as the fastest Java kernels see them, for the harness's report. */
public interface MachineProbe {
    /** GFLOP/s of independent fused multiply-adds on registers, one thread, best of about {@code millis}. */
    double fmaGflops(long millis);

    /** GB/s reading a {@code bytes}-byte array over and over, one thread, best pass of about {@code millis}. */
    double readGBps(int bytes, long millis);
}
