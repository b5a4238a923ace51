package dev.rnnengine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.MalformedFileException;
import dev.rnnengine.io.SafetensorsFile;
import dev.rnnengine.io.SafetensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader's strict validation and the writer's round trip. */
class SafetensorsTest {
    @TempDir
    Path dir;

    private Path raw(long headerLen, byte[] header, byte[] data) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerLen).array());
        b.writeBytes(header);
        b.writeBytes(data);
        Path p = Files.createTempFile(dir, "t", ".safetensors");
        Files.write(p, b.toByteArray());
        return p;
    }

    private Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return raw(h.length, h, new byte[dataBytes]);
    }

    private String rejected(Path p) {
        MalformedFileException e = assertThrows(MalformedFileException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString()), "message names the file: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void roundTripKeepsValuesShapesAndMetadata() throws IOException {
        Path p = dir.resolve("rt.safetensors");
        new SafetensorsWriter()
            .put("b", Tensor.of(new float[] {1, -2.5f, Float.NaN, Float.POSITIVE_INFINITY, 0, 7}, 2, 3))
            .put("a", Tensor.of(new float[] {3}, 1))
            .putLongs("lengths", new long[] {5, 1, 3}, 3)
            .metadata("mode", "LSTM").metadata("quote\"key", "v\\al\nue")
            .write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(java.util.List.of("a", "b", "lengths"), java.util.List.copyOf(f.names()));
            Tensor b = f.floats("b");
            assertArrayEquals(new int[] {2, 3}, b.shape());
            assertArrayEquals(new float[] {1, -2.5f, Float.NaN, Float.POSITIVE_INFINITY, 0, 7}, b.toArray());
            assertArrayEquals(new long[] {5, 1, 3}, f.longs("lengths"));
            assertEquals("LSTM", f.metadata().get("mode"));
            assertEquals("v\\al\nue", f.metadata().get("quote\"key"));
            assertThrows(MalformedFileException.class, () -> f.longs("a"));
            assertThrows(MalformedFileException.class, () -> f.floats("lengths"));
            assertThrows(MalformedFileException.class, () -> f.floats("missing"));
        }
        assertEquals(0, (Files.size(p) - 8 - 4 * 7 - 8 * 3) % 8, "header padded to 8 bytes");
    }

    @Test
    void viewsAreUnusableAfterClose() throws IOException {
        Path p = dir.resolve("v.safetensors");
        new SafetensorsWriter().put("x", Tensor.of(new float[] {1, 2}, 2)).write(p);
        Tensor view;
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            view = f.floats("x");
            assertEquals(2f, view.get(1));
        }
        assertThrows(IllegalStateException.class, () -> view.get(0));
    }

    @Test
    void otherFloatTypesAreConverted() throws IOException {
        ByteBuffer d = ByteBuffer.allocate(8 + 2 + 2).order(ByteOrder.LITTLE_ENDIAN);
        d.putDouble(-1.25);
        d.putShort(Float.floatToFloat16(0.5f));
        d.putShort((short) (Float.floatToIntBits(3.0f) >>> 16));
        String h = "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]},"
            + "\"c\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[10,12]},"
            + "\"i\":{\"dtype\":\"I32\",\"shape\":[0],\"data_offsets\":[12,12]}}";
        Path p = raw(h.length(), h.getBytes(StandardCharsets.UTF_8), d.array());
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(-1.25f, f.floats("a").get(0));
            assertEquals(0.5f, f.floats("b").get(0));
            assertEquals(3.0f, f.floats("c").get(0));
            assertEquals(0, f.longs("i").length);
        }
    }

    @Test
    void malformedFilesAreRejectedWithReasons() throws IOException {
        Path tooShort = Files.write(dir.resolve("short"), new byte[] {1, 2, 3});
        assertTrue(rejected(tooShort).contains("shorter than the 8-byte header length"));
        assertTrue(rejected(Files.write(dir.resolve("empty"), new byte[0])).contains("shorter than"));
        assertTrue(rejected(raw(1000, "{}".getBytes(StandardCharsets.UTF_8), new byte[0])).contains("header length 1000"));
        assertTrue(rejected(raw(-1, "{}".getBytes(StandardCharsets.UTF_8), new byte[0])).contains("header length"));
        assertTrue(rejected(raw(Long.MAX_VALUE, new byte[16], new byte[0])).contains("header length"));
        assertTrue(rejected(raw(4, new byte[] {'{', (byte) 0xff, (byte) 0xfe, '}'}, new byte[0])).contains("UTF-8"));
        assertTrue(rejected(file("{\"a\":", 0)).contains("invalid JSON"));
        assertTrue(rejected(file("[1,2]", 0)).contains("not a JSON object"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)).contains("duplicate key"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)).contains("unknown dtype"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4)).contains("outside the data section"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4)).contains("outside the data section"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8)).contains("needs 8"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12)).contains("overlap"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,4]}}", 4))
            .contains("more than"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4)).contains("bad size"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4)).contains("bad size"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4)).contains("data_offsets"));
        assertTrue(rejected(file("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4)).contains("dtype"));
        assertTrue(rejected(file("{\"a\":7}", 0)).contains("not a JSON object"));
        assertTrue(rejected(file("{\"__metadata__\":{\"k\":1}}", 0)).contains("not a string"));
        assertTrue(rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", 4))
            .contains("invalid JSON"));
        assertTrue(rejected(file("[".repeat(10000), 0)).contains("nesting"));
        assertThrows(java.nio.file.NoSuchFileException.class, () -> SafetensorsFile.open(dir.resolve("absent")));
    }
}
