package dev.rnnengine.backend.onednn;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.LayerKernels;
import dev.rnnengine.internal.CpuCaches;
import dev.rnnengine.internal.ffm.OneDnn;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;

/**
 * Whole layers on oneDNN's RNN primitives: one primitive per layer (both directions in it, with
 * {@code bidirectional_concat}), weights reordered once into the layout the primitive asks for.
 * With two threads or more, when one direction's recurrent weights take less than half a core's
 * L2 ({@link #directionFits}), a bidirectional layer is two unidirectional primitives instead
 * ({@code left2right} and {@code right2left} on each direction's weights), which the driver runs
 * at once, one per thread ({@link #runDirection}), each on half the threads (an odd count leaves
 * one idle): oneDNN, like ONNX Runtime, runs the two directions of one primitive one after the other.
 *
 * <p>PyTorch onto oneDNN, in one place ({@link #userWeights}): weights in PyTorch's
 * {@code (G*H, in)} order are oneDNN's {@code ldgoi}; LSTM gates i,f,g,o are oneDNN's order;
 * GRU gates r,z,n become u(=z),r,o(=n) and the bias {@code lbr_gru}'s four parts
 * {@code [b_iz+b_hz, b_ir+b_hr, b_in, b_hn]}; LSTM and RNN biases are summed; the projection
 * {@code (P, H)} is {@code ldoi}; a layer's h0/c0 and h_n/c_n are {@code ldnc} with one layer.
 *
 * <p>Primitives are cached by the call's shape (N, T) in {@link Plan}s; each concurrent call
 * borrows its own {@link Exec} (stream, native buffers, scratchpad) from the plan. oneDNN has
 * no lengths argument: the driver groups sequences by length and calls with equal lengths.
 */
final class OneDnnKernels implements LayerKernels<OneDnnKernels.Context> {
    /** Shapes beyond this many run with a primitive built for the call and freed after it. */
    static final int MAX_CACHED_PLANS = 256;
    /** One permit per core: concurrent calls queue rather than oversubscribe (OpenMP teams are per thread). */
    private static final Semaphore CORES = new Semaphore(Runtime.getRuntime().availableProcessors(), true);
    // Weight arguments, in the index order of LayerParams' arrays.
    private static final int W_LAYER = 0;
    private static final int W_ITER = 1;
    private static final int BIAS = 2;
    private static final int W_PROJ = 3;
    private static final int[] WEIGHT_ARGS = {
        OneDnn.ARG_WEIGHTS_LAYER, OneDnn.ARG_WEIGHTS_ITER, OneDnn.ARG_BIAS, OneDnn.ARG_WEIGHTS_PROJECTION};

    private final RnnSpec spec;
    private final OneDnn dnnl;
    private final int threads;
    private final int permits;
    private final int dirs;
    private final int hidden;  // DHC
    private final int hOut;    // DIC: proj size or hidden
    private final boolean lstm;
    private final boolean proj;
    private final OneDnn.Handles handles; // model-lifetime: weights, their reorders
    private final LayerParams[] layers;
    /** Bidirectional at 2+ threads: one primitive per direction ("part"), run at once by the driver. */
    private final boolean apart;
    private final int parts;       // primitives per layer: 2 apart, else 1
    private final int partDirs;    // directions per primitive: 1 apart, else dirs
    private final int partThreads; // OpenMP threads of one part's call
    private final ConcurrentHashMap<Long, Plan> plans = new ConcurrentHashMap<>();
    private final int maxPlans;
    private MemorySegment reorderStream; // guarded by handles

    /**
     * One layer's weights: PyTorch's values as oneDNN user memory, and the layouts primitives asked
     * for; per part (the whole layer, or one direction's slice of the same memory) and argument.
     */
    private static final class LayerParams {
        final int inputSize;
        final MemorySegment[][] userMd;
        final MemorySegment[][] userMem;
        final MemorySegment[][] anyMd;
        final MemorySegment[][] plainMd; // anyMd with the layer and iteration weights in plain ldigo
        final List<List<List<MemorySegment[]>>> reordered = new ArrayList<>(); // per part, argument: {md, memory}

