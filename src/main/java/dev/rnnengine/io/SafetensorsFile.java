package dev.rnnengine.io;

import dev.rnnengine.core.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file, read into native memory and validated strictly when opened.
 *
 * <p>Layout: an 8-byte little-endian header length, a UTF-8 JSON header naming each tensor's
 * {@code dtype}, {@code shape} and {@code data_offsets} (relative to the data section), and
 * the raw little-endian data. Opening checks that the header length is bounded and inside the
 * file, the JSON is strict with unique names, every dtype is known, every shape is
 * non-negative with a product that fits, every byte range lies inside the data section,
 * matches shape x dtype size, and overlaps no other.
 *
 * <p>The file is read whole ({@link UserFiles#readAll}), not memory-mapped: a file truncated
 * while the engine uses it cannot fault, and pipes work. F32 tensors are returned as zero-copy
 * views of that memory (valid until {@link #close()}; a later access throws
 * {@link IllegalStateException}); other float types are converted. Instances are safe for
 * concurrent reads.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The largest header accepted; real headers are kilobytes. */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    private static final ValueLayout.OfLong LE_LONG =
        ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** What the header says of one tensor. */
    public record Info(String name, DType dtype, int[] shape, long begin, long end) {
        /** The number of elements. */
        public int numel() {
            return Tensor.numel(shape);
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data; // the data section
    private final Map<String, Info> infos;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, Info> infos,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.infos = infos;
        this.metadata = metadata;
    }

    /**
     * Opens, reads and validates a file (a regular file, or a pipe read to its end).
     *
     * @throws MalformedFileException if the file breaks the format (the message says how)
     * @throws IOException if the file cannot be read (a directory, no permission, changed while read)
     */
    public static SafetensorsFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            return parse(path, arena, UserFiles.readAll(path, arena));
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, Arena arena, MemorySegment all) throws MalformedFileException {
        long fileSize = all.byteSize();
        if (fileSize < 8) {
            throw new MalformedFileException(path, "not a safetensors file: " + fileSize
                + " bytes is shorter than the 8-byte header length");
        }
        long n = all.get(LE_LONG, 0);
        if (n < 2 || n > MAX_HEADER_BYTES || n > fileSize - 8) {
            throw new MalformedFileException(path, "not a safetensors file: header length " + Long.toUnsignedString(n)
                + " is outside 2.." + Math.min(MAX_HEADER_BYTES, fileSize - 8) + " (file has " + fileSize + " bytes)");
        }
        byte[] headerBytes = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        String headerText;
        try {
            headerText = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(java.nio.ByteBuffer.wrap(headerBytes)).toString();
        } catch (CharacterCodingException e) {
            throw new MalformedFileException(path, "header is not valid UTF-8");
        }
        Object parsed;
        try {
            parsed = Json.parse(headerText);
        } catch (IllegalArgumentException e) {
            throw new MalformedFileException(path, "header: " + e.getMessage());
        }
        if (!(parsed instanceof Map<?, ?> header)) {
            throw new MalformedFileException(path, "header is not a JSON object");
        }
        MemorySegment data = all.asSlice(8 + n);
        long dataSize = data.byteSize();
        Map<String, String> metadata = Map.of();
        Map<String, Info> infos = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : header.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals("__metadata__")) {
                metadata = parseMetadata(path, e.getValue());
                continue;
            }
            infos.put(name, parseInfo(path, name, e.getValue(), dataSize));
        }
        List<Info> byOffset = new ArrayList<>(infos.values());
        byOffset.sort(Comparator.comparingLong(Info::begin).thenComparingLong(Info::end));
        for (int i = 1; i < byOffset.size(); i++) {
            Info a = byOffset.get(i - 1);
            Info b = byOffset.get(i);
            if (b.begin() < a.end()) {
                throw new MalformedFileException(path, "tensors '" + a.name() + "' [" + a.begin() + ", " + a.end()
                    + ") and '" + b.name() + "' [" + b.begin() + ", " + b.end() + ") overlap");
            }
        }
        return new SafetensorsFile(path, arena, data, Collections.unmodifiableMap(infos), metadata);
    }

    private static Map<String, String> parseMetadata(Path path, Object v) throws MalformedFileException {
        if (!(v instanceof Map<?, ?> m)) {
            throw new MalformedFileException(path, "__metadata__ is not a JSON object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw new MalformedFileException(path, "__metadata__ value of '" + e.getKey() + "' is not a string");
            }
            out.put((String) e.getKey(), s);
        }
        return Collections.unmodifiableMap(out);
    }

    private static Info parseInfo(Path path, String name, Object v, long dataSize) throws MalformedFileException {
        if (!(v instanceof Map<?, ?> m)) {
            throw new MalformedFileException(path, "tensor '" + name + "': entry is not a JSON object");
        }
        if (!(m.get("dtype") instanceof String dt)) {
            throw new MalformedFileException(path, "tensor '" + name + "': missing string 'dtype'");
        }
        DType dtype = DType.byName(dt);
        if (dtype == null) {
            throw new MalformedFileException(path, "tensor '" + name + "': unknown dtype '" + dt + "'");
        }
        if (!(m.get("shape") instanceof List<?> shapeList)) {
            throw new MalformedFileException(path, "tensor '" + name + "': missing array 'shape'");
        }
        if (shapeList.size() > 16) {
            throw new MalformedFileException(path, "tensor '" + name + "': " + shapeList.size() + " dimensions");
        }
        int[] shape = new int[shapeList.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            if (!(shapeList.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
                throw new MalformedFileException(path, "tensor '" + name + "': bad size " + shapeList.get(i)
                    + " in shape " + shapeList);
            }
            shape[i] = (int) (long) d;
            numel *= d;
            if (numel > Integer.MAX_VALUE) {
                throw new MalformedFileException(path, "tensor '" + name + "': shape " + shapeList
                    + " has more than " + Integer.MAX_VALUE + " elements");
            }
        }
        if (!(m.get("data_offsets") instanceof List<?> off) || off.size() != 2
            || !(off.get(0) instanceof Long begin) || !(off.get(1) instanceof Long end)) {
            throw new MalformedFileException(path, "tensor '" + name + "': 'data_offsets' must be [begin, end]");
        }
        if (begin < 0 || end < begin || end > dataSize) {
            throw new MalformedFileException(path, "tensor '" + name + "': data_offsets [" + begin + ", " + end
                + "] lie outside the data section of " + dataSize + " bytes");
        }
        long expected = numel * dtype.size;
        if (end - begin != expected) {
            throw new MalformedFileException(path, "tensor '" + name + "': " + (end - begin) + " bytes, but "
                + dtype + " " + shapeList + " needs " + expected);
        }
        return new Info(name, dtype, shape, begin, end);
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** The {@code __metadata__} map (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor names in header order. */
    public Set<String> names() {
        return infos.keySet();
    }

    /** True when a tensor of that name exists. */
    public boolean contains(String name) {
        return infos.containsKey(name);
    }

    /**
     * What the header says of a tensor.
     *
     * @throws MalformedFileException if there is no such tensor
     */
    public Info info(String name) throws MalformedFileException {
        Info i = infos.get(name);
        if (i == null) {
            throw new MalformedFileException(path, "no tensor named '" + name + "'");
        }
        return i;
    }

    /**
     * A float tensor: a zero-copy view for F32 (valid until {@link #close()}), a converted
     * array-backed copy for F64, F16 and BF16.
     *
     * @throws MalformedFileException if there is no such tensor or it is not a float type
     * @throws IllegalStateException if the file is closed
     */
    public Tensor floats(String name) throws MalformedFileException {
        Info i = info(name);
        int n = i.numel();
        MemorySegment src = data.asSlice(i.begin(), i.end() - i.begin());
        switch (i.dtype()) {
            case F32: {
                if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
                    return Tensor.of(src, i.shape());
                }
                float[] out = new float[n];
                MemorySegment.copy(src, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, out, 0, n);
                return Tensor.of(out, i.shape());
            }
            case F64: {
                float[] out = new float[n];
                ValueLayout.OfDouble le = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                for (int k = 0; k < n; k++) {
                    out[k] = (float) src.getAtIndex(le, k);
                }
                return Tensor.of(out, i.shape());
            }
            case F16:
            case BF16: {
                float[] out = new float[n];
                ValueLayout.OfShort le = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                boolean bf = i.dtype() == DType.BF16;
                for (int k = 0; k < n; k++) {
                    short s = src.getAtIndex(le, k);
                    out[k] = bf ? Float.intBitsToFloat((s & 0xffff) << 16) : Float.float16ToFloat(s);
                }
                return Tensor.of(out, i.shape());
            }
            default:
                throw new MalformedFileException(path, "tensor '" + name + "' has dtype " + i.dtype()
                    + "; expected a float type (F32, F64, F16, BF16)");
        }
    }

    /**
     * An integer tensor (I64 or I32) as a flat {@code long[]}.
     *
     * @throws MalformedFileException if there is no such tensor or it is not I64/I32
     * @throws IllegalStateException if the file is closed
     */
    public long[] longs(String name) throws MalformedFileException {
        Info i = info(name);
        int n = i.numel();
        MemorySegment src = data.asSlice(i.begin(), i.end() - i.begin());
        long[] out = new long[n];
        if (i.dtype() == DType.I64) {
            ValueLayout.OfLong le = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (int k = 0; k < n; k++) {
                out[k] = src.getAtIndex(le, k);
            }
        } else if (i.dtype() == DType.I32) {
            ValueLayout.OfInt le = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (int k = 0; k < n; k++) {
                out[k] = src.getAtIndex(le, k);
            }
        } else {
            throw new MalformedFileException(path, "tensor '" + name + "' has dtype " + i.dtype()
                + "; expected an integer type (I64, I32)");
        }
        return out;
    }

    /**
     * An I8 tensor's bytes, copied.
     *
     * @throws MalformedFileException if there is no such tensor or it is not I8
     * @throws IllegalStateException if the file is closed
     */
    public byte[] int8s(String name) throws MalformedFileException {
        Info i = raw(name, DType.I8);
        return data.asSlice(i.begin(), i.end() - i.begin()).toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * An F16 tensor's half-float bits, copied (not converted: {@link #floats} converts).
     *
     * @throws MalformedFileException if there is no such tensor or it is not F16
     * @throws IllegalStateException if the file is closed
     */
    public short[] float16Bits(String name) throws MalformedFileException {
        Info i = raw(name, DType.F16);
        short[] out = new short[i.numel()];
        MemorySegment.copy(data.asSlice(i.begin(), i.end() - i.begin()),
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, out, 0, out.length);
        return out;
    }

    private Info raw(String name, DType want) throws MalformedFileException {
        Info i = info(name);
        if (i.dtype() != want) {
            throw new MalformedFileException(path, "tensor '" + name + "' has dtype " + i.dtype() + "; expected " + want);
        }
        return i;
    }

    /** Unmaps the file; views returned by {@link #floats} become inaccessible. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
