#pragma once
// SimDevice: a simulated disk for crash and fault tests. It is the only stand-in for a disk that
// crash tests may use, so it models durability rather than just storing bytes.
//
// Everything is deterministic for a given 64-bit seed (one splitmix64 stream drives every random
// choice), as long as the calls arrive in the same order.
//
// STATE. The device keeps three views of the file:
//  - live: what reads see (the page cache): every completed write and set_length;
//  - durable: what survives a crash when nothing unsynced reaches the disk;
//  - durable-with-metadata: durable, plus every completed set_length (length changes are
//    metadata; see LENGTH below);
// and a log of the unsynced writes (offset and bytes), in completion order, since the last sync.
//
// DURABILITY MODEL.
//  - write(): updates live and appends to the log. Nothing is durable yet.
//  - sync_data() (fdatasync): applies every logged write that completed before the sync was
//    issued to durable, in order, including the length those writes imply (a write past the
//    durable end extends the durable file, zero-filling any gap). It does NOT persist a length
//    set by set_length.
//  - sync_all() (fsync): what sync_data does, and also the length: afterwards the durable file
//    has the live length, and bytes cut by a shrink read as zero if the file grows back.
//  - set_length(n): live changes at once; the change is metadata, pending until sync_all.
//    Shrinking also cuts the logged writes at n: dirty data past the new end is discarded, as
//    truncate discards dirty pages, so no sync or crash brings it back.
//  - Metadata may reach the disk early (a journal commit, or a size update on a file system
//    that orders no data): every crash mode except durable_only flips a coin to decide whether
//    the pending metadata landed. If it did, the image starts from durable-with-metadata and has
//    the live length; extending writes that did not land then read as zeros.
//
// CRASH IMAGES. crash(mode) builds an image, then "reboots": live, durable and
// durable-with-metadata all become the image, the log is emptied, and the closed and poisoned
// latches and every injected fault are cleared (a healthy disk after power-on). The modes:
//  - durable_only: the durable bytes, nothing else;
//  - random_subset: durable plus a random subset of the logged writes, applied in log order;
//    each chosen write lands whole;
//  - torn_write: durable plus the logged writes in order, where one write chosen at random is
//    torn: only its bytes before a random 512-byte boundary of the device land (possibly none),
//    and every write after it is dropped (the power failed while it was being written, and the
//    device wrote in order). An empty log gives the durable bytes.
//  - reordered: a random subset of the logged writes applied in a random order. Where two
//    logged writes overlap, the older may win.
// crash_any() picks the mode from the seeded stream; last_crash_mode() tells which it chose.
//
// FAULTS. fail_at(kind, k, mode, err) fails the k-th call of a kind, counting from 0 over the
// device's lifetime (calls(kind) is the index the next call will get, so
// fail_at(kind, calls(kind)) fails the next one). OpKind::sync counts sync_data and sync_all
// together. A call is counted only when it passes the closed, poisoned and argument checks,
// i.e. when it would reach the disk. FaultMode::once fails exactly call k; persistent fails
// every call from k on (a k already passed then fails the next call). An injected fault returns
// Error::from_errno(err): Errc::io with sys_errno = err (Errc::no_space for ENOSPC/EDQUOT).
// A failed write, set_length or read changes nothing. A failed sync leaves the logged writes
// dirty (a later crash may still land them), unless set_failed_pages_marked_clean(true): then,
// like Linux after a write-back error, the writes the sync covered are dropped from the log but
// stay in live, so reads return data that is not durable and no later sync persists it.
//
// POISONING. As for the file devices, a failed write, sync or set_length (injected or not)
// latches the device: that call returns its error and every later call, reads and length()
// included, returns Errc::previous_io. A failed read does not poison. The latch is cleared only
// by crash() (a reboot) or reopen() (closing and reopening the file: the page cache, and with it
// any non-durable live data, survives).
//
// LATENCY. With set_latency(rounds_max) > 0, each operation that reaches the disk waits a
// seeded number of rounds in [0, rounds_max] of the calling thread's ThreadContext before it
// completes, so concurrent operations complete out of order. Effects happen at completion: a
// write is logged (and counts as completed) only then, and a sync covers only the writes that
// completed before it was issued. Operations still in flight during crash() complete with
// Errc::device_closed and change nothing.
//
// ERRORS. Errc::device_closed after close(); Errc::previous_io when poisoned;
// Errc::out_of_range for a read past the live end (detail: the first offset that could not be
// read); Errc::invalid_argument when an offset plus a size, or a length, exceeds kSimDeviceMax
// (detail: that offset or length); injected faults as above. close() of a poisoned device
// returns Errc::previous_io once, like the file devices.
//
// THREADS. Every call is thread-safe (one mutex, never held across a suspension); operations
// complete on the thread that issued them.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "io/block_device.hpp"
#include "io/memory_device.hpp"

