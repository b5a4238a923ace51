package dev.rnnengine.internal.ffm;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Loading native libraries for the FFM backends: by path, by system name, or extracted once
 * from a jar on the class path into a cache directory. Lookups live in the global arena (as
 * long as the process), since the libraries can never be safely unloaded under running code.
 */
public final class NativeLibraries {
    /** System property naming the cache directory for extracted libraries. */
    public static final String CACHE_PROPERTY = "rnn.native.cache";

    private NativeLibraries() { }

    /** A loader that may fail with a message saying what is missing and how to get it. */
    @FunctionalInterface
    public interface Loader<T> {
        T load() throws IOException;
    }

    /**
     * A library binding loaded once per process, or the reason it could not be.
     *
     * @param value   the binding, or null
     * @param failure why it is missing, when value is null
     */
    public record Loaded<T>(T value, String failure) {
        /** Runs the loader once; any failure becomes the reason. */
        public static <T> Loaded<T> attempt(Loader<T> loader) {
            try {
                return new Loaded<>(loader.load(), null);
            } catch (RuntimeException | IOException | LinkageError e) {
                return new Loaded<>(null, e.getMessage());
            }
        }

        /**
         * The binding.
         *
         * @throws UnsupportedOperationException with the reason when it could not be loaded
         */
        public T get() {
            if (value == null) {
                throw new UnsupportedOperationException(failure);
            }
            return value;
        }
    }

    /** The directory libraries are extracted to: {@value #CACHE_PROPERTY}, else ~/.cache/rnn-engine. */
    public static Path cacheDir() {
        String p = System.getProperty(CACHE_PROPERTY);
        return p != null ? Path.of(p) : Path.of(System.getProperty("user.home"), ".cache", "rnn-engine");
    }

    /**
     * Opens a library by file path.
     *
     * @throws IllegalArgumentException if it cannot be loaded (the message says why)
     */
    public static SymbolLookup open(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": no such file");
        }
        return SymbolLookup.libraryLookup(file, Arena.global());
    }

    /**
     * Opens a library by name through the system's search path (dlopen).
     *
     * @throws IllegalArgumentException if it is not installed
     */
    public static SymbolLookup openSystem(String name) {
        return SymbolLookup.libraryLookup(name, Arena.global());
    }

    /**
     * Copies class path resources {@code resourceDir/names[i]} into {@code cacheDir()/subdir}
     * once (atomically, so concurrent processes are safe) and returns the directory.
     *
     * @return the directory, or null when the first resource is not on the class path
     * @throws IOException if extraction fails
     */
    public static Path extract(String resourceDir, String subdir, String... names) throws IOException {
        ClassLoader cl = NativeLibraries.class.getClassLoader();
        if (cl.getResource(resourceDir + "/" + names[0]) == null) {
            return null;
        }
        Path dir = cacheDir().resolve(subdir);
        Files.createDirectories(dir);
        for (String name : names) {
            Path target = dir.resolve(name);
            if (Files.isRegularFile(target)) {
                continue;
            }
            try (InputStream in = cl.getResourceAsStream(resourceDir + "/" + name)) {
                if (in == null) {
                    throw new IOException("resource " + resourceDir + "/" + name + " is missing from the class path");
                }
                Path tmp = Files.createTempFile(dir, name, ".part");
                try {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    try {
                        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                    } catch (AtomicMoveNotSupportedException e) {
                        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                    }
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
        }
        return dir;
    }
}
