# Finds oneDNN 3.x: first in RNN_DEPS_DIR/dnnl (what native/build.sh takes from the
# org.bytedeco:dnnl jar: the same build the Java side extracts), then the library the Java side
# extracted to ~/.cache/rnn-engine (headers must then come from the system), then the system.
# Sets ONEDNN_INCLUDE_DIR, ONEDNN_LIBRARY, RnnOneDNN_FOUND. Refuses oneDNN 2.x headers.
find_path(ONEDNN_INCLUDE_DIR oneapi/dnnl/dnnl.h HINTS ${RNN_DEPS_DIR}/dnnl/include NO_DEFAULT_PATH)
find_path(ONEDNN_INCLUDE_DIR oneapi/dnnl/dnnl.h)
find_library(ONEDNN_LIBRARY NAMES libdnnl.so.3 HINTS ${RNN_DEPS_DIR}/dnnl NO_DEFAULT_PATH)
find_library(ONEDNN_LIBRARY NAMES libdnnl.so.3 HINTS $ENV{HOME}/.cache/rnn-engine/dnnl-3.13-1.5.14)
if(ONEDNN_INCLUDE_DIR AND EXISTS ${ONEDNN_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h)
  file(STRINGS ${ONEDNN_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h _major REGEX "#define DNNL_VERSION_MAJOR")
  if(NOT _major MATCHES " 3$")
    message(FATAL_ERROR "oneDNN headers in ${ONEDNN_INCLUDE_DIR} are not 3.x (${_major})")
  endif()
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RnnOneDNN REQUIRED_VARS ONEDNN_INCLUDE_DIR ONEDNN_LIBRARY)
