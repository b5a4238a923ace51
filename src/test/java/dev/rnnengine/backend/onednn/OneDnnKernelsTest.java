package dev.rnnengine.backend.onednn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.Fixtures;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.backend.scalar.ScalarBackend;
import dev.rnnengine.engine.Call;
import dev.rnnengine.engine.Driver;
import dev.rnnengine.engine.LayerWeights;
import dev.rnnengine.engine.PreparedModel;
import dev.rnnengine.internal.ffm.OneDnn;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The oneDNN backend's own machinery: shapes past the plan cache, length groups, directions apart. */
class OneDnnKernelsTest {
    private static final long L2 = 2L << 20; // a 2 MB L2: these models' directions fit half of it

    private static List<LayerWeights> weights(RnnSpec spec, long seed) {
        return Fixtures.layerWeights(spec, StateDicts.random(spec, seed));
    }

    private static Call args(RnnSpec spec, int seqLen, int batch, int[] lengths, long seed) {
        Random r = new Random(seed);
        Call a = new Call();
        a.seqLen = seqLen;
        a.batch = batch;
        a.x = new float[seqLen * batch * spec.inputSize()];
        for (int i = 0; i < a.x.length; i++) {
            a.x[i] = (float) r.nextGaussian();
        }
        int states = spec.numLayers() * spec.directions() * batch;
        a.h0 = new float[states * spec.outputHiddenSize()];
        for (int i = 0; i < a.h0.length; i++) {
            a.h0[i] = (float) r.nextGaussian();
        }
        a.c0 = spec.mode() == CellMode.LSTM ? new float[states * spec.hiddenSize()] : null;
        a.lengths = lengths;
        a.y = new float[seqLen * batch * spec.directions() * spec.outputHiddenSize()];
        a.hN = new float[a.h0.length];
        a.cN = a.c0 == null ? null : new float[a.c0.length];
        return a;
    }

