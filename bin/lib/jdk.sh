# Sourced by bin/rnn and bin/test: finds a JDK >= 22 and builds the project when it is stale.
# JAVA_HOME is tried first, then every JDK under /usr/lib/jvm (newest first).

RNN_MIN_JDK=22

# Prints the feature version (e.g. 25) of the JDK at $1, or nothing.
rnn_jdk_feature() {
  local home=$1 v=""
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 0
  if [ -f "$home/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$home/release")
  fi
  if [ -z "$v" ]; then
    v=$("$home/bin/java" -XshowSettings:properties -version 2>&1 \
        | sed -n 's/^ *java.specification.version = \([0-9][0-9]*\).*/\1/p')
  fi
  echo "$v"
}

# Sets RNN_JDK to a JDK >= 22 or exits with what to install.
rnn_find_jdk() {
  local v best="" best_v=0 dir
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(rnn_jdk_feature "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge "$RNN_MIN_JDK" ]; then
      RNN_JDK=$JAVA_HOME
      return 0
    fi
    echo "rnn: JAVA_HOME=$JAVA_HOME is not a JDK >= $RNN_MIN_JDK${v:+ (it is $v)}; looking in /usr/lib/jvm" >&2
  fi
  for dir in /usr/lib/jvm/*/; do
    dir=${dir%/}
    [ -L "$dir" ] && continue
    v=$(rnn_jdk_feature "$dir")
    if [ -n "$v" ] && [ "$v" -ge "$RNN_MIN_JDK" ] && [ "$v" -gt "$best_v" ]; then
      best=$dir
      best_v=$v
    fi
  done
  if [ -z "$best" ]; then
    cat >&2 <<MSG
rnn: no JDK $RNN_MIN_JDK or newer found (JAVA_HOME is ${JAVA_HOME:-unset}; nothing suitable in /usr/lib/jvm).
     Install one, e.g. 'apt-get install openjdk-25-jdk' (or Temurin 25), or point JAVA_HOME at it.
MSG
    exit 3
  fi
  RNN_JDK=$best
}

# Maven with the found JDK; quiet about Maven's own use of sun.misc.Unsafe on JDK 24+.
rnn_mvn() {
  local opts=${MAVEN_OPTS:-}
  if [ "$(rnn_jdk_feature "$RNN_JDK")" -ge 24 ]; then
    opts="$opts --sun-misc-unsafe-memory-access=allow"
  fi
  if ! command -v mvn >/dev/null 2>&1; then
    echo "rnn: Maven (mvn) is not installed: apt-get install maven" >&2
    exit 3
  fi
  JAVA_HOME=$RNN_JDK MAVEN_OPTS=$opts mvn -B "$@"
}

# Builds target/rnn-engine.jar when missing or older than the sources.
rnn_ensure_built() {
  local root=$1 jar=$1/target/rnn-engine.jar
  if [ -f "$jar" ] && [ -f "$root/target/runtime-classpath.txt" ] \
     && [ -z "$(find "$root/src/main" "$root/pom.xml" -newer "$jar" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  mkdir -p "$root/target"
  (
    flock 9
    # Another process may have built it while we waited.
    if [ -f "$jar" ] && [ -z "$(find "$root/src/main" "$root/pom.xml" -newer "$jar" -print -quit 2>/dev/null)" ]; then
      exit 0
    fi
    echo "rnn: building rnn-engine with $RNN_JDK (first run or sources changed)..." >&2
    if ! rnn_mvn -q -f "$root/pom.xml" package -DskipTests >"$root/target/build.log" 2>&1; then
      cat "$root/target/build.log" >&2
      echo "rnn: build failed (log above, also in target/build.log)" >&2
      exit 3
    fi
  ) 9>"$root/target/.build.lock"
}
