package dev.rnnengine.cli;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * {@code rnn soak}: many small calls on one model, then many models created and closed, with
 * the process's resident memory before and after each phase: native memory that leaks shows
 * up here, not in the Java heap. Exits 1 when memory grew past the bound it prints.
 */
final class Soak {
    private Soak() { }

    static int run(Main.Options o, PrintStream out) throws Main.UsageException, IOException {
        EngineOptions opts = Main.engineOptions(o);
        long calls = o.has("calls") ? o.intValue("calls", 1) : 1_000_000;
        int models = o.has("models") ? o.intValue("models", 0) : 1000;
        int maxGrowth = o.has("max-growth-mb") ? o.intValue("max-growth-mb", 1) : 64;
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 8, 16, 1, true, false, true, 0);
        Map<String, Tensor> w = StateDicts.random(spec, 1);
        Tensor one = StateDicts.randn(2, 1, 1, 8);    // (T=1, N=1, D)
        Tensor batch = StateDicts.randn(3, 4, 3, 8);  // (T=4, N=3, D), lengths below
        int[] lengths = {4, 1, 3};
        long start;
        double rss0;
        double rss1;
        double seconds;
        String backend;
        try (RnnModel m = RnnModel.create(spec, w, opts)) {
            backend = m.backendName();
            for (int i = 0; i < 20_000; i++) { // warm: JIT, plans, pools
                m.forward(i % 100 == 0 ? batch : one, null, null, i % 100 == 0 ? lengths : null);
            }
            rss0 = rssMb();
            start = System.nanoTime();
            for (long i = 0; i < calls; i++) {
                m.forward(i % 100 == 0 ? batch : one, null, null, i % 100 == 0 ? lengths : null);
            }
            seconds = (System.nanoTime() - start) / 1e9;
            rss1 = rssMb();
        }
        for (int i = 0; i < models; i++) {
            try (RnnModel m = RnnModel.create(spec, w, opts)) {
                m.forward(batch, null, null, lengths);
            }
        }
        double rss2 = rssMb();
        out.printf(Locale.ROOT, "soak %s: %d calls in %.1f s (%.1f us/call); resident memory %.1f MB before, %.1f MB after; "
            + "%d models created, run and closed: %.1f MB%n", backend, calls, seconds, 1e6 * seconds / Math.max(1, calls),
            rss0, rss1, models, rss2);
        String verdict = verdict(rss0, rss1, rss2, maxGrowth);
        out.println(verdict);
        return verdict.startsWith("FAIL") ? 1 : 0;
    }

    /**
     * Whether resident memory stayed within {@code bound} MB of where it started, after the
     * calls and after the models: a leak of more than bound / calls bytes per call, or bound /
     * models per model, fails. One line, starting with {@code ok} or {@code FAIL}.
     */
    static String verdict(double before, double afterCalls, double afterModels, double bound) {
        double calls = afterCalls - before;
        double models = afterModels - before;
        boolean ok = calls <= bound && models <= bound;
        return String.format(Locale.ROOT, "%s: resident memory grew %+.1f MB over the calls and %+.1f MB over the models; "
            + "bound %.0f MB (--max-growth-mb)", ok ? "ok" : "FAIL", calls, models, bound);
    }

    /** VmRSS of this process in MB, after a GC so the Java heap's garbage does not count. */
    static double rssMb() throws IOException {
        System.gc();
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return -1;
    }
}
