# Imported targets for the static llama.cpp libraries built by scripts/setup (ggml without
# OpenMP: its own thread pool, so nothing links libgomp and a clang build needs no libomp).
set(_src "${MODELRT_LLAMA_ROOT}/src")
set(_bld "${MODELRT_LLAMA_ROOT}/build")

function(_modelrt_import name file)
  if(NOT EXISTS "${_bld}/${file}")
    message(FATAL_ERROR "missing ${_bld}/${file}: run scripts/setup")
  endif()
  add_library(${name} STATIC IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES IMPORTED_LOCATION "${_bld}/${file}")
endfunction()

_modelrt_import(llama_ggml_base ggml/src/libggml-base.a)
_modelrt_import(llama_ggml_cpu ggml/src/libggml-cpu.a)
_modelrt_import(llama_ggml ggml/src/libggml.a)
_modelrt_import(llama_llama src/libllama.a)
_modelrt_import(llama_common_base common/libllama-common-base.a)
_modelrt_import(llama_common common/libllama-common.a)

set_target_properties(llama_ggml_base PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${_src}/ggml/include"
  INTERFACE_LINK_LIBRARIES "Threads::Threads;m;dl")
set_target_properties(llama_ggml_cpu PROPERTIES INTERFACE_LINK_LIBRARIES "llama_ggml_base")
set_target_properties(llama_ggml PROPERTIES INTERFACE_LINK_LIBRARIES "llama_ggml_cpu;llama_ggml_base")
set_target_properties(llama_llama PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${_src}/include"
  INTERFACE_LINK_LIBRARIES "llama_ggml")
set_target_properties(llama_common PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${_src}/common;${_src}/vendor"
  INTERFACE_LINK_LIBRARIES "llama_common_base;llama_llama")

# llama.cpp's own tools, for tests and benchmarks.
set(LLAMA_BIN_DIR "${_bld}/bin" CACHE INTERNAL "")
set(LLAMA_VOCAB_DIR "${_src}/models" CACHE INTERNAL "")
