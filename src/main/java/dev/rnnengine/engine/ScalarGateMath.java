package dev.rnnengine.engine;

/** {@link GateMath} in plain Java; also the tail of the vectorised version. */
public final class ScalarGateMath implements GateMath {
    @Override
    public void lstm(float[] xp, int xpAt, float[] gh, int ghAt, float[] c, int cAt, float[] h, int hAt, int hidden) {
        lstmRange(xp, xpAt, gh, ghAt, c, cAt, h, hAt, hidden, 0, hidden);
    }

    @Override
    public void gru(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
                    float[] h, int hAt, int hidden) {
        gruRange(xp, xpAt, gh, ghAt, bhn, hPrev, hPrevAt, h, hAt, hidden, 0, hidden);
    }

    @Override
    public void rnn(float[] xp, int xpAt, float[] gh, int ghAt, boolean relu, float[] h, int hAt, int hidden) {
        rnnRange(xp, xpAt, gh, ghAt, relu, h, hAt, 0, hidden);
    }

    /** LSTM units {@code [from, to)}. */
    public static void lstmRange(float[] xp, int xpAt, float[] gh, int ghAt, float[] c, int cAt, float[] h, int hAt,
                                 int hidden, int from, int to) {
        for (int j = from; j < to; j++) {
            float i = sigmoid(xp[xpAt + j] + gh[ghAt + j]);
            float f = sigmoid(xp[xpAt + hidden + j] + gh[ghAt + hidden + j]);
            float g = (float) Math.tanh(xp[xpAt + 2 * hidden + j] + gh[ghAt + 2 * hidden + j]);
            float o = sigmoid(xp[xpAt + 3 * hidden + j] + gh[ghAt + 3 * hidden + j]);
            float cNew = f * c[cAt + j] + i * g;
            c[cAt + j] = cNew;
            h[hAt + j] = o * (float) Math.tanh(cNew);
        }
    }

    /** GRU units {@code [from, to)}. */
    public static void gruRange(float[] xp, int xpAt, float[] gh, int ghAt, float[] bhn, float[] hPrev, int hPrevAt,
                                float[] h, int hAt, int hidden, int from, int to) {
        for (int j = from; j < to; j++) {
            float r = sigmoid(xp[xpAt + j] + gh[ghAt + j]);
            float z = sigmoid(xp[xpAt + hidden + j] + gh[ghAt + hidden + j]);
            float hn = gh[ghAt + 2 * hidden + j] + (bhn == null ? 0f : bhn[j]);
            float n = (float) Math.tanh(xp[xpAt + 2 * hidden + j] + r * hn);
            h[hAt + j] = (1 - z) * n + z * hPrev[hPrevAt + j];
        }
    }

    /** RNN units {@code [from, to)}. */
    public static void rnnRange(float[] xp, int xpAt, float[] gh, int ghAt, boolean relu, float[] h, int hAt,
                                int from, int to) {
        for (int j = from; j < to; j++) {
            float pre = xp[xpAt + j] + gh[ghAt + j];
            h[hAt + j] = relu ? Math.max(0f, pre) : (float) Math.tanh(pre);
        }
    }

    private static float sigmoid(float v) {
        return (float) (1 / (1 + Math.exp(-v)));
    }
}
