package dev.rnnengine.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The CPU's cache sizes as Linux reports them for cpu0 (0 where unknown: not Linux, or no such cache). */
public final class CpuCaches {
    private static final long L2 = size(2, "Unified");

    private CpuCaches() { }

    /** The per-core L2 in bytes, or 0 if unknown. */
    public static long l2() {
        return L2;
    }

    /**
     * The size in bytes of the cache of this level and type ("Data", "Instruction", "Unified"), or 0.
     */
    public static long size(int level, String type) {
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
}
