package dev.rnnengine.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.io.InputFile;
import dev.rnnengine.io.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Jazzer fuzz tests: the safetensors reader, and a model file (fp32, or int8/fp16 as
 * {@code rnn quantize} writes them) plus an input file through the whole forward path, compared
 * with the scalar backend. Any exception other than the
 * documented refusals, or a disagreement, is a finding. `bin/test` replays the kept corpus (src/test/resources/dev/rnnengine/fuzz/...);
 * `JAZZER_FUZZ=1 mvn test -Dtest=SafetensorsFuzzTest -Djazzer.max_duration=60s` fuzzes anew.
 */
class SafetensorsFuzzTest {
    @FuzzTest(maxDuration = "30s")
    void readerRefusesOrReads(byte[] data) throws IOException {
        Path p = Files.createTempFile("fuzz", ".safetensors");
        try {
            Files.write(p, data);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                for (String n : f.names()) {
                    switch (f.info(n).dtype()) {
                        case I8 -> f.int8s(n);
                        case F16 -> f.float16Bits(n);
                        case I64, I32 -> f.longs(n);
                        default -> f.floats(n); // refuses the other types
                    }
                }
            } catch (IOException | IllegalArgumentException e) {
                // refused with a message: fine
            }
        } finally {
            Files.deleteIfExists(p);
        }
    }

    /** The backends this machine must have (Fixtures's list), for the fuzzer to pick from. */
    private static final java.util.List<String> BACKENDS = dev.rnnengine.Fixtures.expectedBackends();

    /**
     * {@code data} is [backend index][model length, 3 bytes big-endian][model file][input file];
     * {@code tools/make_fuzz_seeds.py} writes golden cases in this form as seeds. The model's
     * own metadata is used (batch-first and packed seeds stay valid). A refusal must be
     * documented: an IOException for the files, IllegalArgumentException for shapes,
     * UnsupportedOperationException for a backend that cannot run the model. An
     * IllegalStateException (a native failure, or a closed resource) is a finding, and the
     * result is compared with the scalar backend's within the rounding the recurrence can
     * amplify ({@link Conditioning}).
     */
    @FuzzTest(maxDuration = "30s")
    void modelAndInputRunOrRefuse(byte[] data) throws IOException {
        if (data.length < 4) {
            return;
        }
        String backend = BACKENDS.get((data[0] & 0xff) % BACKENDS.size());
        int modelLength = (data[1] & 0xff) << 16 | (data[2] & 0xff) << 8 | data[3] & 0xff;
        int cut = (int) Math.min(data.length, 4L + modelLength);
        Path model = Files.createTempFile("fuzz-model", ".safetensors");
        Path input = Files.createTempFile("fuzz-input", ".safetensors");
        try {
            Files.write(model, java.util.Arrays.copyOfRange(data, 4, cut));
            Files.write(input, java.util.Arrays.copyOfRange(data, cut, data.length));
            try (RnnModel m = RnnModel.load(model, new EngineOptions(backend, 1), java.util.Map.of());
                 RnnModel ref = RnnModel.load(model, new EngineOptions("scalar", 1), java.util.Map.of());
                 SafetensorsFile in = SafetensorsFile.open(input);
                 SafetensorsFile weights = SafetensorsFile.open(model)) {
                InputFile i = InputFile.read(in);
                if ((long) i.input().numel() * m.spec().hiddenSize() * m.spec().numLayers() > 10_000_000) {
                    return; // bounded time per input
                }
                RnnOutput got = m.forward(i.input(), i.h0(), i.c0(), i.lengths());
                RnnOutput want = ref.forward(i.input(), i.h0(), i.c0(), i.lengths());
                int steps = i.input().size(m.spec().batchFirst() && i.input().dim() == 3 ? 1 : 0);
                double tol = Conditioning.tolerance(weights, "", steps * m.spec().numLayers());
                if (!Double.isNaN(tol) && finite(i.input()) && (i.h0() == null || finite(i.h0()))
                        && (i.c0() == null || finite(i.c0()))) {
                    agree("output", want.output(), got.output(), tol, backend);
                    agree("h_n", want.hN(), got.hN(), tol, backend);
                    if (want.cN() != null) {
                        agree("c_n", want.cN(), got.cN(), tol, backend);
                    }
                }
            } catch (IOException | IllegalArgumentException | UnsupportedOperationException e) {
                // refused with a message: fine
            }
        } finally {
            Files.deleteIfExists(model);
            Files.deleteIfExists(input);
        }
    }

    private static boolean finite(dev.rnnengine.core.Tensor t) {
        for (int k = 0; k < t.numel(); k++) {
            float v = t.get(k);
            if (!Float.isFinite(v) || Math.abs(v) > 100) {
                return false;
            }
        }
        return true;
    }

    private static void agree(String what, dev.rnnengine.core.Tensor want, dev.rnnengine.core.Tensor got, double tol,
                              String backend) {
        for (int k = 0; k < want.numel(); k++) {
            if (!(Math.abs(want.get(k) - got.get(k)) <= tol)) {
                throw new AssertionError(backend + " vs scalar, " + what + "[" + k + "]: " + got.get(k) + " vs "
                    + want.get(k) + " (tolerance " + tol + ")");
            }
        }
    }
}
