package dev.rnnengine.io;

import java.io.IOException;
import java.nio.file.Path;

/** A file that breaks its format or content contract; the message names the file and the fault. */
public final class MalformedFileException extends IOException {
    private static final long serialVersionUID = 1L;

    /** A fault in {@code file}, described by {@code what}. */
    public MalformedFileException(Path file, String what) {
        super(file + ": " + what);
    }

    /** A fault in {@code file}, described by {@code what}, caused by {@code cause}. */
    public MalformedFileException(Path file, String what, Throwable cause) {
        super(file + ": " + what, cause);
    }
}
