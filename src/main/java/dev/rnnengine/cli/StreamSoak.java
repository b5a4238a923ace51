package dev.rnnengine.cli;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.StreamBatcher;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code rnn soak --streams K}: K client threads open streams on one {@link StreamBatcher}, step
 * them a random number of frames (blocking or asynchronous at random), and close them, for a
 * given time. Every answer is counted, and each finished stream's outputs are compared with
 * running its frames alone through {@code forward}: a lost, doubled or mixed-up step shows as
 * a count that does not add up or an output that differs. Exits 1 on any of them.
 */
final class StreamSoak {
    private StreamSoak() { }

    static int run(Main.Options o, PrintStream out) throws Main.UsageException, InterruptedException {
        EngineOptions opts = Main.engineOptions(o);
        int k = o.intValue("streams", 1);
        int seconds = o.has("seconds") ? o.intValue("seconds", 1) : 600;
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 16, 32, 2, true, false, false, 0);
        double tol = 1e-5;
        try (RnnModel m = RnnModel.create(spec, StateDicts.random(spec, 1), opts);
             StreamBatcher b = new StreamBatcher(m, 64, 200, TimeUnit.MICROSECONDS, Math.max(64, 4 * k), true)) {
            AtomicLong answered = new AtomicLong();
            AtomicLong streams = new AtomicLong();
            AtomicReference<String> wrong = new AtomicReference<>();
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            List<Thread> ts = new ArrayList<>();
            for (int c = 0; c < k; c++) {
                long seed = c;
                Thread t = new Thread(() -> {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    int h = spec.hiddenSize();
                    try {
                        while (System.nanoTime() < end && wrong.get() == null) {
                            int steps = 1 + rnd.nextInt(40);
                            float[] xs = new float[steps * spec.inputSize()];
                            for (int i = 0; i < xs.length; i++) {
                                xs[i] = (float) rnd.nextDouble(-1, 1);
                            }
                            float[] got = new float[steps * h];
                            float[] x = new float[spec.inputSize()];
                            float[] y = new float[h];
                            try (StreamBatcher.Stream s = b.open()) {
                                for (int t0 = 0; t0 < steps; t0++) {
                                    System.arraycopy(xs, t0 * x.length, x, 0, x.length);
                                    if (rnd.nextBoolean()) {
                                        b.step(s, x, y);
                                    } else {
                                        CompletableFuture<float[]> f = b.stepAsync(s, x, y);
                                        f.get();
                                    }
                                    answered.incrementAndGet();
                                    System.arraycopy(y, 0, got, t0 * h, h);
                                }
                            }
                            streams.incrementAndGet();
                            float[] ref = m.forward(Tensor.of(xs, steps, 1, spec.inputSize())).output().toArray();
                            for (int i = 0; i < ref.length; i++) {
                                if (!(Math.abs(ref[i] - got[i]) <= tol + tol * Math.abs(ref[i]))) {
                                    wrong.compareAndSet(null, "a stream of " + steps + " steps: output[" + i + "] = " + got[i]
                                        + ", running it alone gives " + ref[i]);
                                    break;
                                }
                            }
                        }
                    } catch (Exception e) {
                        wrong.compareAndSet(null, "a client failed: " + e);
                    }
                }, "rnn-soak-stream-" + c);
                ts.add(t);
                t.start();
            }
            for (Thread t : ts) {
                t.join();
            }
            StreamBatcher.Stats st = b.stats();
            out.printf(Locale.ROOT, "soak --streams %d on %s for %d s: %d streams opened, stepped and closed; %d steps "
                + "answered to the clients, %d run by the batcher in %d batches (mean %.1f rows, mean wait %.3f ms, "
                + "max %.3f ms)%n", k, m.backendName(), seconds, streams.get(), answered.get(), st.steps(), st.batches(),
                st.meanBatch(), st.meanWaitMs(), st.maxWaitMs());
            if (wrong.get() != null) {
                out.println("FAILED: " + wrong.get());
                return 1;
            }
            if (answered.get() != st.steps()) {
                out.println("FAILED: the clients counted " + answered.get() + " answers, the batcher ran " + st.steps());
                return 1;
            }
            out.println("every step answered once, every stream equal to running it alone");
            return 0;
        }
    }
}
