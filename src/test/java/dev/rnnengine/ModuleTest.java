package dev.rnnengine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rnnengine.io.SafetensorsFile;
import java.io.File;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The module descriptor exports the public API and nothing else, and the engine runs as a named module. */
class ModuleTest {
    @TempDir
    Path dir;

    private static ModuleDescriptor descriptor() throws Exception {
        try (InputStream in = Files.newInputStream(Path.of("target", "classes", "module-info.class"))) {
            return ModuleDescriptor.read(in);
        }
    }

    @Test
    void exportsThePublicApiOnly() throws Exception {
        ModuleDescriptor d = descriptor();
        assertEquals("dev.rnnengine", d.name());
        Set<String> exported = d.exports().stream().map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(List.of("dev.rnnengine.api", "dev.rnnengine.core", "dev.rnnengine.io",
            "dev.rnnengine.text")), exported);
        for (ModuleDescriptor.Exports e : d.exports()) {
            assertEquals(Set.of(), e.targets(), e.source() + " is exported to everyone or not at all");
        }
    }

    /** rnn infer from the module path: the golden case's answer, on every backend that loads there. */
    @Test
    void runsFromTheModulePath() throws Exception {
        Path c = Fixtures.golden("002_lstm");
        String deps = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(e -> !e.endsWith("classes")).collect(Collectors.joining(File.pathSeparator));
        for (String backend : Fixtures.expectedBackends()) {
            Path out = dir.resolve(backend + ".safetensors");
            Fixtures.Cli r = Fixtures.childCli(dir, List.of("@" + Path.of("bin", "jvm.args").toAbsolutePath(),
                    "--enable-native-access=dev.rnnengine", "--module-path", Path.of("target", "classes").toAbsolutePath().toString(),
                    "-cp", deps, "-m", "dev.rnnengine/dev.rnnengine.cli.Main"), 120,
                "infer", "--model", c.resolve("model.safetensors").toString(), "--input", c.resolve("input.safetensors").toString(),
                "--output", out.toString(), "--backend", backend);
            assertEquals(0, r.code(), backend + ": " + r.err());
            try (SafetensorsFile got = SafetensorsFile.open(out);
                 SafetensorsFile exp = SafetensorsFile.open(c.resolve("expected.safetensors"))) {
                Fixtures.assertClose(backend + " output", exp.floats("output"), got.floats("output"));
            }
        }
    }
}
