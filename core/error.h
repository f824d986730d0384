#pragma once
#include <stdexcept>
#include <string>

namespace jiio {

// An error a user can act on: the message is one plain sentence, suitable for
// a CLI's stderr line or a GUI dialog.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Collapses any exception text (c10::Error messages span many lines and carry
// a C++ backtrace) into its first meaningful line.
std::string oneLine(const std::string& text);

} // namespace jiio
