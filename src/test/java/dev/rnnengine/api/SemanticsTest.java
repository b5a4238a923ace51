package dev.rnnengine.api;

import dev.rnnengine.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.api.RnnState;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Identities that hold in PyTorch: streaming equals forward, unbatched equals a batch of one,
 * a packed batch equals each sequence run alone, batch-first equals time-major.
 */
class SemanticsTest {
    private static final double TOL = 2e-5;

    /** Awkward sizes for every cell kind. */
    static List<RnnSpec.Builder> specs() {
        List<RnnSpec.Builder> l = new ArrayList<>();
        l.add(RnnSpec.builder(CellMode.RNN_TANH, 7, 13).numLayers(2));
        l.add(RnnSpec.builder(CellMode.RNN_RELU, 3, 31).bias(false));
        l.add(RnnSpec.builder(CellMode.LSTM, 7, 17).numLayers(3));
        l.add(RnnSpec.builder(CellMode.LSTM, 13, 31).numLayers(2).projSize(5));
        l.add(RnnSpec.builder(CellMode.GRU, 1, 33).numLayers(2));
        l.add(RnnSpec.builder(CellMode.GRU, 31, 3).bias(false));
        return l;
    }

    static Stream<Arguments> cases() {
        return Fixtures.expectedBackends().stream().flatMap(b -> specs().stream().map(s -> Arguments.of(b, s)));
    }

    private static RnnModel model(RnnSpec spec, String backend) {
        return RnnModel.create(spec, StateDicts.random(spec, 11), EngineOptions.defaults().withBackend(backend));
    }

