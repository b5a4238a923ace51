package dev.rnnengine.spark;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Spark standalone cluster on this machine for tests and benchmarks: one master and N workers
 * (one core each) as separate JVMs listening on 127.0.0.1, started from the Spark jars on a
 * class path (what Maven resolved; no Spark distribution needed). {@link #close()} kills them all.
 */
public final class LocalCluster implements AutoCloseable {
    private final Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final int port;
    private final int workers;
    private final Thread shutdownHook = new Thread(this::close, "rnn-engine-local-cluster-stop");

    /**
     * Starts the master, waits (up to 60 s) until it listens, then starts the workers.
     *
     * @param dir       a scratch directory: the SPARK_HOME (a jars/ of links), logs, work dirs
     * @param classPath Spark's and the engine's jars (the executors' class path; this module's jar or
     *                  classes go in {@code spark.executor.extraClassPath})
     * @param jvmArgs   JVM options for the master and workers (Spark's module options)
     * @param workers   how many workers, one core and {@code workerMemory} each
     * @throws IOException if a process cannot start or the master does not come up (its log is in the message)
     */
    public LocalCluster(Path dir, List<Path> classPath, List<String> jvmArgs, int workers, String workerMemory)
            throws IOException {
        this.dir = dir;
        this.workers = workers;
        Runtime.getRuntime().addShutdownHook(shutdownHook); // no orphaned JVMs if this one exits first
        Path home = dir.resolve("spark-home");
        Path jars = Files.createDirectories(home.resolve("jars"));
        Files.createDirectories(home.resolve("conf"));
        for (Path p : classPath) {
            if (p.toString().endsWith(".jar") && Files.isRegularFile(p) && !Files.exists(jars.resolve(p.getFileName()))) {
                Files.createSymbolicLink(jars.resolve(p.getFileName()), p.toAbsolutePath());
            }
        }
        boolean ok = false;
        try {
            port = freePort();
            Process master = daemon(home, jvmArgs, "master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                "--port", "" + port, "--webui-port", "" + freePort());
            awaitPort(port, master);
            for (int w = 1; w <= workers; w++) {
                daemon(home, jvmArgs, "worker" + w, "org.apache.spark.deploy.worker.Worker", masterUrl(), "--host",
                    "127.0.0.1", "--cores", "1", "--memory", workerMemory, "--webui-port", "" + freePort(),
                    "--work-dir", dir.resolve("work" + w).toString());
            }
            ok = true;
        } finally {
            if (!ok) {
                close();
            }
        }
    }

    /** The master's URL, {@code spark://127.0.0.1:port}. */
    public String masterUrl() {
        return "spark://127.0.0.1:" + port;
    }

    /** The number of workers (one core each). */
    public int workers() {
        return workers;
    }

    /**
     * A class path file's entries ({@code mvn dependency:build-classpath} output).
     *
     * @throws IOException if the file cannot be read
     */
    public static List<Path> readClassPath(Path file) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String j : Files.readString(file).trim().split(File.pathSeparator)) {
            if (!j.isBlank()) {
                out.add(Path.of(j));
            }
        }
        return out;
    }

    private Process daemon(Path home, List<String> jvmArgs, String name, String main, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-Xmx512m", "-cp", home.resolve("jars") + File.separator + "*", main));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().put("SPARK_HOME", home.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home")); // the workers start executors with it
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void awaitPort(int p, Process master) throws IOException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            if (!master.isAlive()) {
                throw new IOException("the Spark master exited: " + Files.readString(dir.resolve("master.log")));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", p), 500);
                return;
            } catch (IOException e) {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted waiting for the Spark master");
                }
            }
        }
        throw new IOException("the Spark master did not listen on " + p + " in 60 s: " + Files.readString(dir.resolve("master.log")));
    }

    /** Kills the workers (and their executors) and the master; waits up to 30 s for each. */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is exiting: this is the hook
        }
        for (Process p : processes.reversed()) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            try {
                p.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
    }
}
