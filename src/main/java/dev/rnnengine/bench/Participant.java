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
