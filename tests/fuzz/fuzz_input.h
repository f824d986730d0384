#pragma once
// The fuzzers' readers take file names: each input is written to one scratch
// file per process (in /dev/shm where it exists, so no disk is touched).
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace jiio::fuzz {

inline const std::string& scratchPath()
{
    static const std::string path = std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp")
        + "/jiio-fuzz-" + std::to_string(getpid());
    return path;
}

inline const std::string& writeScratch(const uint8_t* data, size_t size, const std::string& suffix = "")
{
    static std::string path;
    path = scratchPath() + suffix;
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file) {
        std::fwrite(data, 1, size, file);
        std::fclose(file);
    }
    return path;
}

} // namespace jiio::fuzz
