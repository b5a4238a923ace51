package dev.rnnengine.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The harness's outputs: the Markdown table with ratios, report.md, chart.svg and results.jsonl. */
final class Report {
    private static final String[] COLORS = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
        "#b07aa1", "#ff9da7", "#9c755f"};

    private Report() { }

    /** Medians (ms) side by side, then each engine backend's speed-up over each peer (peer / backend). */
    static String table(Bench.Config c, List<Bench.Result> results) {
        List<String> cols = Bench.columns(results);
        List<String> engine = cols.stream().filter(c.backends()::contains).toList();
        List<String> peers = cols.stream().filter(w -> !c.backends().contains(w)).toList();
        // Against ORT and PyTorch every backend; against the C baseline only its own library (the FFM cost).
        List<String[]> pairs = new ArrayList<>();
        for (String p : peers) {
            for (String e : engine) {
                if (!p.startsWith("native-") || p.equals("native-" + e)) {
                    pairs.add(new String[] {e, p});
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append("| shape | threads |");
        for (String w : cols) {
            sb.append(' ').append(w).append(" ms |");
        }
        for (String[] pair : pairs) {
            sb.append(' ').append(pair[0]).append(" vs ").append(pair[1]).append(" |");
        }
        sb.append('\n').append("|---".repeat(2 + cols.size() + pairs.size())).append("|\n");
        for (Map.Entry<String, Map<String, Bench.Result>> row : Bench.byRow(results).entrySet()) {
            Map<String, Bench.Result> v = row.getValue();
            Bench.Result any = v.values().iterator().next();
            sb.append("| ").append(any.shape().name()).append(" | ").append(any.threads()).append(" |");
            for (String w : cols) {
                Bench.Result r = v.get(w);
                sb.append(' ').append(r == null ? "" : String.format(Locale.ROOT, "%.3f", r.medianMs())).append(" |");
            }
            for (String[] pair : pairs) {
                Bench.Result a = v.get(pair[0]);
                Bench.Result b = v.get(pair[1]);
                sb.append(' ').append(a == null || b == null ? ""
                    : String.format(Locale.ROOT, "%.2fx", b.medianMs() / a.medianMs())).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /**
     * Writes report.md, chart.svg and results.jsonl into {@code dir}.
     *
     * @throws IOException if they cannot be written
     */
    static void write(Path dir, Machine m, Bench.Config c, List<Bench.Result> results, List<String> notes)
            throws IOException {
        Files.createDirectories(dir);
        StringBuilder jsonl = new StringBuilder();
        for (Bench.Result r : results) {
            jsonl.append(r.json()).append('\n');
        }
        Files.writeString(dir.resolve("results.jsonl"), jsonl);
        Files.writeString(dir.resolve("chart.svg"), chart(results));
        StringBuilder md = new StringBuilder();
        md.append("# rnn bench report\n\n");
        md.append("Machine: ").append(m.describe()).append(".\n\n");
        md.append(String.format(Locale.ROOT, "Run: %s, %d shape(s), backends %s, threads %s, peers %s; medians of "
            + "interleaved rounds (each participant in turn, the first one rotating).%n%n", c.quick() ? "--quick" : "full",
            c.shapes().size(), c.backends(), c.threads(), c.peers()));
        md.append("![median latency per shape](chart.svg)\n\n## Medians and ratios\n\n");
        md.append("Ratios are the peer's median over the engine backend's: above 1x, the engine is faster.\n\n");
        md.append(table(c, results)).append('\n');
        md.append("## Against the machine's limits\n\n");
        md.append("`peak` is GFLOP/s over the single-core FMA peak times the thread count; `bw` is the weights "
            + "streamed once per step (GB/s) over the single-core read bandwidth of the cache level they fit in.\n\n");
        md.append("| shape | threads | who | median ms | p99 ms | GFLOP/s | peak | weight GB/s | level | bw |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (Bench.Result r : results) {
            double peak = m.peakGflops() * r.threads();
            double bw = m.bandwidthFor(r.shape().weightBytes());
            md.append(String.format(Locale.ROOT, "| %s | %d | %s | %.3f | %.3f | %.2f | %s | %.2f | %s | %s |%n",
                r.shape().name(), r.threads(), r.who(), r.medianMs(), r.p99Ms(), r.gflops(),
                peak > 0 ? String.format(Locale.ROOT, "%.0f%%", 100 * r.gflops() / peak) : "n/a", r.weightGbps(),
                m.levelFor(r.shape().weightBytes()), bw > 0 ? String.format(Locale.ROOT, "%.0f%%", 100 * r.weightGbps() / bw) : "n/a"));
        }
        if (!notes.isEmpty()) {
            md.append("\n## Notes\n\n");
            for (String n : notes) {
                md.append("- ").append(n).append('\n');
            }
        }
        Files.writeString(dir.resolve("report.md"), md);
    }

    /** Grouped bars, one group per (shape, threads), one bar per participant, log-scale milliseconds. */
    static String chart(List<Bench.Result> results) {
        Map<String, Map<String, Bench.Result>> rows = Bench.byRow(results);
        List<String> who = new ArrayList<>();
        double lo = Double.MAX_VALUE;
        double hi = 0;
        for (Bench.Result r : results) {
            if (!who.contains(r.who())) {
                who.add(r.who());
            }
            lo = Math.min(lo, r.medianMs());
            hi = Math.max(hi, r.medianMs());
        }
        if (results.isEmpty()) {
            lo = hi = 1;
        }
        double minExp = Math.floor(Math.log10(lo));
        double maxExp = Math.ceil(Math.log10(hi) + 1e-9);
        if (maxExp <= minExp) {
            maxExp = minExp + 1;
        }
        int bar = 12;
        int group = who.size() * bar + 16;
        int left = 70;
        int top = 30;
        int plotH = 320;
        int width = Math.max(left + rows.size() * group + 20, left + 600);
        int height = top + plotH + 110 + 18 * ((who.size() + 3) / 4);
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            + "font-family=\"sans-serif\" font-size=\"11\">%n", width, height));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"13\">median latency per call (ms, log scale; "
            + "lower is better)</text>%n", left));
        for (double e = minExp; e <= maxExp; e++) {
            double y = top + plotH - (e - minExp) / (maxExp - minExp) * plotH;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", left, width - 10, y, y, left - 6, y + 4,
                tick(e)));
        }
        int gx = left + 8;
        for (Map.Entry<String, Map<String, Bench.Result>> row : rows.entrySet()) {
            for (int i = 0; i < who.size(); i++) {
                Bench.Result r = row.getValue().get(who.get(i));
                if (r == null) {
                    continue;
                }
                double y = top + plotH - (Math.log10(r.medianMs()) - minExp) / (maxExp - minExp) * plotH;
                s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\">"
                    + "<title>%s %s: %.3f ms</title></rect>%n", gx + i * bar, y, bar - 2, top + plotH - y,
                    COLORS[i % COLORS.length], row.getKey(), who.get(i), r.medianMs()));
            }
            double cx = gx + who.size() * bar / 2.0;
            s.append(String.format(Locale.ROOT, "<text transform=\"translate(%.1f,%d) rotate(40)\">%s</text>%n",
                cx - 10, top + plotH + 12, row.getKey()));
            gx += group;
        }
        for (int i = 0; i < who.size(); i++) {
            int lx = left + (i % 4) * 150;
            int ly = top + plotH + 95 + 18 * (i / 4);
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                + "<text x=\"%d\" y=\"%d\">%s</text>%n", lx, ly, COLORS[i % COLORS.length], lx + 16, ly + 10, who.get(i)));
        }
        return s.append("</svg>\n").toString();
    }

    private static String tick(double exp) {
        double v = Math.pow(10, exp);
        return v >= 1 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%s", v);
    }
}
