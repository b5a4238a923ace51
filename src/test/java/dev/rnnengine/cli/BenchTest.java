package dev.rnnengine.cli;

import dev.rnnengine.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rnn bench}: the table, the JSON lines, the ORT peer checked and timed, the report files. */
class BenchTest {
    @TempDir
    Path dir;

    private static Fixtures.Cli bench(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "bench";
        System.arraycopy(args, 0, all, 1, args.length);
        return Fixtures.cli(all);
    }

    @Test
    void quickRunWithOrtPrintsTableRatiosJsonAndReport() throws Exception {
        Fixtures.Cli r = bench("--quick", "--shapes", "lstm2_step_b1", "--threads", "1", "--backends", "vector,onednn",
            "--peers", "ort", "--report", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("| lstm2_step_b1 | 1 |") && r.out().contains("vector vs ort")
            && r.out().contains("onednn vs ort") && r.out().contains("auto vs ort") && r.out().contains("auto ran on"), r.out());
        List<String> json = r.out().lines().filter(l -> l.startsWith("{")).toList();
        assertEquals(4, json.size(), "vector, onednn, auto (always reported) and ort: " + r.out());
        assertTrue(json.stream().anyMatch(l -> l.contains("\"backend\":\"auto\"") && !l.contains("\"via\":\"auto\"")),
            "auto's row names the backend it ran on: " + json);
        for (String field : new String[] {"\"name\":\"lstm2_step_b1\"", "\"cell\":\"lstm\"", "\"input_size\":128",
            "\"hidden_size\":256", "\"layers\":2", "\"bidirectional\":false", "\"seq_len\":1", "\"batch\":1",
            "\"threads\":1", "\"median_ms\":", "\"p99_ms\":", "\"gflops\":", "\"weight_gbps\":"}) {
            assertTrue(json.stream().allMatch(l -> l.contains(field)), field + " in " + json);
        }
        assertTrue(json.stream().anyMatch(l -> l.contains("\"backend\":\"ort\"")), json.toString());
        assertTrue(r.err().contains("[1/1"), "progress line: " + r.err());
        String md = Files.readString(dir.resolve("report.md"));
        assertTrue(md.contains("single-core FMA peak") && md.contains("chart.svg") && md.contains("| lstm2_step_b1 | 1 | ort |")
            && md.contains("Against the roofline") && md.contains("working set"), md);
        // The probe measures compiled code: a peak below 1 GFLOP/s was the interpreter (the old report's 0.4).
        java.util.regex.Matcher peak = java.util.regex.Pattern.compile("FMA peak ([0-9.]+) GFLOP/s").matcher(md);
        assertTrue(peak.find() && Double.parseDouble(peak.group(1)) > 5, md);
        String svg = Files.readString(dir.resolve("chart.svg"));
        assertTrue(svg.startsWith("<svg") && svg.contains("relative to ort"), svg);
        assertEquals(4, Files.readAllLines(dir.resolve("results.jsonl")).size());
    }

