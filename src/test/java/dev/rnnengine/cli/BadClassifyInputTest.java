package dev.rnnengine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.Fixtures;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code rnn classify} against broken classifier files, token-id files and texts on stdin:
 * exit status 1 and one line naming the problem, on every backend; and the rows of a run
 * always line up with its input lines.
 */
class BadClassifyInputTest {
    @TempDir
    static Path dir;

    private static Path classifier() {
        return Fixtures.classifierCases().get(1).resolve("model.safetensors"); // GRU, word tokenizer, 3 labels
    }

    private static Path tokens() {
        return Fixtures.classifierCases().get(1).resolve("input.safetensors");
    }

    /** A case: name, the classify arguments after --model, stdin, words the single error line must contain. */
    private record Bad(String name, Path model, List<String> args, byte[] stdin, String expect) {
        Bad {
            if (expect.isBlank()) { // contains("") is always true: a check that cannot fail
                throw new IllegalArgumentException(name + ": say what the message must contain");
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** The classifier's tensors and metadata with changes: a metadata value of null removes the key. */
    private static Path classifier(String name, Map<String, String> meta, Map<String, Tensor> tensors) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(classifier())) {
            for (String n : f.names()) {
                if (!tensors.containsKey(n)) {
                    w.put(n, Tensor.of(f.floats(n).toArray(), f.info(n).shape()));
                }
            }
            Map<String, String> m = new LinkedHashMap<>(f.metadata());
            m.putAll(meta);
            m.forEach((k, v) -> {
                if (v != null) {
                    w.metadata(k, v);
                }
            });
        }
        tensors.forEach((n, t) -> {
            if (t != null) {
                w.put(n, t);
            }
        });
        Path p = dir.resolve(name + ".safetensors");
        w.write(p);
        return p;
    }

    private static Map<String, String> without(String key) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(key, null);
        return m;
    }

