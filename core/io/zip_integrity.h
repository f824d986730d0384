#pragma once
#include <string>

namespace jiio {

// Checks every member of a ZIP archive (a LibTorch checkpoint is one) against
// the CRC-32 its central directory records, before the archive is parsed:
// LibTorch's reader does not, and parses damaged bytes as they come (a flipped
// bit in a checkpoint's pickled records can crash it). Returns an empty string
// for an intact archive, else what is wrong in one sentence. Stored members
// are checked as they are and deflated ones (LibTorch's code records) after
// inflating; a ZIP64 or otherwise compressed member, which LibTorch's writer
// never makes for a model of this size, is refused. A file crafted with
// matching checksums still reaches LibTorch's parser as it is.
std::string zipIntegrityProblem(const std::string& path);

} // namespace jiio
