package dev.rnnengine.bench;

import dev.rnnengine.engine.Backends;
import dev.rnnengine.engine.MachineProbe;
import dev.rnnengine.internal.CpuCaches;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What the machine is and what it can do, measured: CPU model and generation, cores, caches,
 * the single-core FMA peak (after the JIT has compiled the probe) and a read-bandwidth sweep
 * over working-set sizes, so each result can be read against its roofline.
 *
 * @param cpu        the CPU's model name
 * @param generation vendor, family/model and, where known, the microarchitecture (Zen 1, Zen 3, ...), and the vector ISA
 * @param cores      cores the JVM sees
 * @param l1d        L1 data cache bytes per core (0 if unknown), likewise l2; l3 shared
 * @param peakGflops single-core FMA peak, GFLOP/s (0 if the probe could not run)
 * @param sweepBytes working-set sizes of the bandwidth sweep
 * @param sweepGbps  single-core read GB/s at each size (0 where not measured)
 */
record Machine(String cpu, String generation, int cores, long l1d, long l2, long l3, double peakGflops,
               long[] sweepBytes, double[] sweepGbps) {

    /** The CPU, its generation and the cores, without the probes. */
    static String named() {
        String[] c = cpuAndGeneration();
        return c[0] + " (" + c[1] + "), " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    /** The CPU's model name and its generation, from /proc/cpuinfo ("unknown" elsewhere). */
    private static String[] cpuAndGeneration() {
        try {
            List<String> info = Files.readAllLines(Path.of("/proc/cpuinfo"));
            return new String[] {field(info, "model name", "unknown CPU"), generation(field(info, "vendor_id", "?"),
                field(info, "cpu family", "?"), field(info, "model", "?"), " " + field(info, "flags", "") + " ")};
        } catch (IOException e) {
            return new String[] {"unknown CPU", "unknown generation"}; // not Linux
        }
    }

    /** Probes this machine (about four seconds). */
    static Machine probe() {
        String[] named = cpuAndGeneration();
        String cpu = named[0];
        String generation = named[1];
        long l1 = CpuCaches.size(1, "Data");
        long l2 = CpuCaches.size(2, "Unified");
        long l3 = CpuCaches.size(3, "Unified");
        long[] sizes = new long[16];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = (16L << 10) << i; // 16 KB to 512 MB
        }
        double peak = 0;
        double[] bw = new double[sizes.length];
        Optional<MachineProbe> probe = Backends.probe(); // empty without the Vector API: "not measured"
        if (probe.isPresent()) {
            peak = probe.get().fmaGflops(800);
            // Once unmeasured: the first size's time ran before C2 had compiled the read loop (0.3 GB/s at 16 KB).
            probe.get().readGBps((int) sizes[0], 150);
            for (int i = 0; i < sizes.length; i++) {
                bw[i] = probe.get().readGBps((int) Math.min(Integer.MAX_VALUE / 2, sizes[i]), 150);
            }
        }
        return new Machine(cpu, generation, Runtime.getRuntime().availableProcessors(), l1, l2, l3, peak, sizes, bw);
    }

    private static String field(List<String> info, String key, String dflt) {
        return info.stream().filter(l -> l.startsWith(key) && l.substring(0, l.indexOf(':')).strip().equals(key))
            .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse(dflt);
    }

    /** AMD family/model to Zen generation (family 23: Zen 1, Zen+, Zen 2; 25: Zen 3, Zen 4; 26: Zen 5). */
    static String generation(String vendor, String family, String model, String flags) {
        String isa = flags.contains(" avx512f ") ? "AVX-512" : flags.contains(" avx2 ") ? "AVX2" : "SSE";
        String base = vendor + " family " + family + " model " + model;
        try {
            int f = Integer.parseInt(family);
            int m = Integer.parseInt(model);
            if (vendor.contains("AMD")) {
                String zen = f == 23 ? (m < 0x30 ? "Zen 1/Zen+" : "Zen 2")
                    : f == 25 ? ((m >= 0x10 && m < 0x20) || m >= 0x60 ? "Zen 4" : "Zen 3") : f == 26 ? "Zen 5" : null;
                return base + (zen != null ? " (" + zen + ")" : "") + ", " + isa;
            }
        } catch (NumberFormatException e) {
            // not numbers: as it is
        }
        return base + ", " + isa;
    }

    /**
     * The single-core read bandwidth for a working set of {@code bytes}: the sweep's value at the
     * first size that holds it, except that a set past the L1d that fits the L2 is read at
     * {@link #l2Gbps()}.
     */
    double bandwidthFor(double bytes) {
        return l1d > 0 && l2 > 0 && bytes > l1d && bytes <= l2 ? l2Gbps() : firstHolding(bytes);
    }

    /**
     * The L2's read bandwidth: the sweep's at half the L2. The sweep's size at the L2's own (2 MB
     * here: 69 GB/s against 1 MB's 143) overflows it, and a 1.5 MB slice streamed from L2 beat a
     * roofline that read it at that speed.
     */
    double l2Gbps() {
        return firstHolding(l2 / 2.0);
    }

    private double firstHolding(double bytes) {
        for (int i = 0; i < sweepBytes.length; i++) {
            if (bytes <= sweepBytes[i]) {
                return sweepGbps[i];
            }
        }
        return sweepGbps[sweepGbps.length - 1];
    }

    /** Where a working set of {@code bytes} lives: L1, L2, L3 or DRAM, by the cache sizes. */
    String levelFor(double bytes) {
        return l1d > 0 && bytes <= l1d ? "L1" : l2 > 0 && bytes <= l2 ? "L2" : l3 > 0 && bytes <= l3 ? "L3" : "DRAM";
    }

    /** One line for the report and the table's header. */
    String describe() {
        return String.format(Locale.ROOT, "%s (%s), %d cores; L1d %s, L2 %s per core, L3 %s; single-core FMA peak "
            + "%.1f GFLOP/s", cpu, generation, cores, kb(l1d), kb(l2), kb(l3), peakGflops);
    }

    /** The bandwidth sweep as a Markdown table. */
    String sweepTable() {
        StringBuilder b = new StringBuilder("| working set | single-core read GB/s |\n|---|---|\n");
        for (int i = 0; i < sweepBytes.length; i++) {
            b.append("| ").append(kb(sweepBytes[i])).append(" | ")
                .append(String.format(Locale.ROOT, "%.1f", sweepGbps[i])).append(" |\n");
        }
        return b.toString();
    }

    private static String kb(long b) {
        return b <= 0 ? "?" : b >= 1 << 20 ? (b >> 20) + " MB" : (b >> 10) + " KB";
    }
}
