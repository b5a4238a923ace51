package dev.rnnengine.engine;

import dev.rnnengine.core.CellMode;

/**
 * The element-wise part of a step, for backends whose matrix products come from a library
 * (OpenBLAS): one row, PyTorch's gate layout {@code [g][H]}, the arguments of
 * {@link CellMode#reference}, which is also the plain-Java implementation ({@link #SCALAR}).
 * {@code gh} is scratch: implementations may overwrite it. {@link #best()} is the Vector API
 * version when the vector backend can run here.
 */
public interface GateMath {
    /** One row's gate math: see {@link CellMode#reference} for the arguments. */
    void apply(CellMode mode, float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
               float[] c, int cAt, float[] h, int hAt, int hidden);

    /** The reference equations, unit by unit. */
    GateMath SCALAR = (mode, xp, xpAt, gh, ghAt, bhn, hPrev, hPrevAt, c, cAt, h, hAt, hidden) ->
        mode.reference(xp, xpAt, gh, ghAt, bhn, hPrev, hPrevAt, c, cAt, h, hAt, hidden, 0, hidden);

    /** The fastest implementation this JVM can run. */
    static GateMath best() {
        return Holder.BEST;
    }

    /** Chosen once, by class name, so this interface never links the incubator module. */
    final class Holder {
        static final GateMath BEST = choose();

        private Holder() { }

        private static GateMath choose() {
            if (Backends.availability("vector").available()) {
                try {
                    return (GateMath) Class.forName("dev.rnnengine.backend.vector.VectorGateMath")
                        .getDeclaredConstructor().newInstance();
                } catch (ReflectiveOperationException | LinkageError e) {
                    return SCALAR;
                }
            }
            return SCALAR;
        }
    }
}
