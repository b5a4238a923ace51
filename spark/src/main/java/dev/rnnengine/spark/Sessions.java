package dev.rnnengine.spark;

import org.apache.spark.sql.SparkSession;

/** Spark sessions for the example and the benchmark: what the engine needs on executors, in one place. */
final class Sessions {
    /**
     * The engine's JVM options (bin/jvm.args): the Vector API module and native access for the
     * FFM backends. Spark 4.2 adds both to executors itself (its JavaModuleOptions); set here for
     * clusters whose Spark does not.
     */
    static final String EXECUTOR_JAVA_OPTIONS = "--add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED";

    private Sessions() { }

    /**
     * A session on {@code master}; executors get {@link #EXECUTOR_JAVA_OPTIONS} and, when the
     * system property {@code rnn.spark.executorClassPath} is set, that extra class path (this
     * module's jar on a local standalone cluster whose jars/ holds Spark and the engine).
     */
    static SparkSession create(String master, String app) {
        SparkSession.Builder b = SparkSession.builder().master(master).appName(app)
            .config("spark.ui.enabled", "false")
            .config("spark.executor.extraJavaOptions", executorJavaOptions());
        if (master.startsWith("local") || master.startsWith("spark://127.0.0.1")) {
            b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1");
        }
        String cp = System.getProperty("rnn.spark.executorClassPath");
        if (cp != null) {
            b.config("spark.executor.extraClassPath", cp);
        }
        return b.getOrCreate();
    }

    /**
     * A session on a {@link LocalCluster}, the test or benchmark JVM as the driver: one core per
     * executor, every worker's executor registered before the first job (90 s at most).
     */
    static SparkSession standalone(LocalCluster cluster, String app, String executorClassPath, String executorMemory) {
        return SparkSession.builder().master(cluster.masterUrl()).appName(app)
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.executor.cores", "1").config("spark.executor.memory", executorMemory)
            .config("spark.cores.max", "" + cluster.workers())
            .config("spark.executor.extraClassPath", executorClassPath)
            .config("spark.executor.extraJavaOptions", executorJavaOptions())
            .config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
            .config("spark.scheduler.maxRegisteredResourcesWaitingTime", "90s")
            .getOrCreate();
    }

    /** {@link #EXECUTOR_JAVA_OPTIONS} after any the user set (spark-submit --conf, system property). */
    private static String executorJavaOptions() {
        String set = new org.apache.spark.SparkConf().get("spark.executor.extraJavaOptions", "");
        return set.contains("jdk.incubator.vector") ? set : (set + " " + EXECUTOR_JAVA_OPTIONS).trim();
    }
}
