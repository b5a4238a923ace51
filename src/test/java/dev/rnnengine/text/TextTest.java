package dev.rnnengine.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.text.Embedding;
import dev.rnnengine.text.Tokenizer;
import dev.rnnengine.text.Vocabulary;
import dev.rnnengine.text.WordVectors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokenizers, vocabularies and the pretrained-vector readers. */
class TextTest {
    @TempDir
    Path dir;

    @Test
    void tokenizers() {
        assertEquals(List.of("h", "é", "🙂"), Tokenizer.CHAR.tokenize("hé🙂"));
        assertEquals(List.of("Don't", "PANIC", ",", "it's", "42", "!"), Tokenizer.WORD.tokenize("Don't  PANIC, it's 42!"));
        assertEquals(List.of("Über", "Straße"), Tokenizer.WORD.tokenize("Über\tStraße"));
        assertEquals(List.of("a", "b"), Tokenizer.WORD.tokenize("a\u00a0b"), "no-break space separates, as in Python");
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.of("bpe"));
    }

    /** The regular expression the word tokenizer replaced; ASCII white space was its only separator. */
    private static final java.util.regex.Pattern OLD_WORD =
        java.util.regex.Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{M}\\p{N}]*(?:'[\\p{L}\\p{N}]+)*|[^\\s\\p{L}\\p{N}]");

    /** The hand-written word tokenizer splits exactly as the old regular expression on random text. */
    @Test
    void wordTokenizerEqualsTheRegexItReplaced() {
        String alphabet = "ab Z9'' \t\n,.-é\u0301\u0663\u2167x\u00bd!?'";
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        for (int n = 0; n < 5000; n++) {
            StringBuilder b = new StringBuilder();
            int len = r.nextInt(40);
            for (int i = 0; i < len; i++) {
                b.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            String text = b.toString();
            List<String> want = new java.util.ArrayList<>();
            java.util.regex.Matcher m = OLD_WORD.matcher(text);
            while (m.find()) {
                want.add(m.group());
            }
            assertEquals(want, Tokenizer.WORD.tokenize(text), "'" + text + "'");
        }
    }

    /** Kilobytes of apostrophe-joined letters overflowed the stack of the regex; the loop takes them in one pass. */
    @Test
    void wordTokenizerTakesLongApostropheChains() {
        String chain = "a'".repeat(200_000) + "a";
        assertEquals(List.of(chain), Tokenizer.WORD.tokenize(chain));
        assertEquals(List.of("a", "'", "'", "b"), Tokenizer.WORD.tokenize("a''b"));
    }

    @Test
    void vocabularyMapsUnknownTokensToUnk() {
        Vocabulary v = new Vocabulary(List.of("<pad>", "<unk>", "a", "b"), 1, 0);
        assertEquals(2, v.id("a"));
        assertEquals(1, v.id("zzz"));
        assertThrows(IllegalArgumentException.class, () -> new Vocabulary(List.of("a"), 1, 0));
    }

    @Test
    void word2vecBinaryAndText() throws IOException {
        float[][] vecs = {{1f, -2f, 0.5f}, {3f, 4f, -0.25f}};
        Path bin = dir.resolve("v.bin");
        ByteBuffer b = ByteBuffer.allocate(1000).order(ByteOrder.LITTLE_ENDIAN);
        b.put("2 3\n".getBytes(StandardCharsets.US_ASCII));
        String[] words = {"cat", "naïve"};
        for (int i = 0; i < 2; i++) {
            b.put((words[i] + " ").getBytes(StandardCharsets.UTF_8));
            for (float f : vecs[i]) {
                b.putFloat(f);
            }
            b.put((byte) '\n');
        }
        Files.write(bin, java.util.Arrays.copyOf(b.array(), b.position()));
        WordVectors w = WordVectors.readWord2VecBinary(bin);
        assertEquals(List.of("cat", "naïve"), w.words());
        assertArrayEquals(new float[] {1f, -2f, 0.5f, 3f, 4f, -0.25f}, w.vectors());

        Path txt = dir.resolve("v.txt");
        Files.writeString(txt, "2 3\ncat 1 -2 0.5\nnaïve 3 4 -0.25\n");
        WordVectors t = WordVectors.readWord2VecText(txt);
        assertEquals(w.words(), t.words());
        assertArrayEquals(w.vectors(), t.vectors());

        Files.writeString(txt, "3 3\ncat 1 -2 0.5\n");
        IOException e = assertThrows(IOException.class, () -> WordVectors.readWord2VecText(txt));
        assertTrue(e.getMessage().contains("header says 3 words"), e.getMessage());
        Files.write(bin, "2 3\ncat ".getBytes(StandardCharsets.US_ASCII));
        e = assertThrows(IOException.class, () -> WordVectors.readWord2VecBinary(bin));
        assertTrue(e.getMessage().contains("header says 2 words of 3 floats"), e.getMessage());
    }

    /** A header claiming billions of floats in a 20-byte file: refused from the file's size, nothing allocated. */
    @Test
    void word2vecBinaryChecksItsHeaderAgainstTheFileSize() throws IOException {
        Path bin = dir.resolve("huge.bin");
        Files.write(bin, "400000000 5\ncat abcdefg".getBytes(StandardCharsets.US_ASCII));
        IOException e = assertThrows(IOException.class, () -> WordVectors.readWord2VecBinary(bin));
        assertTrue(e.getMessage().contains("the file has 23"), e.getMessage());
        Files.write(bin, "2000000000 2000000000\n".getBytes(StandardCharsets.US_ASCII));
        e = assertThrows(IOException.class, () -> WordVectors.readWord2VecBinary(bin));
        assertTrue(e.getMessage().contains("more than this reader takes"), e.getMessage());
        Files.write(bin, "-3 2\n".getBytes(StandardCharsets.US_ASCII));
        e = assertThrows(IOException.class, () -> WordVectors.readWord2VecBinary(bin));
        assertTrue(e.getMessage().contains("not a positive count"), e.getMessage());
        Files.write(bin, "1 3\na-rather-long-word-for-the-file xy".getBytes(StandardCharsets.US_ASCII));
        e = assertThrows(IOException.class, () -> WordVectors.readWord2VecBinary(bin));
        assertTrue(e.getMessage().contains("ends inside the vector of word 0"), e.getMessage());
    }

    /** An extra number on a word2vec text line is an error naming the line, not part of the word. */
    @Test
    void word2vecTextNeedsExactlyDimNumbersPerLine() throws IOException {
        Path txt = dir.resolve("v.txt");
        Files.writeString(txt, "2 3\ncat 1 -2 0.5\ndog 3 4 -0.25 7\n");
        IOException e = assertThrows(IOException.class, () -> WordVectors.readWord2VecText(txt));
        assertTrue(e.getMessage().endsWith("v.txt:3: 4 fields after the word, expected 3"), e.getMessage());
        Files.writeString(txt, "2 3\ncat  1\t-2   0.5 \ndog 3 4 -0.25\r\n");
        WordVectors w = WordVectors.readWord2VecText(txt);
        assertEquals(List.of("cat", "dog"), w.words());
        assertArrayEquals(new float[] {1f, -2f, 0.5f, 3f, 4f, -0.25f}, w.vectors());
    }

    @Test
    void invalidUtf8InATextVectorFileNamesFileAndLine() throws IOException {
        Path txt = dir.resolve("bad.txt");
        Files.write(txt, new byte[] {'a', ' ', '1', '\n', 'b', (byte) 0xff, ' ', '2', '\n'});
        IOException e = assertThrows(IOException.class, () -> WordVectors.readGlove(txt));
        assertTrue(e.getMessage().endsWith("bad.txt:2: not valid UTF-8"), e.getMessage());
    }

    @Test
    void gloveWordsMayContainSpaces() throws IOException {
        Path g = dir.resolve("glove.txt");
        Files.writeString(g, "the 0.1 0.2\nnew york 1.5 -1\n. 0 3\n");
        WordVectors w = WordVectors.readGlove(g);
        assertEquals(2, w.dim());
        assertEquals(List.of("the", "new york", "."), w.words());
        assertArrayEquals(new float[] {0.1f, 0.2f, 1.5f, -1f, 0f, 3f}, w.vectors());
        Vocabulary v = w.vocabularyWithSpecials();
        Embedding e = w.embeddingWithSpecials();
        assertEquals(3, v.id("new york"));
        assertEquals(1, v.id("boston"));
        float[] row = new float[2];
        e.lookup(v.id("new york"), row, 0);
        assertArrayEquals(new float[] {1.5f, -1f}, row);
        e.lookup(v.padIndex(), row, 0);
        assertArrayEquals(new float[] {0f, 0f}, row);
        Files.writeString(g, "the 0.1 0.2\nbad 0.3\n");
        IOException e2 = assertThrows(IOException.class, () -> WordVectors.readGlove(g));
        assertTrue(e2.getMessage().endsWith("glove.txt:2: 1 fields after the word, expected 2"), e2.getMessage());
        // Runs of spaces and tabs separate fields: no word with a trailing space, no wrong dimension.
        Files.writeString(g, "the  0.1  0.2\nnew york\t1.5 -1\n");
        WordVectors d = WordVectors.readGlove(g);
        assertEquals(2, d.dim());
        assertEquals(List.of("the", "new york"), d.words());
    }
}
