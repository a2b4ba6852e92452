#pragma once
// CommitLog: the redo log inside the database file (docs/design.md section 10).
//
// The log is one block of the file, named by the commit slot. Records follow each other from
// the slot's start position; each frames an opaque payload (what it means is the transaction
// layer's business) with its lap, its sequence number, the highest sequence number known
// durable when it was written, its length and an XXH3-128 over all of it, so that a block left
// from an earlier lap, a torn write or a flipped bit never passes for a record.
//
// Guarantees of the writer:
//  - every log block (kLogBlock bytes, aligned) is written at most once per lap, and only ever
//    with the bytes of records of that lap: the unfinished tail block stays in memory until a
//    write pads it (write(true)), and the next record then starts at the next block. So a
//    write torn by a crash can only damage records that were not yet synced;
//  - a record is appended only where it overwrites nothing that replay from start() needs;
//  - laps grow: the log wraps to offset 0 with lap + 1, and a log reopened after replay starts
//    a fresh lap beyond any that can be on disk (restart()).
// Not thread-safe: the one committer uses it.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/page_store/header.hpp"
#include "io/block_device.hpp"

namespace ringdb::engine {

/// Record header bytes (docs/design.md section 10).
inline constexpr std::size_t kLogRecordHeader = 48;
/// Records start on 8-byte boundaries; a padded write ends on a kLogBlock boundary.
inline constexpr std::uint64_t kLogBlock = 512;

class CommitLog {
public:
    /// The log occupying [region_offset, region_offset + region_bytes) of `device`: replay
    /// starts at `start` and the next record goes to `end` (the position after the last valid
    /// record). REQUIRES: region_bytes is a multiple of kLogBlock.
    CommitLog(io::BlockDevice& device, std::uint64_t region_offset, std::uint64_t region_bytes,
              LogPosition start, LogPosition end);

    /// Bytes a record with a payload of `payload` bytes occupies (header, payload, padding to
    /// 8 bytes).
    static std::uint64_t record_bytes(std::size_t payload) noexcept;
    /// Whether a record with `payload` bytes can be appended now without overwriting a record
    /// that replay from start() needs.
    bool fits(std::size_t payload) const noexcept;
    /// Bytes from start() to end(): what the next checkpoint releases.
    std::uint64_t used_bytes() const noexcept;
    std::uint64_t region_bytes() const noexcept { return region_bytes_; }
    std::uint64_t region_offset() const noexcept { return region_offset_; }
    LogPosition start() const noexcept { return start_; }
    /// Where the next record goes (before any wrap).
    LogPosition end() const noexcept { return end_; }
    /// Sequence number of the last record appended (0 before any).
    std::uint64_t last_sequence() const noexcept { return end_.sequence - 1; }

    /// Frames `payload` as the next record, in memory. REQUIRES: fits(payload.size()).
    void append(std::span<const std::byte> payload);
    /// Writes the whole blocks appended so far, or, with `pad`, everything, the last block
    /// padded with zeros. Does not sync. Errors: the device's.
    Task<Status> write(bool pad);
    /// Bytes appended and not written yet.
    std::uint64_t pending_bytes() const noexcept;
    /// Every record up to `sequence` is durable (a sync covering its write completed).
    void mark_durable(std::uint64_t sequence) noexcept {
        std::uint64_t known = durable_sequence_.load(std::memory_order_relaxed);
        while (known < sequence &&
               !durable_sequence_.compare_exchange_weak(known, sequence,
                                                        std::memory_order_relaxed)) {
        }
    }
    /// A checkpoint covers every record before `start`: their space may be reused.
    void set_start(LogPosition start) noexcept { start_ = start; }
    /// Starts an empty log at `at` (after replay, or for a new log block): replay would start
    /// there and the next record goes there. REQUIRES: at.offset is a multiple of kLogBlock
    /// inside the region, and no block of the region carries at.lap or a later lap.
    void restart(LogPosition at) noexcept;

private:
    struct Segment {
        std::uint64_t offset = 0;      // in the region, block-aligned
        std::vector<std::byte> bytes;  // from offset on
    };
    /// Where a record of `bytes` bytes goes: end(), or offset 0 of the next lap.
    LogPosition place(std::uint64_t bytes) const noexcept;

    io::BlockDevice& device_;
    std::uint64_t region_offset_;
    std::uint64_t region_bytes_;
    LogPosition start_;
    LogPosition end_;
    // Written by the sync that completes (group commit: the leader's sync task), read by
    // append.
    std::atomic<std::uint64_t> durable_sequence_{0};
    std::vector<Segment> segments_;  // appended, not yet written (the last: the tail)
};

/// What replay found in a log.
struct LogScan {
    std::vector<std::vector<std::byte>> payloads;  // in order
    LogPosition end;            // after the last valid record (not a block boundary: a writer
                                // restarts, it never continues there)
    std::uint64_t last_lap = 0; // the highest lap a record was found in
};

/// Reads the records from `start` on, up to the first position where none validates.
/// Reads bypass the operating system's cache (BlockDevice::read_uncached). Errors: io;
/// corrupted (detail = the sequence number) when a record that does not validate is followed
/// by a valid one written after it was durable (acknowledged data was damaged).
Task<Result<LogScan>> scan_log(io::BlockDevice& device, std::uint64_t region_offset,
                               std::uint64_t region_bytes, LogPosition start);

}  // namespace ringdb::engine
