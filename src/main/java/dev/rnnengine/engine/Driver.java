package dev.rnnengine.engine;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.internal.SlotPool;

/**
 * A {@link PreparedModel} that runs one backend's {@link Kernels}: {@link StepDriver} for step
 * kernels, {@link LayerDriver} for whole-layer kernels. Each call borrows a typed workspace
 * (the driver's buffers and the kernels' context) from this driver's own pool, so a warm call
 * allocates nothing (the pool neither), and a model routed to several drivers by {@code auto}
 * keeps each driver's workspaces apart.
 *
 * @param <W> the workspace type
 */
public abstract class Driver<W> implements PreparedModel {
    final RnnSpec spec;
    private final String name;
    private final Kernels kernels;
    private final int threads;
    private final SlotPool<W> idle = new SlotPool<>(32);

    Driver(String name, RnnSpec spec, Kernels kernels, int threads) {
        this.name = name;
        this.spec = spec;
        this.kernels = kernels;
        this.threads = threads;
    }

    /**
     * The driver for a backend's kernels.
     *
     * @throws IllegalArgumentException if the kernels are of neither kind
     */
    public static PreparedModel of(String backend, RnnSpec spec, Kernels kernels, int threads) {
        if (kernels instanceof StepKernels<?> k) {
            return new StepDriver<>(backend, spec, k, threads);
        }
        if (kernels instanceof LayerKernels<?> k) {
            return new LayerDriver<>(backend, spec, k, threads);
        }
        throw new IllegalArgumentException(backend + " made kernels of an unknown kind: " + kernels.getClass());
    }

    abstract W newWorkspace();

    /** Runs one call with a workspace no other call is using. */
    abstract void run(W workspace, Call call);

    @Override
    public final void forward(Call call) {
        W w = idle.poll();
        if (w == null) {
            w = newWorkspace();
        }
        try {
            run(w, call);
        } finally {
            idle.offer(w);
        }
    }

    @Override
    public String backendName() {
        return name;
    }

    @Override
    public int threads() {
        return threads;
    }

    /** Releases what the driver itself holds (its worker pool); after the kernels are closed. */
    void release() { }

    @Override
    public void close() {
        idle.clear();
        try {
            kernels.close();
        } finally {
            release();
        }
    }
}
