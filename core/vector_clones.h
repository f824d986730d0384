#pragma once

// Memory-bound loops marked with JIIO_VECTOR_CLONES are built for AVX2 and FMA
// as well as the baseline, and the variant is picked at load time where the
// CPU has them (the build itself targets any x86-64).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define JIIO_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define JIIO_VECTOR_CLONES
#endif
