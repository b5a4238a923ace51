package dev.rnnengine.text;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import dev.rnnengine.io.UserFiles;

/**
 * Pretrained word vectors: word2vec's binary and text formats and GloVe's text format, read
 * into a vocabulary (file order) and an {@link Embedding}. {@link #vocabularyWithSpecials} and {@link #embeddingWithSpecials} add the
 * padding and out-of-vocabulary rows a classifier needs.
 *
 * @param words   the words, index = row
 * @param vectors {@code (words.size(), dim)}, row-major
 * @param dim     the vector size
 */
public record WordVectors(List<String> words, float[] vectors, int dim) {
    /** Refuses files that claim more than this many floats (a corrupt header, not a model). */
    static final long MAX_FLOATS = dev.rnnengine.internal.Sizes.MAX_ARRAY;

    /**
     * word2vec's binary format: a header line {@code "V E"}, then per word its bytes up to a
     * space and E little-endian floats (an optional newline before the next word). The header
     * is checked against the file's size before anything is allocated.
     *
     * @throws IOException if the file cannot be read or is malformed (the message says where)
     */
    public static WordVectors readWord2VecBinary(Path file) throws IOException {
        boolean regular = UserFiles.checkReadable(file);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            String headLine = readToken(in, '\n', file);
            String[] head = fields(headLine);
            if (head.length != 2) {
                throw new IOException(file + ": word2vec header must be 'count dim', got '" + headLine.strip() + "'");
            }
            int count = parseSize(head[0], file);
            int dim = parseSize(head[1], file);
            checkSize(count, dim, file);
            // Each word takes at least two bytes (a character and its space) plus 4 * dim.
            long need = (long) count * (2 + 4L * dim);
            if (regular && need > Files.size(file)) {
                throw new IOException(file + ": header says " + count + " words of " + dim + " floats (at least "
                    + need + " bytes), the file has " + Files.size(file));
            }
            List<String> words = new ArrayList<>();
            FloatList v = new FloatList();
            byte[] row = new byte[4 * dim];
            float[] floats = new float[dim];
            for (int i = 0; i < count; i++) {
                String w = readToken(in, ' ', file).strip();
                if (w.isEmpty()) {
                    throw new IOException(file + ": word " + i + " is empty");
                }
                words.add(w);
                try {
                    in.readFully(row);
                } catch (EOFException e) {
                    throw new IOException(file + ": ends inside the vector of word " + i + " ('" + w + "')");
                }
                ByteBuffer.wrap(row).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(floats);
                v.addAll(floats);
            }
            return new WordVectors(words, v.toArray(), dim);
        }
    }

    private static String readToken(InputStream in, char end, Path file) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != end; ) {
            if (c < 0) {
                throw new IOException(file + ": ends inside a word");
            }
            if (c == '\n' && b.size() == 0) {
                continue; // the newline after a vector
            }
            if (b.size() > 10_000) {
                throw new IOException(file + ": a word longer than 10000 bytes: not word2vec binary");
            }
            b.write(c);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(file + ": a word is not valid UTF-8");
        }
    }

    /**
     * word2vec's text format: a header line {@code "V E"}, then one line per word: the word and
     * exactly E numbers, separated by runs of spaces or tabs.
     *
     * @throws IOException if the file cannot be read or is malformed (the message names the line)
     */
    public static WordVectors readWord2VecText(Path file) throws IOException {
        return readText(file, true);
    }

    /**
     * GloVe's text format: no header; each line is the word then D numbers, separated by runs
     * of spaces or tabs. Some GloVe words contain spaces, so the vector is the last D fields, D
     * taken from the first line.
     *
     * @throws IOException if the file cannot be read or is malformed (the message names the line)
     */
    public static WordVectors readGlove(Path file) throws IOException {
        return readText(file, false);
    }

    /** A line's fields: split on runs of white space, none empty. */
    private static String[] fields(String line) {
        String t = line.strip();
        return t.isEmpty() ? new String[0] : t.split("[ \\t\\u000B\\f\\r]+");
    }

    private static WordVectors readText(Path file, boolean header) throws IOException {
        try (UserFiles.LineReader r = new UserFiles.LineReader(file)) {
            int dim = -1;
            int expected = -1;
            String line;
            if (header) {
                line = r.next();
                String[] h = line == null ? new String[0] : fields(line);
                if (h.length != 2) {
                    throw new IOException(r.where(1) + ": word2vec header must be 'count dim', got '" + line + "'");
                }
                expected = parseSize(h[0], file);
                dim = parseSize(h[1], file);
                checkSize(expected, dim, file);
            }
            List<String> words = new ArrayList<>();
            FloatList v = new FloatList();
            while ((line = r.next()) != null) {
                String[] f = fields(line);
                if (f.length == 0) {
                    continue;
                }
                String where = r.where(r.number());
                if (dim < 0) {
                    dim = guessGloveDim(f);
                    if (dim < 1) {
                        throw new IOException(where + ": no numbers after the word");
                    }
                }
                // word2vec words have no spaces: exactly the word and dim numbers.
                if (header ? f.length != dim + 1 : f.length < dim + 1) {
                    throw new IOException(where + ": " + (f.length - 1) + " fields after the word, expected " + dim);
                }
                String w = String.join(" ", java.util.Arrays.copyOfRange(f, 0, f.length - dim));
                words.add(w);
                for (int j = f.length - dim; j < f.length; j++) {
                    try {
                        v.add(Float.parseFloat(f[j]));
                    } catch (NumberFormatException e) {
                        throw new IOException(where + ": '" + f[j] + "' is not a number");
                    }
                }
                if (header && words.size() > expected) {
                    throw new IOException(where + ": more words than the header's " + expected);
                }
                if ((long) words.size() * dim > MAX_FLOATS) {
                    throw new IOException(file + ": more than " + MAX_FLOATS + " floats");
                }
            }
            if (header && words.size() != expected) {
                throw new IOException(file + ": header says " + expected + " words, the file has " + words.size());
            }
            if (words.isEmpty()) {
                throw new IOException(file + ": no vectors");
            }
            return new WordVectors(words, v.toArray(), dim);
        }
    }

    /** GloVe's dimension from its first line: the trailing fields that parse as numbers (the word may contain spaces). */
    private static int guessGloveDim(String[] f) {
        int d = 0;
        for (int j = f.length - 1; j >= 1; j--) {
            try {
                Float.parseFloat(f[j]);
                d++;
            } catch (NumberFormatException e) {
                break;
            }
        }
        return d;
    }

    private static int parseSize(String s, Path file) throws IOException {
        try {
            int v = Integer.parseInt(s);
            if (v < 1) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IOException(file + ": '" + s + "' is not a positive count");
        }
    }

    private static void checkSize(long count, long dim, Path file) throws IOException {
        if (count * dim > MAX_FLOATS) {
            throw new IOException(file + ": " + count + " x " + dim + " floats is more than this reader takes ("
                + MAX_FLOATS + ")");
        }
    }

    /**
     * A vocabulary and embedding with two extra rows: {@code pad} (id 0, zeros) and {@code unk}
     * (id 1, zeros), then the file's words from id 2.
     */
    public Vocabulary vocabularyWithSpecials() {
        List<String> t = new ArrayList<>(words.size() + 2);
        t.add("<pad>");
        t.add("<unk>");
        t.addAll(words);
        return new Vocabulary(t, 1, 0);
    }

    /** The embedding matching {@link #vocabularyWithSpecials()}. */
    public Embedding embeddingWithSpecials() {
        float[] table = new float[(words.size() + 2) * dim];
        System.arraycopy(vectors, 0, table, 2 * dim, vectors.length);
        return new Embedding(table, words.size() + 2, dim);
    }

    private static final class FloatList {
        private float[] a = new float[1024];
        private int n;

        void add(float v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, 2 * n);
            }
            a[n++] = v;
        }

        void addAll(float[] v) {
            while (n + v.length > a.length) {
                a = java.util.Arrays.copyOf(a, 2 * a.length);
            }
            System.arraycopy(v, 0, a, n, v.length);
            n += v.length;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
