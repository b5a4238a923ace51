package dev.rnnengine.cli;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.bench.Shapes;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.ModelFile;
import dev.rnnengine.io.SafetensorsFile;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code rnn tune}: measures auto's choice per call class for a model file or benchmark shapes, and caches it. */
final class Tune {
    private Tune() { }

    static int run(Main.Options o, PrintStream out) throws IOException, Main.UsageException {
        if (o.has("model") == o.has("shapes")) {
            throw new Main.UsageException("give --model M or --shapes S,S (benchmark shapes or cell:D:H:T:N[:layers[:bi]])");
        }
        List<Integer> threads = new ArrayList<>();
        for (String t : (o.has("threads") ? o.get("threads") : String.valueOf(EngineOptions.defaultThreads())).split(",")) {
            try {
                threads.add(Integer.parseInt(t.trim()));
            } catch (NumberFormatException e) {
                throw new Main.UsageException("--threads takes positive integers, got '" + t + "'");
            }
        }
        Map<RnnSpec, Map<String, Tensor>> models = new LinkedHashMap<>();
        if (o.has("model")) {
            try (SafetensorsFile f = SafetensorsFile.open(Path.of(o.get("model")))) {
                ModelFile m = ModelFile.read(f, Main.overrides(o));
                Map<String, Tensor> sd = new LinkedHashMap<>();
                m.stateDict().forEach((k, v) -> sd.put(k, Tensor.of(v.toArray(), v.shape())));
                models.put(m.spec(), sd);
            }
        } else {
            for (String s : o.get("shapes").split(",")) {
                RnnSpec spec = Shapes.get(s.trim()).spec();
                models.putIfAbsent(spec, StateDicts.random(spec, 1));
            }
        }
        for (Map.Entry<RnnSpec, Map<String, Tensor>> e : models.entrySet()) {
            for (int t : threads) {
                out.print(RnnModel.tune(e.getKey(), e.getValue(), t));
            }
        }
        return 0;
    }
}
