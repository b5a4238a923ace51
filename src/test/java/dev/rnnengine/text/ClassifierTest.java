package dev.rnnengine.text;

import dev.rnnengine.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.MalformedFileException;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.SafetensorsWriter;
import dev.rnnengine.text.SentenceClassifier;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Classifiers built in PyTorch (tools/make_classifier_cases.py): logits on padded batches, every backend. */
class ClassifierTest {
    private static final AtomicInteger CHECKED = new AtomicInteger();

    @TempDir
    Path dir;

    /** A classifier case: token ids (N, T), lengths, and PyTorch's logits. */
    record Case(long[] tokens, long[] lengths, int[] shape, Tensor expected) {
        static Case read(Path c) throws IOException {
            try (SafetensorsFile in = SafetensorsFile.open(c.resolve("input.safetensors"));
                 SafetensorsFile exp = SafetensorsFile.open(c.resolve("expected.safetensors"))) {
                return new Case(in.longs("tokens"), in.longs("lengths"), in.info("tokens").shape(), exp.floats("logits"));
            }
        }
    }

    static Stream<Arguments> runs() {
        return Fixtures.classifierCases().stream().flatMap(c -> Fixtures.configs().stream().map(cfg -> Arguments.of(c.getFileName().toString(), cfg)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("runs")
    void logitsMatchPyTorch(String name, Fixtures.Config cfg) throws IOException {
        Path c = Fixtures.classifierCases().stream().filter(p -> p.getFileName().toString().equals(name)).findFirst().orElseThrow();
        Case k = Case.read(c);
        long[] tokens = k.tokens();
        long[] lengths = k.lengths();
        int[] shape = k.shape();
        Tensor expected = k.expected();
        int[] len = new int[lengths.length];
        for (int i = 0; i < len.length; i++) {
            len[i] = (int) lengths[i];
        }
        try (SentenceClassifier m = SentenceClassifier.load(c.resolve("model.safetensors"),
                new EngineOptions(cfg.backend(), cfg.threads()))) {
            assertEquals(cfg.backend(), m.backendName());
            float[] got = m.logits(tokens, shape[0], shape[1], len);
            Fixtures.assertClose("logits", expected, Tensor.of(got, expected.shape()));
        }
        CHECKED.incrementAndGet();
    }

    @AfterAll
    static void everyCaseRanOnEveryBackend() {
        assertTrue(Fixtures.classifierCases().size() >= 7, "classifier cases: " + Fixtures.classifierCases());
        assertEquals(Fixtures.classifierCases().size() * Fixtures.configs().size(), CHECKED.get());
    }

    @Test
    void textsAreTokenizedPaddedAndScored() throws IOException {
        Path model = Fixtures.classifierCases().get(0).resolve("model.safetensors"); // char tokenizer, vocab a..t
        try (SentenceClassifier m = SentenceClassifier.load(model, new EngineOptions("scalar", 1))) {
            List<SentenceClassifier.Prediction> p = m.classify(List.of("abc", "a", "tsz!"));
            assertEquals(3, p.size());
            for (SentenceClassifier.Prediction x : p) {
                double sum = 0;
                for (float v : x.probabilities()) {
                    sum += v;
                }
                assertEquals(1.0, sum, 1e-5);
            }
            // z, ! and ? are out of the vocabulary (<pad>, <unk>, a..t): all score as <unk>.
            org.junit.jupiter.api.Assertions.assertArrayEquals(m.classify(List.of("ts??")).get(0).probabilities(),
                m.classify(List.of("tsz!")).get(0).probabilities());
            org.junit.jupiter.api.Assertions.assertArrayEquals(m.logits(new long[] {21, 20, 1, 1}, 1, 4, new int[] {4}),
                m.logits(new long[] {21, 20, 1, 1, 0, 0}, 1, 6, new int[] {4}), "padding past the length changes nothing");
            // A text without tokens has no answer (and does not fail the others in its batch).
            List<SentenceClassifier.Prediction> blank = m.classify(List.of("", "abc"));
            assertTrue(!blank.get(0).hasTokens() && blank.get(0).label() == null
                && Float.isNaN(blank.get(0).probabilities()[0]), "a blank text");
            org.junit.jupiter.api.Assertions.assertArrayEquals(p.get(0).probabilities(), blank.get(1).probabilities(),
                "the other text of the batch is scored as alone");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.logits(new long[] {99}, 1, 1, new int[] {1}));
            assertTrue(e.getMessage().contains("token id 99"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> m.logits(new long[] {2, 3}, 1, 2, new int[] {0}));
        }
    }

    /**
     * The demo model was trained on lower-cased words and its file says lowercase=true: the
     * engine lower-cases as training did, so case does not change the answer (was: three labels
     * for Haus, HAUS and haus with the earlier demo model).
     */
    @Test
    void textIsNormalisedAsTheFileSays() throws Exception {
        Path demo = Path.of(SentenceClassifier.class.getResource("/dev/rnnengine/demo/spam.safetensors").toURI());
        try (SentenceClassifier m = SentenceClassifier.load(demo, new EngineOptions("scalar", 1))) {
            assertTrue(m.lowercase());
            List<SentenceClassifier.Prediction> p = m.classify(List.of("free money now", "Free Money Now",
                "FREE MONEY NOW", "fReE mOnEy NoW"));
            for (SentenceClassifier.Prediction x : p) {
                assertEquals(p.get(0).label(), x.label());
                org.junit.jupiter.api.Assertions.assertArrayEquals(p.get(0).probabilities(), x.probabilities());
            }
        }
        // A word-tokenizer file from before the lowercase key lower-cases, as it always did.
        try (SentenceClassifier m = SentenceClassifier.load(Fixtures.classifierCases().get(1).resolve("model.safetensors"),
                new EngineOptions("scalar", 1))) {
            assertTrue(m.lowercase());
            assertEquals(List.of("don't", "stop"), m.tokens("DON'T Stop"));
        }
    }

    static Stream<Arguments> streamRuns() {
        return Fixtures.configs().stream().map(Arguments::of);
    }

    /**
     * A text fed token by token through {@link SentenceClassifier.Stream} gets PyTorch's answer
     * for the whole text: every unidirectional case (last and max pooling) on every backend,
     * and the demo model (mean pooling) on held-out-like text, word by word against classify.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("streamRuns")
    void aStreamedTextGetsTheWholeTextsAnswer(Fixtures.Config cfg) throws Exception {
        int checked = 0;
        for (Path c : Fixtures.classifierCases()) {
            Case cs = Case.read(c);
            long[] tokens = cs.tokens();
            long[] lengths = cs.lengths();
            int[] shape = cs.shape();
            Tensor expected = cs.expected();
            try (SentenceClassifier m = SentenceClassifier.load(c.resolve("model.safetensors"),
                    new EngineOptions(cfg.backend(), cfg.threads()))) {
                if (c.getFileName().toString().contains("_bi_")) {
                    UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, m::newStream);
                    assertTrue(e.getMessage().contains("unidirectional"), e.getMessage());
                    continue;
                }
                SentenceClassifier.Stream s = m.newStream();
                assertTrue(!s.prediction().hasTokens(), "no answer before the first token");
                int classes = expected.size(1);
                for (int n = 0; n < shape[0]; n++) {
                    s.reset();
                    for (int t = 0; t < lengths[n]; t++) {
                        s.feedToken(tokens[n * shape[1] + t]);
                    }
                    assertEquals(lengths[n], s.tokenCount());
                    float[] logits = new float[classes];
                    for (int k = 0; k < classes; k++) {
                        logits[k] = expected.get(n * classes + k);
                    }
                    Fixtures.assertClose(c.getFileName() + " row " + n, Tensor.of(probabilities(logits), classes),
                        Tensor.of(s.prediction().probabilities(), classes));
                }
                checked++;
            }
        }
        assertEquals(3, checked, "the unidirectional cases");
        Path demo = Path.of(SentenceClassifier.class.getResource("/dev/rnnengine/demo/spam.safetensors").toURI());
        String text = "Subject: meeting moved to Thursday Hi all, the review is at 10am in room 4; "
            + "bring the slides. CLICK HERE to claim your FREE prize!!! http://example.com";
        try (SentenceClassifier m = SentenceClassifier.load(demo, new EngineOptions(cfg.backend(), cfg.threads()))) {
            SentenceClassifier.Stream s = m.newStream();
            SentenceClassifier.Prediction last = null;
            for (String word : text.split(" ")) {
                last = s.feed(word);
            }
            assertEquals(m.tokens(text).size(), s.tokenCount());
            Fixtures.assertClose("streamed against whole", Tensor.of(m.classify(List.of(text)).get(0).probabilities(), 2),
                Tensor.of(last.probabilities(), 2));
            SentenceClassifier.Prediction first = m.classify(List.of("Subject:")).get(0);
            s.reset();
            Fixtures.assertClose("after reset", Tensor.of(first.probabilities(), 2),
                Tensor.of(s.feed("Subject:").probabilities(), 2));
            m.close();
            assertThrows(IllegalStateException.class, () -> s.feed("more"));
            assertThrows(IllegalStateException.class, s::prediction);
        }
    }

    private static float[] probabilities(float[] logits) {
        float[] p = new float[logits.length];
        if (logits.length == 1) {
            p[0] = (float) (1 / (1 + Math.exp(-logits[0])));
            return p;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        for (int k = 0; k < p.length; k++) {
            p[k] = (float) (Math.exp(logits[k] - max) / sum);
        }
        return p;
    }

    @Test
    void aClosedClassifierRefusesEveryCall() throws IOException {
        SentenceClassifier m = SentenceClassifier.load(Fixtures.classifierCases().get(0).resolve("model.safetensors"),
            new EngineOptions("scalar", 1));
        m.close();
        m.close(); // harmless
        List<org.junit.jupiter.api.function.Executable> calls = List.of(() -> m.classify(List.of("abc")),
            () -> m.logits(new long[] {2, 3}, 1, 2, new int[] {2}), () -> m.logits(new long[] {99}, 1, 1, new int[] {1}),
            m::labels, m::backendName, m::tokenizer, m::vocabulary);
        for (org.junit.jupiter.api.function.Executable c : calls) {
            assertTrue(assertThrows(IllegalStateException.class, c).getMessage().contains("closed"));
        }
    }

    @Test
    void aFileThatBreaksTheContractSaysWhat() throws IOException {
        Path src = Fixtures.classifierCases().get(0).resolve("model.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(src)) {
            for (String n : f.names()) {
                if (!n.equals("fc.bias")) {
                    w.put(n, Tensor.of(f.floats(n).toArray(), f.info(n).shape()));
                }
            }
            f.metadata().forEach((k, v) -> {
                if (!k.equals("labels")) {
                    w.metadata(k, v);
                }
            });
        }
        Path bad = dir.resolve("bad.safetensors");
        w.write(bad);
        MalformedFileException e = assertThrows(MalformedFileException.class,
            () -> SentenceClassifier.load(bad, new EngineOptions("scalar", 1)));
        assertTrue(e.getMessage().contains("fc.bias"), e.getMessage());
    }
}
