package dev.rnnengine.cli;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.bench.OrtParticipant;
import dev.rnnengine.bench.OrtRunner;
import dev.rnnengine.core.Precision;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.engine.Backends;
import dev.rnnengine.io.ModelFile;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.text.SentenceClassifier;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * {@code rnn demo}: the shipped spam filter (word embedding, LSTM, mean pooling, linear; trained
 * with PyTorch on the SpamAssassin public corpus by tools/train_spam.py) scores the held-out
 * messages it never saw in training against their labels and against PyTorch's own answers,
 * shows a few, streams one word by word, then times every backend and ONNX Runtime on one batch.
 */
final class Demo {
    static final String MODEL = "/dev/rnnengine/demo/spam.safetensors";
    static final String HELD_OUT = "/dev/rnnengine/demo/spam-heldout.tsv.gz";
    static final int BATCH = 64;
    private static final Pattern TORCH_ACCURACY = Pattern.compile("PyTorch accuracy ([0-9.]+)");

    /** One held-out message: its label, PyTorch's P(spam) from the training script, its text. */
    record Message(String label, double torchSpam, String text) { }

    /** The held-out set and PyTorch's accuracy on it, as the training script wrote them. */
    record HeldOut(List<Message> messages, double torchAccuracy) { }

    private Demo() { }

