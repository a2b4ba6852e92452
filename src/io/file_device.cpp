// One BlockDevice implementation over two backends.
//
// FileDevice<Backend> holds the contract's logic once: the closed and poisoned latches,
// O_DIRECT alignment checks, completing short transfers and retrying EINTR/EAGAIN (bounded),
// growth by preallocation. A backend supplies one awaitable per system call whose result is
// the syscall's return value or a negative errno:
//   - UringBackend: each awaitable owns its RingOp (in the awaiting coroutine's frame) and
//     goes through the calling thread's Ring;
//   - PosixBackend: each awaitable performs the syscall in await_ready and never suspends.

#include "io/file_device.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "io/ring.hpp"
#include "util/assert.hpp"
#include "util/try.hpp"

namespace ringdb::io {

namespace {

// Largest single transfer handed to the kernel (read/write lengths are 32-bit in io_uring).
constexpr std::size_t kChunkMax = std::size_t{1} << 30;
// Most iovecs handed to one vectored read or write (Linux's IOV_MAX).
constexpr std::size_t kIovecMax = 1024;

// Moves past `bytes` transferred from iov[first...]: whole iovecs advance `first`, a partial
// one is shortened in place.
void consume_iovecs(std::vector<iovec>& iov, std::size_t& first, std::size_t bytes) noexcept {
    while (bytes > 0) {
        iovec& head = iov[first];
        if (bytes >= head.iov_len) {
            bytes -= head.iov_len;
            ++first;
        } else {
            head.iov_base = static_cast<std::byte*>(head.iov_base) + bytes;
            head.iov_len -= bytes;
            bytes = 0;
        }
    }
}
// EINTR/EAGAIN retries allowed per call before the error is reported.
constexpr int kRetryMax = 64;

std::int32_t neg_errno_or(long r) {
    return r < 0 ? -errno : static_cast<std::int32_t>(r);
}

/// An awaitable whose result is already known.
struct Immediate {
    std::int32_t result;
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    std::int32_t await_resume() const noexcept { return result; }
};

struct PosixBackend {
    static constexpr const char* kName = "posix";
    static Immediate read(int fd, void* buf, unsigned len, std::uint64_t off) {
        return {neg_errno_or(::pread(fd, buf, len, static_cast<off_t>(off)))};
    }
    static Immediate write(int fd, const void* buf, unsigned len, std::uint64_t off) {
        return {neg_errno_or(::pwrite(fd, buf, len, static_cast<off_t>(off)))};
    }
    static Immediate writev(int fd, const iovec* iov, unsigned count, std::uint64_t off) {
        return {neg_errno_or(::pwritev(fd, iov, static_cast<int>(count), static_cast<off_t>(off)))};
    }
    static Immediate readv(int fd, const iovec* iov, unsigned count, std::uint64_t off) {
        return {neg_errno_or(::preadv(fd, iov, static_cast<int>(count), static_cast<off_t>(off)))};
    }
    static Immediate fsync(int fd, bool datasync) {
        return {neg_errno_or(datasync ? ::fdatasync(fd) : ::fsync(fd))};
    }
    static Immediate fallocate(int fd, std::uint64_t off, std::uint64_t len) {
        return {neg_errno_or(
                ::fallocate(fd, 0, static_cast<off_t>(off), static_cast<off_t>(len)))};
    }
    static Immediate close(int fd) { return {neg_errno_or(::close(fd))}; }
    static Immediate open(const char* path, int flags, mode_t mode) {
        return {neg_errno_or(::open(path, flags, mode))};
    }
};

struct UringBackend {
    static constexpr const char* kName = "uring";

