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

#include <chrono>
#include <cstdint>
#include <functional>

namespace ringdb {

/// A wall clock: milliseconds since the Unix epoch. TTL expiry and the database's hybrid
/// logical clock read it, so tests can drive time (DatabaseOptions::clock).
using WallClock = std::function<std::int64_t()>;

/// The clock's time, or the system clock's when it is empty; times before the epoch are 0.
inline std::uint64_t now_ms(const WallClock& clock) {
    std::int64_t ms = 0;
    if (clock) {
        ms = clock();
    } else {
        auto since = std::chrono::system_clock::now().time_since_epoch();
        ms = std::chrono::duration_cast<std::chrono::milliseconds>(since).count();
    }
    return ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
}

/// Value compression of a database (docs/compression.md). Chosen when the database is
/// created and recorded in its file; opening an existing file uses the file's setting and
/// ignores this one.
enum class CompressionAlgorithm : std::uint8_t { none = 0, lz4 = 1, zstd = 2 };

struct Compression {
    CompressionAlgorithm algorithm = CompressionAlgorithm::none;
    /// zstd: 1 to 22 (3 is zstd's default trade-off). lz4: 1 is the fast compressor, 2 to 12
    /// the high-compression one at that level.
    int level = 3;
    /// Values shorter than this many bytes are stored without trying to compress them.
    std::uint32_t min_size = 64;

    friend bool operator==(const Compression&, const Compression&) = default;
};

/// Options of Database::create / Database::open / ReadOnlyDatabase::open.
struct DatabaseOptions {
    /// Bytes of committed pages kept in memory, shared by all threads.
    std::uint64_t cache_size = std::uint64_t{256} << 20;
    /// Which I/O implementation the file uses (see IoBackend).
    IoBackend io = IoBackend::automatic;
    /// Write the pages of large commits (32 pages or more, for example a group commit or a
    /// bulk load) with O_DIRECT, through a second file descriptor, instead of through the
    /// kernel's page cache: they reach the device while they are written, so the sync only
    /// flushes the device's cache, and no write is handed to a kernel worker thread. Smaller
    /// commits are quicker buffered and stay so. Reads go through the page cache (coherent
    /// with direct writes). Writes that are not 4 KiB aligned (page sizes below 4096) and
    /// file systems without O_DIRECT (tmpfs) fall back to buffered writes. docs/io.md says
    /// what it changed in our runs.
    bool direct_writes = true;
    /// Page size of a new database: a power of two from 512 to 65536. Ignored when opening an
    /// existing file (the file's own page size is used). For tests and special workloads.
    std::uint32_t page_size = 4096;
    /// Called while a database that was not closed cleanly is repaired, with an estimate of the
    /// progress in [0, 1). Returning false aborts the open with Errc::repair_aborted.
    std::function<bool(double progress)> repair_callback;
    /// The wall clock of TTL expiry and of the database's hybrid logical clock; empty means
    /// the system clock. Called from any thread that reads a TTL table.
    WallClock clock;
    /// Value compression of a new database (ignored when opening an existing file).
    Compression compression;
    /// In a compressed database, a table without a compression dictionary keeps samples of
    /// the values it compresses; once they reach this many bytes, the next commit that writes
    /// to it trains a dictionary from them and stores it in the file, and the table compresses
    /// later values with it (docs/compression.md, "Dictionaries"). 0: no new dictionaries
    /// (tables that have one keep using it). Not recorded in the file: each open uses its own.
    std::uint64_t dictionary_sample_bytes = std::uint64_t{1} << 20;
    /// Size of the commit log of a new database, rounded up to a power of two number of pages
    /// (a file keeps the log it was created with). A durable commit appends one record to the
    /// log and syncs it; a checkpoint writes the trees and starts the log over
    /// (docs/design.md section 10, docs/api.md "Commit log and checkpoints"). 0: no log;
    /// every durable commit writes its pages and the header (a checkpoint).
    std::uint64_t log_size = std::uint64_t{16} << 20;
    /// A durable commit is a checkpoint when the log is half full, when the pages committed
    /// since the last checkpoint hold checkpoint_bytes, or when checkpoint_interval has
    /// passed since it; and so is every transaction too large for a quarter of the log.
    std::uint64_t checkpoint_bytes = std::uint64_t{64} << 20;
    std::chrono::milliseconds checkpoint_interval{30000};
};

/// When a commit is durable. immediate: when commit() completes, the transaction survives a
/// crash (its commit log record is synced, or, for a checkpoint, its pages and header). none:
/// visible to new readers at once; a crash may lose it until a later durable commit.
enum class Durability { none, immediate };

/// Whether a durable commit trims free space at the end of the file.
///  - normal (default): when at least half of the file is free at its end (and the file is
///    larger than 1 MiB at 4 KiB pages), so that a file that shrinks and grows back does not
///    pay for a trim and a growth every time;
///  - never: the file keeps its length (its free space is reused);
///  - maximum: every free page at the end is given back.
/// Database::close() and compact() always trim as much as they can.
enum class ShrinkPolicy { normal, never, maximum };

}  // namespace ringdb
