// The page store's side of the commit log (docs/design.md section 10): logged commits, the log
// block and its start position at checkpoints, and reading the log back at recovery.
//
// Invariants:
//  - a logged commit is visible to readers only after the sync that covers its record (or at
//    once for Durability::none, whose record is written but not synced);
//  - log_->start() is the start position named by the durable checkpoint: the writer never
//    overwrites a record from there on;
//  - records are appended only by the committer; a checkpoint writes every appended record
//    before its header names the position after them.

#include <algorithm>

#include "engine/page_store/page_store.hpp"
#include "util/assert.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

// Whether a slot's log lies inside its layout, after the header.
bool log_fits(const CommitSlot& slot) {
    return slot.log_first_page >= 1 && slot.log_pages <= slot.layout_pages &&
           slot.log_first_page <= slot.layout_pages - slot.log_pages;
}

// A record may take at most this share of the log; a larger transaction is a checkpoint.
constexpr std::uint64_t kMaxRecordShare = 4;
// A checkpoint is due once the records after the last one take this share of the log.
constexpr std::uint64_t kCheckpointLogShare = 2;
// Records of non-durable commits stay in memory until this many bytes wait (or a durable
// commit or a checkpoint writes them): nothing needs them on disk before a sync.
constexpr std::uint64_t kNonDurableWriteBytes = std::uint64_t{256} << 10;

}  // namespace

std::size_t PageStore::log_record_limit() const noexcept {
    if (!log_) {
        return 0;
    }
    return log_->region_bytes() / kMaxRecordShare - CommitLog::record_bytes(0);
}

bool PageStore::log_accepts(std::size_t bytes) const {
    return log_ && bytes <= log_record_limit() && log_->fits(bytes);
}

bool PageStore::checkpoint_due() const {
    if (!log_) {
        return true;
    }
    if (running_ != nullptr) {
        return false;
    }
    if (log_->used_bytes() >= log_->region_bytes() / kCheckpointLogShare) {
        return true;
    }
    return held_bytes() >= options_.checkpoint_bytes ||
           std::chrono::steady_clock::now() - last_checkpoint_ >= options_.checkpoint_interval;
}

CommitLogStats PageStore::log_stats() const {
    CommitLogStats stats;
    stats.logged_commits = logged_commits_.load(std::memory_order_relaxed);
    stats.checkpoints = checkpoints_.load(std::memory_order_relaxed);
    stats.checkpoint_wait_us = checkpoint_wait_ns_.load(std::memory_order_relaxed) / 1000;
    stats.log_bytes = log_pages_ * page_size_;
    stats.log_used_bytes = log_used_bytes_.load(std::memory_order_relaxed);
    stats.held_bytes = held_bytes();
    return stats;
}

std::uint64_t PageStore::held_bytes() const {
    std::lock_guard lock(allocator_mutex_);
    return unpersisted_.size() * page_size_;
}

void PageStore::create_log(std::uint64_t first_page, std::uint64_t pages, LogPosition start) {
    log_first_page_ = first_page;
    log_pages_ = pages;
    log_.emplace(*device_, first_page * page_size_, pages * page_size_, start, start);
}

void PageStore::open_log() {
    const CommitSlot slot = disk_header_.primary();
    if (slot.log_pages != 0) {
        create_log(slot.log_first_page, slot.log_pages, slot.log_start);
    }
}

Task<Result<std::vector<std::vector<std::byte>>>> PageStore::read_log() {
    const DatabaseHeader header = disk_header_;
    const CommitSlot slot = header.primary();
    if (slot.log_pages == 0) {
        co_return std::vector<std::vector<std::byte>>{};
    }
    if (!log_fits(slot)) {
        co_return Error{Errc::corrupted, 0, slot.log_first_page};
    }
    const std::uint64_t offset = slot.log_first_page * page_size_;
    const std::uint64_t bytes = slot.log_pages * page_size_;
    RINGDB_CO_TRY_ASSIGN(LogScan scan, co_await scan_log(*device_, offset, bytes, slot.log_start));
    // Records of laps up to one past a slot's start can be on disk (the writer never goes
    // further before a checkpoint moves the start): the fresh lap is beyond all of them.
    std::uint64_t lap = scan.last_lap;
    for (std::size_t i = 0; i < 2; ++i) {
        if (header.slot_valid[i]) {
            lap = std::max(lap, header.slots[i].log_start.lap);
        }
    }
    create_log(slot.log_first_page, slot.log_pages, LogPosition{});
    // The writer goes on at the block after the last valid record, in a lap no block on disk
    // carries, so that relog() can write the records again without touching the ones the
    // slot still names.
    std::uint64_t next = (scan.end.offset + kLogBlock - 1) / kLogBlock * kLogBlock;
    if (next >= bytes) {
        next = 0;
    }
    log_->restart(LogPosition{next, lap + 2, scan.end.sequence});
    replayed_from_ = slot.log_start;
    co_return std::move(scan.payloads);
}

