#include "numbers.h"

#include <charconv>

namespace jiio {

namespace {

template <typename T>
std::optional<T> parseWhole(std::string_view text)
{
    if (!text.empty() && text.front() == '+') // from_chars takes no plus sign
        text.remove_prefix(1);
    T value{};
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || stop != end)
        return std::nullopt;
    return value;
}

} // namespace

std::optional<double> parseDouble(std::string_view text)
{
    return parseWhole<double>(text);
}

std::optional<long long> parseInteger(std::string_view text)
{
    return parseWhole<long long>(text);
}

std::optional<unsigned long long> parseUnsigned(std::string_view text)
{
    return parseWhole<unsigned long long>(text);
}

std::string formatDouble(double value)
{
    char text[32];
    const auto [end, error] = std::to_chars(text, text + sizeof text, value);
    return error == std::errc() ? std::string(text, end) : std::string("nan");
}

} // namespace jiio