    @Test
    void customShapeAndBadOptions() {
        Fixtures.Cli r = bench("--quick", "--cell", "gru", "--input-size", "8", "--hidden-size", "16", "--layers", "2",
            "--bidirectional", "--seq-len", "5", "--batch", "3", "--threads", "1", "--backends", "scalar,vector",
            "--peers", "none");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"name\":\"gru_8x16_t5_b3_l2_bi\"") && r.out().contains("\"bidirectional\":true"), r.out());
        Fixtures.Cli unknownShape = bench("--shapes", "nope");
        assertEquals(1, unknownShape.code());
        assertTrue(unknownShape.err().contains("unknown shape 'nope'"), unknownShape.err());
        Fixtures.Cli orphan = bench("--hidden-size", "3");
        assertEquals(2, orphan.code());
        assertTrue(orphan.err().contains("give --cell too"), orphan.err());
        Fixtures.Cli badPeer = bench("--quick", "--shapes", "lstm2_step_b1", "--peers", "tensorflow");
        assertEquals(1, badPeer.code());
        assertTrue(badPeer.err().contains("unknown peer 'tensorflow'"), badPeer.err());
    }

    /** rnn tune measures auto's choices and rnn info shows them. */
    @Test
    void tuneMeasuresAndInfoExplains() {
        Fixtures.Cli t = Fixtures.cli("tune", "--shapes", "gru:8:16:5:3", "--threads", "1");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("GRU 8x16 L1 1T -> ") && t.out().contains("N=1 step") && t.out().contains("N=32+ seq"),
            t.out());
        java.nio.file.Path model = Fixtures.golden("004_gru").resolve("model.safetensors");
        Fixtures.Cli info = Fixtures.cli("info", model.toString(), "--threads", "1");
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("auto selects: "), info.out());
        Fixtures.Cli bad = Fixtures.cli("tune");
        assertEquals(2, bad.code());
    }

    /**
     * rnn bench --cold: every participant (auto always among them) in fresh JVMs, one row each,
     * with figures that fit together: JVM start to the first answer contains the load and the
     * first call, which are in milliseconds like it, and all 1,000 calls of a tiny model ran.
     */
    @Test
    void coldStartsInFreshJvms() {
        Fixtures.Cli r = bench("--cold", "--cell", "gru", "--input-size", "8", "--hidden-size", "16", "--seq-len", "5",
            "--batch", "3", "--backends", "scalar", "--peers", "ort");
        assertEquals(0, r.code(), r.err());
        for (String who : new String[] {"scalar", "auto", "ort"}) {
            String row = r.out().lines().filter(l -> l.startsWith("| gru_8x16_t5_b3 | 1 | " + who + " |")).findFirst()
                .orElseThrow(() -> new AssertionError(who + " has no row: " + r.out()));
            String[] c = row.split("\\|");
            double startToAnswer = Double.parseDouble(c[4].trim());
            double load = Double.parseDouble(c[5].trim());
            double first = Double.parseDouble(c[6].trim());
            double warm = Double.parseDouble(c[7].trim());
            assertTrue(load > 0 && first > 0 && warm > 0 && startToAnswer >= load + first, row);
            assertEquals("1000", c[14].trim(), row);
        }
        Fixtures.Cli twoModes = bench("--cold", "--quick", "--shapes", "lstm2_step_b1");
        assertEquals(2, twoModes.code());
        assertTrue(twoModes.err().contains("--cold"), twoModes.err());
    }

    /**
     * rnn bench --streams: the batcher against direct calls and against ONNX Runtime with the
     * state fed back (checked against the engine before timing), every row with figures; the
     * batcher really batched.
     */
    @Test
    void streamsCompareTheBatcherWithDirectCalls() {
        Fixtures.Cli r = bench("--streams", "6", "--cell", "gru", "--input-size", "8", "--hidden-size", "16", "--backends",
            "scalar", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        String batcher = r.out().lines().filter(l -> l.startsWith("| gru_8x16_t50_b1 | 6 | batcher")).findFirst()
            .orElseThrow(() -> new AssertionError(r.out()));
        String direct = r.out().lines().filter(l -> l.startsWith("| gru_8x16_t50_b1 | 6 | 6 threads calling step")).findFirst()
            .orElseThrow(() -> new AssertionError(r.out()));
        String ort = r.out().lines().filter(l -> l.startsWith("| gru_8x16_t50_b1 | 6 | 6 threads calling ONNX Runtime, "
            + "state fed back")).findFirst().orElseThrow(() -> new AssertionError(r.out()));
        String[] b = batcher.split("\\|");
        String[] d = direct.split("\\|");
        assertTrue(Double.parseDouble(b[4].trim()) > 0 && Double.parseDouble(d[4].trim()) > 0, r.out());
        assertTrue(Double.parseDouble(ort.split("\\|")[4].trim()) > 0 && r.out().contains("x ONNX Runtime's"), r.out());
        assertTrue(Double.parseDouble(b[6].trim()) >= Double.parseDouble(b[5].trim()), "p99 >= p50: " + batcher);
        assertTrue(Double.parseDouble(b[7].trim()) > 1, "steps of several streams batched: " + batcher);
        assertTrue(r.out().contains("the batcher's throughput is"), r.out());
    }

    /** rnn bench --streams K --sequences: the SequenceBatcher against direct forward calls, both rows with figures, batched. */
    @Test
    void sequencesCompareTheBatcherWithDirectForwardCalls() {
        Fixtures.Cli r = bench("--streams", "4", "--sequences", "--cell", "lstm", "--input-size", "8", "--hidden-size", "16",
            "--seq-len", "12", "--backends", "scalar", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        String batcher = r.out().lines().filter(l -> l.contains("| 4 | SequenceBatcher")).findFirst()
            .orElseThrow(() -> new AssertionError(r.out()));
        String direct = r.out().lines().filter(l -> l.contains("| 4 | 4 threads calling forward")).findFirst()
            .orElseThrow(() -> new AssertionError(r.out()));
        assertTrue(Double.parseDouble(batcher.split("\\|")[4].trim()) > 0
            && Double.parseDouble(direct.split("\\|")[4].trim()) > 0, r.out());
        assertTrue(Double.parseDouble(batcher.split("\\|")[7].trim()) > 1, "sequences of several callers batched: " + batcher);
        assertTrue(r.out().contains("sequences of 1 to 12 steps") && r.out().contains("| time steps/s |"), r.out());
    }

    /**
     * The quantized peers run beside vector:int8, are checked (the largest difference is
     * reported), and skip with a reason what they cannot run (a GRU for ONNX Runtime's int8 LSTM).
     * PyTorch's is checked where python3-torch is installed, else its skip note is.
     */
    @Test
    void quantizedPeersRunBesideTheEnginesInt8() {
        Fixtures.Cli r = bench("--quick", "--cell", "lstm", "--input-size", "16", "--hidden-size", "32", "--seq-len", "5",
            "--batch", "2", "--threads", "1", "--backends", "vector:int8", "--peers", "ort:int8,torch:int8");
        assertEquals(0, r.code(), r.err());
        String header = r.out().lines().filter(l -> l.startsWith("| shape |")).findFirst().orElseThrow();
        assertTrue(header.contains("ort:int8 ms") && header.contains("vector:int8 vs ort:int8"), header);
        assertTrue(r.err().contains("ort:int8 on ") && r.err().contains("largest |difference|"), r.err());
        boolean torch = !r.err().contains("torch:int8 skipped: no ");
        assertTrue(!torch || header.contains("torch:int8 ms") && r.err().contains("torch:int8 on "), r.err());
        Fixtures.Cli gru = bench("--quick", "--cell", "gru", "--input-size", "8", "--hidden-size", "8", "--seq-len", "3",
            "--batch", "1", "--threads", "1", "--backends", "vector:int8", "--peers", "ort:int8");
        assertEquals(0, gru.code(), gru.err());
        assertTrue(gru.err().contains("ort:int8 skipped on") && gru.err().contains("is an LSTM"), gru.err());
    }

    @Test
    void aPeerThatDisagreesIsNamed() {
        assertEquals(null, dev.rnnengine.bench.Bench.disagreement(new float[] {1f, 2f}, new float[] {1f, 2.0001f}));
        String why = dev.rnnengine.bench.Bench.disagreement(new float[] {1f, 2f}, new float[] {1f, 2.1f});
        assertTrue(why != null && why.contains("output[1] = 2.1"), why);
    }
}
