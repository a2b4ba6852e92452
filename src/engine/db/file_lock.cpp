#include "engine/db/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace ringdb::engine {

FileLock::FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);  // closing the description drops the flock
        fd_ = -1;
    }
}

Result<FileLock> FileLock::acquire(const std::string& path, bool exclusive) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return Error::from_errno(errno);
    }
    for (int attempt = 0; attempt < 16; ++attempt) {
        if (::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) {
            return FileLock(fd);
        }
        int err = errno;
        if (err == EINTR) {
            continue;
        }
        if (err == EWOULDBLOCK) {
            ::close(fd);
            return Error{Errc::database_already_open};
        }
        if (err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS) {
            return FileLock(fd);  // no locking here: proceed unlocked, like the reference
        }
        ::close(fd);
        return Error::from_errno(err);
    }
    ::close(fd);
    return Error::from_errno(EINTR);
}

}  // namespace ringdb::engine
