package dev.rnnengine.spark;

import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.text.SentenceClassifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.util.LongAccumulator;

/**
 * One partition: rows read in chunks of {@code 16 x batchSize} (bounded memory), each chunk's
 * valid rows sorted by length and run in batches, the results put back in the chunk's order.
 */
final class PartitionScorer {
    private static final int CHUNK_BATCHES = 16;
    /** A row's values, and a padded batch's, at most this many floats (1 GiB): bigger rows are malformed, batches split. */
    static final long MAX_ELEMENTS = 1L << 28;

    private final ScoringOptions options;
    private final int col;
    private final boolean text;
    private final LongAccumulator malformed;
    private ExecutorModels.Loaded loaded; // loaded with the first chunk: an empty partition loads nothing
    private final boolean classifier; // what the file was when the job's schema was made
    private final int partition;
    private long rowIndex; // the next row's index in this partition, for messages

    /** A row's input, parsed and checked: token ids (classifier) or (T, D) values (model), or why not. */
    private record Item(long[] ids, float[] values, int length, String problem) { }

    PartitionScorer(ScoringOptions options, boolean classifier, int col, DataType type, LongAccumulator malformed) {
        this.options = options;
        this.classifier = classifier;
        this.col = col;
        this.text = type.equals(DataTypes.StringType);
        this.malformed = malformed;
        TaskContext tc = TaskContext.get();
        this.partition = tc == null ? -1 : tc.partitionId();
    }

    Iterator<Row> score(Iterator<Row> in) {
        return new Iterator<>() {
            private List<Row> done = List.of();
            private int next;

            @Override
            public boolean hasNext() {
                if (next < done.size()) {
                    return true;
                }
                if (!in.hasNext()) {
                    return false;
                }
                List<Row> chunk = new ArrayList<>();
                while (in.hasNext() && chunk.size() < CHUNK_BATCHES * options.batchSize()) {
                    chunk.add(in.next());
                }
                done = scoreChunk(chunk);
                next = 0;
                return true;
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return done.get(next++);
            }
        };
    }

