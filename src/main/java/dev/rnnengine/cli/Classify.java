package dev.rnnengine.cli;

import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.MalformedFileException;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.SafetensorsWriter;
import dev.rnnengine.io.UserFiles;
import dev.rnnengine.text.SentenceClassifier;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code rnn classify}: logits for token ids (file to file), or labels for texts. */
final class Classify {
    private Classify() { }

    /** Texts scored per batch: bounds the padded batch (N x longest x embedding) and keeps stdin streaming. */
    static final int CHUNK = 256;

    static int run(Main.Options o, java.io.InputStream stdin, PrintStream out) throws IOException, Main.UsageException {
        Path model = Path.of(o.require("model"));
        if (o.has("input") && o.has("text")) {
            throw new Main.UsageException("give --input (token ids) or --text, not both");
        }
        if (o.has("input") != o.has("output")) {
            throw new Main.UsageException("--input and --output go together");
        }
        if (o.has("output")) {
            UserFiles.checkOutput(Path.of(o.get("output")), model, Path.of(o.get("input")));
        }
        try (SentenceClassifier c = SentenceClassifier.load(model, Main.engineOptions(o))) {
            if (o.has("input")) {
                logits(c, Path.of(o.get("input")), Path.of(o.get("output")));
                return 0;
            }
            List<String> texts = o.all("text");
            if (!texts.isEmpty()) {
                print(c, texts, out);
                return 0;
            }
            UserFiles.LineReader r = new UserFiles.LineReader(stdin, "stdin");
            List<String> chunk = new ArrayList<>();
            for (String l; (l = r.next()) != null; ) {
                chunk.add(l);
                if (chunk.size() == CHUNK) {
                    print(c, chunk, out);
                    chunk.clear();
                }
            }
            if (r.number() == 0) {
                throw new Main.UsageException("no text: give --text \"...\" or lines on stdin");
            }
            print(c, chunk, out);
            return 0;
        }
    }

    /**
     * One row per text, in order: the text, the label, its probability, then every label's
     * probability; a text without tokens (a blank line) gets empty label and probability fields.
     */
    static void print(SentenceClassifier c, List<String> texts, PrintStream out) {
        List<SentenceClassifier.Prediction> ps = c.classify(texts);
        for (int i = 0; i < texts.size(); i++) {
            SentenceClassifier.Prediction p = ps.get(i);
            if (!p.hasTokens()) {
                Tsv.row(out, texts.get(i), "", "", "");
                continue;
            }
            StringBuilder all = new StringBuilder();
            for (int j = 0; j < p.labels().size(); j++) {
                all.append(j == 0 ? "" : " ").append(p.labels().get(j)).append('=')
                    .append(String.format(Locale.ROOT, "%.3f", p.probabilities()[j]));
            }
            Tsv.row(out, texts.get(i), p.label(), String.format(Locale.ROOT, "%.3f", p.probabilities()[p.index()]),
                all.toString());
        }
    }

    private static void logits(SentenceClassifier c, Path input, Path output) throws IOException {
        long[] tokens;
        long[] lengths;
        int batch;
        int seqLen;
        try (SafetensorsFile in = SafetensorsFile.open(input)) {
            if (!in.contains("tokens") || !in.contains("lengths")) {
                throw new MalformedFileException(input, "needs 'tokens' (I64, (N, T)) and 'lengths' (I64, (N))");
            }
            int[] ts = in.info("tokens").shape();
            int[] ls = in.info("lengths").shape();
            if (ts.length != 2 || ls.length != 1 || ls[0] != ts[0]) {
                throw new MalformedFileException(input, "tokens " + java.util.Arrays.toString(ts) + " and lengths "
                    + java.util.Arrays.toString(ls) + " must be (N, T) and (N)");
            }
            batch = ts[0];
            seqLen = ts[1];
            tokens = in.longs("tokens");
            lengths = in.longs("lengths");
        }
        int[] len = new int[batch];
        for (int i = 0; i < batch; i++) {
            if (lengths[i] < 1 || lengths[i] > seqLen) {
                throw new IllegalArgumentException("lengths[" + i + "] = " + lengths[i] + " is outside 1.." + seqLen);
            }
            len[i] = (int) lengths[i];
        }
        float[] logits = c.logits(tokens, batch, seqLen, len);
        new SafetensorsWriter().put("logits", Tensor.of(logits, batch, c.labels().size())).write(output);
    }
}