    struct ReadOp : RingOp {
        ReadOp(int f, void* b, unsigned n, std::uint64_t o)
            : RingOp(&prep), fd(f), buf(b), len(n), off(o) {}
        static void prep(RingOp& op, io_uring_sqe* sqe) {
            auto& self = static_cast<ReadOp&>(op);
            io_uring_prep_read(sqe, self.fd, self.buf, self.len, self.off);
        }
        int fd;
        void* buf;
        unsigned len;
        std::uint64_t off;
    };
    struct WriteOp : RingOp {
        WriteOp(int f, const void* b, unsigned n, std::uint64_t o)
            : RingOp(&prep), fd(f), buf(b), len(n), off(o) {}
        static void prep(RingOp& op, io_uring_sqe* sqe) {
            auto& self = static_cast<WriteOp&>(op);
            io_uring_prep_write(sqe, self.fd, self.buf, self.len, self.off);
        }
        int fd;
        const void* buf;
        unsigned len;
        std::uint64_t off;
    };
    struct WritevOp : RingOp {
        WritevOp(int f, const iovec* v, unsigned n, std::uint64_t o)
            : RingOp(&prep), fd(f), iov(v), count(n), off(o) {}
        static void prep(RingOp& op, io_uring_sqe* sqe) {
            auto& self = static_cast<WritevOp&>(op);
            io_uring_prep_writev(sqe, self.fd, self.iov, self.count, self.off);
        }
        int fd;
        const iovec* iov;
        unsigned count;
        std::uint64_t off;
    };
    struct ReadvOp : RingOp {
        ReadvOp(int f, const iovec* v, unsigned n, std::uint64_t o)
            : RingOp(&prep), fd(f), iov(v), count(n), off(o) {}
        static void prep(RingOp& op, io_uring_sqe* sqe) {
            auto& self = static_cast<ReadvOp&>(op);
            io_uring_prep_readv(sqe, self.fd, self.iov, self.count, self.off);
        }
        int fd;
        const iovec* iov;
        unsigned count;
        std::uint64_t off;
    };
    struct FsyncOp : RingOp {
        FsyncOp(int f, bool d) : RingOp(&prep), fd(f), datasync(d) {}
        static void prep(RingOp& op, io_uring_sqe* sqe) {
            auto& self = static_cast<FsyncOp&>(op);
            io_uring_prep_fsync(sqe, self.fd, self.datasync ? IORING_FSYNC_DATASYNC : 0);
        }
        int fd;
        bool datasync;
    };
    struct FallocateOp : RingOp {
        FallocateOp(int f, std::uint64_t o, std::uint64_t n)
            : RingOp(&prep), fd(f), off(o), len(n) {}
        static void prep(RingOp& op, io_uring_sqe* sqe) {
            auto& self = static_cast<FallocateOp&>(op);
            io_uring_prep_fallocate(sqe, self.fd, 0, static_cast<off_t>(self.off),
                                    static_cast<off_t>(self.len));
        }
        int fd;
        std::uint64_t off;
        std::uint64_t len;
    };
    struct CloseOp : RingOp {
        explicit CloseOp(int f) : RingOp(&prep), fd(f) {}
        static void prep(RingOp& op, io_uring_sqe* sqe) {
            io_uring_prep_close(sqe, static_cast<CloseOp&>(op).fd);
        }
        int fd;
    };
    struct OpenOp : RingOp {
        OpenOp(const char* p, int f, mode_t m) : RingOp(&prep), path(p), flags(f), mode(m) {}
        static void prep(RingOp& op, io_uring_sqe* sqe) {
            auto& self = static_cast<OpenOp&>(op);
            io_uring_prep_openat(sqe, AT_FDCWD, self.path, self.flags, self.mode);
        }
        const char* path;
        int flags;
        mode_t mode;
    };

    /// Owns one operation for the duration of the co_await.
    template <typename Op>
    struct Awaiter {
        template <typename... Args>
        explicit Awaiter(Args... args) : op(args...) {}
        Awaiter(const Awaiter&) = delete;
        Awaiter& operator=(const Awaiter&) = delete;

        bool await_ready() {
            auto ring_result = Ring::for_this_thread();
            if (!ring_result) {
                op.result = -ring_result.error().sys_errno;
                if (op.result == 0) {
                    op.result = -ENOSYS;
                }
                return true;
            }
            ring = *ring_result;
            return false;
        }
        void await_suspend(std::coroutine_handle<> h) { ring->run(op).await_suspend(h); }
        std::int32_t await_resume() const noexcept { return op.result; }

