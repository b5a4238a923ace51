package dev.rnnengine.bench;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnState;
import dev.rnnengine.api.StreamBatcher;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code rnn bench --streams K}: K client threads, each one stream stepping frames as fast as
 * it is answered, against (a) a {@link StreamBatcher} over one model, (b) K threads calling
 * {@link RnnModel#step} directly, each on its own state (a 1-thread model: the callers are the
 * parallelism), and (c) with {@code ort} among the peers, K threads calling ONNX Runtime on
 * one session (1 intra-op thread), each feeding its h_n (and c_n) back as the next h0 (c0), as
 * ONNX Runtime, which is stateless, has its users do; checked against the engine's steps first.
 * Steps per second over all streams and p50/p99 latency per step; the modes alternate, each
 * {@link #ROUNDS} times, and each figure is the median of its rounds.
 */
public final class Streams {
    static final int ROUNDS = 3;
    private static final long ROUND_NANOS = 2_000_000_000L;
    private static final long WARM_NANOS = 1_000_000_000L;

    private Streams() { }

    /** One mode's figures: steps per second, latency percentiles, mean batch. */
    record Figures(double stepsPerSecond, double p50Ms, double p99Ms, double meanBatch) { }

    /**
     * Runs the comparison on each shape; prints a table.
     *
     * @param wait the batcher's longest wait for more rows, µs
     * @return 0, or 1 when a round failed
     */
    public static int run(List<Shapes.Shape> shapes, String backend, int k, int threads, long wait, boolean ort,
                          PrintStream out, PrintStream err) throws InterruptedException {
        String ortMissing = ort ? OrtParticipant.unavailable() : null;
        if (ortMissing != null) {
            err.println("note: ort skipped: " + ortMissing);
            ort = false;
        }
        StringBuilder t = new StringBuilder("| shape | streams | mode | steps/s | p50 ms per step | p99 ms per step "
            + "| mean batch |\n|---|---|---|---|---|---|---|\n");
        StringBuilder ratios = new StringBuilder();
        int failures = 0;
        for (Shapes.Shape shape : shapes) {
            RnnSpec spec = shape.spec();
            if (spec.bidirectional()) {
                err.println("note: " + shape.name() + " skipped: a bidirectional model cannot be stepped");
                continue;
            }
            Map<String, Tensor> sd = StateDicts.random(spec, 1);
            float[] frame = StateDicts.randn(5, spec.inputSize()).toArray();
            List<Figures> batched = new ArrayList<>();
            List<Figures> direct = new ArrayList<>();
            List<Figures> onnx = new ArrayList<>();
            try (RnnModel many = RnnModel.create(spec, sd, new EngineOptions(backend, threads));
                 RnnModel one = RnnModel.create(spec, sd, new EngineOptions(backend, 1));
                 StreamBatcher b = new StreamBatcher(many, Math.max(1, k), wait, TimeUnit.MICROSECONDS,
                     Math.max(1, k), true);
                 OrtRunner session = ort ? new OrtRunner(dev.rnnengine.io.OnnxExport.writeWithState(spec, sd, 1, 1),
                     Tensor.of(frame.clone(), 1, 1, spec.inputSize()), 1) : null) {
                if (session != null) {
                    checkFedBack(session, one, spec, frame);
                }
                for (int r = 0; r < ROUNDS; r++) {
                    err.printf(Locale.ROOT, "streams: %s, %d streams, round %d of %d%n", shape.name(), k, r + 1, ROUNDS);
                    long before = b.stats().steps();
                    long batchesBefore = b.stats().batches();
                    Figures fb = clients(k, spec, frame, () -> {
                        StreamBatcher.Stream s = b.open();
                        float[] o = new float[spec.outputHiddenSize()];
                        return x -> {
                            b.step(s, x, o);
                            return 1;
                        };
                    });
                    long steps = b.stats().steps() - before;
                    long batches = b.stats().batches() - batchesBefore;
                    batched.add(new Figures(fb.stepsPerSecond(), fb.p50Ms(), fb.p99Ms(), (double) steps / Math.max(1, batches)));
                    direct.add(clients(k, spec, frame, () -> {
                        RnnState s = one.newState(1);
                        Tensor x = Tensor.of(new float[spec.inputSize()], spec.inputSize());
                        return f -> {
                            System.arraycopy(f, 0, x.array(), 0, f.length);
                            one.step(x, s);
                            return 1;
                        };
                    }));
                    if (session != null) {
                        onnx.add(clients(k, spec, frame, () -> {
                            OrtRunner.Stepper st = session.stepper(spec.inputSize(), spec.numLayers(), spec.hiddenSize(),
                                spec.mode().hasCellState());
                            return f -> {
                                st.step(f);
                                return 1;
                            };
                        }));
                    }
                }
            } catch (RuntimeException | ai.onnxruntime.OrtException e) {
                failures++;
                err.println("note: " + shape.name() + " failed: " + e);
                continue;
            }
            Figures mb = median(batched);
            Figures md = median(direct);
            t.append(row(shape.name(), k, "batcher (" + backend + ", " + threads + " threads, wait " + wait + " µs)", mb));
            t.append(row(shape.name(), k, k + " threads calling step (" + backend + ", 1 thread each)", md));
            String vsOrt = "";
            if (!onnx.isEmpty()) {
                Figures mo = median(onnx);
                t.append(row(shape.name(), k, k + " threads calling ONNX Runtime, state fed back (1 thread each)", mo));
                vsOrt = String.format(Locale.ROOT, " and %.2fx ONNX Runtime's", mb.stepsPerSecond() / mo.stepsPerSecond());
            }
            ratios.append(String.format(Locale.ROOT, "%s: the batcher's throughput is %.2fx the direct calls'%s; its p99 "
                + "%.3f ms per step%n", shape.name(), mb.stepsPerSecond() / md.stepsPerSecond(), vsOrt, mb.p99Ms()));
        }
        out.print(t);
        out.println();
        out.print(ratios);
        return failures == 0 ? 0 : 1;
    }

    /**
     * {@code rnn bench --streams K --sequences}: K client threads, each calling forward on one
     * sequence (its own length, 1 to the shape's T) as fast as it is answered, against (a) a
     * {@link dev.rnnengine.api.SequenceBatcher} over one model and (b) the K threads calling
     * {@link RnnModel#forward} directly on a 1-thread model. Throughput in time steps (the sum
     * of the sequences' lengths) per second, as callers of short sequences finish more calls;
     * p50/p99 latency per call; modes alternated, medians of {@link #ROUNDS} rounds.
     *
     * @return 0, or 1 when a shape failed
     */
    public static int sequences(List<Shapes.Shape> shapes, String backend, int k, int threads, long wait,
                                PrintStream out, PrintStream err) throws InterruptedException {
        StringBuilder t = new StringBuilder("| shape | callers | mode | time steps/s | p50 ms per call | p99 ms per call "
            + "| mean batch |\n|---|---|---|---|---|---|---|\n");
        StringBuilder ratios = new StringBuilder();
        int failures = 0;
        for (Shapes.Shape shape : shapes) {
            RnnSpec spec = shape.spec();
            Map<String, Tensor> sd = StateDicts.random(spec, 1);
            int maxLen = shape.seqLen();
            List<Figures> batched = new ArrayList<>();
            List<Figures> direct = new ArrayList<>();
            try (RnnModel many = RnnModel.create(spec, sd, new EngineOptions(backend, threads));
                 RnnModel one = RnnModel.create(spec, sd, new EngineOptions(backend, 1));
                 dev.rnnengine.api.SequenceBatcher b = new dev.rnnengine.api.SequenceBatcher(many, Math.max(1, k), wait,
                     TimeUnit.MICROSECONDS, Math.max(1, k), true)) {
                java.util.concurrent.atomic.AtomicInteger ids = new java.util.concurrent.atomic.AtomicInteger();
                for (int r = 0; r < ROUNDS; r++) {
                    err.printf(Locale.ROOT, "sequences: %s, %d callers, round %d of %d%n", shape.name(), k, r + 1, ROUNDS);
                    long before = b.stats().steps();
                    long batchesBefore = b.stats().batches();
                    Figures fb = clients(k, spec, new float[0], () -> {
                        Tensor x = sequence(spec, ids.getAndIncrement(), maxLen);
                        return f -> {
                            b.forward(x);
                            return x.size(0);
                        };
                    });
                    long calls = b.stats().steps() - before;
                    long batches = b.stats().batches() - batchesBefore;
                    batched.add(new Figures(fb.stepsPerSecond(), fb.p50Ms(), fb.p99Ms(), (double) calls / Math.max(1, batches)));
                    direct.add(clients(k, spec, new float[0], () -> {
                        Tensor x = sequence(spec, ids.getAndIncrement(), maxLen);
                        return f -> {
                            one.forward(x);
                            return x.size(0);
                        };
                    }));
                }
            } catch (RuntimeException e) {
                failures++;
                err.println("note: " + shape.name() + " failed: " + e);
                continue;
            }
            Figures mb = median(batched);
            Figures md = median(direct);
            t.append(row(shape.name(), k, "SequenceBatcher (" + backend + ", " + threads + " threads, wait " + wait + " µs)", mb));
            t.append(row(shape.name(), k, k + " threads calling forward (" + backend + ", 1 thread each)", md));
            ratios.append(String.format(Locale.ROOT, "%s: sequences of 1 to %d steps; the batcher's throughput is %.2fx "
                + "the direct calls'; its p99 %.3f ms per call%n", shape.name(), maxLen,
                mb.stepsPerSecond() / md.stepsPerSecond(), mb.p99Ms()));
        }
        out.print(t);
        out.println();
        out.print(ratios);
        return failures == 0 ? 0 : 1;
    }

    /** Client {@code id}'s unbatched sequence: its own length, 1 to {@code maxLen}. */
    private static Tensor sequence(RnnSpec spec, int id, int maxLen) {
        return StateDicts.randn(1000 + id, 1 + (id * 7) % maxLen, spec.inputSize());
    }

    /** ONNX Runtime with the state fed back must step as the engine does before it is timed. */
    private static void checkFedBack(OrtRunner session, RnnModel one, RnnSpec spec, float[] frame)
            throws ai.onnxruntime.OrtException {
        RnnState st = one.newState(1);
        try (OrtRunner.Stepper s = session.stepper(spec.inputSize(), spec.numLayers(), spec.hiddenSize(),
                spec.mode().hasCellState())) {
            Tensor x = Tensor.of(frame.clone(), spec.inputSize());
            for (int i = 0; i < 5; i++) {
                one.step(x, st);
                s.step(frame);
            }
            String why = Bench.disagreement(st.h().toArray(), s.h());
            if (why != null) {
                throw new IllegalStateException("ONNX Runtime with its state fed back disagrees with the engine after 5 "
                    + "steps: " + why);
            }
        }
    }

    private static String row(String shape, int k, String mode, Figures f) {
        return String.format(Locale.ROOT, "| %s | %d | %s | %.0f | %.3f | %.3f | %s |%n", shape, k, mode, f.stepsPerSecond(),
            f.p50Ms(), f.p99Ms(), Double.isNaN(f.meanBatch()) ? "1" : String.format(Locale.ROOT, "%.1f", f.meanBatch()));
    }

    private static Figures median(List<Figures> l) {
        double[] s = l.stream().mapToDouble(Figures::stepsPerSecond).sorted().toArray();
        double[] p50 = l.stream().mapToDouble(Figures::p50Ms).sorted().toArray();
        double[] p99 = l.stream().mapToDouble(Figures::p99Ms).sorted().toArray();
        double[] mb = l.stream().mapToDouble(Figures::meanBatch).sorted().toArray();
        int m = (l.size() - 1) / 2;
        return new Figures(s[m], p50[m], p99[m], mb[m]);
    }

    /** A client's call on one frame; returns the time steps it ran (1 for a step, T for a sequence). */
    private interface Step {
        int run(float[] x) throws Exception;
    }

    private interface Client {
        Step open() throws Exception;
    }

    /** K threads stepping for a warm-up and then a timed round; steps per second and latency percentiles. */
    private static Figures clients(int k, RnnSpec spec, float[] frame, Client client) throws InterruptedException {
        int[][] lat = new int[k][1 << 17]; // ns per step; a round holds fewer steps than this per stream
        int[] n = new int[k];
        long[] units = new long[k];
        CyclicBarrier start = new CyclicBarrier(k);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        long[] window = new long[2];
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            int id = i;
            Thread th = new Thread(null, () -> {
                try {
                    Step s = client.open();
                    float[] x = frame.clone();
                    start.await(60, TimeUnit.SECONDS);
                    long warmEnd = System.nanoTime() + WARM_NANOS;
                    while (System.nanoTime() < warmEnd) {
                        s.run(x);
                    }
                    start.await(60, TimeUnit.SECONDS);
                    if (id == 0) {
                        window[0] = System.nanoTime();
                    }
                    long end = System.nanoTime() + ROUND_NANOS;
                    long now = System.nanoTime();
                    while (now < end) {
                        units[id] += s.run(x);
                        long t1 = System.nanoTime();
                        if (n[id] < lat[id].length) { // beyond the buffer: counted, latency not kept
                            lat[id][n[id]] = (int) Math.min(Integer.MAX_VALUE, t1 - now);
                        }
                        n[id]++;
                        now = t1;
                    }
                    start.await(60, TimeUnit.SECONDS);
                    if (id == 0) {
                        window[1] = System.nanoTime();
                    }
                } catch (Throwable e) {
                    failed.compareAndSet(null, e);
                    start.reset(); // the others' await fails at once: no one waits for a party that left
                }
            }, "rnn-bench-stream-" + i, 64L << 20); // ONNX Runtime needs more than a default stack (docs/spark.md)
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) {
            th.join();
        }
        if (failed.get() != null) {
            throw new IllegalStateException("a stream failed: " + failed.get(), failed.get());
        }
        long total = Arrays.stream(units).sum();
        int kept = 0;
        for (int i = 0; i < k; i++) {
            kept += Math.min(n[i], lat[i].length);
        }
        int[] all = new int[kept];
        int at = 0;
        for (int i = 0; i < k; i++) {
            System.arraycopy(lat[i], 0, all, at, Math.min(n[i], lat[i].length));
            at += Math.min(n[i], lat[i].length);
        }
        Arrays.sort(all);
        double seconds = (window[1] - window[0]) / 1e9;
        return new Figures(total / seconds, all[(kept - 1) / 2] / 1e6,
            all[Math.min(kept - 1, (int) Math.ceil(0.99 * kept) - 1)] / 1e6, Double.NaN);
    }
}
