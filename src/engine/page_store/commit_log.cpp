#include "engine/page_store/commit_log.hpp"

#include <algorithm>
#include <cstring>

#include "engine/page_store/page_buffer.hpp"
#include "util/assert.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

constexpr std::uint32_t kRecordMagic = 0x474F4C52;  // "RLOG" little-endian
constexpr std::size_t kChecksumAt = 32;
// Replay reads the region in chunks of this size (aligned for uncached reads).
constexpr std::uint64_t kReadChunk = std::uint64_t{256} << 10;
// How far past the stop position replay looks for a record proving the stop was damage.
constexpr std::uint64_t kLostProbe = std::uint64_t{1} << 20;

std::uint64_t align_up(std::uint64_t value, std::uint64_t to) noexcept {
    return (value + to - 1) / to * to;
}

std::uint64_t align_down(std::uint64_t value, std::uint64_t to) noexcept {
    return value / to * to;
}

}  // namespace

CommitLog::CommitLog(io::BlockDevice& device, std::uint64_t region_offset,
                     std::uint64_t region_bytes, LogPosition start, LogPosition end)
    : device_(device),
      region_offset_(region_offset),
      region_bytes_(region_bytes),
      start_(start),
      end_(end),
      durable_sequence_(end.sequence == 0 ? 0 : end.sequence - 1) {
    RINGDB_ASSERT(region_bytes % kLogBlock == 0);
}

std::uint64_t CommitLog::record_bytes(std::size_t payload) noexcept {
    return align_up(kLogRecordHeader + payload, 8);
}

LogPosition CommitLog::place(std::uint64_t bytes) const noexcept {
    if (end_.offset + bytes <= region_bytes_) {
        return end_;
    }
    return LogPosition{0, end_.lap + 1, end_.sequence};
}

bool CommitLog::fits(std::size_t payload) const noexcept {
    const std::uint64_t bytes = record_bytes(payload);
    if (bytes > region_bytes_) {
        return false;
    }
    const LogPosition at = place(bytes);
    // A later padded write may fill the rest of the record's last block: that block must not
    // hold a record replay needs.
    const std::uint64_t reach = align_up(at.offset + bytes, kLogBlock);
    if (at.lap == start_.lap) {
        return reach <= region_bytes_;
    }
    return at.lap == start_.lap + 1 && reach <= align_down(start_.offset, kLogBlock);
}

std::uint64_t CommitLog::used_bytes() const noexcept {
    if (end_.lap == start_.lap) {
        return end_.offset - start_.offset;
    }
    return region_bytes_ - start_.offset + end_.offset;
}

std::uint64_t CommitLog::pending_bytes() const noexcept {
    std::uint64_t bytes = 0;
    for (const Segment& segment : segments_) {
        bytes += segment.bytes.size();
    }
    return bytes;
}

void CommitLog::restart(LogPosition at) noexcept {
    RINGDB_ASSERT(at.offset % kLogBlock == 0 && at.offset < region_bytes_);
    segments_.clear();
    end_ = at;
    start_ = end_;
}

void CommitLog::append(std::span<const std::byte> payload) {
    const std::uint64_t bytes = record_bytes(payload.size());
    const LogPosition at = place(bytes);
    if (segments_.empty() || at.lap != end_.lap) {
        // A new segment starts at a block boundary: after a padded write, or a wrap.
        Segment segment;
        segment.offset = align_down(at.offset, kLogBlock);
        segment.bytes.resize(at.offset - segment.offset);
        segments_.push_back(std::move(segment));
    }
    Segment& tail = segments_.back();
    RINGDB_ASSERT(tail.offset + tail.bytes.size() == at.offset);
    const std::size_t base = tail.bytes.size();
    tail.bytes.resize(base + bytes);
    std::byte* record = tail.bytes.data() + base;
    util::store_le32(record, kRecordMagic);
    util::store_le32(record + 4, static_cast<std::uint32_t>(payload.size()));
    util::store_le64(record + 8, at.lap);
    util::store_le64(record + 16, at.sequence);
    util::store_le64(record + 24, durable_sequence_.load(std::memory_order_relaxed));
    if (!payload.empty()) {
        std::memcpy(record + kLogRecordHeader, payload.data(), payload.size());
    }
    auto sum = util::xxh3_128(std::span<const std::byte>(record, kChecksumAt), payload);
    util::store_checksum(record + kChecksumAt, sum);
    end_ = LogPosition{at.offset + bytes, at.lap, at.sequence + 1};
}

