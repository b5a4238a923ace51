package dev.rnnengine.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.Fixtures;
import dev.rnnengine.Reference;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract every backend meets at the SPI (Lucene's {@code BaseVectorizationTestCase} is
 * the model): each registered backend, and any future one, is prepared through
 * {@link Backend#prepare}, run by the one driver over awkward sizes (1, 3, 7, 13, 31, 127, ...)
 * of every cell, and compared with {@link Reference}, an independent double-precision
 * transcription of PyTorch's equations, at 1 and 2 threads. Step kernels must also touch only
 * the rows and units they are given, and give the same bits at any thread split.
 */
class BackendContractTest {
    private static final AtomicInteger FORWARDS = new AtomicInteger();
    private static final AtomicInteger KERNELS = new AtomicInteger();
    private static final int[] SIZES = {1, 3, 7, 13, 31, 127};

    static List<Object[]> shapes() {
        List<Object[]> l = new ArrayList<>();
        int i = 0;
        for (CellMode mode : CellMode.values()) {
            for (int h : SIZES) {
                int d = SIZES[(i + 2) % SIZES.length];
                int batch = new int[] {1, 2, 5}[i % 3];
                int layers = 1 + i % 3;
                boolean bidir = i % 2 == 1;
                int proj = mode == CellMode.LSTM && h > 3 && i % 3 != 0 ? h / 3 : 0;
                boolean packed = i % 4 == 2 && batch > 1;
                l.add(new Object[] {mode, d, h, layers, bidir, proj, batch, 1 + (i * 7) % 19, packed});
                i++;
            }
        }
        l.add(new Object[] {CellMode.LSTM, 129, 513, 1, false, 0, 1, 9, false});
        l.add(new Object[] {CellMode.GRU, 65, 257, 2, true, 0, 3, 6, true});
        // A batch past auto's split point, with many distinct lengths (a whole-layer backend runs one group per length).
        l.add(new Object[] {CellMode.LSTM, 17, 33, 2, true, 11, 20, 12, true});
        // Packed and bidirectional for every cell, every sequence shorter than T (steps with no active row).
        for (CellMode mode : CellMode.values()) {
            l.add(new Object[] {mode, 9, 21, 2, true, 0, 6, 11, true});
        }
        return l;
    }

    static Stream<Arguments> cases() {
        return Fixtures.expectedBackends().stream()
            .flatMap(b -> shapes().stream().map(s -> Arguments.of(b, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8])));
    }

    private static Backend backend(String name) {
        Backends.Availability a = Backends.availability(name);
        assertTrue(a.available(), "backend " + name + " must run here: " + a.reason());
        return a.backend();
    }

    private static Call call(RnnSpec spec, Tensor x, Tensor h0, Tensor c0, int[] lengths) {
        int seqLen = x.size(0);
        int batch = x.size(1);
        int states = spec.numLayers() * spec.directions();
        Call c = new Call();
        c.seqLen = seqLen;
        c.batch = batch;
        c.x = x.toArray();
        c.h0 = h0 == null ? null : h0.toArray();
        c.c0 = c0 == null ? null : c0.toArray();
        c.lengths = lengths;
        c.y = new float[seqLen * batch * spec.directions() * spec.outputHiddenSize()];
        Arrays.fill(c.y, Float.NaN); // every element must be written
        c.hN = new float[states * batch * spec.outputHiddenSize()];
        c.cN = spec.mode().hasCellState() ? new float[states * batch * spec.hiddenSize()] : null;
        return c;
    }

    private static RnnOutput output(RnnSpec spec, Call c) {
        int states = spec.numLayers() * spec.directions();
        return new RnnOutput(Tensor.of(c.y, c.seqLen, c.batch, spec.directions() * spec.outputHiddenSize()),
            Tensor.of(c.hN, states, c.batch, spec.outputHiddenSize()),
            c.cN == null ? null : Tensor.of(c.cN, states, c.batch, spec.hiddenSize()));
    }

    private static RnnOutput run(Backend b, RnnSpec spec, Map<String, Tensor> sd, int threads, Tensor x, Tensor h0,
                                 Tensor c0, int[] lengths) {
        try (PreparedModel m = Driver.of(b.name(), spec, b.prepare(spec, Fixtures.layerWeights(spec, sd), threads), threads)) {
            Call c = call(spec, x, h0, c0, lengths);
            m.forward(c);
            return output(spec, c);
        }
    }

    @ParameterizedTest(name = "{0} {1} D={2} H={3} L={4} bidir={5} proj={6} N={7} T={8} packed={9}")
    @MethodSource("cases")
    void forwardMatchesTheReference(String backend, CellMode mode, int d, int h, int layers, boolean bidir, int proj,
                                    int batch, int seqLen, boolean packed) {
        boolean bias = (h + d) % 5 != 0; // some cases without bias
        RnnSpec spec = new RnnSpec(mode, d, h, layers, bias, false, bidir, proj);
        Map<String, Tensor> sd = StateDicts.random(spec, h * 31L + d);
        Tensor x = StateDicts.randn(d + h, seqLen, batch, d);
        int states = layers * spec.directions();
        Tensor h0 = StateDicts.randn(5, states, batch, spec.outputHiddenSize());
        Tensor c0 = mode == CellMode.LSTM ? StateDicts.randn(6, states, batch, h) : null;
        int[] lengths = null;
        if (packed) {
            lengths = new int[batch];
            for (int n = 0; n < batch; n++) {
                lengths[n] = 1 + (n * 5) % seqLen;
            }
            // Usually one sequence spans T; the all-shorter cases (batch 6) leave tail steps empty.
            lengths[batch - 1] = batch == 6 ? seqLen - 2 : seqLen;
        }
        RnnOutput ref = Reference.forward(spec, sd, x, h0, c0, lengths);
        Backend b = backend(backend);
        RnnOutput one = run(b, spec, sd, 1, x, h0, c0, lengths);
        RnnOutput two = run(b, spec, sd, 2, x, h0, c0, lengths);
        // Three workers (more than this machine may have): uneven unit splits, 1 + 2 direction groups.
        RnnOutput three = run(b, spec, sd, 3, x, h0, c0, lengths);
        double atol = Fixtures.GOLDEN_ATOL; // the reference is PyTorch's equations in double: DESIGN.md's tolerance
        for (RnnOutput[] pair : new RnnOutput[][] {{ref, one}, {ref, two}, {ref, three}}) {
            String at = pair[1] == one ? " at 1 thread" : pair[1] == two ? " at 2 threads" : " at 3 threads";
            Fixtures.assertClose("output" + at, pair[0].output(), pair[1].output(), atol, Fixtures.GOLDEN_RTOL);
            Fixtures.assertClose("h_n" + at, pair[0].hN(), pair[1].hN(), atol, Fixtures.GOLDEN_RTOL);
            if (c0 != null) {
                Fixtures.assertClose("c_n" + at, pair[0].cN(), pair[1].cN(), atol, Fixtures.GOLDEN_RTOL);
            }
        }
        try (Kernels k = b.prepare(spec, Fixtures.layerWeights(spec, sd), 1)) {
            if (k instanceof StepKernels<?> s && s.geometry().driverThreads()) {
                // The driver splits units, and each unit is computed alone: the same bits at any split.
                for (RnnOutput other : new RnnOutput[] {two, three}) {
                    Fixtures.assertSame("output 1 vs 2, 3 threads", one.output(), other.output());
                    Fixtures.assertSame("h_n 1 vs 2, 3 threads", one.hN(), other.hN());
                    if (c0 != null) {
                        Fixtures.assertSame("c_n 1 vs 2, 3 threads", one.cN(), other.cN());
                    }
                }
            }
        }
        FORWARDS.incrementAndGet();
    }

    static Stream<Arguments> kernelCases() {
        List<RnnSpec> specs = List.of(new RnnSpec(CellMode.LSTM, 19, 37, 1, true, false, false, 13),
            new RnnSpec(CellMode.LSTM, 5, 40, 1, true, false, false, 0),
            new RnnSpec(CellMode.GRU, 7, 29, 1, true, false, false, 0),
            new RnnSpec(CellMode.RNN_TANH, 33, 3, 1, false, false, false, 0));
        return Fixtures.expectedBackends().stream().flatMap(b -> specs.stream().flatMap(
            s -> Stream.of(Arguments.of(b, s, 1), Arguments.of(b, s, 6))));
    }

    /**
     * What the driver relies on when it splits work: a projection over parts [0, k) then [k, n)
     * equals one over [0, n); a step over some rows and a range of unit blocks writes exactly
     * those rows' units (everything else keeps its sentinel), with the values of a full step.
     */
    @ParameterizedTest(name = "{0} {1} N={2}")
    @MethodSource("kernelCases")
    void stepKernelsWriteOnlyTheRowsAndUnitsTheyAreGiven(String backend, RnnSpec spec, int batch) throws Exception {
        Map<String, Tensor> sd = StateDicts.random(spec, 3);
        try (Kernels k = backend(backend).prepare(spec, Fixtures.layerWeights(spec, sd), 1)) {
            if (!(k instanceof StepKernels<?> s)) {
                KERNELS.incrementAndGet(); // whole-layer backends have no step to split
                return;
            }
            checkSplits(s, spec, batch);
        }
        KERNELS.incrementAndGet();
    }

    private static <C> void checkSplits(StepKernels<C> k, RnnSpec spec, int batch) throws Exception {
        StepKernels.Geometry g = k.geometry();
        int hidden = spec.hiddenSize();
        int hOut = spec.outputHiddenSize();
        boolean proj = spec.projSize() > 0;
        int units = (hidden + g.unitBlock() - 1) / g.unitBlock();
        C ctx = k.newContext();
        k.reserve(ctx, 1, batch);
        float[] x = StateDicts.randn(1, batch, spec.inputSize()).toArray();
        float[] xCopy = x.clone();
        k.begin();
        try {
            // Projection: [0, parts) at once; [0, k) and [k, n) each write their own elements, together all of them.
            float[] xpAll = fill(batch * g.xpStride(), Float.NaN);
            k.project(ctx, 0, 0, x, batch, xpAll, 0, g.inputParts());
            int mid = g.inputParts() / 2;
            float[] first = fill(batch * g.xpStride(), SENTINEL);
            float[] second = fill(batch * g.xpStride(), SENTINEL);
            k.project(ctx, 0, 0, x, batch, first, 0, mid);
            k.project(ctx, 0, 0, x, batch, second, mid, g.inputParts());
            assertDisjointUnion("projection", xpAll, first, second);
            assertArrayEquals(xCopy, x, "the projection's input is not written");

            float[] h = StateDicts.randn(2, batch, g.hStride()).toArray();
            float[] hCopy = h.clone();
            float[] c0 = StateDicts.randn(3, batch, g.cStride()).toArray();
            int outStride = proj ? g.cStride() : g.hStride();
            int[] all = new int[batch];
            for (int r = 0; r < batch; r++) {
                all[r] = r;
            }
            // A full step of every row and unit.
            float[] outFull = fill(batch * outStride, Float.NaN);
            float[] cFull = c0.clone();
            k.step(ctx, 0, 0, h, xpAll.clone(), 0, cFull, outFull, batch, all, batch, 0, units);
            // Only odd rows (or the one row), units [u0, u1).
            int[] rows = batch == 1 ? new int[] {0} : new int[] {1, 3, 5};
            int u0 = units / 3;
            int u1 = Math.max(u0 + 1, 2 * units / 3);
            float[] out = fill(batch * outStride, SENTINEL);
            float[] c = c0.clone();
            float[] xp = xpAll.clone();
            k.step(ctx, 0, 0, h, xp, 0, c, out, batch, rows, rows.length, u0, u1);
            assertArrayEquals(hCopy, h, "h is read, not written");
            int from = u0 * g.unitBlock();
            int to = Math.min(u1 * g.unitBlock(), hidden);
            for (int r = 0; r < batch; r++) {
                boolean listed = contains(rows, r);
                if (!listed) {
                    for (int j = 0; j < g.xpStride(); j++) {
                        assertEquals(xpAll[r * g.xpStride() + j], xp[r * g.xpStride() + j], 0f,
                            "the input projection of row " + r + ", not the step's, is untouched");
                    }
                }
                for (int j = 0; j < (proj ? hidden : hOut); j++) {
                    boolean mine = listed && j >= from && j < to;
                    float got = out[r * outStride + j];
                    if (mine) {
                        assertEquals(outFull[r * outStride + j], got, 0f, "row " + r + " unit " + j + " of the range");
                    } else {
                        assertEquals(SENTINEL, got, 0f, "row " + r + " unit " + j + " is not the step's to write");
                    }
                    if (spec.mode().hasCellState()) {
                        float want = mine ? cFull[r * g.cStride() + j] : c0[r * g.cStride() + j];
                        assertEquals(want, c[r * g.cStride() + j], 0f, "c of row " + r + " unit " + j);
                    }
                }
            }
            // Two threads on one context, disjoint unit ranges at once (as the driver's workers do),
            // many times: the same values as one full step, so the context's scratch is split by unit.
            int half = units / 2;
            for (int rep = 0; rep < 50 && half > 0; rep++) {
                float[] out2 = fill(batch * outStride, Float.NaN);
                float[] c2 = c0.clone();
                float[] xp2 = xpAll.clone();
                java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(2);
                Thread other = new Thread(() -> {
                    try {
                        go.await();
                        k.step(ctx, 0, 0, h, xp2, 0, c2, out2, batch, all, batch, half, units);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                other.start();
                go.await();
                k.step(ctx, 0, 0, h, xp2, 0, c2, out2, batch, all, batch, 0, half);
                other.join();
                for (int r = 0; r < batch; r++) {
                    for (int j = 0; j < (proj ? hidden : hOut); j++) {
                        assertEquals(outFull[r * outStride + j], out2[r * outStride + j], 0f,
                            "two threads on one context, row " + r + " unit " + j);
                    }
                }
            }
            if (proj) {
                // The projection's output blocks: each part writes its own, together all of them.
                int parts = (hOut + g.projectionBlock() - 1) / g.projectionBlock();
                float[] hAll = fill(batch * g.hStride(), Float.NaN);
                k.projectHidden(ctx, 0, 0, outFull, batch, hAll, 0, parts);
                float[] p1 = fill(batch * g.hStride(), SENTINEL);
                float[] p2 = fill(batch * g.hStride(), SENTINEL);
                k.projectHidden(ctx, 0, 0, outFull, batch, p1, 0, parts / 2);
                k.projectHidden(ctx, 0, 0, outFull, batch, p2, parts / 2, parts);
                for (int r = 0; r < batch; r++) {
                    for (int j = 0; j < hOut; j++) {
                        int i = r * g.hStride() + j;
                        assertTrue((p1[i] == SENTINEL) != (p2[i] == SENTINEL), "projection element " + i + " written once");
                        assertEquals(hAll[i], p1[i] == SENTINEL ? p2[i] : p1[i], 0f, "projection row " + r);
                    }
                }
            }
        } finally {
            k.end();
        }
    }

    private static final float SENTINEL = -12345f;

    /**
     * Each element of {@code full} that a split wrote (not the sentinel) was written by exactly
     * one of the two pieces, with the same value; elements neither wrote are padding nobody reads.
     */
    private static void assertDisjointUnion(String what, float[] full, float[] a, float[] b) {
        int written = 0;
        for (int i = 0; i < full.length; i++) {
            boolean inA = a[i] != SENTINEL;
            boolean inB = b[i] != SENTINEL;
            assertTrue(!(inA && inB), what + " element " + i + " written by both pieces");
            if (inA || inB) {
                assertEquals(full[i], inA ? a[i] : b[i], 0f, what + " element " + i);
                written++;
            } else {
                assertTrue(Float.isNaN(full[i]), what + " element " + i + " written whole but by neither piece");
            }
        }
        assertTrue(written > 0, what + ": nothing written");
    }

    private static boolean contains(int[] a, int v) {
        return Arrays.stream(a).anyMatch(e -> e == v);
    }

    private static float[] fill(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    @AfterAll
    static void everyBackendWasChecked() {
        // A silent skip (filtered case, unavailable backend) must not look like a pass.
        int backends = Fixtures.expectedBackends().size();
        assertTrue(backends > 0, "no backend under test");
        assertEquals(backends * shapes().size(), FORWARDS.get(), "forward checks actually run");
        assertEquals(kernelCases().count(), KERNELS.get(), "kernel checks actually run");
    }
}
