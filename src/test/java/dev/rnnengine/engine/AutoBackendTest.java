package dev.rnnengine.engine;

import dev.rnnengine.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code auto} with oneDNN here: small batches on vector, batches of 16 or more on oneDNN, both PyTorch-exact. */
class AutoBackendTest {
    @Test
    void autoSplitsByBatchAndBothSidesAgreeWithScalar() {
        assumeTrue(Fixtures.expectedBackends().containsAll(java.util.List.of("vector", "onednn")),
            "needs vector and onednn (rnn.test.backends)");
        RnnSpec spec = new RnnSpec(CellMode.GRU, 11, 19, 2, true, false, true, 0);
        Map<String, Tensor> sd = StateDicts.random(spec, 4);
        try (RnnModel auto = RnnModel.create(spec, sd, new EngineOptions("auto", 2));
             RnnModel scalar = RnnModel.create(spec, sd, new EngineOptions("scalar", 1))) {
            assertEquals("vector+onednn", auto.backendName());
            for (int batch : new int[] {1, 15, 16, 33}) {
                Tensor x = StateDicts.randn(batch, 6, batch, 11);
                int[] lengths = new int[batch];
                for (int n = 0; n < batch; n++) {
                    lengths[n] = 1 + (n * 5) % 6;
                }
                RnnOutput ref = scalar.forward(x, null, null, lengths);
                RnnOutput got = auto.forward(x, null, null, lengths);
                Fixtures.assertClose("output N=" + batch, ref.output(), got.output(), 1e-5, 1e-4);
                Fixtures.assertClose("h_n N=" + batch, ref.hN(), got.hN(), 1e-5, 1e-4);
            }
        }
    }
}
