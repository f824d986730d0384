#pragma once
#include <string>

namespace jiio {

// Replaces `path` with `bytes` so that a crash, a full disk or a file-size
// limit at any moment leaves either the old file or the new one, never a mix:
// the bytes go to a temporary created exclusively beside the target, are
// flushed to disk, renamed over it, and the folder is flushed too. The old
// file's permissions are kept; when `path` is a symbolic link, the file it
// points to is replaced and the link stays. Throws jiio::Error with one
// sentence on failure, leaving the old file untouched and no temporary behind.
//
// A process that wants a file-size limit (RLIMIT_FSIZE) reported as an error
// rather than killed by SIGXFSZ ignores that signal (the executables do).
void writeFileAtomically(const std::string& path, const std::string& bytes);

// Throws the error writeFileAtomically would give if `path`'s folder is
// missing or not writable: for commands that run long before they write.
void checkWritableLocation(const std::string& path);

} // namespace jiio
