package dev.rnnengine.cli;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.core.Precision;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.engine.Backends;
import dev.rnnengine.io.InputFile;
import dev.rnnengine.io.ModelFile;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.SafetensorsWriter;
import dev.rnnengine.io.UserFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code rnn} command: {@code infer}, {@code info}, {@code demo}. Exit codes: 0 success,
 * 1 a bad file, shape or unavailable backend (one line on stderr), 2 bad arguments.
 */
public final class Main {
    static final String USAGE = """
        usage: rnn <command> [options]
          demo [--precision P]                  run a small model on every available backend
          infer --model M --input I --output O  run a model file on an input file, write the output file
                [--backend B] [--threads N] [--batch-first true|false] [--precision P]
          info M [--batch-first true|false]     describe a model file, its weights' bytes per precision
                                                 and which backends run here
          classify --model M --input I --output O   logits of a classifier file for token ids (I: tokens, lengths)
          classify --model M [--text "..."]...   label and probabilities per text (else one text per stdin line)
                [--backend B] [--threads N] [--precision P]
          soak [--backend B] [--calls N] [--models M] [--max-growth-mb G]   many small calls, then models
                                                 created and closed; exit 1 if resident memory grew more than G MB (64)
          soak --streams K [--seconds S]        K clients open, step and close streams on a StreamBatcher for S s
                                                 (600); exit 1 if a step is lost, doubled or differs from running alone
          bench [--quick] [--shapes S,S,...]    time backends and peers side by side on the same weights
                [--backends B,B] [--threads 1,2] [--peers ort,torch,native] [--report DIR] [--cold]
                (a backend B:P runs weights in precision P, e.g. vector:int8; peers ort:int8 and
                 torch:int8 are ONNX Runtime's and PyTorch's int8 LSTM/GRU, activations quantized too)
                [--cell C --input-size D --hidden-size H [--layers L] [--bidirectional]
                 [--seq-len T] [--batch N]]       (a custom shape instead of --shapes)
          quantize --model M --precision P --output Q   the model file with int8 or fp16 weight matrices:
                                                 Q loads in P without quantizing again
          bench --streams K [--sequences] [--wait-us W]   K client threads: StreamBatcher steps (SequenceBatcher
                                                 calls) against K threads calling step (forward) directly and,
                                                 for steps, ONNX Runtime with the state fed back
          export --onnx --model M --output O.onnx [--batch-first true|false]   the model as ONNX (opset 17):
                                                 ONNX Runtime gives the same output, h_n (and c_n)
          tune [--model M | --shapes S,S] [--threads 1,2]   measure which backend auto uses per call class
                                                 on this machine, and cache it (auto measures once otherwise)
          help                                  this text
        B is a backend: %s
        P is a weight precision: fp32 (default, PyTorch's results), fp16 or int8 (on vector and scalar)
        files are safetensors (docs/files.md: model, input and output file contracts)""".formatted(Backends.choices());

    private Main() { }

