package dev.rnnengine.api;

import dev.rnnengine.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.api.RnnOutput;
import dev.rnnengine.engine.Backends;
import dev.rnnengine.io.InputFile;
import dev.rnnengine.io.SafetensorsFile;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every golden case (computed by PyTorch in float64) on every expected backend. */
class GoldenTest {
    private static final AtomicInteger CHECKED = new AtomicInteger();

    static Stream<Arguments> cases() {
        return Fixtures.configs().stream()
            .flatMap(b -> Fixtures.goldenCases().stream().map(c -> Arguments.of(b, c.getFileName().toString(), c)));
    }

    @Test
    void everyExpectedBackendIsAvailable() {
        for (String b : Fixtures.expectedBackends()) {
            Backends.Availability a = Backends.availability(b);
            assertTrue(a.available(), "backend " + b + " must run here: " + a.reason());
        }
    }

    @Test
    void thereAreGoldenCases() {
        assertTrue(Fixtures.goldenCases().size() >= 50, "golden cases missing from test resources");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesPyTorch(Fixtures.Config config, String name, Path dir) throws Exception {
        String backend = config.backend();
        EngineOptions opts = new EngineOptions(backend, config.threads());
        try (RnnModel model = RnnModel.load(dir.resolve("model.safetensors"), opts, Map.of());
             SafetensorsFile in = SafetensorsFile.open(dir.resolve("input.safetensors"));
             SafetensorsFile exp = SafetensorsFile.open(dir.resolve("expected.safetensors"))) {
            assertEquals(backend, model.backendName(), "the model must run on the backend asked for");
            InputFile i = InputFile.read(in);
            RnnOutput out = model.forward(i.input(), i.h0(), i.c0(), i.lengths());
            Fixtures.assertClose(name + " output", exp.floats("output"), out.output());
            Fixtures.assertClose(name + " h_n", exp.floats("h_n"), out.hN());
            if (exp.contains("c_n")) {
                Fixtures.assertClose(name + " c_n", exp.floats("c_n"), out.cN());
            } else {
                assertNull(out.cN());
            }
            CHECKED.incrementAndGet();
        }
    }

    @AfterAll
    static void noCaseWasSkipped() {
        // A silent skip (filtered case, unavailable backend) must not look like a pass.
        int expected = Fixtures.configs().size() * Fixtures.goldenCases().size();
        assertEquals(expected, CHECKED.get(), "golden checks actually run");
    }
}
