package dev.rnnengine.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.text.SentenceClassifier;
import dev.rnnengine.text.WordVectors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Jazzer fuzz tests of the text readers: word vectors (word2vec binary and text, GloVe) and a
 * classifier file with texts, classified on a backend the input picks and compared with the
 * scalar backend. Only the documented refusals (IOException for files; IllegalArgumentException
 * for a batch too large) are allowed; any other exception, a crash or a disagreement is a finding.
 * {@code tools/make_fuzz_seeds.py} seeds both with valid inputs.
 */
class TextFuzzTest {
    /** {@code data} is [format: 0 word2vec binary, 1 word2vec text, 2 GloVe][file]. */
    @FuzzTest(maxDuration = "30s")
    void wordVectorsRefuseOrRead(byte[] data) throws IOException {
        if (data.length < 1) {
            return;
        }
        Path p = Files.createTempFile("fuzz", ".vec");
        try {
            Files.write(p, Arrays.copyOfRange(data, 1, data.length));
            try {
                WordVectors w = switch (data[0] & 3) {
                    case 0 -> WordVectors.readWord2VecBinary(p);
                    case 1 -> WordVectors.readWord2VecText(p);
                    default -> WordVectors.readGlove(p);
                };
                assertEquals((long) w.words().size() * w.dim(), w.vectors().length, "one vector per word");
                w.embeddingWithSpecials();
            } catch (IOException e) {
                // refused with a message: fine
            }
        } finally {
            Files.deleteIfExists(p);
        }
    }

    private static final List<String> BACKENDS = dev.rnnengine.Fixtures.expectedBackends();

    /** {@code data} is [backend index][model length, 3 bytes big-endian][classifier file][texts, one per line]. */
    @FuzzTest(maxDuration = "30s")
    void classifierRefusesOrClassifies(byte[] data) throws IOException {
        if (data.length < 4) {
            return;
        }
        String backend = BACKENDS.get((data[0] & 0xff) % BACKENDS.size());
        int modelLength = (data[1] & 0xff) << 16 | (data[2] & 0xff) << 8 | data[3] & 0xff;
        int cut = (int) Math.min(data.length, 4L + modelLength);
        Path model = Files.createTempFile("fuzz-classifier", ".safetensors");
        try {
            Files.write(model, Arrays.copyOfRange(data, 4, cut));
            List<String> texts = new String(data, cut, data.length - cut, StandardCharsets.UTF_8).lines().limit(64).toList();
            if (texts.stream().mapToLong(String::length).sum() > 20_000) {
                return; // bounded time per input
            }
            try (SentenceClassifier c = SentenceClassifier.load(model, new EngineOptions(backend, 1));
                 SentenceClassifier ref = SentenceClassifier.load(model, new EngineOptions("scalar", 1))) {
                List<SentenceClassifier.Prediction> got = c.classify(texts);
                List<SentenceClassifier.Prediction> want = ref.classify(texts);
                int steps = texts.stream().mapToInt(t -> c.tokens(t).size()).max().orElse(0);
                double tol;
                try (dev.rnnengine.io.SafetensorsFile f = dev.rnnengine.io.SafetensorsFile.open(model)) {
                    tol = Conditioning.tolerance(f, "", steps);
                }
                if (Double.isNaN(tol)) {
                    return; // it ran without a crash; its answers are not comparable (see Conditioning)
                }
                for (int i = 0; i < texts.size(); i++) {
                    float[] g = got.get(i).probabilities();
                    float[] w = want.get(i).probabilities();
                    for (int k = 0; k < g.length; k++) {
                        // Same weights, same tokens: the backends agree within the rounding the recurrence allows.
                        if (!(Float.isNaN(g[k]) && Float.isNaN(w[k])) && !(Math.abs(g[k] - w[k]) <= tol)) {
                            throw new AssertionError(backend + " vs scalar, text " + i + " label " + k + ": " + g[k] + " vs " + w[k]);
                        }
                    }
                }
            } catch (IOException | IllegalArgumentException e) {
                // refused with a message: fine
            }
        } finally {
            Files.deleteIfExists(model);
        }
    }
}
