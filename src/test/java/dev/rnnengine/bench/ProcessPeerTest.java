package dev.rnnengine.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peers in other processes: their thread pools get the measured thread count, and the harness
 * says which BLAS the PyTorch peer runs on, and warns when it is Debian's reference
 * BLAS (the libblas.so.3 alternative with no optimized BLAS installed), whose times are 10-40x
 * PyTorch's on OpenBLAS and would pass for PyTorch's otherwise. A peer's stdout is the protocol:
 * anything else on it is refused with the line quoted, never read as a time or an output.
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

    /** oneDNN's verbose mode prints on stdout, so the peer runs without it (it made the C baseline's answers lines late). */
    @Test
    void thePeersEnvironmentHasNoVerboseLibraries() {
        Map<String, String> env = new HashMap<>(Map.of("ONEDNN_VERBOSE", "profile_exec", "DNNL_VERBOSE", "1", "HOME", "/h"));
        ProcessPeer.peerEnvironment(env, 2);
        assertFalse(env.containsKey("ONEDNN_VERBOSE"));
        assertFalse(env.containsKey("DNNL_VERBOSE"));
        assertEquals("/h", env.get("HOME"));
        assertEquals("2", env.get("OMP_NUM_THREADS"));
    }

    /** A line before the load answer (a library talking on stdout) is refused and quoted. */
    @Test
    void aStrayLineInsteadOfTheLoadAnswerIsRefused(@TempDir Path dir) {
        IOException e = assertThrows(IOException.class,
            () -> loadAnswer(dir, "echo 'onednn_verbose,v1,info'; echo ok", 1));
        assertEquals("fake gave an unexpected answer to 'load': 'onednn_verbose,v1,info'", e.getMessage());
    }

    /** Times that are not numbers, negative, or not as many as asked are refused, as is a check answer that is not "ok". */
    @Test
    void answersOutsideTheProtocolAreRefused(@TempDir Path dir) throws Exception {
        for (String[] c : new String[][] {{"run", "echo 'onednn_verbose,exec'"}, {"run", "echo '-1.0'"},
                                          {"run", "echo 'NaN'"}, {"run", "echo '1.0 2.0'"}, {"check", "echo 'done'"}}) {
            ProcessPeer p = new ProcessPeer("fake", List.of("sh", "-c", "read l; echo ok; read l; " + c[1] + "; read l"),
                dir, 1, 1);
            try {
                IOException e = assertThrows(IOException.class, () -> {
                    if (c[0].equals("run")) {
                        p.time(1);
                    } else {
                        p.output();
                    }
                });
                assertTrue(e.getMessage().startsWith("fake gave an unexpected answer to '" + (c[0].equals("run") ? "run 1" : "check")
                    + "'"), e.getMessage());
            } finally {
                p.close();
            }
        }
    }
}
