#include "process_setup.h"

#include <clocale>
#include <csignal>

namespace jiio {

void setUpProcess()
{
    std::setlocale(LC_NUMERIC, "C");
    std::signal(SIGXFSZ, SIG_IGN);
}

} // namespace jiio