        LayerParams(int inputSize, int parts) {
            this.inputSize = inputSize;
            userMd = new MemorySegment[parts][4];
            userMem = new MemorySegment[parts][4];
            anyMd = new MemorySegment[parts][4];
            plainMd = new MemorySegment[parts][4];
            for (int p = 0; p < parts; p++) {
                reordered.add(List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>()));
            }
        }
    }

    OneDnnKernels(RnnSpec spec, List<LayerWeights> weights, OneDnn dnnl, int threads) {
        this(spec, weights, dnnl, threads, MAX_CACHED_PLANS, CpuCaches.l2());
    }

    /**
     * With a plan cache of {@code maxPlans} shapes (tests use a small one), on a core with {@code l2}
     * bytes of L2 (0: unknown).
     */
    OneDnnKernels(RnnSpec spec, List<LayerWeights> weights, OneDnn dnnl, int threads, int maxPlans, long l2) {
        this.maxPlans = maxPlans;
        this.spec = spec;
        this.dnnl = dnnl;
        this.threads = threads;
        this.permits = Math.min(threads, Runtime.getRuntime().availableProcessors());
        this.dirs = spec.directions();
        this.hidden = spec.hiddenSize();
        this.hOut = spec.outputHiddenSize();
        this.lstm = spec.mode().hasCellState();
        this.proj = spec.projSize() > 0;
        this.apart = dirs == 2 && threads >= 2 && directionFits(spec, l2);
        this.parts = apart ? 2 : 1;
        this.partDirs = apart ? 1 : dirs;
        this.partThreads = apart ? Math.max(1, threads / 2) : threads;
        this.handles = dnnl.handles();
        this.layers = new LayerParams[spec.numLayers()];
        try {
            for (int l = 0; l < layers.length; l++) {
                layers[l] = userWeights(l, weights);
            }
            // Build the streaming shape now: unsupported models fail at load, and the weights
            // are reordered here, not in a caller's first call.
            CORES.acquireUninterruptibly(permits);
            try {
                dnnl.setThreads(partThreads); // primitives keep the thread count they were built with
                plan(1, 1, 0);
            } finally {
                CORES.release(permits);
            }
        } catch (IllegalStateException e) {
            close();
            throw new UnsupportedOperationException("oneDNN cannot run this model: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Whether one direction's recurrent weights (W_hh, W_hr) take less than half a core's L2: then a
     * core running that direction alone keeps them there, and the directions run apart; beyond it,
     * one primitive whose threads share each direction's weights reads them from L2, and apart loses.
     * Measured at 2 threads on an Intel Xeon with 2 MB L2 (ms, one primitive vs apart): bilstm2_b16
     * 6.1 vs 4.6, LSTM 128 bi batch 1 0.49 vs 0.28, GRU 256 batch 8 3.2 vs 2.8, tanh RNN 256 batch 4
     * 0.78 vs 0.51 (apart below half the L2); LSTM 512 batch 1 2.9 vs 4.4, GRU 512 batch 1 10.6 vs 11.6,
     * tanh RNN 512 batch 4 4.8 vs 6.1, LSTM 512 batch 64 49 vs 49 (one primitive from half the L2 up).
     */
    static boolean directionFits(RnnSpec spec, long l2) {
        double bytes = 4.0 * ((double) spec.gates() * spec.hiddenSize() * spec.outputHiddenSize()
            + (double) spec.projSize() * spec.hiddenSize());
        return bytes < l2 / 2.0;
    }

    /**
     * Whether a call of {@code batch} rows takes the layer and iteration weights in plain
     * {@code ldigo} (oneDNN's gemm-based RNN) rather than in the layout the primitive picks for
     * {@code any} (on AVX-512 its blocked brgemm one), which runs the vanilla RNN and small-batch
     * GRU at half speed. Measured at 1 thread on an Intel Xeon with AVX-512 (ms, any vs ldigo):
     * tanh RNN 1760 batch 1 43.3 vs 24.8, batch 8 65.3 vs 49.4, batch 64 (T 20) 119 vs 111; tanh
     * RNN 512 batch 1 3.7 vs 1.7; GRU 512 batch 1 22.3 vs 11.3, batch 4 23.6 vs 17.3, batch 16
     * 21.6 vs 21.3, batch 64 145 vs 148; GRU 1024 batch 1 44.7 vs 26.0, batch 16 (T 20) 33.3 vs
     * 40.0; GRU 256 batch 1 2.1 vs 1.2. LSTM keeps {@code any}: ldigo was 0-15% slower from batch
     * 1 (LSTM 512: 4.07 vs 4.23) to 64 (43.8 vs 49.7). A model called at both kinds of batch keeps
     * both layouts of its weights.
     */
    static boolean plainWeights(CellMode mode, int batch) {
        return switch (mode) {
            case LSTM -> false;
            case GRU -> batch <= 8;
            case RNN_TANH, RNN_RELU -> true;
        };
    }

    /** The PyTorch to oneDNN mapping of one layer's weights (see the class comment). */
    private LayerParams userWeights(int l, List<LayerWeights> weights) {
        int g = spec.gates();
        int in = spec.layerInputSize(l);
        LayerParams p = new LayerParams(in, parts);
        int[] gateOrder = spec.mode().onednnGateOrder(); // oneDNN gate k is PyTorch gate gateOrder[k]
        int apart = spec.mode().gateWithSeparateRecurrentBias(); // GRU's b_hn: a fourth bias part
        int biasParts = apart >= 0 ? g + 1 : g;

        MemorySegment wl = handles.floats((long) dirs * g * hidden * in);  // (1, dirs, G, H, in) ldgoi
        MemorySegment wi = handles.floats((long) dirs * g * hidden * hOut); // (1, dirs, G, H, H_out) ldgoi
        MemorySegment b = handles.floats((long) dirs * biasParts * hidden); // (1, dirs, G', H) ldgo
        MemorySegment wp = proj ? handles.floats((long) dirs * hOut * hidden) : null; // (1, dirs, P, H) ldoi
        for (int d = 0; d < dirs; d++) {
            LayerWeights w = weights.get(l * dirs + d);
            for (int k = 0; k < g; k++) {
                int src = gateOrder[k];
                copy(w.wIh(), src * hidden * in, wl, ((long) d * g + k) * hidden * in, hidden * in);
                copy(w.wHh(), src * hidden * hOut, wi, ((long) d * g + k) * hidden * hOut, hidden * hOut);
            }
            float[] summed = spec.mode().presummedBias(w.bIh(), w.bHh());
            if (summed != null) {
                float[] parts = new float[biasParts * hidden];
                for (int k = 0; k < g; k++) {
                    System.arraycopy(summed, gateOrder[k] * hidden, parts, k * hidden, hidden);
                }
                float[] separate = spec.mode().separateRecurrentBias(w.bHh());
                if (separate != null) {
                    System.arraycopy(separate, 0, parts, g * hidden, hidden);
                }
                copy(parts, 0, b, (long) d * biasParts * hidden, parts.length);
            }
            if (proj) {
                copy(w.wHr(), 0, wp, (long) d * hOut * hidden, hOut * hidden);
            }
        }
        long[][] dims = {
            {1, partDirs, in, g, hidden},
            {1, partDirs, hOut, g, hidden},
            {1, partDirs, biasParts, hidden},
            {1, partDirs, hidden, hOut}};
        int[] tags = {OneDnn.TAG_LDGOI, OneDnn.TAG_LDGOI, OneDnn.TAG_LDGO, OneDnn.TAG_LDOI};
        MemorySegment[] data = {wl, wi, b, wp};
        for (int part = 0; part < parts; part++) {
            for (int k = 0; k < 4; k++) {
                if (data[k] == null) {
                    p.anyMd[part][k] = MemorySegment.NULL;
                    p.plainMd[part][k] = MemorySegment.NULL;
                    continue;
                }
                // A direction's weights are contiguous in ldgoi/ldgo/ldoi: a part is a slice.
                long bytes = data[k].byteSize() / parts;
                p.userMd[part][k] = handles.md(tags[k], dims[k]);
                p.userMem[part][k] = handles.memory(p.userMd[part][k], data[k].asSlice(part * bytes, bytes));
                p.anyMd[part][k] = handles.md(OneDnn.TAG_ANY, dims[k]);
                p.plainMd[part][k] = k == W_LAYER || k == W_ITER ? handles.md(OneDnn.TAG_LDIGO, dims[k])
                    : p.anyMd[part][k];
            }
        }
        return p;
    }

    private static void copy(float[] src, int srcIndex, MemorySegment dst, long dstIndex, int count) {
        MemorySegment.copy(src, srcIndex, dst, JAVA_FLOAT, 4 * dstIndex, count);
    }

    /**
     * The weights of argument {@code k} in the layout {@code wanted}: the user memory when it
     * already is, else a reorder made once per distinct layout and kept until close.
     */
    private MemorySegment weightsFor(LayerParams p, int part, int k, MemorySegment wanted) {
        synchronized (handles) {
            if (dnnl.equal(p.userMd[part][k], wanted)) {
                return p.userMem[part][k];
            }
            for (MemorySegment[] r : p.reordered.get(part).get(k)) {
                if (dnnl.equal(r[0], wanted)) {
                    return r[1];
                }
            }
            MemorySegment md = handles.cloneMd(wanted);
            MemorySegment mem = handles.memory(md, handles.bytes(dnnl.size(md)));
            MemorySegment reorder = handles.primitive(handles.reorderPd(p.userMd[part][k], md));
            if (reorderStream == null) {
                reorderStream = handles.stream();
            }
            MemorySegment args = handles.execArgs(new int[] {OneDnn.ARG_FROM, OneDnn.ARG_TO},
                new MemorySegment[] {p.userMem[part][k], mem});
            dnnl.execute(reorder, reorderStream, 2, args);
            p.reordered.get(part).get(k).add(new MemorySegment[] {md, mem});
            return mem;
        }
    }

    /** Primitives for one call shape (N, T), per layer and part, and the pools of per-call execution contexts. */
    private final class Plan {
        final int batch;
        final int seqLen;
        final OneDnn.Handles h = dnnl.handles();
        final MemorySegment[][] primitive; // per layer, part
        final MemorySegment[][][] mds; // per layer, part: src_layer, src_iter, src_iter_c, dst_layer, dst_iter, dst_iter_c
        final MemorySegment[][][] weights; // per layer, part, weight argument
        final MemorySegment[][] scratchMd;
        final long scratchBytes;
        final List<ConcurrentLinkedQueue<Exec>> idle = new ArrayList<>(); // per part
        /** False for a plan past the cache's size: the caller frees it after its call. */
        boolean cached;

        /** Primitives of every part ({@code only} -1), or of part {@code only} alone (a temporary plan). */
        Plan(int batch, int seqLen, int only) {
            this.batch = batch;
            this.seqLen = seqLen;
            int nl = layers.length;
            primitive = new MemorySegment[nl][parts];
            mds = new MemorySegment[nl][parts][];
            weights = new MemorySegment[nl][parts][4];
            scratchMd = new MemorySegment[nl][parts];
            long scratch = 0;
            try {
                MemorySegment attr = h.userScratchpadAttr();
                for (int l = 0; l < nl; l++) {
                    LayerParams p = layers[l];
                    for (int part = 0; part < parts; part++) {
                        if (only >= 0 && part != only) {
                            continue;
                        }
                        int direction = apart ? (part == 0 ? OneDnn.UNIDIRECTIONAL : OneDnn.RIGHT_TO_LEFT)
                            : dirs == 2 ? OneDnn.BIDIRECTIONAL_CONCAT : OneDnn.UNIDIRECTIONAL;
                        MemorySegment srcLayer = h.md(OneDnn.TAG_TNC, seqLen, batch, p.inputSize);
                        MemorySegment srcIter = h.md(OneDnn.TAG_LDNC, 1, partDirs, batch, hOut);
                        MemorySegment srcIterC = lstm ? h.md(OneDnn.TAG_LDNC, 1, partDirs, batch, hidden)
                            : MemorySegment.NULL;
                        MemorySegment dstLayer = h.md(OneDnn.TAG_TNC, seqLen, batch, (long) partDirs * hOut);
                        MemorySegment dstIter = h.md(OneDnn.TAG_LDNC, 1, partDirs, batch, hOut);
                        MemorySegment dstIterC = lstm ? h.md(OneDnn.TAG_LDNC, 1, partDirs, batch, hidden)
                            : MemorySegment.NULL;
                        MemorySegment[] any = plainWeights(spec.mode(), batch) ? p.plainMd[part] : p.anyMd[part];
                        MemorySegment pd = switch (spec.mode()) {
                            case LSTM -> h.lstmPd(direction, srcLayer, srcIter, srcIterC, any[W_LAYER], any[W_ITER],
                                any[W_PROJ], any[BIAS], dstLayer, dstIter, dstIterC, attr);
                            case GRU -> h.lbrGruPd(direction, srcLayer, srcIter, any[W_LAYER], any[W_ITER], any[BIAS],
                                dstLayer, dstIter, attr);
                            case RNN_TANH, RNN_RELU -> h.vanillaRnnPd(
                                spec.mode() == CellMode.RNN_TANH ? OneDnn.ELTWISE_TANH : OneDnn.ELTWISE_RELU,
                                direction, srcLayer, srcIter, any[W_LAYER], any[W_ITER], any[BIAS], dstLayer, dstIter,
                                attr);
                        };
                        for (int k = 0; k < 4; k++) {
                            weights[l][part][k] = p.userMd[part][k] == null ? null
                                : weightsFor(p, part, k, dnnl.queryMd(pd, WEIGHT_ARGS[k]));
                        }
                        mds[l][part] = new MemorySegment[] {srcLayer, srcIter, srcIterC, dstLayer, dstIter, dstIterC};
                        scratchMd[l][part] = dnnl.queryMd(pd, OneDnn.ARG_SCRATCHPAD);
                        scratch = Math.max(scratch, dnnl.size(scratchMd[l][part]));
                        primitive[l][part] = h.primitive(pd);
                    }
                }
            } catch (RuntimeException e) {
                h.close();
                throw e;
            }
            scratchBytes = scratch;
            for (int part = 0; part < parts; part++) {
                idle.add(new ConcurrentLinkedQueue<>());
            }
        }

        Exec borrow(int part) {
            Exec e = idle.get(part).poll();
            return e != null ? e : new Exec(this, part);
        }

        void release(Exec e) {
            idle.get(e.part).add(e);
        }
    }

    /**
     * One call's own stream, native buffers and argument lists for one part of a {@link Plan}: one
     * set of buffers that every layer's arguments point into (layers run one at a time).
     */
    private final class Exec {
        final Plan plan;
        final int part;
        final MemorySegment stream;
        final MemorySegment x;       // (T, N, in) of the layer running
        final MemorySegment y;       // (T, N, partDirs*H_out)
        final MemorySegment hIn;     // (partDirs, N, H_out)
        final MemorySegment hOut;
        final MemorySegment cIn;     // (partDirs, N, H), LSTM only
        final MemorySegment cOut;
        final MemorySegment[] args;
        final int[] nargs;

        Exec(Plan p, int part) {
            plan = p;
            this.part = part;
            OneDnn.Handles h = p.h;
            int nl = layers.length;
            long rows = (long) p.seqLen * p.batch;
            long maxIn = 0;
            for (LayerParams lp : layers) {
                maxIn = Math.max(maxIn, lp.inputSize);
            }
            long stateH = (long) partDirs * p.batch * OneDnnKernels.this.hOut;
            long stateC = (long) partDirs * p.batch * hidden;
            stream = h.stream();
            x = h.floats(rows * maxIn);
            y = h.floats(rows * partDirs * OneDnnKernels.this.hOut);
            hIn = h.floats(stateH);
            hOut = h.floats(stateH);
            cIn = lstm ? h.floats(stateC) : null;
            cOut = lstm ? h.floats(stateC) : null;
            MemorySegment scratch = h.bytes(p.scratchBytes);
            args = new MemorySegment[nl];
            nargs = new int[nl];
            for (int l = 0; l < nl; l++) {
                MemorySegment[] md = p.mds[l][part];
                List<Integer> nums = new ArrayList<>();
                List<MemorySegment> mems = new ArrayList<>();
                nums.add(OneDnn.ARG_SRC_LAYER);
                mems.add(h.memory(md[0], x));
                nums.add(OneDnn.ARG_SRC_ITER);
                mems.add(h.memory(md[1], hIn));
                nums.add(OneDnn.ARG_DST_LAYER);
                mems.add(h.memory(md[3], y));
                nums.add(OneDnn.ARG_DST_ITER);
                mems.add(h.memory(md[4], hOut));
                if (lstm) {
                    nums.add(OneDnn.ARG_SRC_ITER_C);
                    mems.add(h.memory(md[2], cIn));
                    nums.add(OneDnn.ARG_DST_ITER_C);
                    mems.add(h.memory(md[5], cOut));
                }
                for (int k = 0; k < 4; k++) {
                    if (p.weights[l][part][k] != null) {
                        nums.add(WEIGHT_ARGS[k]);
                        mems.add(p.weights[l][part][k]);
                    }
                }
                if (dnnl.size(p.scratchMd[l][part]) > 0) {
                    nums.add(OneDnn.ARG_SCRATCHPAD);
                    mems.add(h.memory(p.scratchMd[l][part], scratch));
                }
                args[l] = h.execArgs(nums.stream().mapToInt(Integer::intValue).toArray(),
                    mems.toArray(new MemorySegment[0]));
                nargs[l] = nums.size();
            }
        }
    }

    /**
     * The plan for a call shape: cached up to {@code maxPlans} shapes (every part), else a
     * temporary one of {@code part} alone, built outside the lock, which the caller closes.
     * Call with the part's thread count set.
     */
    private Plan plan(int batch, int seqLen, int part) {
        long key = ((long) batch << 32) | seqLen;
        Plan p = plans.get(key);
        if (p != null) {
            return p;
        }
        synchronized (plans) {
            p = plans.get(key);
            if (p != null) {
                return p;
            }
            if (plans.size() < maxPlans) {
                p = new Plan(batch, seqLen, -1);
                p.cached = true;
                plans.put(key, p);
                return p;
            }
        }
        return new Plan(batch, seqLen, part);
    }

    /** A call's borrowed execution contexts (one per part), kept across the layers of one (N, T) group. */
    static final class Context {
        private final Exec[] exec = new Exec[2];
    }

    @Override
    public Context newContext() {
        return new Context();
    }

    @Override
    public void begin(Context ctx) {
        CORES.acquireUninterruptibly(permits);
        try {
            dnnl.setThreads(threads);
        } catch (RuntimeException | Error e) {
            CORES.release(permits);
            throw e;
        }
    }

    @Override
    public void end(Context ctx) {
        try {
            // A cached plan's Exec stays with this (pooled) context for its next call of the
            // same shape: no lookup, no pool traffic. A temporary plan is freed now.
            for (int part = 0; part < parts; part++) {
                Exec e = ctx.exec[part];
                if (e != null && !e.plan.cached) {
                    release(ctx, part);
                }
            }
        } finally {
            CORES.release(permits);
        }
    }

    private void release(Context ctx, int part) {
        Exec e = ctx.exec[part];
        ctx.exec[part] = null;
        if (e != null) {
            if (e.plan.cached) {
                e.plan.release(e);
            } else {
                e.plan.h.close(); // a temporary plan: each part's is its own (the two may run at once)
            }
        }
    }

    /** This context's Exec of {@code part} for the shape (N, T), borrowed anew when the shape changed. */
    private Exec exec(Context ctx, int part, int batch, int seqLen) {
        Exec e = ctx.exec[part];
        if (e != null && e.plan.batch == batch && e.plan.seqLen == seqLen) {
            return e;
        }
        release(ctx, part);
        Plan p = plan(batch, seqLen, part);
        try {
            e = p.borrow(part);
        } catch (RuntimeException | Error failure) {
            if (!p.cached) {
                p.h.close(); // a temporary plan nobody else holds
            }
            throw failure;
        }
        ctx.exec[part] = e;
        return e;
    }

    @Override
    public void runLayer(Context ctx, int layer, int seqLen, int batch, float[] x, float[] h0, int h0At, float[] c0,
                         int c0At, float[] y, float[] hN, int hNAt, float[] cN, int cNAt) {
        if (apart) { // both directions on this thread, one after the other, at the count their primitives have
            dnnl.setThreads(partThreads);
        }
        for (int part = 0; part < parts; part++) {
            run(ctx, part, layer, seqLen, batch, x, h0, h0At, c0, c0At, y, hN, hNAt, cN, cNAt);
        }
    }

    @Override
    public boolean directionsApart() {
        return apart;
    }

    @Override
    public void runDirection(Context ctx, int layer, int dir, int seqLen, int batch, float[] x, float[] h0, int h0At,
                             float[] c0, int c0At, float[] y, float[] hN, int hNAt, float[] cN, int cNAt) {
        if (!apart) {
            throw new UnsupportedOperationException("this model's layers run both directions in one primitive");
        }
        dnnl.setThreads(partThreads); // OpenMP's count is the calling thread's own
        run(ctx, dir, layer, seqLen, batch, x, h0, h0At, c0, c0At, y, hN, hNAt, cN, cNAt);
    }

    /**
     * Part {@code part}'s primitive of a layer: its block of the states (every direction, or
     * direction {@code part}) and its columns of every output row.
     */
    private void run(Context ctx, int part, int layer, int seqLen, int batch, float[] x, float[] h0, int h0At,
                     float[] c0, int c0At, float[] y, float[] hN, int hNAt, float[] cN, int cNAt) {
        Exec e = exec(ctx, part, batch, seqLen);
        int in = layers[layer].inputSize;
        int rows = seqLen * batch;
        int hState = partDirs * batch * hOut;
        int cState = partDirs * batch * hidden;
        MemorySegment.copy(x, 0, e.x, JAVA_FLOAT, 0, rows * in);
        MemorySegment.copy(h0, h0At + part * hState, e.hIn, JAVA_FLOAT, 0, hState);
        if (lstm) {
            MemorySegment.copy(c0, c0At + part * cState, e.cIn, JAVA_FLOAT, 0, cState);
        }
        dnnl.execute(e.plan.primitive[layer][part], e.stream, e.nargs[layer], e.args[layer]);
        int partWidth = partDirs * hOut;
        if (partWidth == dirs * hOut) {
            MemorySegment.copy(e.y, JAVA_FLOAT, 0, y, 0, rows * partWidth);
        } else {
            int width = dirs * hOut;
            for (int r = 0; r < rows; r++) { // this direction's half of each output row
                MemorySegment.copy(e.y, JAVA_FLOAT, (long) r * partWidth * 4, y, r * width + part * partWidth, partWidth);
            }
        }
        MemorySegment.copy(e.hOut, JAVA_FLOAT, 0, hN, hNAt + part * hState, hState);
        if (lstm) {
            MemorySegment.copy(e.cOut, JAVA_FLOAT, 0, cN, cNAt + part * cState, cState);
        }
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (Plan p : plans.values()) {
            try {
                p.h.close();
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        plans.clear();
        try {
            handles.close();
        } catch (RuntimeException e) {
            first = first == null ? e : first;
        }
        if (first != null) {
            throw first;
        }
    }
}
