#pragma once
// FileLock: the advisory lock that keeps two handles from writing one database file.
//
// Read-write handles take an exclusive lock, read-only handles a shared one, on a descriptor of
// their own (flock locks belong to the open file description, so a second handle in the same
// process conflicts too). A held lock is Errc::database_already_open. Where the file system
// does not support locks, the lock is skipped (as the reference does).

#include <string>

#include <ringdb/result.hpp>

namespace ringdb::engine {

class FileLock {
public:
    FileLock() noexcept = default;
    FileLock(FileLock&& other) noexcept;
    FileLock& operator=(FileLock&& other) noexcept;
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    ~FileLock();

    /// Errors: database_already_open; io (with errno) if the file cannot be opened.
    static Result<FileLock> acquire(const std::string& path, bool exclusive);

    bool held() const noexcept { return fd_ >= 0; }
    void release() noexcept;

private:
    explicit FileLock(int fd) noexcept : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace ringdb::engine