bool PageStore::relog_fits(const std::vector<std::vector<std::byte>>& payloads) const {
    if (!log_ || payloads.empty()) {
        return log_.has_value();
    }
    // The records replay read occupy the region from replayed_from_ on, up to the writer's
    // start: the new records must fit into the rest, ending a block before the old start.
    const std::uint64_t region = log_->region_bytes();
    const std::uint64_t old_start = replayed_from_.offset / kLogBlock * kLogBlock;
    const std::uint64_t gap = (old_start + region - log_->start().offset) % region;
    std::uint64_t needed = kLogBlock;
    for (const std::vector<std::byte>& payload : payloads) {
        if (!log_->fits(payload.size())) {
            return false;
        }
        needed += CommitLog::record_bytes(payload.size());
    }
    return needed <= gap;
}

Task<Status> PageStore::relog(const std::vector<std::vector<std::byte>>& payloads) {
    RINGDB_ASSERT(relog_fits(payloads));
    const LogPosition start = log_->start();
    for (const std::vector<std::byte>& payload : payloads) {
        log_->append(payload);
    }
    Status written = co_await log_->write(true);
    if (!written) {
        co_return fail(written.error());
    }
    RINGDB_CO_TRY(co_await sync(grew_since_sync_));
    log_->mark_durable(log_->last_sequence());
    // The checkpoint the primary slot names stays; only its replay start moves to the records
    // just written. Two phases, as for a checkpoint: the old slot names the old records until
    // the new one is durable.
    DatabaseHeader header = disk_header();
    CommitSlot slot = header.primary();
    slot.log_start = start;
    header.slots[header.secondary_index()] = slot;
    header.slot_valid[header.secondary_index()] = true;
    RINGDB_CO_TRY(co_await write_header(header));
    RINGDB_CO_TRY(co_await sync(grew_since_sync_));
    header.swap_primary(true);
    RINGDB_CO_TRY(co_await write_header(header));
    RINGDB_CO_TRY(co_await sync(false));
    std::optional<CommitSlot> replayed;
    {
        std::lock_guard lock(state_mutex_);
        replayed = non_durable_;
    }
    publish(header, replayed);
    log_used_bytes_.store(log_->used_bytes(), std::memory_order_relaxed);
    logged_commits_.fetch_add(payloads.size(), std::memory_order_relaxed);
    co_return ok();
}

Task<Status> PageStore::prepare_log_for_checkpoint() {
    if (!log_) {
        co_return ok();
    }
    Status written = co_await log_->write(true);
    if (!written) {
        co_return fail(written.error());
    }
    co_return ok();
}

void PageStore::checkpoint_durable(LogPosition start) {
    if (log_) {
        log_->set_start(start);
        log_->mark_durable(start.sequence - 1);
        log_used_bytes_.store(log_->used_bytes(), std::memory_order_relaxed);
    }
    last_checkpoint_ = std::chrono::steady_clock::now();
}

Task<Status> PageStore::commit_logged(CommitRequest& request) {
    RINGDB_ASSERT(log_ && log_->fits(request.log_payload.size()));
    (void)hold_pages(request);  // bounded by the checkpoints, never written early
    log_->append(request.log_payload);
    log_used_bytes_.store(log_->used_bytes(), std::memory_order_relaxed);
    logged_commits_.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t sequence = log_->last_sequence();
    const CommitSlot slot = slot_of(request, layout_pages(), PageNumber{});
    const bool durable = request.durability == Durability::immediate;
    // A durable record is padded so that no later write touches its last block.
    if (durable || log_->pending_bytes() >= kNonDurableWriteBytes) {
        Status written = co_await log_->write(durable);
        if (!written) {
            co_return fail(written.error());
        }
    }
    // The commit builds on the previous group's: that one is synced (or failed) first.
    RINGDB_CO_TRY(co_await wait_deferred());
    if (durable && request.defer_sync) {
        auto deferred = std::make_shared<Deferred>();
        deferred->logged = slot;
        deferred->log_sequence = sequence;
        std::lock_guard lock(state_mutex_);
        deferred_ = std::move(deferred);
        co_return ok();
    }
    if (durable) {
        RINGDB_CO_TRY(co_await sync(grew_since_sync_));
        log_->mark_durable(sequence);
    }
    publish_current(slot);
    co_return ok();
}

}  // namespace ringdb::engine
