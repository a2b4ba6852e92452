// The commit protocol (docs/design.md section 8): shrink, save the allocator state if asked,
// extend the file, write every page with many writes in flight, wait for all of them, then
// write the header naming the new slot and sync it (or the two-phase variant). Non-durable
// commits keep their pages in memory and publish the new roots without touching the header.

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/page_store/page_store.hpp"
#include "util/assert.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {
// Attempts at sizing the saved allocator state (each grows the block's margin); the state only
// grows by the block it is written into, so two attempts suffice in practice.
constexpr int kStateAttempts = 8;
}  // namespace

Task<Error> PageStore::report_failure(Error error) {
    if (error.code != Errc::previous_io) {
        co_return error;
    }
    // A background checkpoint's failure goes to the earliest commit that fails: one whose sync
    // is still pending reports it first.
    (void)co_await wait_deferred();
    Error cause = co_await cause_of(error);
    co_return cause;
}

Task<Status> PageStore::commit(CommitRequest request) {
    if (poisoned_) {
        co_return Error{Errc::previous_io};
    }
    if (options_.read_only) {
        co_return Error{Errc::invalid_argument};
    }
    if (request.save_allocator_state) {
        request.two_phase = true;
        request.durability = Durability::immediate;
        request.logged = false;
    }
    harvest_checkpoint();
    if (request.logged && request.checkpoint) {
        // The state is saved before the commit is published, so that a failure here leaves
        // the commit undone.
        release_saved_state();
        RINGDB_CO_TRY_ASSIGN(auto state, prepare_state(request.transaction_id));
        RINGDB_CO_TRY(co_await commit_logged(request));
        auto started = co_await start_checkpoint(request, std::move(state));
        co_return started;
    }
    if (request.logged) {
        auto status = co_await commit_logged(request);
        co_return status;
    }
    if (request.durability == Durability::immediate) {
        const auto started = std::chrono::steady_clock::now();
        auto status = co_await commit_durable(request);
        const auto waited = std::chrono::steady_clock::now() - started;
        if (status) {
            checkpoints_.fetch_add(1, std::memory_order_relaxed);
            checkpoint_wait_ns_.fetch_add(
                    static_cast<std::uint64_t>(
                            std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count()),
                    std::memory_order_relaxed);
        }
        co_return status;
    }
    // Readers see a non-durable commit at once: what it builds on must be synced first.
    RINGDB_CO_TRY(co_await wait_deferred());
    auto status = co_await commit_non_durable(request);
    co_return status;
}

// Non-durable: nothing is synced and the header on disk still names the last durable commit.
// The pages stay in memory (unwritten_) rather than going to the file: many of them are freed
// and reused before the next durable commit, which then never has to write them. They are
// written early only when they exceed their share of the cache budget. Either way they are
// unpersisted: the last durable commit does not reference them, so the transaction layer may
// reuse them as soon as no reader sees them (docs/design.md section 7).
Task<Status> PageStore::commit_non_durable(CommitRequest& request) {
    if (hold_pages(request)) {
        RINGDB_CO_TRY(co_await flush_unwritten());
    }
    publish_current(slot_of(request, layout_pages(), PageNumber{}));
    co_return ok();
}

bool PageStore::hold_pages(const CommitRequest& request) {
    {
        std::lock_guard lock(allocator_mutex_);
        for (const auto& [number, buffer] : request.dirty_pages) {
            unpersisted_.insert(number);
        }
    }
    bool over_limit = false;
    {
        std::lock_guard lock(unwritten_mutex_);
        for (const auto& [number, buffer] : request.dirty_pages) {
            auto [it, inserted] = unwritten_.emplace(number, buffer);
            if (!inserted) {
                unwritten_bytes_ -= it->second->size();
                it->second = buffer;
            }
            unwritten_bytes_ += buffer->size();
        }
        has_unwritten_.store(!unwritten_.empty(), std::memory_order_release);
        over_limit = unwritten_bytes_ > unwritten_limit_bytes_;
    }
    for (const auto& [number, buffer] : request.dirty_pages) {
        cache_.insert(number, buffer);
    }
    return over_limit;
}

