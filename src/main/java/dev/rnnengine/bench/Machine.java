package dev.rnnengine.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What the machine is and what it can do, measured: CPU model, cores, caches, the
 * single-core FMA peak and read bandwidth per cache level (through the vector kernels'
 * probe), so each result can be read as a fraction of its limit.
 *
 * @param cpu      the CPU's model name
 * @param cores    cores the JVM sees
 * @param l1d      L1 data cache bytes (0 if unknown), likewise l2 and l3
 * @param peakGflops single-core FMA peak, GFLOP/s (0 if the probe could not run)
 * @param bwL1     single-core read GB/s from L1, likewise L2, L3 and DRAM
 */
record Machine(String cpu, int cores, long l1d, long l2, long l3, double peakGflops, double bwL1, double bwL2,
               double bwL3, double bwDram) {

    /** Probes this machine (about two seconds). */
    static Machine probe() {
        String cpu = "unknown CPU";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse(cpu);
        } catch (IOException e) {
            // not Linux: keep "unknown CPU"
        }
        long l1 = cache(1, "Data");
        long l2 = cache(2, "Unified");
        long l3 = cache(3, "Unified");
        double peak = 0;
        double[] bw = new double[4];
        var probe = dev.rnnengine.engine.Backends.probe(); // empty without the Vector API: "not measured"
        if (probe.isPresent()) {
            peak = probe.get().fmaGflops(600);
            long[] sizes = {l1 > 0 ? l1 / 2 : 16 << 10, l2 > 0 ? l2 / 2 : 256 << 10, l3 > 0 ? l3 / 2 : 4 << 20,
                Math.max(256L << 20, 8 * l3)};
            for (int i = 0; i < 4; i++) {
                bw[i] = probe.get().readGBps((int) Math.min(Integer.MAX_VALUE / 2, sizes[i]), 300);
            }
        }
        return new Machine(cpu, Runtime.getRuntime().availableProcessors(), l1, l2, l3, peak, bw[0], bw[1], bw[2], bw[3]);
    }

    private static long cache(int level, String type) {
        for (int i = 0; i < 8; i++) {
            Path d = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + i);
            try {
                if (Files.readString(d.resolve("level")).strip().equals(String.valueOf(level))
                    && Files.readString(d.resolve("type")).strip().equals(type)) {
                    String s = Files.readString(d.resolve("size")).strip().toUpperCase(Locale.ROOT);
                    long mul = s.endsWith("K") ? 1024 : s.endsWith("M") ? 1 << 20 : 1;
                    return Long.parseLong(s.replaceAll("[KM]$", "")) * mul;
                }
            } catch (IOException | NumberFormatException e) {
                // no such index
            }
        }
        return 0;
    }

    /** The single-core read bandwidth of the level a working set of {@code bytes} fits in. */
    double bandwidthFor(double bytes) {
        if (l2 > 0 && bytes <= l2) {
            return bwL2;
        }
        if (l3 > 0 && bytes <= l3) {
            return bwL3;
        }
        return bwDram;
    }

    /** The level's name, for the report. */
    String levelFor(double bytes) {
        return l2 > 0 && bytes <= l2 ? "L2" : l3 > 0 && bytes <= l3 ? "L3" : "DRAM";
    }

    /** One line for the report and the table's header. */
    String describe() {
        return String.format(Locale.ROOT, "%s, %d cores; L1d %s, L2 %s, L3 %s; single-core FMA peak %.1f GFLOP/s; "
            + "single-core read L1 %.0f, L2 %.0f, L3 %.0f, DRAM %.1f GB/s", cpu, cores, kb(l1d), kb(l2), kb(l3),
            peakGflops, bwL1, bwL2, bwL3, bwDram);
    }

    private static String kb(long b) {
        return b <= 0 ? "?" : b >= 1 << 20 ? (b >> 20) + " MB" : (b >> 10) + " KB";
    }
}
