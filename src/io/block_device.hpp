#pragma once
// BlockDevice: the one seam between the storage engine and storage.
//
// The engine sees only this interface. Implementations: UringFile (io_uring, the default),
// PosixFile (pread/pwrite fallback), MemoryDevice, and SimDevice (a simulated disk that can
// crash and inject faults, for tests).
//
// Contract, for every implementation:
//  - read(offset, buffer) fills the whole buffer or fails; a range past the end of the device
//    is Errc::out_of_range (detail: the first offset that could not be read).
//  - write(offset, data) writes all of data or fails; writing past the end extends the device.
//    Short transfers, EINTR and EAGAIN are handled inside the device.
//  - sync_data() makes every completed write durable (fdatasync); sync_all() also makes
//    metadata such as the length durable (fsync). Only writes that have *completed* before the
//    sync was issued are covered: a caller that needs an ordering waits for its writes first.
//  - set_length(n) grows (preallocating where the system can) or shrinks the device.
//  - A failed write, sync or set_length poisons the device: that call returns the error, and
//    every later call (reads included) returns Errc::previous_io. A failed sync is never
//    retried and never reported as success later.
//  - After close(), every call returns Errc::device_closed. close() on a closed device is a
//    no-op success.
//  - Calls may come from any thread; each completes on the thread that issued it. Buffers
//    must stay valid until the returned task completes (co_await it in the same expression).
//
// Errors: Errc::io (sys_errno set), Errc::no_space, Errc::out_of_range,
// Errc::invalid_argument (for example a misaligned buffer on an O_DIRECT device),
// Errc::previous_io, Errc::device_closed.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

namespace ringdb::io {

class BlockDevice {
public:
    BlockDevice() = default;
    BlockDevice(const BlockDevice&) = delete;
    BlockDevice& operator=(const BlockDevice&) = delete;
    virtual ~BlockDevice() = default;

    virtual Task<Result<std::uint64_t>> length() = 0;
    virtual Task<Status> read(std::uint64_t offset, std::span<std::byte> buffer) = 0;
    virtual Task<Status> write(std::uint64_t offset, std::span<const std::byte> data) = 0;
    virtual Task<Status> sync_data() = 0;
    virtual Task<Status> sync_all() = 0;
    virtual Task<Status> set_length(std::uint64_t length) = 0;
    virtual Task<Status> close() = 0;
    /// Reads what the storage itself holds, past any cache the operating system keeps in
    /// front of it (file devices: through an O_DIRECT descriptor where the file system allows
    /// one). Recovery verifies the commit it keeps this way: after a failed sync, Linux may
    /// keep the failed pages in its page cache marked clean, so an ordinary read would show
    /// bytes that never reached the disk. Same contract and errors as read(); the default is
    /// read() (devices without a cache in front).
    virtual Task<Status> read_uncached(std::uint64_t offset, std::span<std::byte> buffer) {
        return read(offset, buffer);
    }

    /// write(), but a hint that the data need not pass through the operating system's cache:
    /// file devices with FileOptions::direct_writes send it through their O_DIRECT descriptor
    /// when offset, length and address are aligned. The page store uses it for the pages of
    /// large commits. Same contract and errors as write(); the default is write().
    virtual Task<Status> write_direct(std::uint64_t offset, std::span<const std::byte> data) {
        return write(offset, data);
    }

    /// Writes `parts` back to back from `offset` (the first part at offset, the next one
    /// where it ends, ...) as ONE operation where the device can: file devices submit one
    /// vectored write (io_uring IORING_OP_WRITEV, or pwritev) per call, continuing after a short
    /// transfer; SimDevice logs it as one write, which a crash may drop or tear at any sector
    /// like any other write. With `direct`, the hint of write_direct() applies to the whole
    /// call when the offset and every part's length and address are aligned. Empty parts are
    /// skipped. Same contract and errors as write(). The default writes the parts one after
    /// the other with write() or write_direct(), stopping at the first failure. `parts` and
    /// the bytes they name must stay valid until the returned task completes.
    virtual Task<Status> write_vectored(std::uint64_t offset,
                                        std::span<const std::span<const std::byte>> parts,
                                        bool direct) {
        std::uint64_t at = offset;
        for (std::span<const std::byte> part : parts) {
            if (part.empty()) {
                continue;
            }
            if (direct) {
                Status written = co_await write_direct(at, part);
                if (!written) {
                    co_return written;
                }
            } else {
                Status written = co_await write(at, part);
                if (!written) {
                    co_return written;
                }
            }
            at += part.size();
        }
        co_return ok();
    }

    /// Reads `parts` back to back from `offset` (the first part at offset, the next one where
    /// it ends, ...) as ONE operation where the device can: file devices submit one vectored
    /// read (io_uring IORING_OP_READV, or preadv) per call, continuing after a short transfer.
    /// With `direct`, the read bypasses the operating system's cache where the device can
    /// (file devices with an O_DIRECT descriptor, when the offset and every part's length and
    /// address are aligned), as read_uncached() does. Same contract and errors as read()
    /// (out_of_range past the end of the file). The default reads the parts one after the
    /// other with read() or read_uncached(), stopping at the first failure. `parts` and the
    /// bytes they name must stay valid until the returned task completes.
    virtual Task<Status> read_vectored(std::uint64_t offset,
                                       std::span<const std::span<std::byte>> parts,
                                       bool direct) {
        std::uint64_t at = offset;
        for (std::span<std::byte> part : parts) {
            if (part.empty()) {
                continue;
            }
            if (direct) {
                Status read_part = co_await read_uncached(at, part);
                if (!read_part) {
                    co_return read_part;
                }
            } else {
                Status read_part = co_await read(at, part);
                if (!read_part) {
                    co_return read_part;
                }
            }
            at += part.size();
        }
        co_return ok();
    }

    /// Required alignment of offsets, lengths and buffer addresses (1 unless O_DIRECT).
    virtual std::size_t alignment() const noexcept { return 1; }
    /// A short name for logs and benchmarks: "uring", "posix", "memory", "sim".
    virtual const char* kind() const noexcept = 0;
};

}  // namespace ringdb::io
