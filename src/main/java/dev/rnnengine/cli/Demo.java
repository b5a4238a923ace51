package dev.rnnengine.cli;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.core.Precision;
import dev.rnnengine.engine.Backends;
import dev.rnnengine.text.SentenceClassifier;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;

/**
 * {@code rnn demo}: the shipped language-identification model (a character-level bidirectional
 * GRU trained on Debian's word lists, tools/train_langid.py) classifies a few words, then
 * every backend available here is timed on the same batch.
 */
final class Demo {
    static final String MODEL = "/dev/rnnengine/demo/langid.safetensors";
    static final List<String> WORDS = List.of("butterfly", "schmetterling", "papillon", "mariposa", "farfalla",
        "borboleta", "vlinder", "understanding", "verständnis", "compréhension", "comprensión", "entendimento",
        "begrip", "bicicletta", "fahrrad", "vélo");
    /** The language each of {@link #WORDS} is in. */
    static final List<String> TRUTH = List.of("english", "german", "french", "spanish", "italian", "portuguese",
        "dutch", "english", "german", "french", "spanish", "portuguese", "dutch", "italian", "german", "french");

    private Demo() { }

    static int run(Main.Options o, PrintStream out) throws Main.UsageException, IOException {
        EngineOptions base = Main.engineOptions(o);
        Path model = Files.createTempFile("rnn-langid", ".safetensors");
        try {
            try (InputStream in = Demo.class.getResourceAsStream(MODEL)) {
                if (in == null) {
                    throw new IOException("the demo model " + MODEL + " is missing from the class path");
                }
                Files.copy(in, model, StandardCopyOption.REPLACE_EXISTING);
            }
            List<SentenceClassifier.Prediction> reference;
            String referenceBackend;
            try (SentenceClassifier c = SentenceClassifier.load(model, base)) {
                referenceBackend = c.backendName();
                out.printf("rnn-engine demo: which language is a word in? (char-level bidirectional GRU, %d languages, "
                    + "backend %s)%n", c.labels().size(), c.backendName());
                Classify.print(c, WORDS, out);
                reference = c.classify(WORDS);
                int right = 0;
                for (int i = 0; i < WORDS.size(); i++) {
                    right += reference.get(i).label().equals(TRUTH.get(i)) ? 1 : 0;
                }
                out.printf("%d of %d right (the words' languages: %s)%n", right, WORDS.size(), String.join(" ", TRUTH));
            }
            if (base.precision() != Precision.FP32) { // what the reduced precision changed
                try (SentenceClassifier f = SentenceClassifier.load(model, base.withPrecision(Precision.FP32))) {
                    List<SentenceClassifier.Prediction> exact = f.classify(WORDS);
                    int same = 0;
                    double diff = 0;
                    for (int i = 0; i < WORDS.size(); i++) {
                        same += exact.get(i).label().equals(reference.get(i).label()) ? 1 : 0;
                        for (int k = 0; k < exact.get(i).probabilities().length; k++) {
                            diff = Math.max(diff, Math.abs(exact.get(i).probabilities()[k] - reference.get(i).probabilities()[k]));
                        }
                    }
                    out.printf("%s weights against fp32: %d of %d labels the same, max|diff| of probabilities %.2g%n",
                        base.precision().label(), same, WORDS.size(), diff);
                }
            }
            out.printf("%ntiming: the %d words as one padded batch, warm median of 21 calls%n", WORDS.size());
            String names = o.has("backend") ? base.backend() : String.join(",", Backends.NAMES);
            for (String name : names.split(",")) {
                Backends.Availability a = name.equals("auto") ? null : Backends.availability(name);
                if (a != null && !a.available()) {
                    out.printf("  %-9s unavailable: %s%n", name, a.reason());
                    continue;
                }
                if (a != null && !a.backend().precisions().contains(base.precision())) {
                    out.printf("  %-9s holds fp32 weights only%n", name);
                    continue;
                }
                try (SentenceClassifier c = SentenceClassifier.load(model, base.withBackend(name))) {
                    List<SentenceClassifier.Prediction> got = c.classify(WORDS);
                    long warmEnd = System.nanoTime() + 1_000_000_000L; // let C2 compile the kernels first
                    while (System.nanoTime() < warmEnd) {
                        c.classify(WORDS);
                    }
                    double[] ms = new double[21];
                    for (int i = 0; i < ms.length; i++) {
                        long t0 = System.nanoTime();
                        c.classify(WORDS);
                        ms[i] = (System.nanoTime() - t0) / 1e6;
                    }
                    Arrays.sort(ms);
                    double diff = 0;
                    for (int i = 0; i < got.size(); i++) {
                        for (int k = 0; k < got.get(i).probabilities().length; k++) {
                            diff = Math.max(diff, Math.abs(got.get(i).probabilities()[k] - reference.get(i).probabilities()[k]));
                        }
                    }
                    out.printf("  %-9s median %.3f ms per batch  max|diff| of probabilities vs %s's above %.2g%n",
                        c.backendName(), ms[ms.length / 2], referenceBackend, diff);
                }
            }
        } finally {
            Files.deleteIfExists(model);
        }
        return 0;
    }
}