Task<Status> CommitLog::write(bool pad) {
    for (std::size_t i = 0; i < segments_.size(); ++i) {
        Segment& segment = segments_[i];
        const bool last = i + 1 == segments_.size();
        std::size_t length = segment.bytes.size();
        if (!last || pad) {
            // An earlier segment ended its lap; it is written whole.
            segment.bytes.resize(align_up(length, kLogBlock));
            length = segment.bytes.size();
        } else {
            length = align_down(length, kLogBlock);
        }
        if (length == 0) {
            continue;
        }
        std::span<const std::byte> bytes(segment.bytes.data(), length);
        RINGDB_CO_TRY(co_await device_.write(region_offset_ + segment.offset, bytes));
    }
    if (segments_.empty()) {
        co_return ok();
    }
    Segment tail = std::move(segments_.back());
    segments_.clear();
    if (pad) {
        // The next record starts at the next block: this one is never written again.
        end_.offset = std::min(align_up(end_.offset, kLogBlock), region_bytes_);
        co_return ok();
    }
    const std::size_t written = align_down(tail.bytes.size(), kLogBlock);
    if (written < tail.bytes.size()) {
        Segment rest;
        rest.offset = tail.offset + written;
        rest.bytes.assign(tail.bytes.begin() + static_cast<std::ptrdiff_t>(written),
                          tail.bytes.end());
        segments_.push_back(std::move(rest));
    }
    co_return ok();
}

namespace {

// Sequential reads of the region through a chunk buffer.
class RegionReader {
public:
    RegionReader(io::BlockDevice& device, std::uint64_t offset, std::uint64_t bytes)
        : device_(device), offset_(offset), bytes_(bytes) {}