        Op op;
        Ring* ring = nullptr;
    };

    static Awaiter<ReadOp> read(int fd, void* buf, unsigned len, std::uint64_t off) {
        return Awaiter<ReadOp>(fd, buf, len, off);
    }
    static Awaiter<WriteOp> write(int fd, const void* buf, unsigned len, std::uint64_t off) {
        return Awaiter<WriteOp>(fd, buf, len, off);
    }
    static Awaiter<WritevOp> writev(int fd, const iovec* iov, unsigned count,
                                    std::uint64_t off) {
        return Awaiter<WritevOp>(fd, iov, count, off);
    }
    static Awaiter<ReadvOp> readv(int fd, const iovec* iov, unsigned count, std::uint64_t off) {
        return Awaiter<ReadvOp>(fd, iov, count, off);
    }
    static Awaiter<FsyncOp> fsync(int fd, bool datasync) {
        return Awaiter<FsyncOp>(fd, datasync);
    }
    static Awaiter<FallocateOp> fallocate(int fd, std::uint64_t off, std::uint64_t len) {
        return Awaiter<FallocateOp>(fd, off, len);
    }
    static Awaiter<CloseOp> close(int fd) { return Awaiter<CloseOp>(fd); }
    static Awaiter<OpenOp> open(const char* path, int flags, mode_t mode) {
        return Awaiter<OpenOp>(path, flags, mode);
    }
};

template <typename Backend>
class FileDevice final : public BlockDevice {
public:
    FileDevice(int fd, bool direct, bool read_only, int direct_fd, bool direct_writes) noexcept
        : fd_(fd),
          direct_fd_(direct_fd),
          direct_(direct),
          read_only_(read_only),
          direct_writes_(direct_writes && direct_fd >= 0) {}
    ~FileDevice() override {
        if (!closed_.load(std::memory_order_acquire)) {
            ::close(fd_);
            if (direct_fd_ >= 0) {
                ::close(direct_fd_);
            }
        }
    }

    Task<Result<std::uint64_t>> length() override;
    Task<Status> read(std::uint64_t offset, std::span<std::byte> buffer) override;
    Task<Status> read_uncached(std::uint64_t offset, std::span<std::byte> buffer) override;
    Task<Status> write(std::uint64_t offset, std::span<const std::byte> data) override {
        return write_to(fd_, offset, data);
    }
    Task<Status> write_direct(std::uint64_t offset, std::span<const std::byte> data) override {
        return write_to(write_fd(offset, data.data(), data.size()), offset, data);
    }
    Task<Status> write_vectored(std::uint64_t offset,
                                std::span<const std::span<const std::byte>> parts,
                                bool direct) override;
    Task<Status> read_vectored(std::uint64_t offset, std::span<const std::span<std::byte>> parts,
                               bool direct) override;
    Task<Status> sync_data() override { return sync(true); }
    Task<Status> sync_all() override { return sync(false); }
    Task<Status> set_length(std::uint64_t length) override;
    Task<Status> close() override;

