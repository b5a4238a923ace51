package dev.rnnengine.backend.vector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.core.CellMode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The vector kernels alone, over sizes that sweep every tail (vector blocks, GEMM register
 * blocks and cache blocks), against plain double-precision loops. Surefire runs this class at
 * the CPU's preferred width and again at 128 and 256 bits ({@code -Drnn.vector.bits}), so a
 * kernel that only works at one width fails.
 */
class VectorKernelsTest {
    private static float[] random(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
        }
        return a;
    }

    @Test
    void theWidthIsTheOneAskedFor() {
        String bits = System.getProperty(VectorKernels.BITS_PROPERTY);
        if (bits != null) {
            assertEquals(Integer.parseInt(bits), VectorKernels.S.vectorBitSize(), "-D" + VectorKernels.BITS_PROPERTY);
        }
        assertEquals(VectorKernels.S.vectorBitSize() / 32, VectorKernels.V);
    }

    static Stream<Arguments> gemmSizes() {
        int[] rows = {1, 3, 4, 5, 9, 16, 20, 33, 70, 100};
        int[] cols = {1, 2, 7, 128, 129, 300};
        int[] hidden = {1, 5, 8, 17, 33};
        return IntStream.range(0, rows.length * cols.length)
            .mapToObj(i -> Arguments.of(rows[i % rows.length], cols[i / rows.length], hidden[i % hidden.length], 1 + i % 4));
    }

    /** out = bias + x W^T over pair panels and unit panels, every vector range, against double loops. */
    @ParameterizedTest(name = "rows={0} cols={1} hidden={2} gates={3}")
    @MethodSource("gemmSizes")
    void gemmIsXTimesWTransposedPlusBias(int rows, int cols, int hidden, int gates) {
        float[] x = random(1, rows * cols);
        float[] w = random(2, gates * hidden * cols);
        float[] b = random(3, gates * hidden);
        int units = VectorKernels.units(hidden);
        int width = units * gates * VectorKernels.V; // [u][g][V] row layout
        MemorySegment pairs = VectorKernels.packPairs(Arena.ofAuto(), w, gates, hidden, cols);
        MemorySegment panels = VectorKernels.pack(Arena.ofAuto(), w, gates, hidden, cols);
        float[] bias = VectorKernels.packBias(b, gates, hidden);
        float[] viaPairs = new float[rows * width];
        float[] viaPanels = new float[rows * width];
        int vectors = units * gates;
        // In two pieces, as two workers would: the result must not depend on the split.
        int mid = 2 * ((vectors + 1) / 4);
        VectorKernels.gemm(x, 0, cols, rows, cols, pairs, 2, bias, viaPairs, 0, width, 0, mid);
        VectorKernels.gemm(x, 0, cols, rows, cols, pairs, 2, bias, viaPairs, 0, width, mid, vectors);
        VectorKernels.gemm(x, 0, cols, rows, cols, panels, gates, bias, viaPanels, 0, width, 0, vectors);
        // Unit panels swept downwards first, split at an odd vector (a GRU step's u0 * 3), as a batched step does.
        float[] viaPanelsDown = new float[rows * width];
        int odd = Math.min(vectors, gates * ((VectorKernels.units(hidden) + 1) / 2)) | 1;
        for (int[] range : new int[][] {{0, Math.min(odd, vectors)}, {Math.min(odd, vectors), vectors}}) {
            VectorKernels.gemm(x, 0, cols, rows, cols, gates, panels, bias, viaPanelsDown, null, null, null, 0, width,
                range[0], range[1], true);
        }
        assertArrayEquals(viaPanels, viaPanelsDown, "unit panels swept downwards give the same bits");
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < gates; g++) {
                for (int j = 0; j < hidden; j++) {
                    double want = b[g * hidden + j];
                    for (int k = 0; k < cols; k++) {
                        want += (double) x[r * cols + k] * w[(g * hidden + j) * cols + k];
                    }
                    int at = r * width + ((j / VectorKernels.V) * gates + g) * VectorKernels.V + j % VectorKernels.V;
                    double tol = 1e-6 * Math.sqrt(cols) * 4;
                    assertEquals(want, viaPairs[at], tol, "pair panels r=" + r + " g=" + g + " j=" + j);
                    assertEquals(viaPairs[at], viaPanels[at], 0f, "unit panels give the same bits");
                }
            }
        }
    }

    /**
     * Two weight sets in one GEMM (a bidirectional layer's projections) give each set's own bits,
     * sweeping the columns either way first.
     */
    @ParameterizedTest(name = "rows={0} cols={1} hidden={2} gates={3}")
    @MethodSource("gemmSizes")
    void gemmOfTwoWeightSetsGivesEachSetsBits(int rows, int cols, int hidden, int gates) {
        float[] x = random(4, rows * cols);
        MemorySegment[] pairs = new MemorySegment[2];
        float[][] bias = new float[2][];
        for (int d = 0; d < 2; d++) {
            pairs[d] = VectorKernels.packPairs(Arena.ofAuto(), random(5 + d, gates * hidden * cols), gates, hidden,
                cols);
            bias[d] = VectorKernels.packBias(random(7 + d, gates * hidden), gates, hidden);
        }
        int vectors = VectorKernels.units(hidden) * gates;
        int width = vectors * VectorKernels.V;
        float[][] alone = {new float[rows * width], new float[rows * width]};
        for (int d = 0; d < 2; d++) {
            VectorKernels.gemm(x, 0, cols, rows, cols, pairs[d], 2, bias[d], alone[d], 0, width, 0, vectors);
        }
        for (boolean down : new boolean[] {false, true}) {
            float[][] both = {new float[rows * width], new float[rows * width]};
            int mid = 2 * ((vectors + 1) / 4); // in two pieces, as two workers would
            VectorKernels.gemm(x, 0, cols, rows, cols, 2, pairs[0], bias[0], both[0], pairs[1], bias[1], both[1], 0,
                width, 0, mid, down);
            VectorKernels.gemm(x, 0, cols, rows, cols, 2, pairs[0], bias[0], both[0], pairs[1], bias[1], both[1], 0,
                width, mid, vectors, down);
            assertArrayEquals(alone[0], both[0], "the first set, down first " + down);
            assertArrayEquals(alone[1], both[1], "the second set, down first " + down);
        }
        assertTrue(!java.util.Arrays.equals(alone[0], alone[1]), "the sets differ, so a mix-up shows");
    }

    /** Sigmoid and tanh within 2 ulp-ish of Math over the whole range, and PyTorch's answers at the ends. */
    @Test
    void activateMatchesMathAcrossTheRange() {
        int n = 4096 * VectorKernels.V;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (-100 + 200.0 * i / n);
        }
        float[] sig = x.clone();
        float[] tanh = x.clone();
        VectorKernels.activate(sig, 0, n / VectorKernels.V, VectorKernels.V, 1, 0, 1, 0);
        VectorKernels.activate(tanh, 0, n / VectorKernels.V, VectorKernels.V, 1, 0, 0, 1);
        for (int i = 0; i < n; i++) {
            double s = 1 / (1 + Math.exp(-x[i]));
            double t = Math.tanh(x[i]);
            assertEquals(s, sig[i], 3e-7 * Math.max(s, 1e-30) + 1e-37, "sigmoid(" + x[i] + ")");
            assertEquals(t, tanh[i], 3e-7 * Math.abs(t) + 1e-37, "tanh(" + x[i] + ")");
        }
        float[] edge = new float[VectorKernels.V];
        edge[0] = Float.NaN;
        edge[1 % VectorKernels.V] = Float.POSITIVE_INFINITY;
        float[] e1 = edge.clone();
        VectorKernels.activate(e1, 0, 1, VectorKernels.V, 1, 0, 1, 0);
        assertTrue(Float.isNaN(e1[0]), "sigmoid(NaN) is NaN");
        if (VectorKernels.V > 1) {
            assertEquals(1f, e1[1], 0f, "sigmoid(+inf)");
        }
    }

    static Stream<Arguments> stepSizes() {
        // GRU's cols are its hidden size; the others' cover every remainder of the steps' four-column
        // loop, and 45 runs all three of the vanilla RNN's loops (eight, four and one columns).
        int[] hidden = {1, 7, 16, 17, 40, 129, 33};
        int[] cols = {1, 5, 6, 7, 16, 35, 45};
        return Stream.of(CellMode.values()).flatMap(m -> IntStream.range(0, hidden.length)
            .mapToObj(i -> Arguments.of(m, hidden[i], m == CellMode.GRU ? hidden[i] : cols[i])));
    }

    /**
     * One fused step (matrix product and gate math), and the batched path's gate math on a
     * precomputed W_hh h, against the cell's reference equations: arrays at offsets, a middle
     * range of unit blocks, the rest untouched. (GRU's W_hh is (3H, H): cols = hidden.)
     */
    @ParameterizedTest(name = "{0} hidden={1} cols={2}")
    @MethodSource("stepSizes")
    void stepKernelsMatchTheReferenceEquations(CellMode mode, int hidden, int cols) {
        int v = VectorKernels.V;
        int gates = mode.gates();
        int units = VectorKernels.units(hidden);
        int hPad = units * v;
        int u0 = units / 3;
        int u1 = Math.max(u0 + 1, units - units / 3);
        float[] w = random(4, gates * hidden * cols);
        MemorySegment panels = VectorKernels.pack(Arena.ofAuto(), w, gates, hidden, cols);
        float[] hPlain = random(5, Math.max(cols, hPad));
        for (int j = hidden; j < hPlain.length && mode == CellMode.GRU; j++) {
            hPlain[j] = 0; // GRU's h is also h_prev: padding stays zero
        }
        float[] xpTorch = random(6, gates * hidden); // [g][H]: W_ih x + biases
        float[] bhn = mode == CellMode.GRU ? random(7, hidden) : null;
        float[] cTorch = random(8, hidden);
        // The reference: gh = W_hh h in double, then CellMode.reference.
        float[] gh = new float[gates * hidden];
        for (int r = 0; r < gates * hidden; r++) {
            double acc = 0;
            for (int k = 0; k < cols; k++) {
                acc += (double) w[r * cols + k] * hPlain[k];
            }
            gh[r] = (float) acc;
        }
        float[] want = new float[hidden];
        float[] cWant = cTorch.clone();
        mode.reference(xpTorch, 0, gh, 0, bhn, hPlain, 0, cWant, 0, want, 0, hidden, 0, hidden);

        float[] upBits = null; // the step's h with unit blocks swept upwards
        for (int variant = 0; variant < 3; variant++) { // step sweeping up, step sweeping down, batched gates
            boolean batched = variant == 2;
            boolean down = variant == 1;
            int at = 5; // every array at an offset
            float[] h = new float[at + hPlain.length];
            System.arraycopy(hPlain, 0, h, at, hPlain.length);
            float[] xpPacked = VectorKernels.packBias(xpTorch, gates, hidden); // [u][g][V]
            float[] xp = new float[at + xpPacked.length];
            System.arraycopy(xpPacked, 0, xp, at, xpPacked.length);
            float[] c = new float[at + hPad];
            System.arraycopy(cTorch, 0, c, at, hidden);
            float[] hNew = new float[at + hPad];
            java.util.Arrays.fill(hNew, -7f);
            float[] bhnPacked = bhn == null ? null : VectorKernels.packBias(bhn, 1, hidden);
            if (!batched) {
                switch (mode) {
                    case LSTM -> VectorKernels.lstmStep(panels, cols, h, at, xp, at, c, at, hNew, at, u0, u1, down);
                    case GRU -> VectorKernels.gruStep(panels, cols, h, at, xp, at, bhnPacked, hNew, at, u0, u1, down);
                    case RNN_TANH, RNN_RELU -> VectorKernels.rnnStep(panels, cols, h, at, xp, at,
                        mode == CellMode.RNN_RELU, hNew, at, u0, u1, down);
                }
                if (down) {
                    assertArrayEquals(upBits, hNew, mode + ": sweeping the units down gives the same bits as up");
                } else {
                    upBits = hNew.clone();
                }
            } else {
                float[] whh = new float[at + gates * hPad]; // W_hh h in [u][g][V], as the batched GEMM leaves it
                System.arraycopy(VectorKernels.packBias(gh, gates, hidden), 0, whh, at, gates * hPad);
                switch (mode) {
                    case LSTM -> VectorKernels.lstmGates(xp, at, whh, at, c, at, hNew, at, u0, u1);
                    case GRU -> VectorKernels.gruGates(xp, at, whh, at, bhnPacked, h, at, hNew, at, u0, u1);
                    case RNN_TANH, RNN_RELU -> VectorKernels.rnnGates(xp, at, whh, at, mode == CellMode.RNN_RELU,
                        hNew, at, u0, u1);
                }
            }
            double tol = 2e-6 * Math.sqrt(cols) + 1e-6;
            for (int j = 0; j < hidden; j++) {
                boolean mine = j >= u0 * v && j < u1 * v;
                String what = mode + (batched ? " gates" : " step") + " h[" + j + "]";
                if (mine) {
                    assertEquals(want[j], hNew[at + j], tol, what);
                    if (mode == CellMode.LSTM) {
                        assertEquals(cWant[j], c[at + j], tol, "c[" + j + "]");
                    }
                } else {
                    assertEquals(-7f, hNew[at + j], 0f, what + " is outside the unit range");
                    assertEquals(cTorch[j], c[at + j], 0f, "c[" + j + "] outside the unit range");
                }
            }
        }
    }

}
