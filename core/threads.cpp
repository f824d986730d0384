#include "threads.h"

#include "error.h"
#include "torch_include.h"

#include <dlfcn.h>
#include <malloc.h>
#include <thread>

namespace jiio {

namespace {

// OpenBLAS (behind LibTorch's matrix-vector products: Anderson's Gram rows and
// mixing) keeps its own thread pool, whose threads spin after each call and
// compete with LibTorch's OpenMP threads for the same cores. These products
// are short, so one thread does them. Looked up at run time: Debian may
// provide another BLAS.
void useSingleThreadedBlas()
{
    using SetThreads = void (*)(int);
    if (auto setThreads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        setThreads(1);
}

// Solves free and allocate state-sized tensors (megabytes) every iteration;
// by default glibc hands such blocks back to the system and page-faults them
// in again each time. Keep them in the heap.
void keepLargeBlocksInTheHeap()
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20); // glibc's upper limit for this setting
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

} // namespace

int configureThreads(int requested)
{
    if (requested < 0)
        throw Error("the thread count must be 0 (all cores) or positive");
    const int available = int(std::max(1u, std::thread::hardware_concurrency()));
    const int count = requested == 0 ? available : requested;
    torch::set_num_threads(count);
    // Denormal floats (tiny adjoint and residual values late in a solve) are
    // orders of magnitude slower on x86; flushing them to zero costs nothing.
    at::globalContext().setFlushDenormal(true);
    useSingleThreadedBlas();
    keepLargeBlocksInTheHeap();
    return torch::get_num_threads();
}

} // namespace jiio
