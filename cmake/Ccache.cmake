# Use ccache when available. Precompiled headers need the sloppiness settings
# below, otherwise every PCH build is a cache miss.
find_program(JIIO_CCACHE ccache)
if(JIIO_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${JIIO_CCACHE})
endif()
