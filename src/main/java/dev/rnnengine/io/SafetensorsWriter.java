package dev.rnnengine.io;

import dev.rnnengine.core.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes safetensors files: F32 tensors, I64 index tensors and string metadata. Tensors are
 * written in name order (as PyTorch's writer does) and the header is padded to 8 bytes.
 */
public final class SafetensorsWriter {
    private record Entry(DType dtype, int[] shape, byte[] bytes) { }

    private final Map<String, Entry> entries = new TreeMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /**
     * Adds an F32 tensor (its elements are copied now).
     *
     * @throws IllegalArgumentException if the name is taken or is {@code __metadata__}
     */
    public SafetensorsWriter put(String name, Tensor t) {
        ByteBuffer b = ByteBuffer.allocate(4 * t.numel()).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(t.toArray());
        return add(name, new Entry(DType.F32, t.shape(), b.array()));
    }

    /**
     * Adds an I64 tensor of the given shape.
     *
     * @throws IllegalArgumentException if the name is taken or the shape does not fit the data
     */
    public SafetensorsWriter putLongs(String name, long[] values, int... shape) {
        if (Tensor.numel(shape) != values.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold "
                + values.length + " values");
        }
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return add(name, new Entry(DType.I64, shape.clone(), b.array()));
    }

    /** Adds a metadata entry (a later value for the same key wins). */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    private SafetensorsWriter add(String name, Entry e) {
        if (name.equals("__metadata__") || entries.containsKey(name)) {
            throw new IllegalArgumentException("tensor name '" + name + "' is reserved or already used");
        }
        entries.put(name, e);
        return this;
    }

    /**
     * Writes the file, replacing any existing one.
     *
     * @throws IOException if the file cannot be written
     */
    public void write(Path path) throws IOException {
        StringBuilder h = new StringBuilder("{");
        long offset = 0;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            Entry t = e.getValue();
            if (h.length() > 1) {
                h.append(',');
            }
            h.append(Json.quote(e.getKey())).append(":{\"dtype\":\"").append(t.dtype())
                .append("\",\"shape\":").append(Arrays.toString(t.shape()).replace(" ", ""))
                .append(",\"data_offsets\":[").append(offset).append(',').append(offset + t.bytes().length)
                .append("]}");
            offset += t.bytes().length;
        }
        if (!metadata.isEmpty()) {
            if (h.length() > 1) {
                h.append(',');
            }
            h.append("\"__metadata__\":{");
            boolean first = true;
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                if (!first) {
                    h.append(',');
                }
                first = false;
                h.append(Json.quote(m.getKey())).append(':').append(Json.quote(m.getValue()));
            }
            h.append('}');
        }
        h.append('}');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) & ~7;
        try (OutputStream out = Files.newOutputStream(path)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(header);
            for (int i = header.length; i < padded; i++) {
                out.write(' ');
            }
            for (Entry t : entries.values()) {
                out.write(t.bytes());
            }
        }
    }
}
