package dev.rnnengine.internal.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * OpenBLAS through FFM: finds the library once per process, binds {@code cblas_sgemm}, {@code cblas_sgemv},
 * {@code openblas_set_num_threads} and {@code openblas_get_config}, and checks every size in
 * Java before a call (a wrong size in native code is a JVM crash, not an exception).
 *
 * <p>Where it looks, in order ({@value #SOURCES_PROPERTY} may narrow it, e.g. {@code jar}):
 * {@code property}: a file named by {@value #PATH_PROPERTY} or {@code RNN_OPENBLAS_PATH};
 * {@code system}: {@code libopenblas.so.0} on the system's search path (Debian's
 * {@code libopenblas0}); {@code jar}: {@code org.bytedeco:openblas:linux-x86_64} on the class
 * path, extracted once to the cache directory and loaded with its dependencies in order.
 */
public final class OpenBlas {
    /** System property: path of a libopenblas to use. */
    public static final String PATH_PROPERTY = "rnn.openblas.path";
    /** System property: where to look, a comma list of property, system, jar (default all). */
    public static final String SOURCES_PROPERTY = "rnn.openblas.sources";
    /** The Maven Central build this project ships (keep equal to the pom's openblas.version). */
    public static final String JAR_VERSION = "0.3.31-1.5.13";

    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;

    private static final class Holder {
        static final NativeLibraries.Loaded<OpenBlas> LIB = NativeLibraries.Loaded.attempt(OpenBlas::load);
    }

    private final String origin;
    private final MethodHandle sgemm;
    private final MethodHandle sgemv;
    private final MethodHandle setThreads;
    private final String config;

    private OpenBlas(SymbolLookup lib, String origin) {
        Linker linker = Linker.nativeLinker();
        this.origin = origin;
        // critical(true): the arrays are passed in place (heap segments), with no copy; the GC
        // waits for the call, which is bounded by the GEMM's size.
        this.sgemm = linker.downcallHandle(find(lib, "cblas_sgemm"),
            FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT,
                ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT),
            Linker.Option.critical(true));
        this.sgemv = linker.downcallHandle(find(lib, "cblas_sgemv"),
            FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT),
            Linker.Option.critical(true));
        this.setThreads = linker.downcallHandle(find(lib, "openblas_set_num_threads"), FunctionDescriptor.ofVoid(JAVA_INT));
        MethodHandle getConfig = linker.downcallHandle(find(lib, "openblas_get_config"), FunctionDescriptor.of(ADDRESS));
        try {
            MemorySegment s = (MemorySegment) getConfig.invokeExact();
            this.config = s.equals(MemorySegment.NULL) ? "unknown" : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_get_config failed", t);
        }
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("the library has no symbol " + name));
    }

    /**
     * The process's OpenBLAS.
     *
     * @throws UnsupportedOperationException if none could be loaded (says where it looked and how to get one)
     */
    public static OpenBlas get() {
        return Holder.LIB.get();
    }

    private static OpenBlas load() throws IOException {
        String sources = System.getProperty(SOURCES_PROPERTY, "property,system,jar").toLowerCase(Locale.ROOT);
        List<String> tried = new ArrayList<>();
        if (sources.contains("property")) {
            String p = System.getProperty(PATH_PROPERTY, System.getenv("RNN_OPENBLAS_PATH"));
            if (p != null && !p.isBlank()) {
                // An explicit path that fails is an error, not a reason to look elsewhere.
                return new OpenBlas(NativeLibraries.open(Path.of(p)), p + " (" + PATH_PROPERTY + ")");
            }
        }
        if (sources.contains("system")) {
            try {
                return new OpenBlas(NativeLibraries.openSystem("libopenblas.so.0"), "libopenblas.so.0 (system)");
            } catch (IllegalArgumentException e) {
                tried.add("no libopenblas.so.0 on the system");
            }
        }
        if (sources.contains("jar")) {
            Path dir = NativeLibraries.extract("org/bytedeco/openblas/linux-x86_64", "openblas-" + JAR_VERSION,
                "libquadmath.so.0", "libgfortran.so.5", "libopenblas.so.0");
            if (dir != null) {
                // The jar's libgfortran has no RUNPATH: load its dependencies first, by path.
                NativeLibraries.open(dir.resolve("libquadmath.so.0"));
                NativeLibraries.open(dir.resolve("libgfortran.so.5"));
                return new OpenBlas(NativeLibraries.open(dir.resolve("libopenblas.so.0")),
                    dir.resolve("libopenblas.so.0") + " (org.bytedeco:openblas:" + JAR_VERSION + ":linux-x86_64)");
            }
            tried.add("no org.bytedeco:openblas:linux-x86_64 jar on the class path");
        }
        throw new UnsupportedOperationException("OpenBLAS not found (" + String.join("; ", tried) + " ; looked in: "
            + sources + "): install Debian's libopenblas0 (apt-get install libopenblas0), or put "
            + "org.bytedeco:openblas:" + JAR_VERSION + ":linux-x86_64 on the class path (bin/rnn does), "
            + "or set -D" + PATH_PROPERTY + "=/path/to/libopenblas.so.0");
    }

    /** Where the library came from. */
    public String origin() {
        return origin;
    }

    /** {@code openblas_get_config()}: version, target CPU, threading. */
    public String config() {
        return config;
    }

    /** Sets OpenBLAS's (process-wide) thread count. */
    public void setThreads(int n) {
        try {
            setThreads.invokeExact(n);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_set_num_threads failed", t);
        }
    }

    /**
     * Row-major {@code C[m][n] = alpha * sum_k A[m][k] * B[n][k] + beta * C[m][n]} (B transposed),
     * on Java arrays at offsets. Every index range is checked first.
     *
     * @throws IllegalArgumentException if a size is negative or a range lies outside its array
     */
    public void sgemmNT(int m, int n, int k, float alpha, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                        float beta, float[] c, int cOff, int ldc) {
        check("A", a, aOff, m, lda, k);
        check("B", b, bOff, n, ldb, k);
        check("C", c, cOff, m, ldc, n);
        sgemmNT(m, n, k, alpha, MemorySegment.ofArray(a).asSlice(4L * aOff), lda, MemorySegment.ofArray(b).asSlice(4L * bOff),
            ldb, beta, MemorySegment.ofArray(c).asSlice(4L * cOff), ldc);
    }

    /**
     * {@code C = alpha * A B^T + beta * C} on float segments from their first element (heap
     * segments of arrays are passed without a copy): the form the kernels use, with segments
     * made once, so a call allocates nothing.
     *
     * @throws IllegalArgumentException if a size is negative or a matrix exceeds its segment
     */
    public void sgemmNT(int m, int n, int k, float alpha, MemorySegment a, int lda, MemorySegment b, int ldb,
                        float beta, MemorySegment c, int ldc) {
        if (m < 0 || n < 0 || k < 0 || lda < Math.max(1, k) || ldb < Math.max(1, k) || ldc < Math.max(1, n)) {
            throw new IllegalArgumentException("sgemm sizes m=" + m + " n=" + n + " k=" + k + " lda=" + lda
                + " ldb=" + ldb + " ldc=" + ldc);
        }
        if (m == 0 || n == 0) {
            return;
        }
        check("A", a, m, lda, k);
        check("B", b, n, ldb, k);
        check("C", c, m, ldc, n);
        try {
            sgemm.invokeExact(ROW_MAJOR, NO_TRANS, TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm failed", t);
        }
    }

    /**
     * Row-major {@code y[i] = alpha * sum_j A[i][j] * x[j] + beta * y[i]} for an {@code m x n} A:
     * one row against a matrix used in place (sgemm would repack the whole matrix per call).
     *
     * @throws IllegalArgumentException if a size is negative or a range lies outside its array
     */
    public void sgemv(int m, int n, float alpha, float[] a, int aOff, int lda, float[] x, int xOff,
                      float beta, float[] y, int yOff) {
        check("A", a, aOff, m, lda, n);
        check("x", x, xOff, 1, n, n);
        check("y", y, yOff, 1, m, m);
        sgemv(m, n, alpha, MemorySegment.ofArray(a).asSlice(4L * aOff), lda, MemorySegment.ofArray(x).asSlice(4L * xOff),
            beta, MemorySegment.ofArray(y).asSlice(4L * yOff));
    }

    /**
     * {@code y = alpha * A x + beta * y} on float segments from their first element.
     *
     * @throws IllegalArgumentException if a size is negative or a vector or matrix exceeds its segment
     */
    public void sgemv(int m, int n, float alpha, MemorySegment a, int lda, MemorySegment x, float beta, MemorySegment y) {
        if (m < 0 || n < 0 || lda < Math.max(1, n)) {
            throw new IllegalArgumentException("sgemv sizes m=" + m + " n=" + n + " lda=" + lda);
        }
        if (m == 0) {
            return;
        }
        check("A", a, m, lda, n);
        check("x", x, 1, n, n);
        check("y", y, 1, m, m);
        try {
            sgemv.invokeExact(ROW_MAJOR, NO_TRANS, m, n, alpha, a, lda, x, 1, beta, y, 1);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemv failed", t);
        }
    }

    private static void check(String what, MemorySegment seg, int rows, int ld, int cols) {
        long last = (long) (rows - 1) * ld + cols;
        if (cols > 0 && 4 * last > seg.byteSize()) {
            throw new IllegalArgumentException("BLAS " + what + ": " + rows + "x" + cols + " (ld " + ld
                + ") exceeds a segment of " + seg.byteSize() / 4 + " floats");
        }
    }

    private static void check(String what, float[] arr, int off, int rows, int ld, int cols) {
        long last = (long) off + (long) (rows - 1) * ld + cols;
        if (off < 0 || (cols > 0 && last > arr.length)) {
            throw new IllegalArgumentException("sgemm " + what + ": " + rows + "x" + cols + " (ld " + ld
                + ") from offset " + off + " exceeds an array of " + arr.length);
        }
    }
}
