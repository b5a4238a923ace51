package dev.rnnengine.bench;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.Map;

/** ONNX Runtime Java in this JVM, on an ONNX model {@link dev.rnnengine.io.OnnxExport} built from the engine's weights. */
public final class OrtParticipant implements Participant {
    private final OrtRunner ort;
    private final String name;

    /** {@code ort}: the fp32 model; {@code ort:int8}: its int8 LSTM ({@code DynamicQuantizeLSTM}) on the same weights. */
    OrtParticipant(String name, RnnSpec spec, Map<String, Tensor> sd, Tensor x, int threads) throws Exception {
        this.name = name;
        this.ort = new OrtRunner(name.equals("ort:int8")
            ? dev.rnnengine.io.OnnxExport.writeDynamicInt8(spec, sd, x.size(0), x.size(1))
            : dev.rnnengine.io.OnnxExport.write(spec, sd, x.size(0), x.size(1)), x, threads);
    }

    /**
     * Null when ONNX Runtime is on the class path, else why not.
     *
     * @return null, or the reason
     */
    public static String unavailable() {
        try {
            Class.forName("ai.onnxruntime.OrtEnvironment");
            return null;
        } catch (ClassNotFoundException | LinkageError e) {
            return "com.microsoft.onnxruntime:onnxruntime is not on the class path (bin/rnn puts it there)";
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public double tolerance() {
        return name.equals("ort:int8") ? Participant.QUANTIZED_ACTIVATIONS : 0;
    }

    @Override
    public double[] time(int calls) throws Exception {
        double[] ms = new double[calls];
        for (int i = 0; i < calls; i++) {
            long t0 = System.nanoTime();
            ort.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return ms;
    }

    @Override
    public float[] output() throws Exception {
        return ort.run();
    }

    @Override
    public void close() throws Exception {
        ort.close();
    }
}
