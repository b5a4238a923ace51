package dev.rnnengine.io;

import dev.rnnengine.core.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes safetensors files: F32 tensors, I64 index tensors, I8 and F16 weight codes and string metadata. Tensors are
 * written in name order (as PyTorch's writer does) and the header is padded to 8 bytes.
 */
public final class SafetensorsWriter {
    /** One tensor's values, copied when added: floats, longs, int8 codes or half-float bits. */
    private record Entry(DType dtype, int[] shape, float[] floats, long[] longs, byte[] int8s, short[] halves) {
        long bytes() {
            return (long) dtype.size * Tensor.numel(shape); // long: outputs of 2 GiB and more
        }
    }

    private final Map<String, Entry> entries = new TreeMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /**
     * Adds an F32 tensor (its elements are copied now).
     *
     * @throws IllegalArgumentException if the name is taken or is {@code __metadata__}
     */
    public SafetensorsWriter put(String name, Tensor t) {
        return add(name, new Entry(DType.F32, t.shape(), t.toArray(), null, null, null));
    }

    /**
     * Adds an I64 tensor of the given shape (the values are copied now).
     *
     * @throws IllegalArgumentException if the name is taken or the shape does not fit the data
     */
    public SafetensorsWriter putLongs(String name, long[] values, int... shape) {
        fits(shape, values.length);
        return add(name, new Entry(DType.I64, shape.clone(), null, values.clone(), null, null));
    }

    /**
     * Adds an I8 tensor of the given shape (the values are copied now).
     *
     * @throws IllegalArgumentException if the name is taken or the shape does not fit the data
     */
    public SafetensorsWriter putInt8s(String name, byte[] values, int... shape) {
        fits(shape, values.length);
        return add(name, new Entry(DType.I8, shape.clone(), null, null, values.clone(), null));
    }

    /**
     * Adds an F16 tensor of the given shape from half-float bits (copied now).
     *
     * @throws IllegalArgumentException if the name is taken or the shape does not fit the data
     */
    public SafetensorsWriter putFloat16Bits(String name, short[] bits, int... shape) {
        fits(shape, bits.length);
        return add(name, new Entry(DType.F16, shape.clone(), null, null, null, bits.clone()));
    }

    private static void fits(int[] shape, int values) {
        if (Tensor.numel(shape) != values) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold " + values + " values");
        }
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
     * Writes the file: first to a temporary file beside it, then moved into place, so a
     * failure never leaves a half-written file under the name. Sizes are 64-bit: outputs of
     * 2 GiB and more are written in chunks.
     *
     * @throws IOException if the file cannot be written (the message names it)
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
                .append(",\"data_offsets\":[").append(offset).append(',').append(offset + t.bytes())
                .append("]}");
            offset += t.bytes();
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
        UserFiles.writeReplacing(path, ch -> {
            ByteBuffer b = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(padded);
            drain(ch, b);
            byte[] pad = new byte[padded - header.length];
            Arrays.fill(pad, (byte) ' ');
            write(ch, ByteBuffer.wrap(header));
            write(ch, ByteBuffer.wrap(pad));
            for (Entry t : entries.values()) {
                if (t.floats() != null) {
                    for (float v : t.floats()) {
                        if (b.remaining() < 4) {
                            drain(ch, b);
                        }
                        b.putFloat(v);
                    }
                } else if (t.longs() != null) {
                    for (long v : t.longs()) {
                        if (b.remaining() < 8) {
                            drain(ch, b);
                        }
                        b.putLong(v);
                    }
                } else if (t.halves() != null) {
                    for (short v : t.halves()) {
                        if (b.remaining() < 2) {
                            drain(ch, b);
                        }
                        b.putShort(v);
                    }
                } else {
                    for (int at = 0; at < t.int8s().length; ) {
                        if (!b.hasRemaining()) {
                            drain(ch, b);
                        }
                        int n = Math.min(b.remaining(), t.int8s().length - at);
                        b.put(t.int8s(), at, n);
                        at += n;
                    }
                }
            }
            drain(ch, b);
        });
    }

    private static final int CHUNK = 1 << 20;

    private static void drain(FileChannel ch, ByteBuffer b) throws IOException {
        b.flip();
        write(ch, b);
        b.clear();
    }

    private static void write(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
