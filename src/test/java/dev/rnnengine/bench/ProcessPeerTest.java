package dev.rnnengine.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peers in other processes: their thread pools get the measured thread count, and the harness
 * says which BLAS the PyTorch peer runs on, and warns when it is Debian's reference
 * BLAS (the libblas.so.3 alternative with no optimized BLAS installed), whose times are 10-40x
 * PyTorch's on OpenBLAS and would pass for PyTorch's otherwise.
 */
class ProcessPeerTest {
    @Test
    void referenceBlasIsAWarning() {
        String n = Bench.blasNote("blas=/usr/lib/x86_64-linux-gnu/blas/libblas.so.3");
        assertTrue(n.startsWith("torch runs on the reference BLAS (/usr/lib/x86_64-linux-gnu/blas/libblas.so.3)"), n);
        assertTrue(n.contains("apt-get install libopenblas0"), n);
        // among other mapped libraries too
        assertTrue(Bench.blasNote("blas=/opt/x/libmkl_rt.so,/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0")
            .startsWith("torch runs on the reference BLAS"));
    }

    @Test
    void anOptimizedBlasIsNamedOnly() {
        String openblas = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3,"
            + "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so";
        assertEquals("torch's BLAS: " + openblas, Bench.blasNote("blas=" + openblas));
        assertEquals("torch's BLAS: built-in", Bench.blasNote("blas=built-in"));
        assertNull(Bench.blasNote(""), "a peer that says nothing gets no note");
    }

    /** A peer's BLAS and OpenMP pools are told the thread count it is measured at. */
    @Test
    void thePeersThreadPoolsGetTheThreadCount(@TempDir Path dir) throws Exception {
        assertEquals("3 3 3", loadAnswer(dir, "echo \"ok $OPENBLAS_NUM_THREADS $OMP_NUM_THREADS $MKL_NUM_THREADS\"", 3));
    }

    /** The load answer's tail reaches the harness; a bare "ok" (the C baseline) gives "". */
    @Test
    void thePeersLoadAnswerIsKept(@TempDir Path dir) throws Exception {
        assertEquals("blas=/usr/lib/x86_64-linux-gnu/blas/libblas.so.3",
            loadAnswer(dir, "echo 'ok blas=/usr/lib/x86_64-linux-gnu/blas/libblas.so.3'", 1));
        assertEquals("", loadAnswer(dir, "echo ok", 1));
    }

    /** A fake peer that answers {@code load} with {@code answer}'s output, then waits for {@code quit}. */
    private static String loadAnswer(Path dir, String answer, int threads) throws Exception {
        ProcessPeer p = new ProcessPeer("fake", List.of("sh", "-c", "read l; " + answer + "; read l"), dir, threads, 1);
        try {
            return p.loadInfo();
        } finally {
            p.close();
        }
    }
}