    /** Runs the command and exits with its status. */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command; returns the exit status instead of exiting (for tests). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, System.in, out, err);
    }

    /** Runs the command with {@code in} as its standard input; returns the exit status. */
    public static int run(String[] args, java.io.InputStream in, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(USAGE);
            return 2;
        }
        String cmd = args[0];
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        try {
            switch (cmd) {
                case "infer":
                    return infer(Options.parse(rest, Set.of("model", "input", "output", "backend", "threads", "batch-first",
                        "precision"), 0), out);
                case "info":
                    return info(Options.parse(rest, Set.of("batch-first", "backend", "threads", "precision"), 1), out);
                case "tune":
                    return Tune.run(Options.parse(rest, Set.of("model", "shapes", "threads", "batch-first"), 0), out);
                case "bench":
                    return BenchOptions.run(Options.parse(rest, BenchOptions.OPTIONS, BenchOptions.FLAGS, 0), out, err);
                case "demo":
                    return Demo.run(Options.parse(rest, Set.of("backend", "threads", "precision"), 0), out);
                case "soak": {
                    Options so = Options.parse(rest, Set.of("backend", "threads", "calls", "models", "max-growth-mb",
                        "streams", "seconds"), 0);
                    return so.has("streams") ? StreamSoak.run(so, out) : Soak.run(so, out);
                }
                case "classify":
                    return Classify.run(Options.parse(rest, Set.of("model", "input", "output", "text", "backend",
                        "threads", "precision"), 0), in, out);
                case "export":
                    return Export.run(Options.parse(rest, Set.of("model", "output", "batch-first"), Set.of("onnx"), 0), out);
                case "quantize":
                    return Quantize.run(Options.parse(rest, Set.of("model", "output", "precision", "batch-first"), 0), out);
                case "help", "--help", "-h":
                    out.println(USAGE);
                    return 0;
                default:
                    err.println("rnn: unknown command '" + cmd + "'\n" + USAGE);
                    return 2;
            }
        } catch (UsageException e) {
            err.println("rnn " + cmd + ": " + e.getMessage() + " (rnn help for usage)");
            return 2;
        } catch (NoSuchFileException e) {
            err.println("rnn " + cmd + ": no such file: " + e.getFile());
            return 1;
        } catch (AccessDeniedException e) {
            err.println("rnn " + cmd + ": " + e.getFile() + ": permission denied"
                + (e.getReason() == null ? "" : " (" + e.getReason() + ")"));
            return 1;
        } catch (FileSystemException e) {
            err.println("rnn " + cmd + ": " + e.getFile() + ": " + (e.getReason() != null ? e.getReason()
                : e.getClass().getSimpleName()));
            return 1;
        } catch (IOException | IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
            err.println("rnn " + cmd + ": " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("rnn " + cmd + ": interrupted");
            return 1;
        } catch (OutOfMemoryError e) {
            String m = String.valueOf(e.getMessage());
            err.println("rnn " + cmd + ": " + (m.contains("native thread")
                ? "cannot start another thread (" + m + "): use fewer threads (--threads) or raise the process's "
                    + "thread limit (ulimit -u)"
                : "out of memory (" + m + "); raise -Xmx through RNN_JAVA_OPTS"));
            return 1;
        }
    }

    /** The command's options over the defaults; a property is read only when its option is absent. */
    static EngineOptions engineOptions(Options o) throws UsageException {
        String backend = o.has("backend") ? o.get("backend") : EngineOptions.defaultBackend();
        int threads = o.has("threads") ? o.intValue("threads", 1) : EngineOptions.defaultThreads();
        Precision precision = Precision.FP32;
        if (o.has("precision")) {
            try {
                precision = Precision.parse(o.get("precision"));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
        return new EngineOptions(backend, threads, precision);
    }

    static Map<String, String> overrides(Options o) throws UsageException {
        Map<String, String> m = new HashMap<>();
        if (o.has("batch-first")) {
            String v = o.get("batch-first");
            if (!v.equals("true") && !v.equals("false")) {
                throw new UsageException("--batch-first takes true or false, got '" + v + "'");
            }
            m.put("batch_first", v);
        }
        return m;
    }

    private static int infer(Options o, PrintStream out) throws IOException, UsageException {
        Path modelPath = Path.of(o.require("model"));
        Path inputPath = Path.of(o.require("input"));
        Path outputPath = Path.of(o.require("output"));
        UserFiles.checkOutput(outputPath, modelPath, inputPath);
        try (RnnModel model = RnnModel.load(modelPath, engineOptions(o), overrides(o));
             SafetensorsFile in = SafetensorsFile.open(inputPath)) {
            if (model.onnxGraph() != null) { // the graph's own input and output names
                dev.rnnengine.io.OnnxGraph g = model.onnxGraph();
                InputFile gi = InputFile.read(in, g);
                Map<String, dev.rnnengine.core.Tensor> inputs = new java.util.LinkedHashMap<>();
                inputs.put(g.input(), gi.input());
                if (g.h0() != null) {
                    inputs.put(g.h0(), gi.h0());
                }
                if (g.c0() != null) {
                    inputs.put(g.c0(), gi.c0());
                }
                SafetensorsWriter w = new SafetensorsWriter();
                model.runGraph(inputs, gi.lengths()).forEach(w::put);
                w.write(outputPath);
                return 0;
            }
            InputFile i = InputFile.read(in);
            RnnOutput r = model.forward(i.input(), i.h0(), i.c0(), i.lengths());
            SafetensorsWriter w = new SafetensorsWriter().put("output", r.output()).put("h_n", r.hN());
            if (r.cN() != null) {
                w.put("c_n", r.cN());
            }
            w.write(outputPath);
        }
        return 0;
    }

    private static int info(Options o, PrintStream out) throws IOException, UsageException {
        Path path = Path.of(o.positional(0, "model file"));
        RnnSpec s;
        Precision inFile = Precision.FP32;
        dev.rnnengine.io.OnnxGraph graph = null;
        if (dev.rnnengine.io.OnnxImport.isOnnxFile(path)) {
            graph = dev.rnnengine.io.OnnxImport.read(path);
            s = graph.spec();
        } else {
            try (SafetensorsFile f = SafetensorsFile.open(path)) {
                ModelFile mf = ModelFile.read(f, overrides(o));
                s = mf.spec();
                inFile = mf.precision();
            }
        }
        out.println("model:        " + path);
        out.println("mode:         " + s.mode() + " (torch.nn." + s.mode().moduleName() + ", nonlinearity=" + s.nonlinearity() + ")");
        out.println("input_size:   " + s.inputSize());
        out.println("hidden_size:  " + s.hiddenSize() + (s.projSize() > 0 ? " (proj_size " + s.projSize() + ")" : ""));
        out.println("num_layers:   " + s.numLayers() + (s.bidirectional() ? ", bidirectional" : ""));
        out.println("bias:         " + s.bias());
        out.println("batch_first:  " + s.batchFirst());
        out.println("parameters:   " + s.parameterCount());
        long matrices = 0;
        long rows = 0;
        for (Map.Entry<String, int[]> e : s.parameterShapes().entrySet()) {
            if (e.getKey().startsWith("weight")) {
                matrices += (long) e.getValue()[0] * e.getValue()[1];
                rows += e.getValue()[0];
            }
        }
        long biases = 4L * (s.parameterCount() - matrices);
        Precision held = inFile != Precision.FP32 ? inFile : engineOptions(o).precision();
        if (inFile != Precision.FP32) {
            out.println("file:         " + inFile.label() + " weight matrices (rnn quantize): it loads in " + inFile.label());
        }
        if (graph != null) {
            StringBuilder outs = new StringBuilder();
            for (dev.rnnengine.io.OnnxGraph.Output x : graph.outputs()) {
                outs.append(outs.length() == 0 ? "" : ", ").append('\'').append(x.name()).append("' (").append(x.kind())
                    .append(')');
            }
            out.println("onnx:         opset " + graph.opset() + "; inputs '" + graph.input() + "'"
                + (graph.h0() == null ? "" : ", '" + graph.h0() + "'") + (graph.c0() == null ? "" : ", '" + graph.c0() + "'")
                + (graph.lengths() == null ? "" : ", '" + graph.lengths() + "' (sequence_lens)") + "; outputs " + outs);
        }
        StringBuilder w = new StringBuilder("weights:      ");
        for (Precision p : Precision.values()) { // codes, int8's scale per row, fp32 biases
            long b = matrices * p.bytesPerWeight() + (p == Precision.INT8 ? 4 * rows : 0) + biases;
            w.append(String.format(java.util.Locale.ROOT, "%s %.2f MB%s", p.label(), b / 1e6, p == held ? " (held)" : ""))
                .append(p == Precision.INT8 ? "" : ", ");
        }
        out.println(w);
        out.println("backends here:");
        for (Backends.Availability a : Backends.all().values()) {
            out.printf("  %-9s %s%n", a.name(), a.available() ? "available: " + a.backend().describe()
                : "unavailable: " + a.reason());
        }
        out.println("auto selects: " + Backends.describeAuto(s, engineOptions(o).threads()));
        return 0;
    }

    /** A command-line mistake; exit status 2. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String msg) {
            super(msg);
        }
    }

    /** {@code --key value} options plus positional arguments. */
    static final class Options {
        /** Options that may be given more than once. */
        private static final Set<String> REPEATABLE = Set.of("text");

        private final Map<String, String> values = new HashMap<>();
        private final Map<String, List<String>> repeated = new HashMap<>();
        private final List<String> positional = new java.util.ArrayList<>();

        static Options parse(String[] args, Set<String> allowed, int maxPositional) throws UsageException {
            return parse(args, allowed, Set.of(), maxPositional);
        }

        /** Like {@link #parse(String[], Set, int)}, where {@code flags} take no value (they read as "true"). */
        static Options parse(String[] args, Set<String> allowed, Set<String> flags, int maxPositional) throws UsageException {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.startsWith("--")) {
                    String key = a.substring(2);
                    String value = null;
                    int eq = key.indexOf('=');
                    if (eq >= 0) {
                        value = key.substring(eq + 1);
                        key = key.substring(0, eq);
                    }
                    if (flags.contains(key) && value == null) {
                        value = "true";
                    } else if (!allowed.contains(key)) {
                        throw new UsageException("unknown option --" + key);
                    }
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new UsageException("--" + key + " needs a value");
                        }
                        value = args[++i];
                    }
                    o.repeated.computeIfAbsent(key, k -> new java.util.ArrayList<>()).add(value);
                    if (o.values.put(key, value) != null && !REPEATABLE.contains(key)) {
                        throw new UsageException("--" + key + " given twice");
                    }
                } else {
                    o.positional.add(a);
                }
            }
            if (o.positional.size() > maxPositional) {
                throw new UsageException("unexpected argument '" + o.positional.get(maxPositional) + "'");
            }
            return o;
        }

        /** Every value of an option that may be given more than once. */
        List<String> all(String key) {
            return repeated.getOrDefault(key, List.of());
        }

        boolean has(String key) {
            return values.containsKey(key);
        }

        String get(String key) {
            return values.get(key);
        }

        String require(String key) throws UsageException {
            String v = values.get(key);
            if (v == null) {
                throw new UsageException("--" + key + " is required");
            }
            return v;
        }

        int intValue(String key, int min) throws UsageException {
            try {
                int v = Integer.parseInt(values.get(key));
                if (v < min) {
                    throw new UsageException("--" + key + " must be at least " + min);
                }
                return v;
            } catch (NumberFormatException e) {
                throw new UsageException("--" + key + " takes an integer, got '" + values.get(key) + "'");
            }
        }

        String positional(int i, String what) throws UsageException {
            if (i >= positional.size()) {
                throw new UsageException("missing " + what);
            }
            return positional.get(i);
        }
    }
}