    /// Copies [at, at + out.size()) of the region into `out`. REQUIRES: inside the region.
    Task<Status> read(std::uint64_t at, std::span<std::byte> out) {
        std::size_t done = 0;
        while (done < out.size()) {
            const std::uint64_t position = at + done;
            if (chunk_ == nullptr || position < chunk_at_ ||
                position >= chunk_at_ + chunk_->size()) {
                chunk_at_ = align_down(position, kReadChunk);
                const std::uint64_t length = std::min(kReadChunk, bytes_ - chunk_at_);
                MutPageRef chunk = PageBuffer::make(length);
                RINGDB_CO_TRY(co_await device_.read_uncached(offset_ + chunk_at_,
                                                             chunk->bytes()));
                chunk_ = std::move(chunk);
            }
            const std::uint64_t inside = position - chunk_at_;
            const std::size_t count =
                    std::min<std::size_t>(out.size() - done, chunk_->size() - inside);
            std::memcpy(out.data() + done, chunk_->data() + inside, count);
            done += count;
        }
        co_return ok();
    }

private:
    io::BlockDevice& device_;
    std::uint64_t offset_;
    std::uint64_t bytes_;
    MutPageRef chunk_;
    std::uint64_t chunk_at_ = 0;
};

struct Candidate {
    bool valid = false;
    bool header_matches = false;  // magic, lap and sequence right (then damage, not garbage)
    std::uint32_t length = 0;
    std::uint64_t durable_through = 0;
    std::vector<std::byte> payload;
};

// Whether a record of `sequence` in `lap` is at `at`.
Task<Result<Candidate>> read_candidate(RegionReader& reader, std::uint64_t region_bytes,
                                       std::uint64_t at, std::uint64_t lap,
                                       std::uint64_t sequence) {
    Candidate found;
    if (at + kLogRecordHeader > region_bytes) {
        co_return found;
    }
    std::byte header[kLogRecordHeader];
    RINGDB_CO_TRY(co_await reader.read(at, std::span<std::byte>(header, kLogRecordHeader)));
    if (util::load_le32(header) != kRecordMagic || util::load_le64(header + 8) != lap ||
        util::load_le64(header + 16) != sequence) {
        co_return found;
    }
    found.header_matches = true;
    found.length = util::load_le32(header + 4);
    found.durable_through = util::load_le64(header + 24);
    if (CommitLog::record_bytes(found.length) > region_bytes - at) {
        co_return found;
    }
    found.payload.resize(found.length);
    RINGDB_CO_TRY(co_await reader.read(at + kLogRecordHeader, found.payload));
    auto sum = util::xxh3_128(std::span<const std::byte>(header, kChecksumAt), found.payload);
    found.valid = sum == util::load_checksum(header + kChecksumAt);
    co_return found;
}

// After replay stopped at `stop` (sequence s): whether some later record of the same or the
// next lap validates and says s was durable when it was written. Then s was acknowledged and
// damaged afterwards. Looks at every 8-byte position of the kLostProbe bytes after the stop
// (continuing at the start of the next lap), where the records written after s begin.
Task<Result<bool>> durable_record_lost(RegionReader& reader, std::uint64_t region_bytes,
                                       LogPosition stop) {
    const std::uint64_t window = std::min(kLostProbe, region_bytes);
    const std::uint64_t same_lap_end = std::min(region_bytes, stop.offset + window);
    const std::uint64_t next_lap_end = window - (same_lap_end - stop.offset);
    for (std::uint64_t lap : {stop.lap, stop.lap + 1}) {
        const std::uint64_t from = lap == stop.lap ? stop.offset + 8 : 0;
        const std::uint64_t to = lap == stop.lap ? same_lap_end : next_lap_end;
        for (std::uint64_t at = from; at + kLogRecordHeader <= to; at += 8) {
            std::byte header[kLogRecordHeader];
            RINGDB_CO_TRY(co_await reader.read(at, std::span<std::byte>(header, 24)));
            if (util::load_le32(header) != kRecordMagic || util::load_le64(header + 8) != lap) {
                continue;
            }
            const std::uint64_t sequence = util::load_le64(header + 16);
            if (sequence <= stop.sequence) {
                continue;
            }
            RINGDB_CO_TRY_ASSIGN(Candidate later,
                                 co_await read_candidate(reader, region_bytes, at, lap, sequence));
            if (later.valid && later.durable_through >= stop.sequence) {
                co_return true;
            }
        }
    }
    co_return false;
}

}  // namespace

Task<Result<LogScan>> scan_log(io::BlockDevice& device, std::uint64_t region_offset,
                               std::uint64_t region_bytes, LogPosition start) {
    RegionReader reader(device, region_offset, region_bytes);
    LogScan scan;
    scan.end = start;
    scan.last_lap = start.lap;
    for (;;) {
        const LogPosition at = scan.end;
        const LogPosition candidates[3] = {
                at, LogPosition{align_up(at.offset, kLogBlock), at.lap, at.sequence},
                LogPosition{0, at.lap + 1, at.sequence}};
        bool found = false;
        for (const LogPosition& c : candidates) {
            RINGDB_CO_TRY_ASSIGN(Candidate record,
                                 co_await read_candidate(reader, region_bytes, c.offset, c.lap,
                                                         c.sequence));
            if (record.valid) {
                scan.end = LogPosition{c.offset + CommitLog::record_bytes(record.length), c.lap,
                                       c.sequence + 1};
                scan.last_lap = std::max(scan.last_lap, c.lap);
                scan.payloads.push_back(std::move(record.payload));
                found = true;
                break;
            }
        }
        if (!found) {
            break;
        }
    }
    RINGDB_CO_TRY_ASSIGN(bool lost, co_await durable_record_lost(reader, region_bytes, scan.end));
    if (lost) {
        co_return Error{Errc::corrupted, 0, scan.end.sequence};
    }
    co_return scan;
}

}  // namespace ringdb::engine
