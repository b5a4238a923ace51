package dev.rnnengine.api;

import dev.rnnengine.Fixtures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A call gives the same bits on its first run, when the kernels are interpreted, as after C2
 * has compiled them. A class of its own, so its JVM (one per test class) has run no kernel
 * before: other tests would have compiled them already.
 */
class DeterminismTest {
    /** (T, N, lengths or null): one sequence (step kernels), unequal lengths, 20 rows (batched gate math). */
    private record Call(int seqLen, int batch, int[] lengths) { }

    private static final List<Call> CALLS = List.of(new Call(5, 1, null), new Call(4, 3, new int[] {4, 1, 3}),
        new Call(3, 20, null));

    @Test
    void firstCallsGiveTheBitsOfCompiledCode() {
        // 13 units: one whole vector block and a tail for every vector width; inputs large
        // enough to reach the saturated ends of sigmoid and tanh.
        List<RnnSpec> specs = List.of(new RnnSpec(CellMode.LSTM, 6, 13, 2, true, false, true, 0),
            new RnnSpec(CellMode.LSTM, 6, 13, 1, true, false, false, 5),
            new RnnSpec(CellMode.GRU, 6, 13, 2, true, false, true, 0),
            new RnnSpec(CellMode.RNN_TANH, 6, 13, 1, true, false, false, 0));
        List<Fixtures.Config> configs = new ArrayList<>(Fixtures.configs());
        configs.add(new Fixtures.Config("auto", 2));
        List<RnnModel> models = new ArrayList<>();
        List<float[]> cold = new ArrayList<>();
        try {
            for (Fixtures.Config cfg : configs) {
                for (int s = 0; s < specs.size(); s++) {
                    RnnModel m = RnnModel.create(specs.get(s), StateDicts.random(specs.get(s), s),
                        new EngineOptions(cfg.backend(), cfg.threads()));
                    models.add(m);
                    for (Call c : CALLS) {
                        cold.add(run(m, c));
                    }
                }
            }
            for (int round = 0; round < 3000; round++) {
                for (RnnModel m : models) {
                    for (Call c : CALLS) {
                        run(m, c);
                    }
                }
            }
            int k = 0;
            for (int i = 0; i < models.size(); i++) {
                for (Call c : CALLS) {
                    Fixtures.Config cfg = configs.get(i / specs.size());
                    assertArrayEquals(cold.get(k++), run(models.get(i), c),
                        cfg + " " + specs.get(i % specs.size()).mode() + " T=" + c.seqLen() + " N=" + c.batch());
                }
            }
        } finally {
            models.forEach(RnnModel::close);
        }
    }

    private static float[] run(RnnModel m, Call c) {
        RnnSpec spec = m.spec();
        Tensor x = StateDicts.randn(c.seqLen() * 31L + c.batch(), c.seqLen(), c.batch(), spec.inputSize());
        float[] v = x.toArray();
        for (int i = 0; i < v.length; i++) {
            v[i] *= 6f;
        }
        RnnOutput r = m.forward(Tensor.of(v, x.shape()), null, null, c.lengths());
        // Every result: output, h_n and (LSTM) c_n, one after the other.
        float[] out = r.output().toArray();
        float[] h = r.hN().toArray();
        float[] cn = r.cN() == null ? new float[0] : r.cN().toArray();
        float[] all = java.util.Arrays.copyOf(out, out.length + h.length + cn.length);
        System.arraycopy(h, 0, all, out.length, h.length);
        System.arraycopy(cn, 0, all, out.length + h.length, cn.length);
        return all;
    }
}