namespace ringdb::io {

/// The largest offset plus size the simulator accepts (1 TiB): beyond it a call is a bad
/// argument, not a big file.
inline constexpr std::uint64_t kSimDeviceMax = std::uint64_t{1} << 40;
/// Torn writes break at multiples of this many bytes of the device.
inline constexpr std::uint64_t kSimSectorSize = 512;
/// The most latency rounds an operation may be given.
inline constexpr std::uint32_t kSimLatencyRoundsMax = 1024;
/// The most unsynced writes the log holds; more is a test bug (an assertion).
inline constexpr std::size_t kSimLogMax = std::size_t{1} << 22;

enum class CrashMode : std::uint8_t { durable_only, random_subset, torn_write, reordered };
enum class OpKind : std::uint8_t { read, write, sync, set_length };
enum class FaultMode : std::uint8_t { once, persistent };

inline constexpr std::size_t kCrashModeCount = 4;
inline constexpr std::size_t kOpKindCount = 4;

/// "durable_only", "random_subset", "torn_write", "reordered".
const char* crash_mode_name(CrashMode mode) noexcept;
/// "read", "write", "sync", "set_length".
const char* op_kind_name(OpKind kind) noexcept;

/// One unsynced write, as logged.
struct SimWrite {
    std::uint64_t offset = 0;
    std::vector<std::byte> bytes;
};

class SimDevice final : public BlockDevice {
public:
    /// An empty device.
    explicit SimDevice(std::uint64_t seed);
    /// A device whose live and durable content is `image` (for example a crash image).
    SimDevice(std::uint64_t seed, std::vector<std::byte> image);
    ~SimDevice() override = default;

    /// A new SimDevice holding `image` as durable and live content.
    static std::unique_ptr<SimDevice> from_image(std::vector<std::byte> image, std::uint64_t seed);
    /// A MemoryDevice holding `image` (no crash model, for checks that only read).
    static std::unique_ptr<MemoryDevice> memory_from_image(std::vector<std::byte> image);
    /// The seed in the environment variable RINGDB_SEED (decimal, or hex with 0x), else
    /// `fallback`. Tests print the seed they use so a failure replays.
    static std::uint64_t seed_from_environment(std::uint64_t fallback);

    // BlockDevice (contract in block_device.hpp; errors and effects in the file comment).
    Task<Result<std::uint64_t>> length() override;
    Task<Status> read(std::uint64_t offset, std::span<std::byte> buffer) override;
    /// Like read(), but the bytes of writes a failed sync dropped with their pages marked
    /// clean (set_failed_pages_marked_clean) come from the durable image, as a read past the
    /// page cache would see them. Counts as a read (faults, latency).
    Task<Status> read_uncached(std::uint64_t offset, std::span<std::byte> buffer) override;
    Task<Status> write(std::uint64_t offset, std::span<const std::byte> data) override;
    /// One write of the concatenated parts: one call counted, one log entry, so a crash
    /// lands it whole, drops it or tears it at a sector boundary like any other write.
    Task<Status> write_vectored(std::uint64_t offset,
                                std::span<const std::span<const std::byte>> parts,
                                bool direct) override;
    Task<Status> sync_data() override;
    Task<Status> sync_all() override;
    Task<Status> set_length(std::uint64_t length) override;
    Task<Status> close() override;
    const char* kind() const noexcept override { return "sim"; }

    std::uint64_t seed() const noexcept { return seed_; }

    /// Builds a crash image by `mode`, reboots the device onto it, and returns it.
    std::vector<std::byte> crash(CrashMode mode);
    /// crash() with a mode drawn from the seeded stream.
    std::vector<std::byte> crash_any();
    /// The image crash(mode) would build now, without rebooting: the device keeps running
    /// (the seeded stream advances). Lets one run yield an image in every mode.
    std::vector<std::byte> crash_image(CrashMode mode);
    /// The mode of the last crash (durable_only before any).
    CrashMode last_crash_mode() const;
    /// Clears the closed and poisoned latches without a crash: live data, durable data and the
    /// log are kept, like closing the file and opening it again on a running system.
    void reopen();

