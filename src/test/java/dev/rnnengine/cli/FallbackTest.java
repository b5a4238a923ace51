package dev.rnnengine.cli;

import dev.rnnengine.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A missing module or a JVM without C2 makes the vector backend explain itself: auto falls
 * back with one log line naming the fix, and forcing it fails with that message. Runs the CLI
 * in child JVMs, since a JVM's modules and compilers are fixed at start.
 */
class FallbackTest {
    @TempDir
    Path dir;

    private Fixtures.Cli cli(List<String> jvmArgs, String... args) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(jvmArgs);
        all.add("-cp");
        all.add(System.getProperty("java.class.path"));
        return Fixtures.childCli(dir, all, 120, args);
    }

    /** Like cli, but jvmArgs carry their own -cp. */
    private Fixtures.Cli cliWithClassPath(List<String> jvmArgs, String... args) throws IOException, InterruptedException {
        return Fixtures.childCli(dir, jvmArgs, 120, args);
    }

    private static String[] infer(Path c, Path out, String backend) {
        return new String[] {"infer", "--model", c.resolve("model.safetensors").toString(), "--input",
            c.resolve("input.safetensors").toString(), "--output", out.toString(), "--backend", backend};
    }

    @Test
    void withoutTheVectorModuleAutoFallsBackAndForcingFails() throws Exception {
        Path c = Fixtures.goldenCases().get(0);
        Fixtures.Cli auto = cli(List.of(), infer(c, dir.resolve("a.safetensors"), "auto"));
        assertEquals(0, auto.code(), auto.err());
        List<String> lines = auto.err().lines().filter(l -> l.contains("vector")).toList();
        assertEquals(1, lines.size(), "one log line about vector: " + auto.err());
        assertTrue(lines.get(0).contains("--add-modules jdk.incubator.vector"), lines.get(0));

        // OpenBLAS still runs, with the scalar gate math, and still matches PyTorch.
        Path blasOut = dir.resolve("b.safetensors");
        Fixtures.Cli blas = cli(List.of("--enable-native-access=ALL-UNNAMED"), infer(c, blasOut, "openblas"));
        assertEquals(0, blas.code(), blas.err());
        try (var got = dev.rnnengine.io.SafetensorsFile.open(blasOut);
             var exp = dev.rnnengine.io.SafetensorsFile.open(c.resolve("expected.safetensors"))) {
            for (String n : exp.names()) { // output, h_n and (LSTM) c_n
                Fixtures.assertClose(n, exp.floats(n), got.floats(n));
            }
        }

        Fixtures.Cli forced = cli(List.of(), infer(c, dir.resolve("f.safetensors"), "vector"));
        assertEquals(1, forced.code());
        assertTrue(forced.err().contains("backend 'vector' is not available")
            && forced.err().contains("--add-modules jdk.incubator.vector"), forced.err());
    }

    @Test
    void withoutOpenBlasAnywhereForcingItSaysHowToGetIt() throws Exception {
        Path c = Fixtures.goldenCases().get(0);
        // Only the jar as a source, and a class path without the jar: nothing to load.
        String cp = Fixtures.classPathWithout("bytedeco");
        List<String> jvm = List.of("--add-modules=jdk.incubator.vector", "-Drnn.openblas.sources=jar", "-cp", cp);
        Fixtures.Cli forced = cliWithClassPath(jvm, infer(c, dir.resolve("o.safetensors"), "openblas"));
        assertEquals(1, forced.code());
        assertTrue(forced.err().contains("backend 'openblas' is not available") && forced.err().contains("apt-get install libopenblas0")
            && forced.err().contains("org.bytedeco:openblas"), forced.err());
        // Neither the Vector API nor OpenBLAS: auto measures what is left, one line per skipped backend.
        Fixtures.Cli auto = cliWithClassPath(List.of("-Drnn.openblas.sources=jar", "-cp", cp),
            infer(c, dir.resolve("s.safetensors"), "auto"));
        assertEquals(0, auto.code(), auto.err());
        List<String> blasLines = auto.err().lines().filter(l -> l.contains("backend openblas unavailable")).toList();
        assertEquals(1, blasLines.size(), auto.err());
        assertTrue(blasLines.get(0).contains("apt-get install libopenblas0") && blasLines.get(0).contains("auto chooses among scalar"),
            blasLines.get(0));
        assertEquals(1, auto.err().lines().filter(l -> l.contains("backend vector unavailable")).count(), auto.err());

        Fixtures.Cli info = cliWithClassPath(jvm, "info", c.resolve("model.safetensors").toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("openblas  unavailable: OpenBLAS not found"), info.out());
    }

    @Test
    void withoutC2TheVectorBackendSaysSo() throws Exception {
        Path c = Fixtures.goldenCases().get(0);
        Fixtures.Cli r = cli(List.of("--add-modules=jdk.incubator.vector", "-XX:TieredStopAtLevel=1"),
            infer(c, dir.resolve("c.safetensors"), "vector"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("C2 compiler is off") && r.err().contains("TieredStopAtLevel=1"), r.err());
    }


    @Test
    void withoutOneDnnAutoRunsEveryBatchOnTheSmallBatchBackendAndForcingSaysHowToGetIt() throws Exception {
        Path c = Fixtures.goldenCases().get(0);
        List<String> jvm = List.of("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
            "-Drnn.onednn.sources=jar", "-cp", Fixtures.classPathWithout("bytedeco" + java.io.File.separator + "dnnl"));
        Fixtures.Cli forced = cliWithClassPath(jvm, infer(c, dir.resolve("d.safetensors"), "onednn"));
        assertEquals(1, forced.code());
        assertTrue(forced.err().contains("backend 'onednn' is not available") && forced.err().contains("org.bytedeco:dnnl:")
            && forced.err().contains("rnn.onednn.path"), forced.err());
        Fixtures.Cli auto = cliWithClassPath(jvm, infer(c, dir.resolve("a.safetensors"), "auto"));
        assertEquals(0, auto.code(), auto.err());
        List<String> lines = auto.err().lines().filter(l -> l.contains("onednn")).toList();
        assertEquals(1, lines.size(), auto.err());
        assertTrue(lines.get(0).contains("backend onednn unavailable") && lines.get(0).contains("auto chooses among vector, openblas"),
            lines.get(0));
    }

    @Test
    void oneDnn2IsRefusedWithTheReason() throws Exception {
        Path lib2 = Path.of("/usr/lib/x86_64-linux-gnu/libdnnl.so.2");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(lib2),
            "Debian's libdnnl2 is not installed (.ci/run installs it for this test)");
        Path c = Fixtures.goldenCases().get(0);
        Fixtures.Cli forced = cli(List.of("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
            "-Drnn.onednn.path=" + lib2), infer(c, dir.resolve("d.safetensors"), "onednn"));
        assertEquals(1, forced.code());
        assertTrue(forced.err().contains("oneDNN 2.") && forced.err().contains("needs oneDNN 3.x"), forced.err());
    }
}
