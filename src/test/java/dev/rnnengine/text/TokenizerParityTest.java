package dev.rnnengine.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.io.Json;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Training and serving tokenize alike: the Java tokenizers (with the classifier file's
 * lower-casing) against {@code tools/text_ref.py}, the Python the training scripts use, on
 * the same strings: mixed scripts, marks, apostrophes, Unicode spaces, case pairs that
 * lower-case to two characters.
 */
class TokenizerParityTest {
    private static final String ALPHABET = "aZé\u0301É9\u0663\u2167\u00bd''-.,!?\t \u00a0\u2009\nÅßİΣσςΩДж中文😀\u200b";

    @Test
    void javaAndPythonGiveTheSameTokens() throws Exception {
        List<String> texts = new ArrayList<>(List.of("Haus", "HAUS", "don't STOP", "ΟΔΟΣ Σ", "İstanbul", "a''b", "x\u00a0y",
            "  ", ""));
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 2000; i++) {
            StringBuilder b = new StringBuilder();
            int len = r.nextInt(30);
            for (int k = 0; k < len; k++) {
                b.appendCodePoint(ALPHABET.codePointAt(ALPHABET.offsetByCodePoints(0, r.nextInt(
                    ALPHABET.codePointCount(0, ALPHABET.length())))));
            }
            texts.add(b.toString());
        }
        Process p = new ProcessBuilder("python3", "tools/text_ref.py").redirectErrorStream(true).start();
        Thread feeder = new Thread(() -> { // its own thread: both pipes fill up otherwise
            try (OutputStream in = p.getOutputStream()) {
                for (String t : texts) {
                    for (String tok : new String[] {"word", "char"}) {
                        for (boolean lower : new boolean[] {true, false}) {
                            in.write(("[" + Json.quote(t) + ", \"" + tok + "\", " + lower + "]\n")
                                .getBytes(StandardCharsets.UTF_8));
                        }
                    }
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        feeder.start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l; (l = out.readLine()) != null; ) {
                lines.add(l);
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "python3 tools/text_ref.py did not finish");
        feeder.join(10_000);
        assertEquals(0, p.exitValue(), String.join("\n", lines));
        assertEquals(texts.size() * 4, lines.size(), "one answer per question");
        int k = 0;
        for (String t : texts) {
            for (Tokenizer tok : new Tokenizer[] {Tokenizer.WORD, Tokenizer.CHAR}) {
                for (boolean lower : new boolean[] {true, false}) {
                    assertEquals(Json.parse(lines.get(k++)), tok.tokenize(t, lower), tok + " lowercase=" + lower + " '" + t + "'");
                }
            }
        }
    }
}
