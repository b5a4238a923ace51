package dev.rnnengine.bench;

/**
 * One thing the harness times on one (shape, thread count): an engine backend or a peer.
 * Created with the shape's weights and input; {@link #output()} is checked against the
 * engine before any timing.
 */
interface Participant extends AutoCloseable {
    /** Its column in the report ({@code vector}, {@code ort}, {@code torch}, ...). */
    String name();

    /**
     * How far its output may be from the fp32 reference: 0 for fp32 (the golden tolerance),
     * else the bound of its precision.
     */
    default double tolerance() {
        return 0;
    }

    /**
     * The agreement bound for peers that quantize activations as well as weights (PyTorch's
     * {@code quantize_dynamic}, ONNX Runtime's DynamicQuantizeLSTM): loose enough for 8-bit
     * activations over a sequence, tight enough to catch a wrong model (whose outputs, in
     * (-1, 1), are off by the order of their size). The largest difference seen is reported.
     */
    double QUANTIZED_ACTIVATIONS = 0.2;

    /**
     * Runs {@code calls} calls and returns each one's time in milliseconds.
     *
     * @throws Exception if a call fails
     */
    double[] time(int calls) throws Exception;

    /**
     * The output {@code (T, N, dirs*H)} of one call, for the agreement check.
     *
     * @throws Exception if the call fails
     */
    float[] output() throws Exception;

    @Override
    void close() throws Exception;
}
