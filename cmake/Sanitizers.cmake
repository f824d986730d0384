# -DJIIO_SANITIZE=ON: everything built with AddressSanitizer and
# UndefinedBehaviorSanitizer (any finding aborts), and the Qt Test suites
# carry the CTest label "asan" (scripts/sanitize.sh builds and runs them).
# The vptr check is off: it misreads types whose typeinfo lives in the
# uninstrumented LibTorch and Qt libraries.
option(JIIO_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(JIIO_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize=vptr)
endif()
