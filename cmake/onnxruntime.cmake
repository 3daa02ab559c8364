# The pinned ONNX Runtime (1.30.0, CPU) unpacked by scripts/setup: the shared library from npm
# onnxruntime-node, the headers from npm com.github.asus4.onnxruntime. Without a root given, the
# default cache place next to llama.cpp's is used.
if(NOT MODELRT_ONNXRUNTIME_ROOT)
  get_filename_component(_cache "${MODELRT_LLAMA_ROOT}" DIRECTORY)
  set(MODELRT_ONNXRUNTIME_ROOT "${_cache}/onnxruntime-1.30.0")
endif()
set(_ort_lib "${MODELRT_ONNXRUNTIME_ROOT}/lib/libonnxruntime.so.1")
set(_ort_inc "${MODELRT_ONNXRUNTIME_ROOT}/include")
if(NOT EXISTS "${_ort_lib}" OR NOT EXISTS "${_ort_inc}/onnxruntime_cxx_api.h")
  message(FATAL_ERROR "ONNX Runtime not found under ${MODELRT_ONNXRUNTIME_ROOT}: run scripts/setup "
                      "(or configure with -DMODELRT_WITH_ONNX=OFF)")
endif()
add_library(modelrt_onnxruntime SHARED IMPORTED GLOBAL)
set_target_properties(modelrt_onnxruntime PROPERTIES
  IMPORTED_LOCATION "${_ort_lib}"
  IMPORTED_SONAME "libonnxruntime.so.1"
  # Its headers are third-party: their warnings are not ours to fix.
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_ort_inc}"
  INTERFACE_INCLUDE_DIRECTORIES "${_ort_inc}")