    std::size_t alignment() const noexcept override { return direct_ ? kDirectAlignment : 1; }
    const char* kind() const noexcept override { return Backend::kName; }

private:
    Task<Status> sync(bool datasync);
    Task<Status> write_to(int fd, std::uint64_t offset, std::span<const std::byte> data);
    /// Writes the iovecs from `offset`, resuming after short transfers (the vector is
    /// consumed). REQUIRES: no iovec is empty.
    Task<Status> writev_to(int fd, std::uint64_t offset, std::vector<iovec> iov);
    /// Reads into the iovecs from `offset`, resuming after short transfers (the vector is
    /// consumed); out_of_range at the end of the file. REQUIRES: no iovec is empty.
    Task<Status> readv_from(int fd, std::uint64_t offset, std::vector<iovec> iov);
    Status check_usable() const;
    Status check_alignment(std::uint64_t offset, const void* address, std::size_t size) const;
    Status check_writable() const;
    /// The descriptor write_direct() uses: the O_DIRECT one when direct writes are on and the
    /// write is aligned, else the buffered one.
    int write_fd(std::uint64_t offset, const void* address, std::size_t size) const noexcept {
        auto a = std::bit_cast<std::uintptr_t>(address);
        bool aligned = offset % kDirectAlignment == 0 && size % kDirectAlignment == 0 &&
                       a % kDirectAlignment == 0;
        return direct_writes_ && aligned ? direct_fd_ : fd_;
    }
    /// Latches the device as failed and returns the error for the call that failed.
    Error poison(Error e) noexcept {
        poisoned_.store(true, std::memory_order_release);
        return e;
    }
    /// Classifies one write's result `r` (bytes written or -errno) at file offset `at`: the
    /// bytes written (> 0), 0 to retry (EINTR or EAGAIN, at most kRetryMax times per call, counted
    /// in `retries`), or the error, which poisons the device. A write of nothing for a
    /// non-empty buffer would loop forever, so it is reported as EIO.
    /// The bytes a read transferred, 0 for a retry (EINTR or EAGAIN, at most kRetryMax in a
    /// row, counted in `retries`), or the error: out_of_range at the end of the file. A read
    /// never poisons the device.
    static Result<std::size_t> read_or_retry(std::int32_t r, int& retries,
                                             std::uint64_t at) noexcept {
        if (r == -EINTR || r == -EAGAIN) {
            if (++retries > kRetryMax) {
                return Error::from_errno(-r, at);
            }
            return std::size_t{0};
        }
        if (r < 0) {
            return Error::from_errno(-r, at);
        }
        if (r == 0) {
            return Error{Errc::out_of_range, 0, at};
        }
        return static_cast<std::size_t>(r);
    }
    Result<std::size_t> written_or_retry(std::int32_t r, int& retries, std::uint64_t at) noexcept {
        if (r == -EINTR || r == -EAGAIN) {
            if (++retries > kRetryMax) {
                return poison(Error::from_errno(-r, at));
            }
            return std::size_t{0};
        }
        if (r <= 0) {
            return poison(Error::from_errno(r < 0 ? -r : EIO, at));
        }
        return static_cast<std::size_t>(r);
    }

