package dev.rnnengine.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.io.InputFile;
import dev.rnnengine.io.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Jazzer fuzz tests: the safetensors reader, and a model file plus an input file through the
 * whole forward path. Any exception other than the documented ones (IOException,
 * IllegalArgumentException, IllegalStateException, UnsupportedOperationException) is a
 * finding. `bin/test` replays the kept corpus (src/test/resources/dev/rnnengine/fuzz/...);
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
                    try {
                        f.floats(n);
                    } catch (IOException e) {
                        f.longs(n); // not a float tensor: maybe an integer one
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
     * {@code tools/make_fuzz_seeds.py} writes golden cases in this form as seeds.
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
            try (RnnModel m = RnnModel.load(model, new EngineOptions(backend, 1), java.util.Map.of("batch_first", "false"));
                 SafetensorsFile in = SafetensorsFile.open(input)) {
                InputFile i = InputFile.read(in);
                if ((long) i.input().numel() * m.spec().hiddenSize() < 10_000_000) { // bounded time per input
                    m.forward(i.input(), i.h0(), i.c0(), i.lengths());
                }
            } catch (IOException | IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
                // refused with a message: fine
            }
        } finally {
            Files.deleteIfExists(model);
            Files.deleteIfExists(input);
        }
    }
}
