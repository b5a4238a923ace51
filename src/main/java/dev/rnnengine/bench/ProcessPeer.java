package dev.rnnengine.bench;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A peer in another process (PyTorch through Python, the C baseline), driven by a line
 * protocol on its stdin/stdout so its runs interleave with the engine's:
 * {@code load DIR THREADS} -> {@code ok [info]}; {@code run K} -> K times in ms; {@code check} -> writes
 * {@code DIR/<name>_y.bin} (float32 {@code (T, N, dirs*H)}), then {@code ok}; {@code quit}.
 * Anything else it prints starts with {@code error}; an answer outside the protocol (a library
 * printing on stdout) is refused with an {@link IOException} that quotes it. The model and input are in {@link #writeRaw}'s files.
 */
final class ProcessPeer implements Participant {
    private static final long TIMEOUT_SECONDS = 600;
    private final String name;
    private final Process process;
    private final PrintWriter in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Path dir;
    private final int outLen;
    private final String loadInfo;

    /**
     * Starts {@code command} and loads the model in {@code dir}.
     *
     * @throws IOException if it cannot start, or it refuses the model (its message included)
     */
    ProcessPeer(String name, List<String> command, Path dir, int threads, int outLen) throws IOException {
        this.name = name;
        this.dir = dir;
        this.outLen = outLen;
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(dir.resolve(name + ".err").toFile());
        // The peer's BLAS and OpenMP pools get the asked count too: torch.set_num_threads does not
        // reach Debian's OpenBLAS, so "1 thread" ran its GEMMs on every core (lstm_512_b64: 32 ms,
        // against 52 ms with OPENBLAS_NUM_THREADS=1).
        peerEnvironment(pb.environment(), threads);
        this.process = pb.start();
        this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException e) {
                // the process is gone; ask() reports it
            }
            lines.add("\u0000eof");
        }, "peer-" + name);
        reader.setDaemon(true);
        reader.start();
        String loaded;
        try {
            loaded = ask("load " + dir + " " + threads);
            if (!loaded.equals("ok") && !loaded.startsWith("ok ")) {
                throw unexpected("load", loaded);
            }
        } catch (IOException e) {
            process.destroyForcibly();
            throw e;
        }
        this.loadInfo = loaded.substring(2).strip();
    }

    /**
     * The peer's environment: its BLAS and OpenMP pools get the measured thread count, and
     * oneDNN's verbose mode, which prints on stdout (the protocol's channel), is off.
     */
    static void peerEnvironment(Map<String, String> env, int threads) {
        for (String pool : new String[] {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"}) {
            env.put(pool, Integer.toString(threads));
        }
        env.remove("ONEDNN_VERBOSE");
        env.remove("DNNL_VERBOSE");
    }

    private IOException unexpected(String command, String answer) {
        String shown = answer.length() > 120 ? answer.substring(0, 120) + "..." : answer;
        return new IOException(name + " gave an unexpected answer to '" + command + "': '" + shown + "'");
    }

    /** What the peer added to its load answer after {@code ok} (PyTorch: {@code blas=...}), or "". */
    String loadInfo() {
        return loadInfo;
    }

    private String ask(String command) throws IOException {
        in.println(command);
        String l;
        try {
            l = lines.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(name + ": interrupted");
        }
        if (l == null || l.equals("\u0000eof") || l.startsWith("error")) {
            String err = "";
            try {
                err = Files.readString(dir.resolve(name + ".err")).strip();
            } catch (IOException ignored) {
                // no stderr to add
            }
            String last = err.lines().reduce((a, b) -> b).orElse("");
            throw new IOException(name + " failed on '" + command + "': "
                + (l == null ? "no answer in " + TIMEOUT_SECONDS + " s" : l.equals("\u0000eof") ? "it exited" : l)
                + (last.isEmpty() ? "" : " (" + last + ")"));
        }
        return l;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public double tolerance() {
        return name.endsWith(":int8") ? QUANTIZED_ACTIVATIONS : 0;
    }

    @Override
    public double[] time(int calls) throws IOException {
        String answer = ask("run " + calls);
        String[] p = answer.trim().split("\\s+");
        if (p.length != calls) {
            throw unexpected("run " + calls, answer);
        }
        double[] ms = new double[calls];
        for (int i = 0; i < calls; i++) {
            try {
                ms[i] = Double.parseDouble(p[i]);
            } catch (NumberFormatException e) {
                throw unexpected("run " + calls, answer);
            }
            if (!(ms[i] >= 0) || Double.isInfinite(ms[i])) {
                throw unexpected("run " + calls, answer);
            }
        }
        return ms;
    }

    @Override
    public float[] output() throws IOException {
        String answer = ask("check");
        if (!answer.equals("ok")) {
            throw unexpected("check", answer);
        }
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(name + "_y.bin"))).order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() != 4L * outLen) {
            throw new IOException(name + ": output of " + b.remaining() + " bytes, expected " + 4L * outLen);
        }
        float[] y = new float[outLen];
        b.asFloatBuffer().get(y);
        return y;
    }

    @Override
    public void close() throws InterruptedException {
        in.println("quit");
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    /**
     * Writes a model and its input for process peers: {@code spec.txt} ({@code cell D H L dirs T N})
     * and {@code data.bin}, float32 little-endian: x {@code (T, N, D)}, then per layer and direction
     * PyTorch's {@code weight_ih, weight_hh, bias_ih, bias_hh}.
     *
     * @throws IOException if the files cannot be written
     */
    static void writeRaw(Path dir, RnnSpec spec, Map<String, Tensor> sd, Tensor x) throws IOException {
        Files.writeString(dir.resolve("spec.txt"), String.format(Locale.ROOT, "%s %d %d %d %d %d %d%n",
            spec.mode().name().toLowerCase(Locale.ROOT), spec.inputSize(), spec.hiddenSize(), spec.numLayers(),
            spec.directions(), x.size(0), x.size(1)));
        try (FileChannel ch = FileChannel.open(dir.resolve("data.bin"), StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            write(ch, x.toArray());
            for (int l = 0; l < spec.numLayers(); l++) {
                for (int d = 0; d < spec.directions(); d++) {
                    for (String k : new String[] {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
                        write(ch, sd.get(CellMode.parameterName(k, l, d)).toArray());
                    }
                }
            }
        }
    }

    private static void write(FileChannel ch, float[] v) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
