package dev.rnnengine.cli;

import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.MalformedFileException;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.SafetensorsWriter;
import dev.rnnengine.text.SentenceClassifier;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code rnn classify}: logits for token ids (file to file), or labels for texts. */
final class Classify {
    private Classify() { }

    static int run(Main.Options o, PrintStream out) throws IOException, Main.UsageException {
        Path model = Path.of(o.require("model"));
        if (o.has("input") && o.has("text")) {
            throw new Main.UsageException("give --input (token ids) or --text, not both");
        }
        if (o.has("input") != o.has("output")) {
            throw new Main.UsageException("--input and --output go together");
        }
        try (SentenceClassifier c = SentenceClassifier.load(model, Main.engineOptions(o))) {
            if (o.has("input")) {
                logits(c, Path.of(o.get("input")), Path.of(o.get("output")));
                return 0;
            }
            List<String> texts = new ArrayList<>(o.all("text"));
            if (texts.isEmpty()) {
                BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                for (String l; (l = r.readLine()) != null; ) {
                    if (!l.isBlank()) {
                        texts.add(l.strip());
                    }
                }
            }
            if (texts.isEmpty()) {
                throw new Main.UsageException("no text: give --text \"...\" or lines on stdin");
            }
            print(c, texts, out);
            return 0;
        }
    }

    /** One line per text: the text, the label, its probability, then every label's probability. */
    static void print(SentenceClassifier c, List<String> texts, PrintStream out) {
        List<SentenceClassifier.Prediction> ps = c.classify(texts);
        for (int i = 0; i < texts.size(); i++) {
            SentenceClassifier.Prediction p = ps.get(i);
            StringBuilder all = new StringBuilder();
            for (int k = 0; k < p.labels().size(); k++) {
                all.append(k == 0 ? "" : " ").append(p.labels().get(k)).append('=')
                    .append(String.format(Locale.ROOT, "%.3f", p.probabilities()[k]));
            }
            out.printf(Locale.ROOT, "%s\t%s\t%.3f\t%s%n", texts.get(i), p.label(), p.probabilities()[p.index()], all);
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
