package dev.rnnengine.io;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The one place that opens the files users name: every reader (safetensors, word vectors,
 * texts) and writer goes through here, so a directory, a missing or unreadable file, a pipe,
 * a file that shrinks while it is read, or an output that would overwrite an input each get
 * one clear message.
 */
public final class UserFiles {
    /** The most bytes read from a pipe or other stream whose size is not known in advance. */
    public static final long MAX_STREAM_BYTES = 1L << 31;

    private UserFiles() { }

    /**
     * Checks that {@code path} can be read as a file.
     *
     * @return true for a regular file, false for a pipe, socket or device (read as a stream)
     * @throws NoSuchFileException if nothing is there
     * @throws IOException naming the path: a directory, or no permission to read
     */
    public static boolean checkReadable(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString());
        }
        if (Files.isDirectory(path)) {
            throw new IOException(path + " is a directory, not a file");
        }
        if (!Files.isReadable(path)) {
            throw new AccessDeniedException(path.toString(), null, "cannot read it");
        }
        return Files.isRegularFile(path);
    }

    /**
     * The whole file in native memory owned by {@code arena}: a regular file is read at its
     * size; a pipe is read to its end, up to {@link #MAX_STREAM_BYTES}. Nothing is
     * memory-mapped, so a file truncated under the engine is an exception, never a fault: a
     * read that ends short or sees the open file's size change is refused. A file rewritten in
     * place at the same size can still be read half old, half new (no format without checksums
     * can tell), so files must be replaced by writing a new one and renaming it over the old
     * (atomic: a reader keeps the file it opened; {@link SafetensorsWriter} does this).
     *
     * @throws IOException if the file cannot be read, is not a file, or changed while being read
     */
    public static MemorySegment readAll(Path path, Arena arena) throws IOException {
        boolean regular = checkReadable(path);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (regular) {
                long size = ch.size();
                MemorySegment all = arena.allocate(Math.max(1, size), 8).asSlice(0, size);
                long done = readFully(ch, all);
                if (done != size || ch.size() != size) { // the open file itself shrank or grew
                    throw new IOException(path + " changed while it was being read (" + size + " bytes, then "
                        + Math.max(done, ch.size()) + "): replace model files by writing a new file and renaming it");
                }
                return all;
            }
            return readStream(path, ch, arena);
        }
    }

    private static long readFully(ReadableByteChannel ch, MemorySegment dst) throws IOException {
        long done = 0;
        long size = dst.byteSize();
        while (done < size) {
            int chunk = (int) Math.min(1 << 20, size - done);
            ByteBuffer b = dst.asSlice(done, chunk).asByteBuffer();
            int n = 0;
            while (b.hasRemaining()) {
                int r = ch.read(b);
                if (r < 0) {
                    return done + n;
                }
                n += r;
            }
            done += n;
        }
        return done;
    }

    /** A pipe or device: chunks until the end, copied once into one segment. */
    private static MemorySegment readStream(Path path, FileChannel ch, Arena arena) throws IOException {
        java.util.List<byte[]> chunks = new java.util.ArrayList<>();
        long total = 0;
        while (true) {
            ByteBuffer b = ByteBuffer.allocate(1 << 20);
            while (b.hasRemaining() && ch.read(b) >= 0) {
                // fill the chunk
            }
            b.flip();
            if (b.remaining() == 0) {
                break;
            }
            total += b.remaining();
            if (total > MAX_STREAM_BYTES) {
                throw new IOException(path + " is not a regular file and gives more than " + MAX_STREAM_BYTES
                    + " bytes: save it to a file first");
            }
            byte[] c = new byte[b.remaining()];
            b.get(c);
            chunks.add(c);
            if (c.length < 1 << 20) {
                break; // the stream ended inside this chunk
            }
        }
        MemorySegment all = arena.allocate(Math.max(1, total), 8).asSlice(0, total);
        long at = 0;
        for (byte[] c : chunks) {
            MemorySegment.copy(MemorySegment.ofArray(c), 0, all, at, c.length);
            at += c.length;
        }
        return all;
    }

    /**
     * Lines of UTF-8 text with their numbers, decoded strictly one line at a time, so a message
     * names the line that holds the bad bytes (a buffered {@code Reader} decodes ahead and
     * blames an earlier one). Lines end at {@code \n} (a {@code \r} before it is dropped) and
     * may be at most {@link #MAX_LINE_BYTES} long.
     */
    public static final class LineReader implements AutoCloseable {
        /** The longest line read; a longer one is an error, not an out-of-memory. */
        public static final int MAX_LINE_BYTES = 1 << 26;

        private final String name;
        private final InputStream in;
        private final byte[] buf = new byte[1 << 16];
        private int pos;
        private int end;
        private byte[] line = new byte[256];
        private int number;
        private final java.nio.charset.CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);

        /**
         * Opens a text file.
         *
         * @throws IOException if it cannot be read or is not a file
         */
        public LineReader(Path path) throws IOException {
            checkReadable(path);
            this.name = path.toString();
            this.in = Files.newInputStream(path);
        }

        /** Reads a stream (standard input), named {@code name} in messages. */
        public LineReader(InputStream in, String name) {
            this.name = name;
            this.in = in;
        }

        /**
         * The next line, or null at the end.
         *
         * @throws IOException naming the line when its bytes are not UTF-8 or it is too long
         */
        public String next() throws IOException {
            int n = 0;
            boolean any = false;
            while (true) {
                if (pos == end) {
                    end = in.read(buf, 0, buf.length);
                    pos = 0;
                    if (end <= 0) {
                        end = 0;
                        if (!any) {
                            return null;
                        }
                        break;
                    }
                }
                any = true;
                int start = pos;
                while (pos < end && buf[pos] != '\n') {
                    pos++;
                }
                int len = pos - start;
                if (n + len > MAX_LINE_BYTES) {
                    throw new IOException(where(number + 1) + ": a line longer than " + MAX_LINE_BYTES + " bytes");
                }
                if (n + len > line.length) {
                    line = java.util.Arrays.copyOf(line, Math.max(n + len, 2 * line.length));
                }
                System.arraycopy(buf, start, line, n, len);
                n += len;
                if (pos < end) { // at the newline
                    pos++;
                    break;
                }
            }
            number++;
            if (n > 0 && line[n - 1] == '\r') {
                n--;
            }
            try {
                return decoder.decode(ByteBuffer.wrap(line, 0, n)).toString();
            } catch (CharacterCodingException e) {
                throw new IOException(where(number) + ": not valid UTF-8");
            }
        }

        /** The number of the line {@link #next()} returned last (1-based). */
        public int number() {
            return number;
        }

        /** {@code name:line}, for messages. */
        public String where(int lineNumber) {
            return name + ":" + lineNumber;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /**
     * Refuses an output path that is one of the inputs (a model must never be overwritten by
     * a command's result) or a directory.
     *
     * @throws IOException naming both paths
     */
    public static void checkOutput(Path output, Path... inputs) throws IOException {
        if (Files.isDirectory(output)) {
            throw new IOException("output " + output + " is a directory, not a file");
        }
        for (Path in : inputs) {
            if (in == null) {
                continue;
            }
            boolean same = Files.exists(output) && Files.exists(in) ? Files.isSameFile(output, in)
                : output.toAbsolutePath().normalize().equals(in.toAbsolutePath().normalize());
            if (same) {
                throw new IOException("output " + output + " is the input " + in + ": refusing to overwrite it");
            }
        }
    }

    /** What {@link #writeReplacing} writes into the file's channel. */
    public interface ChannelWriter {
        /**
         * Writes the whole content.
         *
         * @throws IOException if a write fails
         */
        void write(java.nio.channels.FileChannel ch) throws IOException;
    }

    /**
     * Writes a file through {@code body}: first to a temporary file beside it, then moved into
     * place, so a failure never leaves a half-written file under the name (a pipe or device is
     * written in place).
     *
     * @throws IOException if the file cannot be written (the message names it)
     */
    public static void writeReplacing(Path path, ChannelWriter body) throws IOException {
        boolean special = Files.exists(path) && !Files.isRegularFile(path);
        Path tmp = special ? path : Files.createTempFile(path.toAbsolutePath().getParent(), "." + path.getFileName(), ".tmp");
        try {
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE,
                    special ? java.nio.file.StandardOpenOption.WRITE : java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
                body.write(ch);
            }
            if (!special) {
                try {
                    Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                } catch (java.nio.file.AtomicMoveNotSupportedException e) {
                    Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException | RuntimeException e) {
            if (!special) {
                Files.deleteIfExists(tmp);
            }
            throw e;
        }
    }
}
