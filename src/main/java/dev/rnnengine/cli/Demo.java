package dev.rnnengine.cli;

import dev.rnnengine.api.CellMode;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.api.RnnSpec;
import dev.rnnengine.api.RnnState;
import dev.rnnengine.api.StateDicts;
import dev.rnnengine.api.Tensor;
import dev.rnnengine.engine.Backends;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Map;

/** {@code rnn demo}: a small LSTM run in batch and streaming on every backend available here. */
final class Demo {
    private Demo() { }

    static int run(Main.Options o, PrintStream out) throws Main.UsageException {
        EngineOptions base = Main.engineOptions(o);
        RnnSpec spec = RnnSpec.builder(CellMode.LSTM, 64, 128).numLayers(2).batchFirst(true).build();
        Map<String, Tensor> weights = StateDicts.random(spec, 42);
        int batch = 4;
        int steps = 30;
        int[] lengths = {30, 17, 5, 30};
        Tensor x = StateDicts.randn(7, batch, steps, spec.inputSize());
        out.printf("rnn-engine demo: %s, input_size=%d, hidden_size=%d, num_layers=%d, batch_first%n",
            spec.mode(), spec.inputSize(), spec.hiddenSize(), spec.numLayers());
        out.printf("input %s, lengths %s (a padded batch, as pack_padded_sequence)%n", x.shapeString(), Arrays.toString(lengths));

        RnnOutput reference = null;
        String names = o.has("backend") ? base.backend() : String.join(",", Backends.NAMES);
        for (String name : names.split(",")) {
            Backends.Availability a = name.equals("auto") ? null : Backends.availability(name);
            if (a != null && !a.available()) {
                out.printf("  %-9s unavailable: %s%n", name, a.reason());
                continue;
            }
            try (RnnModel model = RnnModel.create(spec, weights, base.withBackend(name))) {
                RnnOutput r = model.forward(x, null, null, lengths);
                // Warm up first: until C2 has compiled the kernels, timings say nothing.
                long warmEnd = System.nanoTime() + 1_500_000_000L;
                while (System.nanoTime() < warmEnd) {
                    model.forward(x, null, null, lengths);
                }
                double[] ms = new double[21];
                for (int i = 0; i < ms.length; i++) {
                    long t0 = System.nanoTime();
                    model.forward(x, null, null, lengths);
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
                Arrays.sort(ms);
                if (reference == null) {
                    reference = r;
                }
                out.printf("  %-9s output %s h_n %s c_n %s  median %.3f ms/forward (warm)  max|diff| vs %s %.2g%n",
                    model.backendName(), r.output().shapeString(), r.hN().shapeString(), r.cN().shapeString(),
                    ms[ms.length / 2], names.split(",")[0], maxDiff(r.output(), reference.output()));
                // Streaming: feed sequence 0 one step at a time; it must equal forward.
                RnnState state = model.newState(1);
                Tensor last = null;
                float[] xs = x.toArray();
                for (int t = 0; t < steps; t++) {
                    // Sequence 0's step t is a view into the batch: no copy per step.
                    last = model.step(Tensor.wrap(xs, t * spec.inputSize(), 1, spec.inputSize()), state);
                }
                float[] fwdLast = Arrays.copyOfRange(r.output().toArray(), (steps - 1) * spec.hiddenSize(), steps * spec.hiddenSize());
                out.printf("  %-9s streaming sequence 0 step by step: max|diff| vs forward %.2g%n", "",
                    maxDiff(last, Tensor.of(fwdLast, 1, spec.hiddenSize())));
            }
        }
        return 0;
    }

    static double maxDiff(Tensor a, Tensor b) {
        double m = 0;
        for (int i = 0; i < a.numel(); i++) {
            m = Math.max(m, Math.abs(a.get(i) - b.get(i)));
        }
        return m;
    }
}