    /// Arms a fault for call index `k` of `kind` (replacing any fault armed for that kind).
    /// REQUIRES: err > 0.
    void fail_at(OpKind kind, std::uint64_t k, FaultMode mode = FaultMode::once, int err = EIO);
    /// Disarms every fault.
    void clear_faults();
    /// Calls of `kind` counted so far: the index the next such call will get.
    std::uint64_t calls(OpKind kind) const;
    /// Linux behaviour on a failed sync: drop the covered writes but keep them visible.
    void set_failed_pages_marked_clean(bool on);
    /// Each operation waits up to `rounds_max` scheduler rounds (0: complete at once).
    /// REQUIRES: rounds_max <= kSimLatencyRoundsMax.
    void set_latency(std::uint32_t rounds_max);

    /// Copies for inspection by tests.
    std::vector<std::byte> live_bytes() const;
    std::vector<std::byte> durable_bytes() const;
    std::vector<SimWrite> unsynced_writes() const;
    std::size_t unsynced_write_count() const;
    bool poisoned() const;

private:
    struct LogEntry {
        std::uint64_t sequence = 0;  // completion order; a sync covers entries below its mark
        SimWrite write;
    };
    struct Fault {
        bool armed = false;
        std::uint64_t index = 0;
        FaultMode mode = FaultMode::once;
        int err = EIO;
    };
    /// What a call learns when it is issued.
    struct Ticket {
        Status status;                // an immediate failure, or the injected fault
        bool reached_disk = false;    // counted; the outcome is decided at completion
        std::uint64_t epoch = 0;      // crash() moves the epoch on, voiding in-flight calls
        std::uint64_t sync_mark = 0;  // syncs cover log entries with a lower sequence
        std::uint32_t delay_rounds = 0;
    };

    Ticket issue(OpKind kind, Status arguments);
    Status check_usable_locked() const;
    Status check_completion_locked(const Ticket& ticket) const;
    Error poison_locked(Error error);
    std::uint64_t next_random_locked();
    std::uint64_t uniform_locked(std::uint64_t bound);

    /// Sets or clears the lost mark of a byte range (lost_ sized to live_ first).
    void mark_lost_locked(std::uint64_t offset, std::size_t length, bool lost);
    /// read() or read_uncached(): one ticket, then the bytes (the disk's for an uncached read).
    Task<Status> read_as(std::uint64_t offset, std::span<std::byte> buffer, bool uncached);
    Status complete_read(const Ticket& ticket, std::uint64_t offset, std::span<std::byte> buffer,
                         bool uncached);
    Status complete_write(const Ticket& ticket, std::uint64_t offset,
                          std::span<const std::byte> data);
    Status complete_sync(const Ticket& ticket, bool with_metadata);
    Status complete_set_length(const Ticket& ticket, std::uint64_t length);
    Task<Status> sync(bool with_metadata);

    std::vector<std::byte> build_image_locked(CrashMode mode);
    void apply_torn_locked(std::vector<std::byte>& image);
    void apply_reordered_locked(std::vector<std::byte>& image);
    void reboot_locked(const std::vector<std::byte>& image);

    const std::uint64_t seed_;
    mutable std::mutex mutex_;
    // Everything below is guarded by mutex_.
    std::uint64_t random_state_;
    std::vector<std::byte> live_;
    std::vector<std::byte> durable_;
    std::vector<std::byte> durable_meta_;  // durable plus every completed set_length
    // Per live byte: 1 where the last write was dropped by a failed sync with pages marked
    // clean (live shows it, the disk does not). Cleared by a later write and by a reboot.
    std::vector<std::uint8_t> lost_;
    std::vector<LogEntry> log_;
    std::uint64_t next_sequence_ = 0;
    std::uint64_t epoch_ = 0;
    std::uint64_t calls_[kOpKindCount] = {};
    Fault faults_[kOpKindCount] = {};
    bool closed_ = false;
    bool poisoned_ = false;
    bool pages_marked_clean_ = false;
    std::uint32_t latency_rounds_max_ = 0;
    CrashMode last_crash_mode_ = CrashMode::durable_only;
};

}  // namespace ringdb::io
