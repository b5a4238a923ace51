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

    /** A call's roofline (ms) and what bounds it. */
    record Roof(double ms, String bound) { }

    /**
     * See the report's "Against the roofline" for the model. Where each weight is read from is
     * decided by its reuse distance: a single step's call (T = 1) reads every weight once, so
     * between two uses of a weight the core streams its slice of all of them; a sequence reuses
     * one direction's W_hh every step, so that slice is its working set (at 1 thread the two
     * directions run one after the other; from 2 threads each may have its own cores). W_ih is
     * read once per call, after every other weight was used: from the whole model's level. A
     * working set past the L2 is read from its own level except the L2's worth of it, which the
     * L2 can keep between two reads ({@link #secondsPerByte}).
     */
    static Roof roofline(Machine m, Shapes.Shape s, int threads) {
        if (m == null || m.peakGflops() <= 0) {
            return new Roof(0, "n/a");
        }
        double peak = m.peakGflops() * threads * 1e9; // flop/s
        double perCall = s.weightBytes() / threads; // a core's slice of every weight: what a call streams
        double callCost = secondsPerByte(m, perCall) / threads; // per byte of all cores' reads
        double input = 0;
        double computeSteps = 0;
        double memorySteps = 0;
        for (int l = 0; l < s.spec().numLayers(); l++) { // the input projection: its flops, or reading W_ih once
            double flops = 2.0 * s.spec().gates() * s.spec().hiddenSize() * s.spec().layerInputSize(l) * s.seqLen()
                * s.batch() * s.spec().directions();
            input += Math.max(flops / peak, s.inputBytes(l) * callCost);
        }
        int dirs = s.spec().directions();
        double slice = s.seqLen() == 1 ? perCall
            : s.recurrentBytesPerStep() / dirs / Math.max(1, threads / dirs);
        double stepCost = secondsPerByte(m, slice) / threads;
        for (int l = 0; l < s.spec().numLayers(); l++) {
            double compute = s.recurrentFlopsPerStep() / peak;
            double memory = s.recurrentBytesPerStep() * stepCost;
            if (compute >= memory) {
                computeSteps += compute * s.seqLen();
            } else {
                memorySteps += memory * s.seqLen();
            }
        }
        double seconds = input + computeSteps + memorySteps;
        String level = m.levelFor(slice);
        String bound = memorySteps <= computeSteps + input ? "FMA peak"
            : "weights from " + (m.l2() > 0 && slice > m.l2() ? "L2 and " + level : level);
        return new Roof(seconds * 1e3, bound);
    }

    /**
     * Seconds per byte for one core to read a working set of {@code bytes} that it reads again and
     * again: from the level the set fits in, except that an L2 the set overflows can keep its own
     * size of it between two reads (LRU would keep none in a sweep always in one direction; the
     * vector backend sweeps in alternate directions), read at {@link Machine#l2Gbps()}.
     */
    static double secondsPerByte(Machine m, double bytes) {
        double far = 1 / (m.bandwidthFor(bytes) * 1e9);
        double l2 = m.l2();
        if (l2 <= 0 || bytes <= l2) {
            return far;
        }
        return (l2 / (m.l2Gbps() * 1e9) + (bytes - l2) * far) / bytes;
    }

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
        boolean auto = engine.contains("auto");
        StringBuilder sb = new StringBuilder();
        sb.append("| shape | threads |");
        for (String w : cols) {
            sb.append(' ').append(w).append(" ms |");
        }
        for (String[] pair : pairs) {
            sb.append(' ').append(pair[0]).append(" vs ").append(pair[1]).append(" |");
        }
        if (auto) {
            sb.append(" auto ran on | auto vs fastest fp32 backend |");
        }
        sb.append('\n').append("|---".repeat(2 + cols.size() + pairs.size() + (auto ? 2 : 0))).append("|\n");
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
            if (auto) {
                Bench.Result a = v.get("auto");
                double best = engine.stream().filter(e -> !e.equals("auto") && !e.contains(":")).map(v::get).filter(java.util.Objects::nonNull)
                    .mapToDouble(Bench.Result::medianMs).min().orElse(Double.NaN);
                sb.append(' ').append(a == null ? "" : a.via()).append(" | ").append(a == null || Double.isNaN(best) ? ""
                    : String.format(Locale.ROOT, "%.2fx", best / a.medianMs())).append(" |");
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
        md.append("![each participant's speed relative to ONNX Runtime](chart.svg)\n\n## Medians and ratios\n\n");
        md.append("Ratios are the peer's median over the engine backend's: above 1x, the engine is faster.\n\n");
        md.append(table(c, results)).append('\n');
        md.append("## Against the roofline\n\n");
        md.append("The roofline of a call is what this machine cannot beat: the input projections of all steps at the "
            + "FMA peak (or reading W_ih once, if slower), plus, for every layer and step, the larger of the recurrence's "
            + "flops at the peak and the recurrent weights it must read (W_hh and W_hr, every step) at the single-core read "
            + "bandwidth of the working set each core streams between two uses of a weight, times the threads. That working "
            + "set is the core's slice of one direction's recurrent weights for a sequence (reused every step), but of "
            + "every weight of the model for a single step (T = 1: each weight is used once per call, so repeated calls "
            + "stream all of them). W_ih, read once per call, always comes from where the whole model's slice fits: the "
            + "calls before used every other weight in between. A working set larger than the L2 is read from its "
            + "own level except for the L2's size of it, which the L2 can keep between two reads (at the bandwidth of "
            + "half the L2). `x roofline` is the median over that: 1.00x would be at "
            + "the limit. Peak and bandwidths are measured below.\n\n");
        md.append("| shape | threads | who | ran on | median ms | roofline ms | x roofline | bound by |\n");
        md.append("|---|---|---|---|---|---|---|---|\n");
        for (Bench.Result r : results) {
            Roof roof = roofline(m, r.shape(), r.threads());
            md.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %.3f | %s | %s | %s |%n", r.shape().name(),
                r.threads(), r.who(), r.via(), r.medianMs(), roof.ms() > 0 ? String.format(Locale.ROOT, "%.3f", roof.ms()) : "n/a",
                roof.ms() > 0 ? String.format(Locale.ROOT, "%.2fx", r.medianMs() / roof.ms()) : "n/a", roof.bound()));
        }
        md.append("\n## The machine\n\n").append(m.describe()).append(".\n\n");
        md.append("Single-core read bandwidth by working-set size (after the JIT has compiled the probe):\n\n");
        md.append(m.sweepTable()).append('\n');
        if (!notes.isEmpty()) {
            md.append("\n## Notes\n\n");
            for (String n : notes) {
                md.append("- ").append(n).append('\n');
            }
        }
        Files.writeString(dir.resolve("report.md"), md);
    }

    /**
     * Grouped bars, one group per (shape, threads), one bar per participant: its speed relative
     * to ONNX Runtime (ORT's median over its own), on a linear axis with a parity line at 1, so
     * the 10-30% differences that decide are visible. Without ORT, relative to the first participant.
     */
    static String chart(List<Bench.Result> results) {
        Map<String, Map<String, Bench.Result>> rows = Bench.byRow(results);
        List<String> who = new ArrayList<>();
        for (Bench.Result r : results) {
            if (!who.contains(r.who())) {
                who.add(r.who());
            }
        }
        String base = who.contains("ort") ? "ort" : who.isEmpty() ? "" : who.get(0);
        double hi = 1.5;
        for (Map<String, Bench.Result> row : rows.values()) {
            Bench.Result b = row.get(base);
            for (Bench.Result r : row.values()) {
                if (b != null) {
                    hi = Math.max(hi, b.medianMs() / r.medianMs());
                }
            }
        }
        hi = Math.ceil(hi * 4) / 4;
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
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"13\">speed relative to %s "
            + "(%s median / participant's median; above 1: faster; linear)</text>%n", left, base, base));
        for (double v = 0; v <= hi + 1e-9; v += 0.25) {
            double y = top + plotH - v / hi * plotH;
            boolean parity = Math.abs(v - 1) < 1e-9;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                + "stroke-width=\"%s\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>%n", left, width - 10, y, y,
                parity ? "#333" : "#ddd", parity ? "1.5" : "1", left - 6, y + 4, v));
        }
        int gx = left + 8;
        for (Map.Entry<String, Map<String, Bench.Result>> row : rows.entrySet()) {
            Bench.Result b = row.getValue().get(base);
            for (int i = 0; i < who.size(); i++) {
                Bench.Result r = row.getValue().get(who.get(i));
                if (r == null || b == null) {
                    continue;
                }
                double v = b.medianMs() / r.medianMs();
                double y = top + plotH - v / hi * plotH;
                s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\">"
                    + "<title>%s %s: %.3f ms, %.2fx %s</title></rect>%n", gx + i * bar, y, bar - 2, top + plotH - y,
                    COLORS[i % COLORS.length], row.getKey(), who.get(i), r.medianMs(), v, base));
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

}
