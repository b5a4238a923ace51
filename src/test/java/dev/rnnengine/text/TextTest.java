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
        assertEquals(List.of("don't", "panic", ",", "it's", "42", "!"), Tokenizer.WORD.tokenize("Don't  PANIC, it's 42!"));
        assertEquals(List.of("über", "straße"), Tokenizer.WORD.tokenize("Über\tStraße"));
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.of("bpe"));
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
        assertTrue(e.getMessage().contains("ends inside the vector"), e.getMessage());
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
        assertThrows(IOException.class, () -> WordVectors.readGlove(g));
    }
}