Task<Status> PageStore::flush_unwritten() {
    // A background checkpoint may still write an older image of a block held here.
    RINGDB_CO_TRY(co_await finish_checkpoint());
    std::vector<std::pair<PageNumber, PageRef>> pages;
    {
        std::lock_guard lock(unwritten_mutex_);
        pages.assign(unwritten_.begin(), unwritten_.end());
    }
    RINGDB_CO_TRY(co_await cover_layout());
    RINGDB_CO_TRY(co_await write_pages(pages));
    // Only the committer adds or removes entries, so the map still holds exactly these pages;
    // readers find them in the file from now on.
    std::lock_guard lock(unwritten_mutex_);
    unwritten_.clear();
    unwritten_bytes_ = 0;
    has_unwritten_.store(false, std::memory_order_release);
    co_return ok();
}

CommitSlot PageStore::slot_of(const CommitRequest& request, std::uint64_t layout,
                              PageNumber state_block) noexcept {
    CommitSlot slot;
    slot.transaction_id = request.transaction_id;
    slot.user_root = request.user_root;
    slot.system_root = request.system_root;
    slot.layout_pages = layout;
    slot.allocator_state = state_block;
    slot.allocator_state_txn = state_block.is_null() ? 0 : request.transaction_id;
    slot.clock_high_water = request.clock_high_water;
    return slot;
}

void PageStore::release_saved_state() {
    // The saved state of an earlier commit is garbage once this one is durable. Freeing it
    // now lets this commit reuse the block: if this commit does not complete, the old
    // state fails its checksum or transaction check and recovery does a full repair.
    std::lock_guard lock(allocator_mutex_);
    if (!saved_state_block_.is_null()) {
        allocator_->free(saved_state_block_);
        saved_state_block_ = PageNumber{};
    }
}

void PageStore::shrink_layout(ShrinkPolicy policy) {
    if (policy == ShrinkPolicy::never) {
        return;
    }
    std::lock_guard lock(allocator_mutex_);
    std::uint64_t layout = allocator_->layout_pages();
    std::uint64_t start = allocator_->trailing_free_start();
    bool worth_it = policy == ShrinkPolicy::maximum
                            ? start < layout
                            : (layout - start) * 2 >= layout && layout > 256;
    if (worth_it) {
        allocator_->shrink(std::max<std::uint64_t>(start, 1));
    }
}

void PageStore::adopt_committed(const CommitRequest& request, PageNumber state_block) {
    for (auto& [number, buffer] : request.dirty_pages) {
        cache_.insert(number, buffer);
    }
    std::lock_guard lock(allocator_mutex_);
    saved_state_block_ = state_block;
    unpersisted_.clear();
}

Task<Result<PageNumber>> PageStore::shrink_and_save_state(const CommitRequest& request) {
    release_saved_state();
    // The state block is reserved before shrinking, so that shrinking trims whatever space
    // reserving it grew, and filled after, so that it describes the final layout.
    PageNumber state_block;
    if (request.save_allocator_state) {
        RINGDB_CO_TRY_ASSIGN(state_block, reserve_state_block(64));
    }
    shrink_layout(request.shrink);
    if (request.save_allocator_state) {
        RINGDB_CO_TRY_ASSIGN(bool fits, co_await write_state(state_block, request.transaction_id));
        if (!fits) {
            free(state_block);
            RINGDB_CO_TRY_ASSIGN(state_block,
                                 co_await save_allocator_state(request.transaction_id));
        }
    }
    co_return state_block;
}

