#include "threads.h"

#include "error.h"
#include "torch_include.h"

#include <thread>

namespace jiio {

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
    return torch::get_num_threads();
}

} // namespace jiio