    private static void assertNear(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]);
            assertTrue(err <= 1e-5 + 1e-4 * Math.abs(expected[i]), what + "[" + i + "]: " + actual[i] + " vs " + expected[i]);
        }
    }

    @Test
    void shapesPastThePlanCacheRunOnTemporaryPrimitives() {
        RnnSpec spec = new RnnSpec(CellMode.GRU, 5, 9, 2, true, false, true, 0);
        List<LayerWeights> w = weights(spec, 7);
        int[] lengths = {3, 7, 1, 7, 3};
        PreparedModel ref = Driver.of("scalar", spec, new ScalarBackend().prepare(spec, w, 1), 1);
        // Cache of one shape: the load-time (1, 1) plan; every group here is a temporary plan.
        try (PreparedModel dnn = Driver.of("onednn", spec, new OneDnnKernels(spec, w, OneDnn.get(), 1, 1, 0), 1)) {
            for (int call = 0; call < 3; call++) {
                Call expected = args(spec, 7, 5, lengths, 11);
                Call got = args(spec, 7, 5, lengths, 11);
                ref.forward(expected);
                dnn.forward(got);
                assertNear("output", expected.y, got.y);
                assertNear("h_n", expected.hN, got.hN);
            }
        }
    }

    @Test
    void paddedStepsAreZeroAndStatesStopAtEachLength() {
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 4, 6, 1, true, false, true, 3);
        List<LayerWeights> w = weights(spec, 3);
        int[] lengths = {2, 5, 2, 4};
        Call expected = args(spec, 5, 4, lengths, 5);
        Call got = args(spec, 5, 4, lengths, 5);
        java.util.Arrays.fill(got.y, Float.NaN); // every element must be written
        Driver.of("scalar", spec, new ScalarBackend().prepare(spec, w, 1), 1).forward(expected);
        try (PreparedModel dnn = Driver.of("onednn", spec, new OneDnnKernels(spec, w, OneDnn.get(), 2), 2)) {
            dnn.forward(got);
        }
        assertNear("output", expected.y, got.y);
        assertNear("h_n", expected.hN, got.hN);
        assertNear("c_n", expected.cN, got.cN);
        int width = 2 * 3;
        for (int t = 2; t < 5; t++) { // sequence 0 has length 2: zeros from step 2 on
            float[] row = java.util.Arrays.copyOfRange(got.y, t * 4 * width, t * 4 * width + width);
            assertArrayEquals(new float[width], row, "padding at step " + t);
        }
    }

    @Test
    void gruAndVanillaRnnTakePlainWeightsAtSmallBatchesAndOneModelServesBothLayouts() {
        assertTrue(OneDnnKernels.plainWeights(CellMode.GRU, 1));
        assertTrue(OneDnnKernels.plainWeights(CellMode.GRU, 8));
        assertTrue(!OneDnnKernels.plainWeights(CellMode.GRU, 9));
        assertTrue(OneDnnKernels.plainWeights(CellMode.RNN_TANH, 64));
        assertTrue(OneDnnKernels.plainWeights(CellMode.RNN_RELU, 1));
        assertTrue(!OneDnnKernels.plainWeights(CellMode.LSTM, 1));
        for (CellMode mode : new CellMode[] {CellMode.GRU, CellMode.RNN_TANH}) {
            RnnSpec spec = new RnnSpec(mode, 6, 10, 2, true, false, true, 0);
            List<LayerWeights> w = weights(spec, 21);
            PreparedModel ref = Driver.of("scalar", spec, new ScalarBackend().prepare(spec, w, 1), 1);
            for (int threads : new int[] {1, 2}) { // at 2, the directions run apart
                try (PreparedModel dnn = Driver.of("onednn", spec, new OneDnnKernels(spec, w, OneDnn.get(), threads, 8, L2), threads)) {
                    // Batches 3 and 12 alternate: for GRU, two layouts of the same weights in one model.
                    for (int batch : new int[] {3, 12, 3, 12}) {
                        Call expected = args(spec, 4, batch, null, batch);
                        Call got = args(spec, 4, batch, null, batch);
                        ref.forward(expected);
                        dnn.forward(got);
                        assertNear(mode + " " + threads + "T batch " + batch + " output", expected.y, got.y);
                        assertNear(mode + " " + threads + "T batch " + batch + " h_n", expected.hN, got.hN);
                    }
                }
            }
        }
    }

    @Test
    void concurrentCallersShareWeightsAndPlansButNotScratch() throws Exception {
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 8, 16, 2, true, false, false, 0);
        try (PreparedModel dnn = Driver.of("onednn", spec, new OneDnnKernels(spec, weights(spec, 9), OneDnn.get(), 1), 1)) {
            assertConcurrentCallersGetTheirOwnBits(spec, dnn);
        }
    }

    /** Four threads calling one model with mixed shapes: each call gives a single caller's bits. */
    private static void assertConcurrentCallersGetTheirOwnBits(RnnSpec spec, PreparedModel dnn) throws Exception {
        int[][] shapes = {{1, 1}, {5, 3}, {9, 17}}; // (T, N)
        float[][] single = new float[shapes.length][];
        for (int s = 0; s < shapes.length; s++) {
            Call a = args(spec, shapes[s][0], shapes[s][1], null, s);
            dnn.forward(a);
            single[s] = a.y;
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (int task = 0; task < 4; task++) {
                int first = task;
                done.add(pool.submit(() -> {
                    for (int call = 0; call < 40; call++) {
                        int s = (first + call) % shapes.length;
                        Call a = args(spec, shapes[s][0], shapes[s][1], null, s);
                        dnn.forward(a);
                        assertArrayEquals(single[s], a.y, "shape " + s + " call " + call);
                    }
                    return null;
                }));
            }
            for (var f : done) {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void bidirectionalLayersRunTheirDirectionsApartAtTwoThreads() {
        RnnSpec[] specs = {
            new RnnSpec(CellMode.LSTM, 5, 8, 2, true, false, true, 3), // projection: h is 3 wide, c 8
            new RnnSpec(CellMode.GRU, 5, 9, 2, true, false, true, 0),
            new RnnSpec(CellMode.RNN_TANH, 4, 7, 3, true, false, true, 0)};
        int[][] lengthsets = {null, {3, 7, 1, 7, 3}};
        for (RnnSpec spec : specs) {
            List<LayerWeights> w = weights(spec, 21);
            PreparedModel ref = Driver.of("scalar", spec, new ScalarBackend().prepare(spec, w, 1), 1);
            try (OneDnnKernels one = new OneDnnKernels(spec, w, OneDnn.get(), 1, 8, L2)) {
                assertTrue(!one.directionsApart(), "one thread: both directions in one primitive");
            }
            try (OneDnnKernels small = new OneDnnKernels(spec, w, OneDnn.get(), 2, 8, 64)) {
                assertTrue(!small.directionsApart(), "a direction's weights past half the L2: one primitive");
            }
            // The default plan cache, and a cache of one shape (every group a temporary plan per direction).
            for (int cache : new int[] {OneDnnKernels.MAX_CACHED_PLANS, 1}) {
                OneDnnKernels k = new OneDnnKernels(spec, w, OneDnn.get(), 2, cache, L2);
                assertTrue(k.directionsApart(), spec.mode() + ": two threads run the directions apart");
                try (PreparedModel dnn = Driver.of("onednn", spec, k, 2)) {
                    for (int[] lengths : lengthsets) {
                        for (int call = 0; call < 2; call++) {
                            Call expected = args(spec, 7, 5, lengths, 13 + call);
                            Call got = args(spec, 7, 5, lengths, 13 + call);
                            java.util.Arrays.fill(got.y, Float.NaN); // both halves of every row must be written
                            java.util.Arrays.fill(got.hN, Float.NaN);
                            ref.forward(expected);
                            dnn.forward(got);
                            String what = spec.mode() + " cache " + cache + " lengths " + (lengths != null);
                            assertNear(what + " output", expected.y, got.y);
                            assertNear(what + " h_n", expected.hN, got.hN);
                            if (expected.cN != null) {
                                assertNear(what + " c_n", expected.cN, got.cN);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void directionsRunApartWhenOneDirectionsRecurrentWeightsFitHalfTheL2() {
        long mb2 = 2L << 20;
        // LSTM 128: W_hh 256 KB per direction; LSTM 512: 4 MB; tanh RNN 512: 1 MB, exactly half.
        assertTrue(OneDnnKernels.directionFits(new RnnSpec(CellMode.LSTM, 128, 128, 2, true, false, true, 0), mb2));
        assertTrue(!OneDnnKernels.directionFits(new RnnSpec(CellMode.LSTM, 512, 512, 1, true, false, true, 0), mb2));
        assertTrue(!OneDnnKernels.directionFits(new RnnSpec(CellMode.RNN_TANH, 256, 512, 1, true, false, true, 0), mb2));
        assertTrue(OneDnnKernels.directionFits(new RnnSpec(CellMode.GRU, 256, 256, 1, true, false, true, 0), mb2));
        // The projection counts: LSTM 512 -> 64 is W_hh 512 KB plus W_hr 128 KB, past half of 1200 KB.
        assertTrue(OneDnnKernels.directionFits(new RnnSpec(CellMode.LSTM, 64, 512, 1, true, false, true, 64), mb2));
        assertTrue(!OneDnnKernels.directionFits(new RnnSpec(CellMode.LSTM, 64, 512, 1, true, false, true, 64),
            1200 * 1024));
        assertTrue(!OneDnnKernels.directionFits(new RnnSpec(CellMode.LSTM, 8, 8, 1, true, false, true, 0), 0));
    }

    @Test
    void directionsApartUnderConcurrentCallersGiveEachItsOwnResult() throws Exception {
        // Four callers take turns on the core permits (where the cores outnumber the model's threads,
        // a caller that finds the pool busy runs both directions itself: the next test); every result
        // must be the single caller's bits.
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 8, 16, 2, true, false, true, 0);
        OneDnnKernels k = new OneDnnKernels(spec, weights(spec, 9), OneDnn.get(), 2, 8, L2);
        assertTrue(k.directionsApart());
        try (PreparedModel dnn = Driver.of("onednn", spec, k, 2)) {
            assertConcurrentCallersGetTheirOwnBits(spec, dnn);
        }
    }

    @Test
    void aCallerAloneRunsBothDirectionsOneAfterTheOther() {
        // runLayer of kernels whose directions run apart: both directions on the calling thread
        // (what a caller that finds the pool busy does), against one bidirectional primitive.
        RnnSpec spec = new RnnSpec(CellMode.LSTM, 6, 10, 1, true, false, true, 0);
        List<LayerWeights> w = weights(spec, 17);
        Call a = args(spec, 5, 3, null, 19);
        float[][] y = new float[2][a.y.length];
        float[][] hN = new float[2][a.hN.length];
        float[][] cN = new float[2][a.cN.length];
        long[] l2 = {0, L2}; // one primitive, then apart
        for (int i = 0; i < 2; i++) {
            try (OneDnnKernels k = new OneDnnKernels(spec, w, OneDnn.get(), 2, 8, l2[i])) {
                assertEquals(i == 1, k.directionsApart());
                OneDnnKernels.Context ctx = k.newContext();
                k.begin(ctx);
                try {
                    k.runLayer(ctx, 0, 5, 3, a.x, a.h0, 0, a.c0, 0, y[i], hN[i], 0, cN[i], 0);
                } finally {
                    k.end(ctx);
                }
            }
        }
        assertNear("output", y[0], y[1]);
        assertNear("h_n", hN[0], hN[1]);
        assertNear("c_n", cN[0], cN[1]);
    }
}