    static HeldOut heldOut() throws IOException {
        try (InputStream raw = Demo.class.getResourceAsStream(HELD_OUT)) {
            if (raw == null) {
                throw new IOException("the demo's held-out set " + HELD_OUT + " is missing from the class path");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.UTF_8));
            String header = r.readLine();
            Matcher m = header == null ? null : TORCH_ACCURACY.matcher(header);
            if (m == null || !m.find()) {
                throw new IOException(HELD_OUT + ": the first line does not give PyTorch's accuracy");
            }
            List<Message> out = new ArrayList<>();
            for (String l; (l = r.readLine()) != null; ) {
                String[] f = l.split("\t", 3);
                if (f.length != 3) {
                    throw new IOException(HELD_OUT + " line " + (out.size() + 2) + ": not label<TAB>p<TAB>text");
                }
                out.add(new Message(f[0], Double.parseDouble(f[1]), f[2]));
            }
            return new HeldOut(out, Double.parseDouble(m.group(1)));
        }
    }

    static int run(Main.Options o, PrintStream out) throws Main.UsageException, IOException {
        EngineOptions base = Main.engineOptions(o);
        HeldOut held = heldOut();
        List<Message> msgs = held.messages();
        List<String> texts = msgs.stream().map(Message::text).toList();
        Path model = Files.createTempFile("rnn-spam", ".safetensors");
        try {
            try (InputStream in = Demo.class.getResourceAsStream(MODEL)) {
                if (in == null) {
                    throw new IOException("the demo model " + MODEL + " is missing from the class path");
                }
                Files.copy(in, model, StandardCopyOption.REPLACE_EXISTING);
            }
            String chosen;
            try (SentenceClassifier c = SentenceClassifier.load(model, base)) {
                chosen = c.backendName();
                out.printf("rnn-engine demo: is an e-mail spam? A word-level LSTM (embedding 64, hidden 128, mean "
                    + "pooling, %,d words) trained with PyTorch on the SpamAssassin public corpus "
                    + "(tools/train_spam.py); backend %s, %s, %d thread(s)%n%n", c.vocabulary().size(), chosen,
                    base.precision().label(), base.threads());
                List<SentenceClassifier.Prediction> got = new ArrayList<>();
                for (int i = 0; i < texts.size(); i += BATCH) {
                    got.addAll(c.classify(texts.subList(i, Math.min(texts.size(), i + BATCH))));
                }
                scores(msgs, got, held.torchAccuracy(), out);
                examples(msgs, got, out);
                streaming(c, msgs.get(0), out);
            }
            timing(o, base, model, texts, out);
        } finally {
            Files.deleteIfExists(model);
        }
        return 0;
    }

    /** Accuracy, per-class precision and recall, and agreement with PyTorch on the held-out set. */
    private static void scores(List<Message> msgs, List<SentenceClassifier.Prediction> got, double torchAccuracy,
                               PrintStream out) {
        int n = msgs.size();
        int right = 0;
        int sameAsTorch = 0;
        double diff = 0;
        int[][] confusion = new int[2][2]; // [truth][predicted], 0 ham, 1 spam
        for (int i = 0; i < n; i++) {
            Message m = msgs.get(i);
            SentenceClassifier.Prediction p = got.get(i);
            int truth = m.label().equals("spam") ? 1 : 0;
            int said = p.label().equals("spam") ? 1 : 0;
            confusion[truth][said]++;
            right += truth == said ? 1 : 0;
            float spam = p.probabilities()[p.labels().indexOf("spam")];
            sameAsTorch += (spam > 0.5) == (m.torchSpam() > 0.5) ? 1 : 0;
            diff = Math.max(diff, Math.abs(spam - m.torchSpam()));
        }
        out.printf("held out (never seen in training): %d messages, %d spam, %d ham%n", n,
            confusion[1][0] + confusion[1][1], confusion[0][0] + confusion[0][1]);
        out.printf("  accuracy %.2f%% (%d of %d)   PyTorch on the same messages: %.2f%%%n", 100.0 * right / n, right, n,
            100 * torchAccuracy);
        String[] names = {"ham", "spam"};
        for (int k = 0; k < 2; k++) {
            int predicted = confusion[0][k] + confusion[1][k];
            int actual = confusion[k][0] + confusion[k][1];
            out.printf("  %-4s  precision %.2f%% (%d of %d called %s)   recall %.2f%% (%d of %d found)%n", names[k],
                100.0 * confusion[k][k] / Math.max(1, predicted), confusion[k][k], predicted, names[k],
                100.0 * confusion[k][k] / Math.max(1, actual), confusion[k][k], actual);
        }
        out.printf("  against PyTorch: the same label on %d of %d messages, max |P(spam) - PyTorch's| %.1e%n%n",
            sameAsTorch, n, diff);
    }

    /** The first three readable held-out spam and ham it gets right, in file order, and the first it gets wrong. */
    private static void examples(List<Message> msgs, List<SentenceClassifier.Prediction> got, PrintStream out) {
        out.println("examples (held out; the text as the model reads it, cut here to 90 characters):");
        int[] shown = new int[2];
        int wrong = -1;
        for (int i = 0; i < msgs.size(); i++) {
            int truth = msgs.get(i).label().equals("spam") ? 1 : 0;
            boolean ok = got.get(i).label().equals(msgs.get(i).label());
            if (!ok && wrong < 0) {
                wrong = i;
            }
            if (ok && shown[truth] < 3 && readable(msgs.get(i).text())) {
                shown[truth]++;
                example(msgs.get(i), got.get(i), out);
            }
        }
        if (wrong >= 0) {
            out.println("the first one it gets wrong:");
            example(msgs.get(wrong), got.get(wrong), out);
        }
        out.println();
    }

    /** Plain text a reader can judge at a glance: no markup, no undecodable bytes, mostly ASCII letters. */
    private static boolean readable(String text) {
        String head = text.substring(0, Math.min(90, text.length()));
        long plain = head.chars().filter(ch -> ch >= 0x20 && ch < 0x7f).count();
        return plain >= 0.97 * head.length() && !head.contains("<") && !head.contains("\\u") && !head.contains("http");
    }

    private static void example(Message m, SentenceClassifier.Prediction p, PrintStream out) {
        String t = m.text().length() > 90 ? m.text().substring(0, 87) + "..." : m.text();
        out.printf("  %-4s P(spam) %.3f  (truth %s)  %s%n", p.label(), p.probabilities()[p.labels().indexOf("spam")],
            m.label(), t);
    }

    /** One message word by word through the encoder's step: P(spam) as it grows, and the time per word. */
    private static void streaming(SentenceClassifier c, Message m, PrintStream out) {
        List<String> words = c.tokens(m.text());
        SentenceClassifier.Stream s = c.newStream();
        int spam = c.labels().indexOf("spam");
        StringBuilder trace = new StringBuilder();
        for (int round = 0; round < 200; round++) { // warm the step path before timing it
            s.reset();
            s.feed(m.text());
        }
        s.reset();
        long[] ns = new long[words.size()];
        for (int i = 0; i < words.size(); i++) {
            long t0 = System.nanoTime();
            SentenceClassifier.Prediction p = s.feed(words.get(i));
            ns[i] = System.nanoTime() - t0;
            int k = i + 1;
            if (k == 1 || k == 5 || k == 10 || k == 25 || k == 50 || k == words.size()) {
                trace.append(String.format(Locale.ROOT, "  %d: %.3f", k, p.probabilities()[spam]));
            }
        }
        float whole = c.classify(List.of(m.text())).get(0).probabilities()[spam];
        float streamed = s.prediction().probabilities()[spam];
        Arrays.sort(ns);
        out.printf("streaming: the first held-out message (%s) fed word by word through step, on %s%n", m.label(),
            c.backendName());
        out.printf("  P(spam) after n words:%s   (the whole text at once: %.3f, |diff| %.1e)%n", trace, whole,
            Math.abs(whole - streamed));
        out.printf("  per word (tokenize, embed, one LSTM step, pool, linear, softmax): median %.1f us, max %.1f us "
            + "over %d words%n%n", ns[ns.length / 2] / 1e3, ns[ns.length - 1] / 1e3, ns.length);
    }

    /** Every backend, end to end on one batch; the encoder alone next to ONNX Runtime's. */
    private static void timing(Main.Options o, EngineOptions base, Path model, List<String> texts, PrintStream out)
            throws IOException {
        List<String> batch = texts.subList(0, Math.min(BATCH, texts.size()));
        RnnSpec spec;
        Map<String, Tensor> sd;
        Tensor x;
        List<SentenceClassifier.Prediction> exact; // scalar fp32, what every row is compared with
        try (SafetensorsFile f = SafetensorsFile.open(model); SentenceClassifier c = SentenceClassifier.load(model,
                base.withBackend("scalar").withPrecision(Precision.FP32))) {
            ModelFile rnn = ModelFile.read(f, Map.of(), "rnn.");
            RnnSpec s = rnn.spec();
            // The encoder alone, time-major as ONNX's LSTM takes it: the batch's tokens embedded, padded to T.
            spec = new RnnSpec(s.mode(), s.inputSize(), s.hiddenSize(), s.numLayers(), s.bias(), false,
                s.bidirectional(), s.projSize());
            sd = new java.util.HashMap<>(); // copies: the file's views die with it
            rnn.stateDict().forEach((k, v) -> sd.put(k, Tensor.of(v.toArray(), v.shape())));
            float[] table = f.floats("embedding.weight").toArray();
            int e = s.inputSize();
            int steps = batch.stream().mapToInt(t -> c.tokens(t).size()).max().orElse(1);
            float[] xs = new float[steps * batch.size() * e];
            for (int n = 0; n < batch.size(); n++) {
                List<String> tok = c.tokens(batch.get(n));
                for (int t = 0; t < steps; t++) {
                    int id = t < tok.size() ? c.vocabulary().id(tok.get(t)) : c.vocabulary().padIndex();
                    System.arraycopy(table, id * e, xs, (t * batch.size() + n) * e, e);
                }
            }
            x = Tensor.of(xs, steps, batch.size(), e);
            exact = c.classify(batch);
        }
        out.printf("timing: the first %d held-out messages as one batch (padded to %d words), warm median of 21 calls (5 or more in 3 s), "
            + "%s, %d thread(s)%n", batch.size(), x.size(0), base.precision().label(), base.threads());
        out.printf("  %-16s %12s %12s %18s   %s%n", "", "ms per batch", "messages/s", "encoder alone, ms",
            "max |diff| of P vs scalar fp32");
        String names = o.has("backend") ? base.backend() : "auto," + String.join(",", Backends.NAMES);
        for (String name : names.split(",")) {
            Backends.Availability a = name.equals("auto") ? null : Backends.availability(name);
            if (a != null && !a.available()) {
                out.printf("  %-16s unavailable: %s%n", name, a.reason());
                continue;
            }
            if (a != null && !a.backend().precisions().contains(base.precision())) {
                out.printf("  %-16s holds fp32 weights only%n", name);
                continue;
            }
            EngineOptions eo = base.withBackend(name);
            try (SentenceClassifier c = SentenceClassifier.load(model, eo);
                 RnnModel encoder = RnnModel.create(spec, sd, eo)) {
                List<SentenceClassifier.Prediction> got = c.classify(batch);
                double diff = 0;
                for (int i = 0; i < got.size(); i++) {
                    for (int k = 0; k < got.get(i).probabilities().length; k++) {
                        diff = Math.max(diff, Math.abs(got.get(i).probabilities()[k] - exact.get(i).probabilities()[k]));
                    }
                }
                double all = median(() -> c.classify(batch));
                double enc = median(() -> encoder.forward(x));
                out.printf("  %-16s %12.2f %12.0f %18.2f   %.1e%n", name.equals("auto") ? "auto (" + c.backendName() + ")"
                    : name, all, batch.size() * 1000 / all, enc, diff);
            }
        }
        String why = OrtParticipant.unavailable();
        if (why != null) {
            out.printf("  %-16s unavailable: %s%n", "ort (peer)", why);
            return;
        }
        try (OrtRunner ort = new OrtRunner(spec, sd, x, base.threads())) {
            double enc = median(ort::run);
            out.printf("  %-16s %12s %12s %18.2f   (ONNX Runtime, the same LSTM on the same embedded batch)%n",
                "ort (peer)", "", "", enc);
        } catch (Exception e) {
            out.printf("  %-16s failed: %s%n", "ort (peer)", e.getMessage());
        }
    }

    private interface Call {
        void run() throws Exception;
    }

    /**
     * Median milliseconds of 21 calls after a second of warm-up (C2 compiles the kernels first);
     * of fewer (at least 5) when 21 would take over 3 s (the scalar backend).
     */
    private static double median(Call call) {
        try {
            long warmEnd = System.nanoTime() + 1_000_000_000L;
            while (System.nanoTime() < warmEnd) {
                call.run();
            }
            double[] ms = new double[21];
            int calls = 0;
            long end = System.nanoTime() + 3_000_000_000L;
            while (calls < ms.length && (calls < 5 || System.nanoTime() < end)) {
                long t0 = System.nanoTime();
                call.run();
                ms[calls++] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(ms, 0, calls);
            return ms[calls / 2];
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