    private static Tensor slice(Tensor t, int[] shape, int offset) {
        float[] v = new float[Tensor.numel(shape)];
        System.arraycopy(t.toArray(), offset, v, 0, v.length);
        return Tensor.of(v, shape);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void streamingEqualsForward(String backend, RnnSpec.Builder b) {
        RnnSpec spec = b.build();
        int seqLen = 9;
        int batch = 3;
        int hOut = spec.outputHiddenSize();
        try (RnnModel m = model(spec, backend)) {
            Tensor x = StateDicts.randn(3, seqLen, batch, spec.inputSize());
            RnnOutput full = m.forward(x);
            RnnState s = m.newState(batch);
            for (int t = 0; t < seqLen; t++) {
                Tensor xt = slice(x, new int[] {batch, spec.inputSize()}, t * batch * spec.inputSize());
                Tensor yt = m.step(xt, s);
                Fixtures.assertClose("step " + t, slice(full.output(), new int[] {batch, hOut}, t * batch * hOut), yt, TOL, 0);
            }
            Fixtures.assertClose("h after streaming", full.hN(), s.h(), TOL, 0);
            if (spec.mode() == CellMode.LSTM) {
                Fixtures.assertClose("c after streaming", full.cN(), s.c(), TOL, 0);
            }
            s.reset(); // a reset state starts a new sequence
            Fixtures.assertClose("after reset", slice(full.output(), new int[] {batch, hOut}, 0),
                m.step(slice(x, new int[] {batch, spec.inputSize()}, 0), s), TOL, 0);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void unbatchedEqualsBatchOfOne(String backend, RnnSpec.Builder b) {
        RnnSpec spec = b.bidirectional(true).build();
        int seqLen = 6;
        int states = spec.numLayers() * 2;
        try (RnnModel m = model(spec, backend)) {
            Tensor x = StateDicts.randn(5, seqLen, spec.inputSize());
            Tensor h0 = StateDicts.randn(6, states, spec.outputHiddenSize());
            Tensor c0 = spec.mode() == CellMode.LSTM ? StateDicts.randn(7, states, spec.hiddenSize()) : null;
            RnnOutput one = m.forward(x, h0, c0, null);
            RnnOutput batched = m.forward(x.reshape(seqLen, 1, spec.inputSize()),
                h0.reshape(states, 1, spec.outputHiddenSize()),
                c0 == null ? null : c0.reshape(states, 1, spec.hiddenSize()), null);
            assertEquals(2, one.output().dim());
            Fixtures.assertSame("output", batched.output().reshape(one.output().shape()), one.output());
            Fixtures.assertSame("h_n", batched.hN().reshape(one.hN().shape()), one.hN());
            if (c0 != null) {
                Fixtures.assertSame("c_n", batched.cN().reshape(one.cN().shape()), one.cN());
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void packedEqualsEachSequenceAlone(String backend, RnnSpec.Builder b) {
        RnnSpec spec = b.bidirectional(true).batchFirst(true).build();
        int seqLen = 7;
        int[] lengths = {7, 1, 4, 6, 7};
        int batch = lengths.length;
        int states = spec.numLayers() * 2;
        int hOut = spec.outputHiddenSize();
        int d = spec.inputSize();
        try (RnnModel m = model(spec, backend)) {
            Tensor x = StateDicts.randn(8, batch, seqLen, d);
            Tensor h0 = StateDicts.randn(9, states, batch, hOut);
            Tensor c0All = spec.mode() == CellMode.LSTM ? StateDicts.randn(10, states, batch, spec.hiddenSize()) : null;
            RnnOutput packed = m.forward(x, h0, c0All, lengths);
            float[] out = packed.output().toArray();
            for (int n = 0; n < batch; n++) {
                int len = lengths[n];
                Tensor xn = slice(x, new int[] {1, len, d}, n * seqLen * d);
                Tensor h0n = Tensor.of(pick(h0, states, batch, hOut, n), states, 1, hOut);
                Tensor c0n = c0All == null ? null
                    : Tensor.of(pick(c0All, states, batch, spec.hiddenSize(), n), states, 1, spec.hiddenSize());
                RnnOutput alone = m.forward(xn, h0n, c0n, null);
                Fixtures.assertClose("sequence " + n + " output",
                    alone.output(), slice(packed.output(), new int[] {1, len, 2 * hOut}, n * seqLen * 2 * hOut), TOL, 0);
                for (int i = (n * seqLen + len) * 2 * hOut; i < (n + 1) * seqLen * 2 * hOut; i++) {
                    assertEquals(0f, out[i], "padding of sequence " + n + " must be zero");
                }
                Fixtures.assertClose("sequence " + n + " h_n", alone.hN(),
                    Tensor.of(pick(packed.hN(), states, batch, hOut, n), states, 1, hOut), TOL, 0);
                if (c0All != null) {
                    Fixtures.assertClose("sequence " + n + " c_n", alone.cN(),
                        Tensor.of(pick(packed.cN(), states, batch, spec.hiddenSize(), n), states, 1, spec.hiddenSize()), TOL, 0);
                }
            }
        }
    }

    /** Column n of a (states, batch, size) tensor as (states, size). */
    private static float[] pick(Tensor t, int states, int batch, int size, int n) {
        float[] all = t.toArray();
        float[] v = new float[states * size];
        for (int s = 0; s < states; s++) {
            System.arraycopy(all, (s * batch + n) * size, v, s * size, size);
        }
        return v;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void batchFirstEqualsTimeMajor(String backend, RnnSpec.Builder b) {
        RnnSpec tm = b.numLayers(2).bidirectional(true).build();
        RnnSpec bf = new RnnSpec(tm.mode(), tm.inputSize(), tm.hiddenSize(), tm.numLayers(), tm.bias(), true,
            tm.bidirectional(), tm.projSize());
        Map<String, Tensor> sd = StateDicts.random(tm, 3);
        int seqLen = 5;
        int batch = 4;
        int d = tm.inputSize();
        try (RnnModel a = RnnModel.create(tm, sd, EngineOptions.defaults().withBackend(backend));
             RnnModel c = RnnModel.create(bf, sd, EngineOptions.defaults().withBackend(backend))) {
            Tensor xt = StateDicts.randn(4, seqLen, batch, d);
            float[] xb = new float[xt.numel()];
            float[] src = xt.toArray();
            for (int t = 0; t < seqLen; t++) {
                for (int n = 0; n < batch; n++) {
                    System.arraycopy(src, (t * batch + n) * d, xb, (n * seqLen + t) * d, d);
                }
            }
            RnnOutput ra = a.forward(xt);
            RnnOutput rc = c.forward(Tensor.of(xb, batch, seqLen, d));
            int w = 2 * tm.outputHiddenSize();
            float[] ya = ra.output().toArray();
            float[] yc = rc.output().toArray();
            for (int t = 0; t < seqLen; t++) {
                for (int n = 0; n < batch; n++) {
                    for (int k = 0; k < w; k++) {
                        assertEquals(ya[(t * batch + n) * w + k], yc[(n * seqLen + t) * w + k], TOL);
                    }
                }
            }
            Fixtures.assertClose("h_n", ra.hN(), rc.hN(), TOL, 0);
        }
    }
}
