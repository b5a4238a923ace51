package dev.rnnengine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.Fixtures;
import dev.rnnengine.core.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one place that opens user files: kinds of paths, pipes, outputs, and outputs past 2 GiB. */
class UserFilesTest {
    @TempDir
    Path dir;

    @Test
    void directoriesAndMissingFilesAreNamed() throws IOException {
        IOException e = assertThrows(IOException.class, () -> SafetensorsFile.open(dir));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> SafetensorsFile.open(dir.resolve("nope")));
        e = assertThrows(IOException.class, () -> UserFiles.checkOutput(dir));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
    }

    @Test
    void anOutputThatIsAnInputIsRefused() throws IOException {
        Path model = Fixtures.golden("002_lstm").resolve("model.safetensors");
        IOException e = assertThrows(IOException.class, () -> UserFiles.checkOutput(model, dir.resolve("x"), model));
        assertTrue(e.getMessage().contains("refusing to overwrite"), e.getMessage());
        // The same file by another name (a link) is the same file.
        Path link = Files.createSymbolicLink(dir.resolve("link.safetensors"), model);
        assertThrows(IOException.class, () -> UserFiles.checkOutput(link, model));
        UserFiles.checkOutput(dir.resolve("new.safetensors"), model); // a new file is fine
    }

    /** A named pipe is read to its end, not mapped (was: "0 bytes is shorter than the 8-byte header"). */
    @Test
    void aPipeIsReadAsAStream() throws Exception {
        Path fifo = dir.resolve("model.fifo");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertTrue(mk.waitFor(10, TimeUnit.SECONDS) && mk.exitValue() == 0, "mkfifo");
        Path model = Fixtures.golden("002_lstm").resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(model);
        Thread writer = new Thread(() -> {
            try (OutputStream out = Files.newOutputStream(fifo)) {
                out.write(bytes);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        writer.start();
        try (SafetensorsFile viaPipe = SafetensorsFile.open(fifo); SafetensorsFile direct = SafetensorsFile.open(model)) {
            assertEquals(direct.names(), viaPipe.names());
            for (String n : direct.names()) {
                assertArrayEquals(direct.floats(n).toArray(), viaPipe.floats(n).toArray(), 0f, n);
            }
        }
        writer.join(10_000);
    }

    /** A file read at one size that is another by the end of the read is an IOException. */
    @Test
    void readAllGivesTheWholeFile() throws IOException {
        Path p = dir.resolve("bytes");
        byte[] b = new byte[3 * (1 << 20) + 17];
        new java.util.Random(1).nextBytes(b);
        Files.write(p, b);
        try (Arena a = Arena.ofConfined()) {
            assertArrayEquals(b, UserFiles.readAll(p, a).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
    }

    /** An output of more than 2 GiB (was: NegativeArraySizeException in the writer). */
    @Test
    void outputsOfTwoGibibytesAndMoreAreWritten() throws IOException {
        int n = (1 << 29) + 3; // 2 GiB + 12 bytes of floats
        float[] v = new float[n];
        v[0] = 1.5f;
        v[n - 1] = -2.25f;
        v[1 << 28] = 7f;
        Path p = dir.resolve("big.safetensors");
        new SafetensorsWriter().put("output", Tensor.of(v, n)).write(p);
        v = null;
        assertTrue(Files.size(p) > (2L << 30), "size " + Files.size(p));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            Tensor t = f.floats("output");
            assertEquals(n, t.numel());
            assertEquals(1.5f, t.get(0));
            assertEquals(7f, t.get(1 << 28));
            assertEquals(-2.25f, t.get(n - 1));
        }
        try (var files = Files.list(dir)) {
            assertEquals(0, files.filter(f -> f.getFileName().toString().endsWith(".tmp")).count(), "no temporary file left");
        }
    }
}
