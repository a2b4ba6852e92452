#pragma once
// Options shared by the public API.

namespace ringdb {

/// Which I/O implementation a file-backed device uses.
///  - automatic: io_uring when a ring can be created on this system, otherwise the POSIX
///    device (said once on stderr, with the reason). The environment variable RINGDB_IO
///    (`uring` or `posix`) overrides the automatic choice, so a whole test suite can run on
///    either implementation.
///  - uring: io_uring only; opening fails with Errc::unsupported where rings are unavailable.
///  - posix: pread/pwrite/fdatasync on the calling thread (the fallback; these calls block
///    the thread for the duration of the I/O).
enum class IoBackend { automatic, uring, posix };

}  // namespace ringdb
