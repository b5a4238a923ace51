package dev.rnnengine.bench;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Helpers for PyTorch-style {@code state_dict}s. */
public final class StateDicts {
    private StateDicts() { }

    /**
     * Parameters drawn as PyTorch initialises them, uniform in {@code (-1/sqrt(H), 1/sqrt(H))},
     * from a fixed seed: the same seed gives the same weights (for demos, tests, benchmarks).
     */
    public static Map<String, Tensor> random(RnnSpec spec, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double bound = 1 / Math.sqrt(spec.hiddenSize());
        Map<String, Tensor> sd = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : spec.parameterShapes().entrySet()) {
            float[] v = new float[Tensor.numel(e.getValue())];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) rnd.nextDouble(-bound, bound);
            }
            sd.put(e.getKey(), Tensor.of(v, e.getValue()));
        }
        return sd;
    }

    /** A tensor of the given shape with standard-normal entries from a fixed seed. */
    public static Tensor randn(long seed, int... shape) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[Tensor.numel(shape)];
        for (int i = 0; i < v.length; i += 2) {
            // Box-Muller: two normals per pair of uniforms.
            double u1 = 1 - rnd.nextDouble();
            double u2 = rnd.nextDouble();
            double r = Math.sqrt(-2 * Math.log(u1));
            v[i] = (float) (r * Math.cos(2 * Math.PI * u2));
            if (i + 1 < v.length) {
                v[i + 1] = (float) (r * Math.sin(2 * Math.PI * u2));
            }
        }
        return Tensor.of(v, shape);
    }
}
