# Finds OpenBLAS: first in RNN_DEPS_DIR/openblas (what native/build.sh takes from the
# org.bytedeco:openblas jar, the build the Java side extracts), then the library the Java side
# extracted to ~/.cache/rnn-engine, then the system.
# Sets OPENBLAS_INCLUDE_DIR (cblas.h), OPENBLAS_LIBRARY, RnnOpenBLAS_FOUND.
find_path(OPENBLAS_INCLUDE_DIR cblas.h HINTS ${RNN_DEPS_DIR}/openblas/include NO_DEFAULT_PATH)
find_path(OPENBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas x86_64-linux-gnu/openblas-pthread)
find_library(OPENBLAS_LIBRARY NAMES libopenblas.so.0 openblas HINTS ${RNN_DEPS_DIR}/openblas NO_DEFAULT_PATH)
find_library(OPENBLAS_LIBRARY NAMES libopenblas.so.0 openblas HINTS $ENV{HOME}/.cache/rnn-engine/openblas-0.3.31-1.5.13)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RnnOpenBLAS REQUIRED_VARS OPENBLAS_INCLUDE_DIR OPENBLAS_LIBRARY)
