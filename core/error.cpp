#include "error.h"

namespace jiio {

std::string oneLine(const std::string& text)
{
    std::string line = text.substr(0, text.find('\n'));
    // c10::Error appends " (most recent call first):" before the backtrace.
    const std::string backtraceTag = " (most recent call first)";
    if (auto pos = line.find(backtraceTag); pos != std::string::npos)
        line.erase(pos);
    while (!line.empty() && (line.back() == ':' || line.back() == ' ' || line.back() == '\r'))
        line.pop_back();
    return line.empty() ? std::string("unknown error") : line;
}

} // namespace jiio