    private static Path tokenFile(String name, long[] ids, int[] idShape, long[] lengths) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        if (ids != null) {
            w.putLongs("tokens", ids, idShape);
        }
        if (lengths != null) {
            w.putLongs("lengths", lengths, lengths.length);
        }
        Path p = dir.resolve(name + ".safetensors");
        w.write(p);
        return p;
    }

    static List<Bad> bads() throws IOException {
        List<Bad> l = new ArrayList<>();
        List<String> text = List.of("--text", "a b c");
        Path good = classifier();
        l.add(new Bad("no labels", classifier("nolabels", without("labels"), Map.of()), text, null, "'labels' is missing"));
        l.add(new Bad("labels not JSON", classifier("labelsjson", Map.of("labels", "[oops"), Map.of()), text, null,
            "labels is not JSON"));
        l.add(new Bad("labels for another head", classifier("labelcount", Map.of("labels", "[\"x\"]"), Map.of()), text,
            null, "1 names for 3 outputs"));
        l.add(new Bad("vocab of the wrong size", classifier("vocab", Map.of("vocab", "[\"<pad>\", \"<unk>\"]"), Map.of()),
            text, null, "2 tokens for 22 embedding rows"));
        l.add(new Bad("unknown tokenizer", classifier("tok", Map.of("tokenizer", "bpe"), Map.of()), text, null,
            "unknown tokenizer 'bpe'"));
        l.add(new Bad("lowercase not a flag", classifier("lower", Map.of("lowercase", "yes"), Map.of()), text, null,
            "lowercase='yes' is not true or false"));
        l.add(new Bad("unknown pooling", classifier("pool", Map.of("pooling", "median"), Map.of()), text, null, "median"));
        l.add(new Bad("unk index outside the vocabulary", classifier("unk", Map.of("unk_index", "99"), Map.of()), text,
            null, "99"));
        l.add(new Bad("embedding of the wrong width", classifier("emb", Map.of(),
            Map.of("embedding.weight", Tensor.zeros(22, 5))), text, null, "embedding.weight [22, 5] must be (V, 6)"));
        l.add(new Bad("head of the wrong width", classifier("fc", Map.of(), Map.of("fc.weight", Tensor.zeros(3, 7))),
            text, null, "fc.weight [3, 7]"));
        l.add(new Bad("no batch_first", classifier("bf", without("rnn.batch_first"), Map.of()), text, null,
            "rnn.batch_first' is missing"));
        l.add(new Bad("encoder tensor missing", classifier("enc", Map.of(), mapOf("rnn.weight_hh_l1", null)), text, null,
            "rnn.*: Error(s) in loading state_dict for GRU: Missing key(s) in state_dict: \"weight_hh_l1\""));
        Path out = dir.resolve("logits.safetensors");
        List<String> ids = List.of("--input", "%s", "--output", out.toString());
        l.add(new Bad("token file without lengths", good, fill(ids, tokenFile("nolen", new long[6], new int[] {2, 3}, null)),
            null, "needs 'tokens'"));
        l.add(new Bad("lengths for another batch", good, fill(ids, tokenFile("lencount", new long[6], new int[] {2, 3},
            new long[] {3, 3, 3})), null, "must be (N, T) and (N)"));
        l.add(new Bad("a length past T", good, fill(ids, tokenFile("lenlong", new long[6], new int[] {2, 3},
            new long[] {3, 4})), null, "lengths[1] = 4 is outside 1..3"));
        l.add(new Bad("a length of zero", good, fill(ids, tokenFile("len0", new long[6], new int[] {2, 3},
            new long[] {0, 3})), null, "lengths[0] = 0"));
        l.add(new Bad("a token id outside the vocabulary", good, fill(ids, tokenFile("oov", new long[] {0, 1, 999, 2, 3, 4},
            new int[] {2, 3}, new long[] {3, 3})), null, "999"));
        l.add(new Bad("a negative token id", good, fill(ids, tokenFile("neg", new long[] {0, -1, 2, 2, 3, 4},
            new int[] {2, 3}, new long[] {3, 3})), null, "-1"));
        l.add(new Bad("tokens 3-D", good, fill(ids, tokenFile("3d", new long[8], new int[] {2, 2, 2}, new long[] {2, 2})),
            null, "must be (N, T) and (N)"));
        l.add(new Bad("output is the model", good, List.of("--input", tokens().toString(), "--output", good.toString()),
            null, "refusing to overwrite"));
        l.add(new Bad("output is the input", good, List.of("--input", tokens().toString(), "--output", tokens().toString()),
            null, "refusing to overwrite"));
        l.add(new Bad("model is a directory", dir, text, null, "is a directory"));
        l.add(new Bad("stdin not UTF-8", good, List.of(), new byte[] {'o', 'k', '\n', 'a', (byte) 0xc3, '\n'},
            "stdin:2: not valid UTF-8"));
        return l;
    }

    private static Map<String, Tensor> mapOf(String k, Tensor v) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(k, v);
        return m;
    }

    private static List<String> fill(List<String> args, Path p) {
        return args.stream().map(a -> a.equals("%s") ? p.toString() : a).toList();
    }

    static Stream<Arguments> runs() throws IOException {
        List<Bad> b = bads();
        return Fixtures.expectedBackends().stream().flatMap(be -> b.stream().map(x -> Arguments.of(be, x)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("runs")
    void refusedWithOneLine(String backend, Bad bad) throws IOException {
        List<String> args = new ArrayList<>(List.of("classify", "--model", bad.model().toString(), "--backend", backend));
        args.addAll(bad.args());
        long before = Files.getLastModifiedTime(classifier()).toMillis();
        Fixtures.Cli r = Fixtures.cliWithStdin(bad.stdin() == null ? new byte[0] : bad.stdin(), args.toArray(new String[0]));
        assertEquals(1, r.code(), bad + ": " + r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertTrue(r.err().toLowerCase(Locale.ROOT).contains(bad.expect().toLowerCase(Locale.ROOT)), r.err());
        assertEquals(before, Files.getLastModifiedTime(classifier()).toMillis(), "the model file is untouched");
    }

    /** One row per input line, in order: blank lines get empty columns; tabs, newlines and backslashes are escaped. */
    @ParameterizedTest
    @MethodSource("dev.rnnengine.Fixtures#expectedBackends")
    void rowsLineUpWithInputLines(String backend) {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 600; i++) { // more than one chunk
            lines.add(switch (i % 5) {
                case 0 -> "";
                case 1 -> "a b\tc";
                case 2 -> "   ";
                case 3 -> "d\\e f";
                default -> "g h i " + i;
            });
        }
        byte[] stdin = (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8);
        Fixtures.Cli r = Fixtures.cliWithStdin(stdin, "classify", "--model", classifier().toString(), "--backend", backend);
        assertEquals(0, r.code(), r.err());
        List<String> rows = r.out().lines().toList();
        assertEquals(lines.size(), rows.size(), "one row per input line");
        for (int i = 0; i < lines.size(); i++) {
            String[] f = rows.get(i).split("\t", -1);
            assertEquals(4, f.length, "four fields in row " + i + ": " + rows.get(i));
            assertEquals(Tsv.escape(lines.get(i)), f[0], "row " + i + " is line " + i);
            assertEquals(lines.get(i).isBlank(), f[1].isEmpty(), "a label exactly for lines with tokens, row " + i);
        }
        assertEquals("a b\\tc", rows.get(1).split("\t")[0]);
        assertEquals("d\\\\e f", rows.get(3).split("\t")[0]);
    }

    /** The same text gives the same label alone and inside a batch (rows are not mixed up by chunking). */
    @Test
    void aTextScoresTheSameAloneAndInABatch() {
        String m = classifier().toString();
        Fixtures.Cli alone = Fixtures.cli("classify", "--model", m, "--text", "c d e");
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            many.append(i == 257 ? "c d e" : "a b " + "f ".repeat(i % 7)).append('\n');
        }
        Fixtures.Cli batch = Fixtures.cliWithStdin(many.toString().getBytes(StandardCharsets.UTF_8), "classify", "--model", m);
        assertEquals(0, batch.code(), batch.err());
        assertEquals(alone.out().strip(), batch.out().lines().toList().get(257));
        assertFalse(alone.out().isBlank());
    }
}
