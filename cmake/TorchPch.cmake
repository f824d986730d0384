# LibTorch's umbrella header costs ~20 s per translation unit; every target
# that includes it gets it precompiled once.
function(jiio_torch_pch target)
  target_precompile_headers(${target} PRIVATE "${PROJECT_SOURCE_DIR}/core/torch_include.h")
endfunction()
