#pragma once
// File-backed block devices: UringFile (io_uring) and PosixFile (pread/pwrite), one
// implementation of the BlockDevice contract over two backends. See block_device.hpp for the
// contract and ringdb/options.hpp for how the backend is chosen.

#include <cstddef>
#include <memory>
#include <string>

#include <ringdb/options.hpp>
#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "io/block_device.hpp"

namespace ringdb::io {

/// Alignment of offsets, lengths and buffer addresses on O_DIRECT devices. 4 KiB covers every
/// logical block size Linux devices use.
inline constexpr std::size_t kDirectAlignment = 4096;

struct FileOptions {
    bool create = false;    // create the file if it does not exist
    bool truncate = false;  // empty the file on open
    bool read_only = false;
    bool direct = false;    // O_DIRECT: aligned buffers required, page cache bypassed
    /// write_direct() calls whose offset, length and buffer address are multiples of
    /// kDirectAlignment go through a second descriptor opened with O_DIRECT (straight to the
    /// device, no dirty pages for the next sync to write back); write(), other writes, reads,
    /// syncs and length changes use the buffered descriptor. Linux keeps both views coherent: a
    /// direct write writes back and drops the cached pages of its range. Where the file system
    /// refuses O_DIRECT (EINVAL, e.g. tmpfs), every write is buffered. Ignored with `direct` or
    /// `read_only`. (A writable device opens the O_DIRECT twin in any case, for read_uncached().)
    bool direct_writes = false;
    IoBackend backend = IoBackend::automatic;
};

/// Resolves IoBackend::automatic: RINGDB_IO=posix|uring if set, else uring when a ring can be
/// created on the calling thread. The first fallback to posix is reported once on stderr with
/// the reason.
IoBackend resolve_backend(IoBackend requested);

/// Opens (and optionally creates) a file as a BlockDevice.
/// Errors: Errc::io with the errno of open(2) (ENOENT, EACCES...), Errc::unsupported when
/// IoBackend::uring is requested and io_uring is unavailable, Errc::invalid_argument for an
/// empty path.
Task<Result<std::unique_ptr<BlockDevice>>> open_file(std::string path, FileOptions options);

}  // namespace ringdb::io
