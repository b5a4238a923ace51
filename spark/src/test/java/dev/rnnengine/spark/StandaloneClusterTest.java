package dev.rnnengine.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.CellMode;
import dev.rnnengine.core.RnnSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Spark standalone cluster on this machine, started from the Spark jars Maven resolved: one
 * master and two workers (one core each) as separate JVMs on 127.0.0.1, the test JVM as the
 * driver. Bounded: the whole test has 4 minutes, every process is killed at the end.
 */
class StandaloneClusterTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aJobOnAMasterAndTwoWorkersGivesTheSingleJvmEnginesResults() throws Exception {
        Path model = SparkScoringTest.writeModel(dir.resolve("lstm.safetensors"),
            RnnSpec.builder(CellMode.LSTM, SparkScoringTest.D, 16).numLayers(2).bidirectional(true).batchFirst(true).build(), 7);
        List<String> jvm = new ArrayList<>();
        for (String a : System.getProperty("rnn.spark.jvm.args").split(" ")) {
            if (!a.isBlank()) {
                jvm.add(a);
            }
        }
        List<Path> cp = LocalCluster.readClassPath(Path.of(System.getProperty("rnn.spark.classpath.file")));
        SparkSession spark = null;
        try (LocalCluster cluster = new LocalCluster(dir, cp, jvm, 2, "1g")) {
            // Executors find the engine and Spark in the workers' jars directory, this module's classes here.
            spark = Sessions.standalone(cluster, "rnn-engine-standalone-test", Path.of("target/classes").toAbsolutePath().toString(),
                "1g");
            List<Row> rows = SparkScoringTest.sequences(400, 11);
            List<Row> got = RnnScoring.score(spark.createDataFrame(rows, SparkScoringTest.SEQ_SCHEMA).repartition(6),
                // oneDNN: the executors load the native library from the jars on their class path.
                ScoringOptions.of(model.toString(), "x").withBackend("onednn").withBatchSize(16)).rows().collectAsList();
            int executors = spark.sparkContext().statusTracker().getExecutorInfos().length - 1; // minus the driver
            assertEquals(2, executors, "executors registered");
            assertEquals(400, got.size());
            Map<Long, Row> byId = new HashMap<>();
            try (RnnModel m = RnnModel.load(model, new EngineOptions("onednn", 1), Map.of())) {
                for (Row r : got) {
                    assertNull(byId.put(r.getLong(0), r), "row " + r.getLong(0) + " twice");
                    float[][] want = SparkScoringTest.alone(m, r.getList(1));
                    SparkScoringTest.assertClose("row " + r.getLong(0) + " h_n", want[0], r.getList(2));
                    SparkScoringTest.assertClose("row " + r.getLong(0) + " pooled", want[1], r.getList(3));
                }
            }
        } finally {
            if (spark != null) {
                spark.stop();
            }
        }
    }
}
