package dev.rnnengine.cli;

import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.ModelFile;
import dev.rnnengine.io.OnnxExport;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.UserFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code rnn export --onnx --model M --output O.onnx}: a model file as an ONNX model
 * ({@link OnnxExport}) that ONNX Runtime runs with the same results.
 */
final class Export {
    private Export() { }

    static int run(Main.Options o, PrintStream out) throws Main.UsageException, IOException {
        if (!o.has("onnx")) {
            throw new Main.UsageException("export needs --onnx (the one format it writes)");
        }
        Path model = Path.of(o.require("model"));
        Path output = Path.of(o.require("output"));
        UserFiles.checkOutput(output, model);
        ModelFile mf;
        Map<String, Tensor> sd = new HashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(model)) {
            mf = ModelFile.read(f, Main.overrides(o), "");
            mf.stateDict().forEach((k, v) -> sd.put(k, Tensor.of(v.toArray(), v.shape()))); // views die with the file
        }
        byte[] onnx = OnnxExport.write(mf.spec(), sd);
        UserFiles.writeReplacing(output, ch -> {
            ByteBuffer b = ByteBuffer.wrap(onnx);
            while (b.hasRemaining()) {
                ch.write(b);
            }
        });
        out.printf("wrote %s: ONNX opset 17, %s, input 'input' %s, outputs 'output', 'h_n'%s (%,d bytes)%n", output,
            mf.spec().mode().moduleName(), mf.spec().batchFirst() ? "(N, T, D)" : "(T, N, D)",
            mf.spec().mode().hasCellState() ? ", 'c_n'" : "", onnx.length);
        return 0;
    }
}