    private List<Row> scoreChunk(List<Row> chunk) {
        if (loaded == null) {
            TaskContext tc = TaskContext.get();
            if (tc == null) {
                throw new IllegalStateException("rnn-engine-spark: partitions are scored only inside a Spark task (the model's lease ends with the task)");
            }
            ExecutorModels.Lease lease = ExecutorModels.acquire(options);
            // The lease ends with the task: also when it fails or its rows are not all read.
            tc.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> lease.close());
            loaded = lease.loaded();
            if (loaded.isClassifier() != classifier) {
                throw new IllegalStateException("rnn-engine-spark: " + options.modelPath() + " was "
                    + (classifier ? "a classifier" : "a model") + " file when the job's schema was made and is now "
                    + (classifier ? "a model" : "a classifier") + " file: define the job again");
            }
        }
        int n = chunk.size();
        Item[] items = new Item[n];
        Object[][] outputs = new Object[n][];
        List<Integer> valid = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long index = rowIndex++;
            items[i] = parse(chunk.get(i));
            if (items[i].problem() == null) {
                valid.add(i);
                continue;
            }
            if (options.onMalformed() == ScoringOptions.OnMalformed.FAIL) {
                throw new IllegalArgumentException("rnn-engine-spark: partition " + partition + ", row " + index
                    + " of the partition: column '" + options.inputCol() + "' " + items[i].problem()
                    + " (onMalformed=FAIL; NULL scores such rows null and counts them)");
            }
            malformed.add(1);
            outputs[i] = new Object[loaded.isClassifier() ? 3 : 2];
        }
        valid.sort(Comparator.comparingInt(i -> items[i].length()));
        long width = loaded.isClassifier() ? 1 : Math.max(loaded.model().spec().inputSize(),
            (long) loaded.model().spec().directions() * loaded.model().spec().outputHiddenSize());
        for (int from = 0; from < valid.size(); ) {
            // batchSize rows, fewer when the padded batch would pass MAX_ELEMENTS (sorted: the last row is the longest)
            int to = from + 1;
            while (to < valid.size() && to - from < options.batchSize()
                    && (to - from + 1L) * items[valid.get(to)].length() * width <= MAX_ELEMENTS) {
                to++;
            }
            List<Integer> batch = valid.subList(from, to);
            if (loaded.isClassifier()) {
                classify(batch, items, outputs);
            } else {
                encode(batch, items, outputs);
            }
            from = to;
        }
        List<Row> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Row r = chunk.get(i);
            Object[] v = new Object[r.length() + outputs[i].length];
            for (int k = 0; k < r.length(); k++) {
                v[k] = r.get(k);
            }
            System.arraycopy(outputs[i], 0, v, r.length(), outputs[i].length);
            out.add(RowFactory.create(v));
        }
        return out;
    }

    private Item parse(Row r) {
        if (r.isNullAt(col)) {
            return problem("is null");
        }
        if (loaded.isClassifier()) {
            SentenceClassifier c = loaded.classifier();
            int vocab = c.vocabulary().size();
            long[] ids;
            if (text) {
                List<String> tokens = c.tokens(r.getString(col));
                ids = new long[tokens.size()];
                for (int t = 0; t < ids.length; t++) {
                    ids[t] = c.vocabulary().id(tokens.get(t));
                }
            } else {
                List<Object> l = r.getList(col);
                ids = new long[l.size()];
                for (int t = 0; t < ids.length; t++) {
                    if (!(l.get(t) instanceof Number x)) {
                        return problem("has a null token id at position " + t);
                    }
                    ids[t] = x.longValue();
                    if (ids[t] < 0 || ids[t] >= vocab) {
                        return problem("has token id " + ids[t] + " at position " + t + ", outside the vocabulary of "
                            + vocab);
                    }
                }
            }
            if (ids.length == 0) {
                return problem(text ? "has no tokens" : "is an empty array");
            }
            if (ids.length > MAX_ELEMENTS) {
                return problem("has " + ids.length + " tokens, more than " + MAX_ELEMENTS);
            }
            return new Item(ids, null, ids.length, null);
        }
        int d = loaded.model().spec().inputSize();
        List<Object> steps = r.getList(col);
        if (steps.isEmpty()) {
            return problem("has no steps");
        }
        if ((long) steps.size() * d > MAX_ELEMENTS) {
            return problem("has " + steps.size() + " steps of " + d + " features, more than " + MAX_ELEMENTS + " values");
        }
        float[] v = new float[steps.size() * d];
        for (int t = 0; t < steps.size(); t++) {
            List<?> step = asList(steps.get(t));
            if (step == null) {
                return problem("has a null step at " + t);
            }
            if (step.size() != d) {
                return problem("has " + step.size() + " features at step " + t + "; the model's input_size is " + d);
            }
            for (int k = 0; k < d; k++) {
                if (!(step.get(k) instanceof Number x)) {
                    return problem("has a null value at step " + t + ", feature " + k);
                }
                float f = x.floatValue();
                if (!Float.isFinite(f)) {
                    return problem("has " + f + " at step " + t + ", feature " + k);
                }
                v[t * d + k] = f;
            }
        }
        return new Item(null, v, steps.size(), null);
    }

    /** A nested array element as Spark hands it over (a Scala Seq) or as a Java list; null for null. */
    static List<?> asList(Object o) {
        if (o instanceof List<?> l) {
            return l;
        }
        return o instanceof scala.collection.Seq<?> s ? scala.jdk.javaapi.CollectionConverters.asJava(s) : null;
    }

    private static Item problem(String what) {
        return new Item(null, null, 0, what);
    }

    private void classify(List<Integer> batch, Item[] items, Object[][] outputs) {
        SentenceClassifier c = loaded.classifier();
        int n = batch.size();
        int steps = items[batch.get(n - 1)].length(); // sorted by length: the last is the longest
        long[] ids = new long[n * steps]; // within MAX_ELEMENTS: the batch was cut to fit
        int[] lengths = new int[n];
        for (int b = 0; b < n; b++) {
            Item it = items[batch.get(b)];
            lengths[b] = it.length();
            Arrays.fill(ids, b * steps, (b + 1) * steps, c.vocabulary().padIndex());
            System.arraycopy(it.ids(), 0, ids, b * steps, it.length());
        }
        float[] logits = c.logits(ids, n, steps, lengths);
        int classes = c.labels().size();
        for (int b = 0; b < n; b++) {
            SentenceClassifier.Prediction p = c.predict(logits, b * classes);
            outputs[batch.get(b)] = new Object[] {floats(logits, b * classes, classes), floats(p.probabilities(), 0, classes),
                p.label()};
        }
    }

    private void encode(List<Integer> batch, Item[] items, Object[][] outputs) {
        RnnModel m = loaded.model();
        RnnSpec spec = m.spec();
        int n = batch.size();
        int d = spec.inputSize();
        int steps = items[batch.get(n - 1)].length();
        float[] x = new float[n * steps * d]; // within MAX_ELEMENTS: the batch was cut to fit
        int[] lengths = new int[n];
        for (int b = 0; b < n; b++) {
            Item it = items[batch.get(b)];
            lengths[b] = it.length();
            for (int t = 0; t < it.length(); t++) {
                int row = spec.batchFirst() ? b * steps + t : t * n + b;
                System.arraycopy(it.values(), t * d, x, row * d, d);
            }
        }
        Tensor in = spec.batchFirst() ? Tensor.of(x, n, steps, d) : Tensor.of(x, steps, n, d);
        RnnOutput r = m.forward(in, null, null, lengths);
        int dirs = spec.directions();
        int hOut = spec.outputHiddenSize();
        int width = dirs * hOut;
        int lastLayer = (spec.numLayers() - 1) * dirs;
        for (int b = 0; b < n; b++) {
            Float[] hN = new Float[width];
            for (int dir = 0; dir < dirs; dir++) {
                for (int j = 0; j < hOut; j++) {
                    hN[dir * hOut + j] = r.hN().get(((lastLayer + dir) * n + b) * hOut + j);
                }
            }
            float[] acc = new float[width]; // step by step, contiguous rows of the output
            for (int t = 0; t < lengths[b]; t++) {
                int row = spec.batchFirst() ? b * steps + t : t * n + b;
                for (int j = 0; j < width; j++) {
                    acc[j] += r.output().get(row * width + j);
                }
            }
            Float[] mean = new Float[width];
            for (int j = 0; j < width; j++) {
                mean[j] = acc[j] / lengths[b];
            }
            outputs[batch.get(b)] = new Object[] {hN, mean};
        }
    }

    private static Float[] floats(float[] v, int from, int count) {
        Float[] out = new Float[count];
        for (int i = 0; i < count; i++) {
            out[i] = v[from + i];
        }
        return out;
    }
}