Task<Status> PageStore::commit_durable(CommitRequest& request) {
    // One checkpoint at a time: this one builds on the background one's header.
    RINGDB_CO_TRY(co_await finish_checkpoint());
    // The log block is allocated before the allocator state is saved (it is part of it).
    RINGDB_CO_TRY(co_await prepare_log_for_checkpoint());
    RINGDB_CO_TRY_ASSIGN(PageNumber state_block, co_await shrink_and_save_state(request));
    std::uint64_t layout = layout_pages();
    std::uint64_t needed = layout * page_size_;
    RINGDB_CO_TRY(co_await cover_layout());
    // Earlier non-durable commits' pages that are still in memory become durable with this one.
    RINGDB_CO_TRY(co_await flush_unwritten());
    RINGDB_CO_TRY(co_await write_pages(request.dirty_pages));
    // One header unsynced at most: the previous group's sync must have completed (and
    // succeeded) before this header may replace the older slot.
    RINGDB_CO_TRY(co_await wait_deferred());

    DatabaseHeader header = base_header();
    CommitSlot slot = slot_of(request, layout, state_block);
    slot.log_first_page = log_first_page_;
    slot.log_pages = log_pages_;
    slot.log_start = log_ ? log_->end() : LogPosition{};
    header.slots[header.secondary_index()] = slot;
    header.slot_valid[header.secondary_index()] = true;
    if (request.defer_sync && !request.two_phase) {
        header.swap_primary(false);
        RINGDB_CO_TRY(co_await write_header(header));
        auto deferred = std::make_shared<Deferred>();
        deferred->header = header;
        deferred->trim_to = file_length_ > needed ? needed : 0;
        {
            std::lock_guard lock(state_mutex_);
            deferred_ = std::move(deferred);
        }
        // Later transactions read these pages; readers cannot reach them before the sync.
        adopt_committed(request, state_block);
        co_return ok();
    }
    if (request.two_phase) {
        // Phase one: the new slot is durable but not yet primary.
        RINGDB_CO_TRY(co_await write_header(header));
        RINGDB_CO_TRY(co_await sync(grew_since_sync_));
        header.swap_primary(true);
        RINGDB_CO_TRY(co_await write_header(header));
        RINGDB_CO_TRY(co_await sync(false));
    } else {
        header.swap_primary(false);
        RINGDB_CO_TRY(co_await write_header(header));
        RINGDB_CO_TRY(co_await sync(grew_since_sync_));
    }
    publish(header, std::nullopt);
    adopt_committed(request, state_block);
    checkpoint_durable(slot.log_start);
    if (file_length_ > needed) {
        // The header naming the shorter layout is durable: trim the file. Failure to trim
        // loses nothing, but like every failed I/O it poisons the store.
        Status trimmed = co_await device_->set_length(needed);
        if (!trimmed) {
            co_return fail(trimmed.error());
        }
        file_length_ = needed;
    }
    co_return ok();
}

Result<PageNumber> PageStore::reserve_state_block(std::size_t margin) {
    std::size_t estimate = 0;
    {
        std::lock_guard lock(allocator_mutex_);
        estimate = allocator_->serialize().size() + 24 + margin;
    }
    return allocate(order_for(estimate, page_size_));
}

Task<Result<bool>> PageStore::write_state(PageNumber block, std::uint64_t transaction_id) {
    PageRef buffer = state_image(block, transaction_id);
    if (buffer == nullptr) {
        co_return false;
    }
    RINGDB_CO_TRY(co_await cover_layout());
    Status written = co_await device_->write(block.byte_offset(page_size_), buffer->bytes());
    if (!written) {
        co_return fail(written.error());
    }
    co_return true;
}

Task<Result<PageNumber>> PageStore::save_allocator_state(std::uint64_t transaction_id) {
    RINGDB_CO_TRY_ASSIGN(auto state, prepare_state(transaction_id));
    RINGDB_CO_TRY(co_await cover_layout());
    const PageNumber block = state.first;
    Status written = co_await device_->write(block.byte_offset(page_size_), state.second->bytes());
    if (!written) {
        co_return fail(written.error());
    }
    co_return block;
}

PageRef PageStore::state_image(PageNumber block, std::uint64_t transaction_id) {
    std::vector<std::byte> state;
    {
        std::lock_guard lock(allocator_mutex_);
        state = allocator_->serialize();
    }
    if (state.size() + 24 > block.byte_length(page_size_)) {
        return nullptr;
    }
    MutPageRef buffer = PageBuffer::make(block.byte_length(page_size_));
    std::memcpy(buffer->data(), state.data(), state.size());
    util::store_le64(buffer->data() + state.size(), transaction_id);
    auto covered = buffer->bytes().first(state.size() + 8);
    util::store_checksum(buffer->data() + state.size() + 8, util::xxh3_128(covered));
    return buffer;
}

