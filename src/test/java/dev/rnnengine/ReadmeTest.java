package dev.rnnengine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.io.ModelFile;
import dev.rnnengine.io.SafetensorsFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README and docs/ as a newcomer meets them: the quickstart shown is docs/Quickstart.java
 * as it is, and it compiles and runs; every relative link resolves; every {@code bin/rnn}
 * command they show is one the CLI has; every page of docs/ is reachable from the README.
 */
class ReadmeTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir"));

    @TempDir
    Path dir;

    @Test
    void theQuickstartIsShownAsItIsAndCompilesAndRuns() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        String source = Files.readString(ROOT.resolve("docs/Quickstart.java"));
        assertTrue(readme.contains("```java\n" + source + "```"), "the README's java block is docs/Quickstart.java");
        Path src = Files.writeString(dir.resolve("Quickstart.java"), source);
        String cp = System.getProperty("java.class.path");
        Path bin = Path.of(System.getProperty("java.home"), "bin");
        Result javac = run(List.of(bin.resolve("javac").toString(), "-d", dir.toString(), "-cp", cp,
            "--add-modules", "jdk.incubator.vector", src.toString()));
        assertEquals(0, javac.code(), javac.out());
        Path lstm = null;
        for (Path c : Fixtures.goldenCases()) { // a unidirectional LSTM: it streams
            try (SafetensorsFile f = SafetensorsFile.open(c.resolve("model.safetensors"))) {
                RnnSpec s = ModelFile.read(f, Map.of(), "").spec();
                if (s.mode().hasCellState() && !s.bidirectional()) {
                    lstm = c.resolve("model.safetensors");
                    break;
                }
            }
        }
        Path spam = ROOT.resolve("src/main/resources/dev/rnnengine/demo/spam.safetensors");
        // Run as an application would be: its own JVM with the two options the README names.
        Result app = run(List.of(bin.resolve("java").toString(), "@" + ROOT.resolve("bin/jvm.args"),
            "-Drnn.cache.dir=" + System.getProperty("rnn.cache.dir", dir.resolve("cache").toString()), "-cp", dir + java.io.File.pathSeparator + cp, "Quickstart",
            lstm.toString(), spam.toString()));
        assertEquals(0, app.code(), app.out());
        List<String> lines = app.out().lines().filter(l -> !l.startsWith("WARNING") && !l.contains("auto:")
            && !l.startsWith("INFO") && !l.matches("^[A-Z][a-z]{2} \\d+, .*")).toList();
        assertEquals(4, lines.size(), app.out());
        assertTrue(lines.get(0).matches("h_n \\[\\d+, 4, \\d+\\]"), lines.get(0));
        assertTrue(lines.get(2).startsWith("spam ") && lines.get(3).startsWith("ham "), app.out());
    }

    private record Result(int code, String out) { }

    /** A child process, stdout and stderr together; 3 minutes at most. */
    private Result run(List<String> cmd) throws Exception {
        Path log = Files.createTempFile(dir, "child", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(180, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("did not finish in 180 s: " + cmd + "\n" + Files.readString(log));
        }
        return new Result(p.exitValue(), Files.readString(log));
    }

    @Test
    void everyLinkResolvesEveryPageIsReachableAndEveryCommandExists() throws Exception {
        List<Path> pages = new ArrayList<>(List.of(ROOT.resolve("README.md")));
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).forEach(pages::add);
        }
        Pattern link = Pattern.compile("\\]\\(([^)#\\s]+)(#[^)]*)?\\)");
        List<Path> linkedFromReadme = new ArrayList<>();
        for (Path page : pages) {
            Matcher m = link.matcher(Files.readString(page));
            while (m.find()) {
                String target = m.group(1);
                if (target.startsWith("http")) {
                    continue;
                }
                Path t = page.getParent().resolve(target).normalize();
                assertTrue(Files.exists(t), page.getFileName() + " links to " + target + ", which does not exist");
                linkedFromReadme.add(t);
            }
        }
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            for (Path p : docs.filter(p -> p.toString().endsWith(".md")).toList()) {
                assertTrue(linkedFromReadme.contains(p.normalize()), p.getFileName() + " is linked from no page");
            }
        }
        ByteArrayOutputStream help = new ByteArrayOutputStream();
        dev.rnnengine.cli.Main.run(new String[] {"help"}, new PrintStream(help), System.err);
        Pattern cmd = Pattern.compile("(?m)^bin/rnn (\\w+)");
        for (Path page : pages) {
            Matcher m = cmd.matcher(Files.readString(page));
            while (m.find()) {
                String c = m.group(1);
                assertTrue(c.equals("aot") || help.toString().contains("\n  " + c + " ") || help.toString().contains("\n  " + c + "\n"),
                    page.getFileName() + " shows 'bin/rnn " + c + "', which the CLI does not have");
            }
        }
        assertTrue(Files.readAllLines(ROOT.resolve("README.md")).size() <= 175, "the README stays short");
    }
}
