# Shared by spark/bin scripts (sourced): finds the JDK and builds the engine and this module
# when a source is newer than the module's jar. Sets RNN_JDK, spark_dir, root.
spark_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$(cd "$spark_dir/.." && pwd)
. "$root/bin/lib/jdk.sh"
rnn_find_jdk

spark_ensure_built() {
  mkdir -p "$spark_dir/target"
  mkdir -p "$root/target"
  (
    flock 9 # the engine's build lock (bin/rnn's too): one build at a time
    if [ ! -f "$spark_dir/target/rnn-engine-spark.jar" ] || [ ! -f "$spark_dir/target/classpath.txt" ] \
       || [ ! -f "$root/target/rnn-engine.jar" ] || [ ! -f "$root/target/runtime-classpath.txt" ] \
       || [ -n "$(find "$root/src/main" "$root/pom.xml" "$spark_dir/src/main" "$spark_dir/pom.xml" \
                  -newer "$spark_dir/target/rnn-engine-spark.jar" -print -quit)" ]; then
      echo "spark: building the engine and rnn-engine-spark (the first time, Maven fetches Spark: ~330 MB)..." >&2
      { rnn_mvn -q -f "$root/pom.xml" install -DskipTests && rnn_mvn -q -f "$spark_dir/pom.xml" package -DskipTests; } \
        >"$spark_dir/target/build.log" 2>&1 \
        || { cat "$spark_dir/target/build.log" >&2; echo "spark: build failed (log above)" >&2; exit 3; }
    fi
  ) 9>"$root/target/.build.lock"
}