Result<std::pair<PageNumber, PageRef>> PageStore::prepare_state(std::uint64_t transaction_id) {
    for (int attempt = 0; attempt < kStateAttempts; ++attempt) {
        RINGDB_TRY_ASSIGN(PageNumber block, reserve_state_block(64 * (attempt + 2)));
        PageRef image = state_image(block, transaction_id);
        if (image != nullptr) {
            return std::pair<PageNumber, PageRef>{block, std::move(image)};
        }
        free(block);
    }
    return Error{Errc::no_space};
}


Task<Status> PageStore::cover_layout() {
    std::uint64_t needed = layout_pages() * page_size_;
    if (file_length_ < needed) {
        Status grown = co_await device_->set_length(needed);
        if (!grown) {
            co_return fail(grown.error());
        }
        file_length_ = needed;
        grew_since_sync_ = true;
    }
    co_return ok();
}

Task<Status> PageStore::close() {
    // A background checkpoint that failed has poisoned the store: that is reported below.
    (void)co_await finish_checkpoint();
    if (options_.read_only || poisoned_) {
        Status closed = co_await device_->close();
        if (poisoned_) {
            Error cause = co_await cause_of(Error{Errc::previous_io});
            co_return cause;
        }
        co_return closed;
    }
    DatabaseHeader header = disk_header();
    header.set_recovery_required(false);
    RINGDB_CO_TRY(co_await write_header(header));
    RINGDB_CO_TRY(co_await sync(grew_since_sync_));
    publish(header, std::nullopt);
    Status closed = co_await device_->close();
    co_return closed;
}

Task<Status> PageStore::wait_deferred() {
    std::shared_ptr<Deferred> deferred;
    {
        std::lock_guard lock(state_mutex_);
        deferred = deferred_;
    }
    if (deferred == nullptr) {
        co_return ok();
    }
    co_await deferred->synced.wait();
    if (!deferred->result) {
        co_return Error{Errc::previous_io};
    }
    co_return ok();
}

Task<Status> PageStore::sync_deferred() {
    std::shared_ptr<Deferred> deferred;
    {
        std::lock_guard lock(state_mutex_);
        deferred = deferred_;
    }
    if (deferred == nullptr) {
        co_return ok();
    }
    // A growth after this point (the next group extending the file while this sync runs)
    // must be covered by the next sync, so the flag is taken now, not after the sync.
    const bool metadata = grew_since_sync_;
    grew_since_sync_ = false;
    Status synced = metadata ? co_await device_->sync_all() : co_await device_->sync_data();
    if (!synced) {
        Error cause = co_await cause_of(fail(synced.error()));
        deferred->result = cause;
        {
            std::lock_guard lock(state_mutex_);
            deferred_.reset();
        }
        deferred->synced.set();
        co_return deferred->result;
    }
    if (deferred->logged) {
        log_->mark_durable(deferred->log_sequence);
        {
            std::lock_guard lock(state_mutex_);
            non_durable_ = deferred->logged;
            deferred_.reset();
        }
        deferred->synced.set();
        co_return ok();
    }
    {
        std::lock_guard lock(state_mutex_);
        disk_header_ = deferred->header;
        non_durable_.reset();
        deferred_.reset();
    }
    checkpoint_durable(deferred->header.primary().log_start);
    if (deferred->trim_to != 0 && file_length_ > deferred->trim_to &&
        layout_pages() * page_size_ <= deferred->trim_to) {
        Status trimmed = co_await device_->set_length(deferred->trim_to);
        if (!trimmed) {
            deferred->result = fail(trimmed.error());
        } else {
            file_length_ = deferred->trim_to;
        }
    }
    deferred->synced.set();
    co_return deferred->result;
}

CommitSlot PageStore::writer_base() const {
    std::lock_guard lock(state_mutex_);
    if (deferred_ != nullptr) {
        return deferred_->logged ? *deferred_->logged : deferred_->header.primary();
    }
    return non_durable_ ? *non_durable_ : disk_header_.primary();
}

DatabaseHeader PageStore::base_header() const {
    std::lock_guard lock(state_mutex_);
    return deferred_ != nullptr && !deferred_->logged ? deferred_->header : disk_header_;
}

}  // namespace ringdb::engine
