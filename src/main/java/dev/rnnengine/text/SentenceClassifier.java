package dev.rnnengine.text;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.Json;
import dev.rnnengine.io.MalformedFileException;
import dev.rnnengine.io.ModelFile;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.internal.Sizes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A sentence classifier: tokens, embedding, an RNN encoder, pooling, a linear head, softmax
 * (sigmoid for one output). Loaded from a classifier file (docs/classification.md: classifier file contract);
 * runs on any backend; safe to share between threads; {@link #close()} frees the encoder.
 */
public final class SentenceClassifier implements AutoCloseable {
    private final Embedding embedding;
    private final RnnModel encoder;
    private final RnnSpec spec;
    private final Pooling pooling;
    private final Tokenizer tokenizer;
    private final boolean lowercase;
    private final Vocabulary vocab;
    private final List<String> labels;
    private final float[] fcWeight; // (C, F)
    private final float[] fcBias;   // (C)
    private final int features;

    /**
     * One text's answer: the best label and every label's probability; for a text without
     * tokens (blank), {@code label} is null, {@code index} -1 and the probabilities NaN.
     */
    public record Prediction(String label, int index, List<String> labels, float[] probabilities) {
        /** False for a text without tokens, which has no answer. */
        public boolean hasTokens() {
            return index >= 0;
        }
    }

    private SentenceClassifier(Embedding embedding, RnnModel encoder, Pooling pooling, Tokenizer tokenizer,
                               boolean lowercase, Vocabulary vocab, List<String> labels, float[] fcWeight,
                               float[] fcBias) {
        this.embedding = embedding;
        this.encoder = encoder;
        this.spec = encoder.spec();
        this.pooling = pooling;
        this.tokenizer = tokenizer;
        this.lowercase = lowercase;
        this.vocab = vocab;
        this.labels = labels;
        this.fcWeight = fcWeight;
        this.fcBias = fcBias;
        this.features = spec.directions() * spec.outputHiddenSize();
    }

    /**
     * Loads a classifier file.
     *
     * @throws IOException if the file cannot be read
     * @throws MalformedFileException if it breaks the classifier file contract (the message says what)
     * @throws UnsupportedOperationException if the chosen backend cannot run here
     * @throws IllegalArgumentException if the options name an unknown backend
     */
    public static SentenceClassifier load(Path file, EngineOptions options) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            ModelFile rnn = ModelFile.read(f, Map.of(), "rnn.");
            RnnSpec spec = rnn.spec();
            Tensor emb = f.floats("embedding.weight");
            if (emb.dim() != 2 || emb.size(1) != spec.inputSize()) {
                throw new MalformedFileException(file, "embedding.weight " + emb.shapeString() + " must be (V, "
                    + spec.inputSize() + "), the RNN's input_size");
            }
            Tensor w = f.floats("fc.weight");
            Tensor b = f.floats("fc.bias");
            int width = spec.directions() * spec.outputHiddenSize();
            if (w.dim() != 2 || w.size(1) != width || b.dim() != 1 || b.size(0) != w.size(0)) {
                throw new MalformedFileException(file, "fc.weight " + w.shapeString() + " and fc.bias " + b.shapeString()
                    + " must be (C, " + width + ") and (C)");
            }
            List<String> labels = stringList(file, meta, "labels");
            if (labels.size() != w.size(0)) {
                throw new MalformedFileException(file, "metadata labels has " + labels.size() + " names for "
                    + w.size(0) + " outputs");
            }
            List<String> tokens = stringList(file, meta, "vocab");
            if (tokens.size() != emb.size(0)) {
                throw new MalformedFileException(file, "metadata vocab has " + tokens.size() + " tokens for "
                    + emb.size(0) + " embedding rows");
            }
            Vocabulary vocab;
            Pooling pooling;
            Tokenizer tokenizer;
            boolean lowercase;
            try {
                vocab = new Vocabulary(tokens, intMeta(file, meta, "unk_index"), intMeta(file, meta, "pad_index"));
                pooling = Pooling.of(require(file, meta, "pooling"));
                tokenizer = Tokenizer.of(require(file, meta, "tokenizer"));
                // Files from before this key: word lower-cased, char did not.
                lowercase = flagMeta(file, meta, "lowercase", tokenizer == Tokenizer.WORD);
            } catch (IllegalArgumentException e) {
                throw new MalformedFileException(file, e.getMessage());
            }
            Embedding embedding = new Embedding(emb.toArray(), emb.size(0), emb.size(1));
            RnnModel encoder;
            try {
                encoder = RnnModel.create(rnn, options);
            } catch (IllegalArgumentException e) {
                if (e.getMessage() != null && e.getMessage().startsWith("unknown backend")) {
                    throw e;
                }
                throw new MalformedFileException(file, "rnn.*: " + e.getMessage());
            }
            return new SentenceClassifier(embedding, encoder, pooling, tokenizer, lowercase, vocab, labels, w.toArray(),
                b.toArray());
        }
    }

    private static String require(Path file, Map<String, String> meta, String key) throws MalformedFileException {
        String v = meta.get(key);
        if (v == null) {
            throw new MalformedFileException(file, "metadata '" + key + "' is missing");
        }
        return v;
    }

    private static boolean flagMeta(Path file, Map<String, String> meta, String key, boolean absent)
            throws MalformedFileException {
        String v = meta.get(key);
        if (v == null) {
            return absent;
        }
        return switch (v.trim()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new MalformedFileException(file, "metadata " + key + "='" + v + "' is not true or false");
        };
    }

    private static int intMeta(Path file, Map<String, String> meta, String key) throws MalformedFileException {
        String v = require(file, meta, key);
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new MalformedFileException(file, "metadata " + key + "='" + v + "' is not an integer");
        }
    }

    private static List<String> stringList(Path file, Map<String, String> meta, String key) throws MalformedFileException {
        Object v;
        try {
            v = Json.parse(require(file, meta, key));
        } catch (IllegalArgumentException e) {
            throw new MalformedFileException(file, "metadata " + key + " is not JSON: " + e.getMessage());
        }
        if (!(v instanceof List<?> l) || l.isEmpty() || !l.stream().allMatch(s -> s instanceof String)) {
            throw new MalformedFileException(file, "metadata " + key + " must be a non-empty JSON list of strings");
        }
        List<String> out = new ArrayList<>();
        for (Object o : l) {
            out.add((String) o);
        }
        return out;
    }

    /**
     * The class names, index = output.
     *
     * @throws IllegalStateException if closed
     */
    public List<String> labels() {
        checkOpen();
        return labels;
    }

    /**
     * The encoder's backend.
     *
     * @throws IllegalStateException if closed
     */
    public String backendName() {
        return encoder.backendName();
    }

    /**
     * The tokenizer the file names.
     *
     * @throws IllegalStateException if closed
     */
    public Tokenizer tokenizer() {
        checkOpen();
        return tokenizer;
    }

    /**
     * Whether texts are lower-cased before tokenizing (the file's {@code lowercase}).
     *
     * @throws IllegalStateException if closed
     */
    public boolean lowercase() {
        checkOpen();
        return lowercase;
    }

    /**
     * A text's tokens as this classifier sees them: lower-cased if the file says so, then split
     * by its tokenizer (what the training script did: {@code tools/text_ref.py}).
     *
     * @throws IllegalStateException if closed
     */
    public List<String> tokens(String text) {
        checkOpen();
        return tokenizer.tokenize(text, lowercase);
    }

    /**
     * The vocabulary.
     *
     * @throws IllegalStateException if closed
     */
    public Vocabulary vocabulary() {
        checkOpen();
        return vocab;
    }

    /**
     * Logits for a padded batch of token ids.
     *
     * @param tokens  {@code (N, T)} ids, row-major; entries past each length are ignored
     * @param batch   N
     * @param seqLen  T
     * @param lengths each sequence's length, 1..T
     * @return {@code (N, C)} row-major
     * @throws IllegalArgumentException if sizes disagree, a length is outside 1..T or an id outside the vocabulary
     * @throws IllegalStateException if closed
     */
    public float[] logits(long[] tokens, int batch, int seqLen, int[] lengths) {
        checkOpen();
        if (batch < 1 || seqLen < 1 || (long) batch * seqLen != tokens.length) {
            throw new IllegalArgumentException("tokens has " + tokens.length + " ids, not (" + batch + ", " + seqLen + ")");
        }
        if (lengths.length != batch) {
            throw new IllegalArgumentException("lengths has " + lengths.length + " entries for a batch of " + batch);
        }
        int e = embedding.dim();
        float[] x = new float[Sizes.elements("the embedded batch (N x T x embedding)", batch, seqLen, e)];
        for (int n = 0; n < batch; n++) {
            if (lengths[n] < 1 || lengths[n] > seqLen) {
                throw new IllegalArgumentException("lengths[" + n + "] = " + lengths[n] + " is outside 1.." + seqLen);
            }
            for (int t = 0; t < seqLen; t++) {
                long id = t < lengths[n] ? tokens[n * seqLen + t] : vocab.padIndex();
                int row = spec.batchFirst() ? n * seqLen + t : t * batch + n;
                embedding.lookup(id, x, row * e);
            }
        }
        Tensor in = spec.batchFirst() ? Tensor.of(x, batch, seqLen, e) : Tensor.of(x, seqLen, batch, e);
        boolean full = Arrays.stream(lengths).allMatch(l -> l == seqLen);
        RnnOutput r = encoder.forward(in, null, null, full ? null : lengths);
        float[] pooled = new float[batch * features];
        pooling.pool(spec, r, lengths, pooled);
        float[] out = new float[batch * labels.size()];
        for (int n = 0; n < batch; n++) {
            head(pooled, n * features, out, n * labels.size());
        }
        return out;
    }

    /**
     * Tokenizes, classifies and returns each text's label and probabilities, in order: softmax
     * over the classes, or for a single output its sigmoid, the probability of its one label.
     * A text without tokens gets a {@link Prediction} without an answer ({@link Prediction#hasTokens()}).
     *
     * @throws IllegalArgumentException if the padded batch would be too large for one array
     * @throws IllegalStateException if closed
     */
    public List<Prediction> classify(List<String> texts) {
        checkOpen();
        List<List<String>> toks = new ArrayList<>();
        int seqLen = 1;
        int scored = 0;
        for (String t : texts) {
            List<String> k = tokens(t);
            toks.add(k);
            seqLen = Math.max(seqLen, k.size());
            scored += k.isEmpty() ? 0 : 1;
        }
        long[] ids = new long[Sizes.elements("the padded token ids (N x T)", scored, seqLen)];
        int[] lengths = new int[scored];
        int n = 0;
        for (List<String> k : toks) {
            if (k.isEmpty()) {
                continue;
            }
            lengths[n] = k.size();
            Arrays.fill(ids, n * seqLen, (n + 1) * seqLen, vocab.padIndex());
            for (int t = 0; t < k.size(); t++) {
                ids[n * seqLen + t] = vocab.id(k.get(t));
            }
            n++;
        }
        float[] logits = scored == 0 ? new float[0] : logits(ids, scored, seqLen, lengths);
        int c = labels.size();
        List<Prediction> out = new ArrayList<>();
        n = 0;
        for (List<String> k : toks) {
            if (k.isEmpty()) {
                out.add(noAnswer());
                continue;
            }
            out.add(predict(logits, n * c));
            n++;
        }
        return out;
    }

    /** The linear head on one pooled row: logits to {@code out[at..at+C)}. */
    private void head(float[] pooled, int from, float[] out, int at) {
        for (int k = 0; k < labels.size(); k++) {
            double acc = fcBias[k];
            for (int j = 0; j < features; j++) {
                acc += (double) fcWeight[k * features + j] * pooled[from + j];
            }
            out[at + k] = (float) acc;
        }
    }

    /**
     * The prediction for one row of {@link #logits}: softmax over {@code logits[at..at+C)}
     * (sigmoid for one output) and the best label.
     *
     * @throws IndexOutOfBoundsException if the row lies outside {@code logits}
     * @throws IllegalStateException if closed
     */
    public Prediction predict(float[] logits, int at) {
        checkOpen();
        int c = labels.size();
        java.util.Objects.checkFromIndexSize(at, c, logits.length);
        float[] p = new float[c];
        int best = 0;
        if (c == 1) {
            p[0] = (float) (1 / (1 + Math.exp(-logits[at])));
        } else {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) {
                max = Math.max(max, logits[at + j]);
            }
            double sum = 0;
            for (int j = 0; j < c; j++) {
                sum += Math.exp(logits[at + j] - max);
            }
            for (int j = 0; j < c; j++) {
                p[j] = (float) (Math.exp(logits[at + j] - max) / sum);
                best = p[j] > p[best] ? j : best;
            }
        }
        return new Prediction(labels.get(best), best, labels, p);
    }

    private Prediction noAnswer() {
        float[] p = new float[labels.size()];
        Arrays.fill(p, Float.NaN);
        return new Prediction(null, -1, labels, p);
    }

    /**
     * A text classified as it arrives, token by token through the encoder's {@link RnnModel#step}
     * (each token costs one step, not a pass over the whole text again).
     *
     * @throws UnsupportedOperationException if the encoder is bidirectional (its reverse pass needs the whole text)
     * @throws IllegalStateException if closed
     */
    public Stream newStream() {
        checkOpen();
        return new Stream();
    }

    /**
     * One text streamed through the classifier: {@link #prediction()} after feeding a text's
     * tokens is what {@link #classify} gives for the whole text. Belongs to one thread at a time
     * (like {@link dev.rnnengine.api.RnnState}); any number of streams may run concurrently.
     */
    public final class Stream {
        private final dev.rnnengine.api.RnnState state = encoder.newState(1);
        private final float[] x = new float[embedding.dim()];
        private final Tensor xView = Tensor.of(x, 1, embedding.dim());
        private final float[] pooled = new float[features]; // LAST: the top state; MEAN: the sum; MAX: the max
        private final float[] logits = new float[labels.size()];
        private final float[] mean = new float[features]; // MEAN: the running sum / count, reused
        private int count;

        private Stream() {
            reset();
        }

        /**
         * Tokenizes a piece of text and feeds its tokens; returns the prediction so far. Pieces
         * should end between tokens (whole words for the word tokenizer): a word split across two
         * pieces is read as two tokens.
         *
         * @throws IllegalStateException if the classifier is closed
         */
        public Prediction feed(String text) {
            for (String t : tokens(text)) {
                feedToken(vocab.id(t));
            }
            return prediction();
        }

        /**
         * Feeds one token id (one encoder step).
         *
         * @throws IllegalArgumentException if the id is outside the vocabulary
         * @throws IllegalStateException if the classifier is closed, or another thread is feeding this stream
         */
        public void feedToken(long id) {
            embedding.lookup(id, x, 0);
            Tensor y = encoder.step(xView, state);
            for (int j = 0; j < features; j++) {
                float v = y.get(j);
                pooled[j] = switch (pooling) {
                    case LAST -> v;
                    case MEAN -> pooled[j] + v;
                    case MAX -> Math.max(pooled[j], v);
                };
            }
            count++;
        }

        /**
         * The tokens fed since the start or the last {@link #reset()}.
         */
        public int tokenCount() {
            return count;
        }

        /**
         * The prediction for the tokens fed so far; without tokens, a prediction without an answer.
         *
         * @throws IllegalStateException if the classifier is closed
         */
        public Prediction prediction() {
            checkOpen();
            if (count == 0) {
                return noAnswer();
            }
            if (pooling == Pooling.MEAN) {
                for (int j = 0; j < features; j++) {
                    mean[j] = pooled[j] / count;
                }
                head(mean, 0, logits, 0);
            } else {
                head(pooled, 0, logits, 0);
            }
            return predict(logits, 0);
        }

        /**
         * Starts a new text.
         *
         * @throws IllegalStateException if the classifier is closed, or another thread is feeding this stream
         */
        public void reset() {
            state.reset();
            Arrays.fill(pooled, pooling == Pooling.MAX ? Float.NEGATIVE_INFINITY : 0f);
            count = 0;
        }
    }

    private void checkOpen() {
        if (encoder.isClosed()) {
            throw new IllegalStateException("the classifier is closed");
        }
    }

    /** Frees the encoder's resources; later calls throw {@link IllegalStateException}. */
    @Override
    public void close() {
        encoder.close();
    }
}
