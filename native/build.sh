#!/usr/bin/env bash
# Builds the C baseline (native/build/rnn-native-bench) against the oneDNN and OpenBLAS builds
# the Java side uses: their headers and libraries are taken from the Maven Central jars on the
# project's runtime class path (target/runtime-classpath.txt, written by the Maven build).
# Needs cmake and a C compiler (Debian: apt-get install cmake gcc).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
. "$root/bin/lib/jdk.sh"
rnn_find_jdk
rnn_ensure_built "$root"
for tool in cmake cc; do
  command -v $tool >/dev/null || { echo "native/build.sh: needs $tool (apt-get install cmake gcc)" >&2; exit 3; }
done
deps="$here/build/deps"
rm -rf "$deps" && mkdir -p "$deps"
for jar in $(tr ':' '\n' < "$root/target/runtime-classpath.txt" | grep -E '/(dnnl|openblas)-[^/]*-linux-x86_64\.jar$'); do
  name=$(basename "$jar" | sed -E 's/-[0-9].*//')   # dnnl or openblas
  mkdir -p "$deps/$name"
  (cd "$deps/$name" && "$RNN_JDK/bin/jar" xf "$jar" "org/bytedeco/$name/linux-x86_64/" \
    && cp -r org/bytedeco/$name/linux-x86_64/. . && rm -rf org libjni*)
done
cmake -S "$here" -B "$here/build" -DRNN_DEPS_DIR="$deps" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$here/build" -j 2 >/dev/null
echo "built $here/build/rnn-native-bench"