    int fd_;
    int direct_fd_;  // O_DIRECT twin of fd_ (writable devices), -1 if none
    bool direct_;
    bool read_only_;
    bool direct_writes_;  // aligned write_direct() calls go through direct_fd_
    std::atomic<bool> closed_{false};
    std::atomic<bool> poisoned_{false};
};

template <typename Backend>
Status FileDevice<Backend>::check_usable() const {
    if (closed_.load(std::memory_order_acquire)) {
        return Error{Errc::device_closed};
    }
    if (poisoned_.load(std::memory_order_acquire)) {
        return Error{Errc::previous_io};
    }
    return ok();
}

template <typename Backend>
Status FileDevice<Backend>::check_alignment(std::uint64_t offset, const void* address,
                                            std::size_t size) const {
    if (!direct_) {
        return ok();
    }
    if (offset % kDirectAlignment != 0) {
        return Error{Errc::invalid_argument, 0, offset};
    }
    if (size % kDirectAlignment != 0) {
        return Error{Errc::invalid_argument, 0, size};
    }
    auto a = std::bit_cast<std::uintptr_t>(address);
    if (a % kDirectAlignment != 0) {
        return Error{Errc::invalid_argument, 0, a};
    }
    return ok();
}

template <typename Backend>
Status FileDevice<Backend>::check_writable() const {
    if (read_only_) {
        return Error{Errc::invalid_argument};
    }
    return ok();
}

template <typename Backend>
Task<Result<std::uint64_t>> FileDevice<Backend>::length() {
    RINGDB_CO_TRY(check_usable());
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        co_return Error::from_errno(errno);
    }
    co_return static_cast<std::uint64_t>(st.st_size);
}

template <typename Backend>
Task<Status> FileDevice<Backend>::read(std::uint64_t offset, std::span<std::byte> buffer) {
    RINGDB_CO_TRY(check_usable());
    RINGDB_CO_TRY(check_alignment(offset, buffer.data(), buffer.size()));
    std::size_t done = 0;
    int retries = 0;
    while (done < buffer.size()) {
        auto chunk = static_cast<unsigned>(std::min(buffer.size() - done, kChunkMax));
        std::int32_t r = co_await Backend::read(fd_, buffer.data() + done, chunk, offset + done);
        RINGDB_CO_TRY_ASSIGN(std::size_t read, read_or_retry(r, retries, offset + done));
        done += read;
    }
    co_return ok();
}

template <typename Backend>
Task<Status> FileDevice<Backend>::read_uncached(std::uint64_t offset,
                                                std::span<std::byte> buffer) {
    const int fd = direct_ ? fd_ : direct_fd_;
    if (fd < 0) {
        // No O_DIRECT on this file system (or a read-only device): the cached view is all
        // there is.
        Status cached = co_await read(offset, buffer);
        co_return cached;
    }
    RINGDB_CO_TRY(check_usable());
    if (buffer.empty()) {
        co_return ok();
    }
    // Read the aligned blocks around the range into an aligned bounce buffer.
    const std::uint64_t start = offset / kDirectAlignment * kDirectAlignment;
    const std::uint64_t end =
            (offset + buffer.size() + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
    const auto span = static_cast<std::size_t>(end - start);
    const auto needed = static_cast<std::size_t>(offset - start) + buffer.size();
    std::unique_ptr<std::byte, decltype(&std::free)> bounce(
            static_cast<std::byte*>(std::aligned_alloc(kDirectAlignment, span)), &std::free);
    if (bounce == nullptr) {
        co_return Error::from_errno(ENOMEM, offset);
    }
    std::size_t done = 0;
    int retries = 0;
    while (done < needed) {
        auto chunk = static_cast<unsigned>(std::min(span - done, kChunkMax));
        std::int32_t r = co_await Backend::read(fd, bounce.get() + done, chunk, start + done);
        RINGDB_CO_TRY_ASSIGN(std::size_t read, read_or_retry(r, retries, start + done));
        done += read;
    }
    std::memcpy(buffer.data(), bounce.get() + (offset - start), buffer.size());
    co_return ok();
}

template <typename Backend>
Task<Status> FileDevice<Backend>::write_to(int fd, std::uint64_t offset,
                                           std::span<const std::byte> data) {
    RINGDB_CO_TRY(check_usable());
    RINGDB_CO_TRY(check_writable());
    RINGDB_CO_TRY(check_alignment(offset, data.data(), data.size()));
    std::size_t done = 0;
    int retries = 0;
    while (done < data.size()) {
        auto chunk = static_cast<unsigned>(std::min(data.size() - done, kChunkMax));
        std::int32_t r = co_await Backend::write(fd, data.data() + done, chunk, offset + done);
        RINGDB_CO_TRY_ASSIGN(std::size_t written, written_or_retry(r, retries, offset + done));
        done += written;
    }
    co_return ok();
}

template <typename Backend>
Task<Status> FileDevice<Backend>::write_vectored(std::uint64_t offset,
                                                 std::span<const std::span<const std::byte>> parts,
                                                 bool direct) {
    RINGDB_CO_TRY(check_usable());
    RINGDB_CO_TRY(check_writable());
    std::vector<iovec> iov;
    iov.reserve(parts.size());
    bool aligned = offset % kDirectAlignment == 0;
    std::uint64_t at = offset;
    for (std::span<const std::byte> part : parts) {
        if (part.empty()) {
            continue;
        }
        RINGDB_CO_TRY(check_alignment(at, part.data(), part.size()));
        auto a = std::bit_cast<std::uintptr_t>(part.data());
        aligned = aligned && part.size() % kDirectAlignment == 0 && a % kDirectAlignment == 0;
        // iovec takes a non-const base; the kernel only reads it for a write.
        iov.push_back(iovec{const_cast<std::byte*>(part.data()), part.size()});
        at += part.size();
    }
    if (iov.empty()) {
        co_return ok();
    }
    const int fd = direct && direct_writes_ && aligned ? direct_fd_ : fd_;
    Status written = co_await writev_to(fd, offset, std::move(iov));
    co_return written;
}

template <typename Backend>
Task<Status> FileDevice<Backend>::read_vectored(std::uint64_t offset,
                                                std::span<const std::span<std::byte>> parts,
                                                bool direct) {
    RINGDB_CO_TRY(check_usable());
    std::vector<iovec> iov;
    iov.reserve(parts.size());
    bool aligned = offset % kDirectAlignment == 0;
    std::uint64_t at = offset;
    for (std::span<std::byte> part : parts) {
        if (part.empty()) {
            continue;
        }
        RINGDB_CO_TRY(check_alignment(at, part.data(), part.size()));
        auto a = std::bit_cast<std::uintptr_t>(part.data());
        aligned = aligned && part.size() % kDirectAlignment == 0 && a % kDirectAlignment == 0;
        iov.push_back(iovec{part.data(), part.size()});
        at += part.size();
    }
    if (iov.empty()) {
        co_return ok();
    }
    const int fd = direct && !direct_ && direct_fd_ >= 0 && aligned ? direct_fd_ : fd_;
    Status read = co_await readv_from(fd, offset, std::move(iov));
    co_return read;
}

template <typename Backend>
Task<Status> FileDevice<Backend>::readv_from(int fd, std::uint64_t offset,
                                             std::vector<iovec> iov) {
    std::size_t first = 0;  // the first iovec not completely read
    std::uint64_t done = 0;
    int retries = 0;
    while (first < iov.size()) {
        auto count = static_cast<unsigned>(std::min(iov.size() - first, kIovecMax));
        std::int32_t r = co_await Backend::readv(fd, iov.data() + first, count, offset + done);
        RINGDB_CO_TRY_ASSIGN(std::size_t read, read_or_retry(r, retries, offset + done));
        done += read;
        consume_iovecs(iov, first, read);
    }
    co_return ok();
}

template <typename Backend>
Task<Status> FileDevice<Backend>::writev_to(int fd, std::uint64_t offset, std::vector<iovec> iov) {
    std::size_t first = 0;  // the first iovec not completely written
    std::uint64_t done = 0;
    int retries = 0;
    while (first < iov.size()) {
        auto count = static_cast<unsigned>(std::min(iov.size() - first, kIovecMax));
        std::int32_t r = co_await Backend::writev(fd, iov.data() + first, count, offset + done);
        RINGDB_CO_TRY_ASSIGN(std::size_t written, written_or_retry(r, retries, offset + done));
        done += written;
        consume_iovecs(iov, first, written);
    }
    co_return ok();
}

template <typename Backend>
Task<Status> FileDevice<Backend>::sync(bool datasync) {
    RINGDB_CO_TRY(check_usable());
    std::int32_t r = co_await Backend::fsync(fd_, datasync);
    if (r < 0) {
        // Never retried: after a failed fsync the kernel may have dropped the dirty pages, so
        // a later successful fsync would not mean the data is durable.
        co_return poison(Error::from_errno(-r));
    }
    co_return ok();
}

template <typename Backend>
Task<Status> FileDevice<Backend>::set_length(std::uint64_t length) {
    RINGDB_CO_TRY(check_usable());
    RINGDB_CO_TRY(check_writable());
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        co_return Error::from_errno(errno);
    }
    auto current = static_cast<std::uint64_t>(st.st_size);
    if (length > current) {
        // Preallocate the new range: later writes into it change no allocation metadata.
        std::int32_t r = co_await Backend::fallocate(fd_, current, length - current);
        if (r == 0) {
            co_return ok();
        }
        if (r != -EOPNOTSUPP && r != -ENOSYS) {
            co_return poison(Error::from_errno(-r, length));
        }
    }
    if (length != current && ::ftruncate(fd_, static_cast<off_t>(length)) != 0) {
        co_return poison(Error::from_errno(errno, length));
    }
    co_return ok();
}

template <typename Backend>
Task<Status> FileDevice<Backend>::close() {
    if (closed_.exchange(true, std::memory_order_acq_rel)) {
        co_return ok();
    }
    if (direct_fd_ >= 0) {
        // Nothing is buffered on this descriptor: closing it cannot lose a write.
        std::int32_t direct_closed = co_await Backend::close(direct_fd_);
        (void)direct_closed;
    }
    std::int32_t r = co_await Backend::close(fd_);
    if (r < 0 && r != -EINTR) {
        co_return Error::from_errno(-r);
    }
    if (poisoned_.load(std::memory_order_acquire)) {
        co_return Error{Errc::previous_io};
    }
    co_return ok();
}

template <typename Backend>
Task<Result<std::unique_ptr<BlockDevice>>> open_with(std::string path, FileOptions options) {
    int flags = O_CLOEXEC | (options.read_only ? O_RDONLY : O_RDWR);
    if (options.create) {
        flags |= O_CREAT;
    }
    if (options.truncate) {
        flags |= O_TRUNC;
    }
    if (options.direct) {
        flags |= O_DIRECT;
    }
    std::int32_t fd = -EINTR;
    for (int attempt = 0; attempt < kRetryMax && fd == -EINTR; ++attempt) {
        fd = co_await Backend::open(path.c_str(), flags, 0644);
    }
    if (fd < 0) {
        co_return Error::from_errno(-fd);
    }
    std::int32_t direct_fd = -1;
    if (!options.direct && !options.read_only) {
        // The O_DIRECT twin serves read_uncached() (recovery) and, with direct_writes, the
        // aligned writes. The file exists now; it neither creates nor truncates it.
        int direct_flags = O_CLOEXEC | O_RDWR | O_DIRECT;
        direct_fd = -EINTR;
        for (int attempt = 0; attempt < kRetryMax && direct_fd == -EINTR; ++attempt) {
            direct_fd = co_await Backend::open(path.c_str(), direct_flags, 0644);
        }
        if (direct_fd == -EINVAL) {
            direct_fd = -1;  // no O_DIRECT on this file system: every write is buffered
        } else if (direct_fd < 0) {
            std::int32_t closed = co_await Backend::close(fd);
            (void)closed;
            co_return Error::from_errno(-direct_fd);
        }
    }
    std::unique_ptr<BlockDevice> device = std::make_unique<FileDevice<Backend>>(
            fd, options.direct, options.read_only, direct_fd, options.direct_writes);
    co_return std::move(device);
}

IoBackend backend_from_environment() {
    const char* value = std::getenv("RINGDB_IO");
    if (value == nullptr) {
        return IoBackend::automatic;
    }
    if (std::strcmp(value, "posix") == 0) {
        return IoBackend::posix;
    }
    if (std::strcmp(value, "uring") == 0) {
        return IoBackend::uring;
    }
    return IoBackend::automatic;
}

}  // namespace

IoBackend resolve_backend(IoBackend requested) {
    if (requested != IoBackend::automatic) {
        return requested;
    }
    IoBackend from_env = backend_from_environment();
    if (from_env != IoBackend::automatic) {
        return from_env;
    }
    auto ring = Ring::for_this_thread();
    if (ring) {
        return IoBackend::uring;
    }
    static std::once_flag said;
    std::call_once(said, [&ring] {
        std::fprintf(stderr, "ringdb: io_uring unavailable (%s); using the POSIX device\n",
                     to_string(ring.error()).c_str());
    });
    return IoBackend::posix;
}

Task<Result<std::unique_ptr<BlockDevice>>> open_file(std::string path, FileOptions options) {
    if (path.empty()) {
        co_return Error{Errc::invalid_argument};
    }
    IoBackend backend = resolve_backend(options.backend);
    if (backend == IoBackend::uring) {
        auto ring = Ring::for_this_thread();
        if (!ring) {
            co_return ring.error();
        }
        auto device = co_await open_with<UringBackend>(std::move(path), options);
        co_return std::move(device);
    }
    auto device = co_await open_with<PosixBackend>(std::move(path), options);
    co_return std::move(device);
}

}  // namespace ringdb::io
