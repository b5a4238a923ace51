package dev.rnnengine.engine;

/**
 * The element-wise part of a step, for backends whose matrix products come from elsewhere
 * (OpenBLAS, oneDNN's leftovers): one row, PyTorch's gate layout {@code [g][H]}.
 * {@code xp} holds W_ih x + b_ih + b_hh (GRU's n block: W_in x + b_in only), {@code gh} holds
 * W_hh h without bias and is scratch: implementations may overwrite it. {@link #best()} is the
 * Vector API version when the vector backend can run here, else {@link ScalarGateMath}.
 */
public interface GateMath {
    /** LSTM: c = f*c + i*g; h = o*tanh(c). */
    void lstm(float[] xp, int xpAt, float[] gh, int ghAt, float[] c, int cAt, float[] h, int hAt, int hidden);

    /** GRU: n = tanh(xp_n + r*(gh_n + b_hn)); h = (1-z)*n + z*hPrev. {@code bhn} may be null. */
    void gru(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
             float[] h, int hAt, int hidden);

    /** Vanilla RNN: h = act(xp + gh). */
    void rnn(float[] xp, int xpAt, float[] gh, int ghAt, boolean relu, float[] h, int hAt, int hidden);

    /** The fastest implementation this JVM can run. */
    static GateMath best() {
        return Holder.BEST;
    }

    /** Chosen once, by class name, so this interface never links the incubator module. */
    final class Holder {
        static final GateMath BEST = choose();

        private Holder() { }

        private static GateMath choose() {
            if (Backends.availability("vector").available()) {
                try {
                    return (GateMath) Class.forName("dev.rnnengine.backend.vector.VectorGateMath")
                        .getDeclaredConstructor().newInstance();
                } catch (ReflectiveOperationException | LinkageError e) {
                    return new ScalarGateMath();
                }
            }
            return new ScalarGateMath();
        }
    }
}
