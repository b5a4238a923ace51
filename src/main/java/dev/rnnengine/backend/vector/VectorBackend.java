package dev.rnnengine.backend.vector;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.engine.Backend;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.Kernels;
import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * The Java Vector API backend. Its constructor refuses, with the fix, when the incubator
 * module is not readable or C2 is off (the API would then be far slower than scalar code).
 * This class touches no {@code jdk.incubator.vector} type until those checks pass.
 */
public final class VectorBackend implements Backend {
    /**
     * Checks that the Vector API can run fast here.
     *
     * @throws UnsupportedOperationException naming the missing JVM option
     */
    public VectorBackend() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            throw new UnsupportedOperationException("the Java Vector API module is not readable: "
                + "start the JVM with --add-modules jdk.incubator.vector (bin/rnn does)");
        }
        String noC2 = c2Disabled();
        if (noC2 != null) {
            throw new UnsupportedOperationException("the C2 compiler is off (" + noC2
                + "); the Vector API is only fast when C2 compiles it: remove that JVM option");
        }
        int bits;
        try {
            bits = VectorKernels.S.vectorBitSize();
        } catch (ExceptionInInitializerError e) { // a bad -Drnn.vector.bits
            throw new UnsupportedOperationException(String.valueOf(e.getCause().getMessage()), e.getCause());
        }
        if (bits < 128) {
            throw new UnsupportedOperationException("this CPU's preferred vector is "
                + VectorKernels.S.vectorBitSize() + " bits; the vector backend needs at least 128");
        }
    }

    /** The option that disables C2, or null when C2 is on (HotSpot only; other VMs pass). */
    private static String c2Disabled() {
        if (System.getProperty("java.vm.info", "").contains("interpreted mode")) {
            return "-Xint";
        }
        try {
            var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            if (bean == null) {
                return null;
            }
            String level = bean.getVMOption("TieredStopAtLevel").getValue();
            if (List.of("0", "1", "2", "3").contains(level)) {
                return "-XX:TieredStopAtLevel=" + level;
            }
            if ("false".equals(bean.getVMOption("UseCompiler").getValue())) {
                return "-XX:-UseCompiler";
            }
        } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
            return null; // not HotSpot: assume a compiling VM
        }
        return null;
    }

    @Override
    public String name() {
        return "vector";
    }

    @Override
    public String describe() {
        return "Java Vector API, " + VectorKernels.S.vectorBitSize() + "-bit vectors (" + VectorKernels.V
            + " floats), units split over the model's threads";
    }

    /** Every precision: fp16 and int8 W_hh streamed as codes by the step kernels. */
    @Override
    public java.util.Set<dev.rnnengine.core.Precision> precisions() {
        return java.util.EnumSet.allOf(dev.rnnengine.core.Precision.class);
    }

    @Override
    public Kernels prepare(RnnSpec spec, List<LayerWeights> weights, int threads) {
        return new VectorStepKernels(spec, weights);
    }
}
