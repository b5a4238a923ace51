package dev.rnnengine.cli;

import dev.rnnengine.core.Precision;
import dev.rnnengine.io.ModelFile;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.UserFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code rnn quantize --model M --precision int8|fp16 --output Q}: the model file with its weight
 * matrices as codes ({@link ModelFile#write}); Q loads in that precision without quantizing again.
 */
final class Quantize {
    private Quantize() { }

    static int run(Main.Options o, PrintStream out) throws Main.UsageException, IOException {
        Path model = Path.of(o.require("model"));
        Path output = Path.of(o.require("output"));
        Precision p;
        try {
            p = Precision.parse(o.require("precision"));
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException(e.getMessage());
        }
        if (p == Precision.FP32) {
            throw new Main.UsageException("--precision must be int8 or fp16: fp32 is the model file as it is");
        }
        UserFiles.checkOutput(output, model);
        double worst;
        ModelFile mf;
        try (SafetensorsFile f = SafetensorsFile.open(model)) {
            mf = ModelFile.read(f, Main.overrides(o));
            worst = mf.write(output, p); // reads the file's views, so before it closes
        }
        out.printf(Locale.ROOT, "wrote %s: %s, weight matrices in %s (%,d bytes, from %,d); largest |weight change| %.3g;"
            + " it loads in %s (rnn infer/info --model %s)%n", output, mf.spec().mode().moduleName(), p.label(),
            Files.size(output), Files.size(model), worst, p.label(), output);
        return 0;
    }
}
