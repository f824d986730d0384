#include "io/atomic_file.h"

#include "error.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace jiio {

namespace {

// The file that writing to `path` would change: links are followed, so a
// link keeps pointing at the new contents.
fs::path resolveLinks(fs::path path)
{
    for (int hop = 0; hop < 40; ++hop) {
        std::error_code error;
        if (!fs::is_symlink(fs::symlink_status(path, error)))
            return path;
        fs::path next = fs::read_symlink(path, error);
        if (error)
            return path;
        path = next.is_absolute() ? next : path.parent_path() / next;
    }
    throw Error("cannot write '" + path.string() + "': too many levels of symbolic links");
}

std::string reason(int code)
{
    switch (code) {
    case EACCES:
    case EPERM:
        return "permission denied (the folder or file is not writable)";
    case EROFS:
        return "the file system is read-only";
    case ENOENT:
    case ENOTDIR:
        return "the folder does not exist";
    case ENOSPC:
    case EDQUOT:
        return "the disk is full";
    case EFBIG:
        return "the file would exceed the file-size limit";
    case EISDIR:
        return "it is a folder";
    default:
        return std::strerror(code);
    }
}

// Creates a new file exclusively (never opening one that exists), readable and
// writable as the umask allows.
int createTemporary(const fs::path& folder, const std::string& name, std::string& temporary)
{
    std::random_device device;
    std::mt19937_64 random((uint64_t(device()) << 32) ^ device() ^ uint64_t(getpid()));
    for (int attempt = 0; attempt < 100; ++attempt) {
        temporary = (folder / ("." + name + ".tmp-" + std::to_string(random() % 1000000000000ULL))).string();
        const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

bool writeAll(int fd, const std::string& bytes)
{
    const char* data = bytes.data();
    size_t left = bytes.size();
    while (left > 0) {
        const ssize_t written = ::write(fd, data, left);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        data += written;
        left -= size_t(written);
    }
    return true;
}

} // namespace

void writeFileAtomically(const std::string& path, const std::string& bytes)
{
    const fs::path target = resolveLinks(path);
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    auto fail = [&](int code) { throw Error("cannot write '" + path + "': " + reason(code)); };

    struct stat old {};
    const bool replacing = ::stat(target.c_str(), &old) == 0;
    if (replacing && S_ISDIR(old.st_mode))
        fail(EISDIR);

    std::string temporary;
    const int fd = createTemporary(folder, target.filename().string(), temporary);
    if (fd < 0)
        fail(errno);
    auto abandon = [&](int code) {
        ::close(fd);
        ::unlink(temporary.c_str());
        fail(code);
    };
    if (replacing) {
        if (::fchmod(fd, old.st_mode & 07777) != 0)
            abandon(errno);
        (void)!::fchown(fd, old.st_uid, old.st_gid); // only root may give a file away; keep ours otherwise
    }
    if (!writeAll(fd, bytes) || ::fsync(fd) != 0)
        abandon(errno);
    if (::close(fd) != 0) {
        const int code = errno;
        ::unlink(temporary.c_str());
        fail(code);
    }
    if (::rename(temporary.c_str(), target.c_str()) != 0) {
        const int code = errno;
        ::unlink(temporary.c_str());
        fail(code);
    }
    // The rename is durable only once the folder's entry is on disk.
    const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
}

void checkWritableLocation(const std::string& path)
{
    const fs::path target = resolveLinks(path);
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
        throw Error("cannot write '" + path + "': " + reason(errno));
}

} // namespace jiio
