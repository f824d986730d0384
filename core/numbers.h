#pragma once
#include <optional>
#include <string>
#include <sstream>
#include <string_view>

namespace jiio {

// Numbers as they appear in files and on the terminal, whatever the user's
// locale: a '.' decimal point, no digit grouping. (std::stod follows the C
// locale, which a Qt application sets from the environment, and stops at the
// '.' under a decimal-comma locale.)

// The whole text as a number; nothing when it is not one (or out of range).
std::optional<double> parseDouble(std::string_view text);
std::optional<long long> parseInteger(std::string_view text);
std::optional<unsigned long long> parseUnsigned(std::string_view text);

// The shortest text that reads back as exactly this number ("0.1", "1e-05");
// "nan", "inf" and "-inf" for the non-finite values.
std::string formatDouble(double value);

// A string stream in the classic locale, for text that holds numbers.
inline std::ostringstream classicStream()
{
    std::ostringstream out;
    out.imbue(std::locale::classic());
    return out;
}

} // namespace jiio
