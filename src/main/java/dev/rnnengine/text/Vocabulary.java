package dev.rnnengine.text;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tokens to ids: the token at list index i has id i. Unknown tokens map to {@link #unkIndex()}.
 */
public final class Vocabulary {
    private final List<String> tokens;
    private final Map<String, Integer> ids = new HashMap<>();
    private final int unkIndex;
    private final int padIndex;

    /**
     * @param tokens   the tokens, index = id (duplicates keep their first id)
     * @param unkIndex the id of out-of-vocabulary tokens
     * @param padIndex the id that fills a batch past each sequence's end
     * @throws IllegalArgumentException if an index lies outside the vocabulary
     */
    public Vocabulary(List<String> tokens, int unkIndex, int padIndex) {
        this.tokens = List.copyOf(tokens);
        for (int i = 0; i < this.tokens.size(); i++) {
            ids.putIfAbsent(this.tokens.get(i), i);
        }
        if (unkIndex < 0 || unkIndex >= this.tokens.size() || padIndex < 0 || padIndex >= this.tokens.size()) {
            throw new IllegalArgumentException("unk_index " + unkIndex + " and pad_index " + padIndex
                + " must lie in a vocabulary of " + this.tokens.size());
        }
        this.unkIndex = unkIndex;
        this.padIndex = padIndex;
    }

    /** The id of a token, or {@link #unkIndex()}. */
    public int id(String token) {
        Integer i = ids.get(token);
        return i == null ? unkIndex : i;
    }

    /** Number of ids. */
    public int size() {
        return tokens.size();
    }

    /** The id of out-of-vocabulary tokens. */
    public int unkIndex() {
        return unkIndex;
    }

    /** The padding id. */
    public int padIndex() {
        return padIndex;
    }
}
