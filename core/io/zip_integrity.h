#pragma once
#include <string>

namespace jiio {

// Checks every member of a ZIP archive (a LibTorch checkpoint is one) against
// the CRC-32 its central directory records, before the archive is parsed:
// LibTorch's reader does not, and parses damaged bytes as they come (a flipped
// bit in a checkpoint's pickled records can crash it). Returns an empty string
// for an intact archive, else what is wrong in one sentence. Members it cannot
// check (compressed or ZIP64) are left to the reader.
std::string zipIntegrityProblem(const std::string& path);

} // namespace jiio
