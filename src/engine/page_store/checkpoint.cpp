// Background checkpoints (docs/design.md section 10, "Checkpoints while commits go on").
//
// A commit that finds a checkpoint due is logged like any other, and then hands the snapshot it
// made to a checkpoint that runs beside later commits: the pages held since the last checkpoint
// (its own included), the allocator state as it stands after the commit, and the slot naming
// its roots with the log position after its record. The checkpoint writes them, syncs, and
// makes the slot primary in two phases; the committer takes it in at a later commit, and only
// then reuses the log space before that position.
//
// Why later commits cannot damage what the checkpoint writes:
//  - the committing transaction recorded its frees as a durable commit does (every block it or
//    an earlier commit freed is in the freed tables), and unpersisted_ is emptied when the
//    checkpoint starts: a block the checkpoint's trees use and a later commit frees goes to
//    the freed tables, reused only once a durable checkpoint no longer names it;
//  - a block freed before the checkpoint started may be handed out again and get a new image
//    from a later commit; that image stays in memory (unwritten_) until the next checkpoint,
//    which starts after this one ends, and writing held pages early waits for this one too;
//  - header writes come only from checkpoints, and a checkpoint that commits synchronously
//    waits for the background one first.

#include <algorithm>

#include <ringdb/sync_wait.hpp>

#include "engine/page_store/page_store.hpp"
#include "util/assert.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {
// Writes (runs of adjacent pages) a background checkpoint keeps in flight, and the pages of
// one write: a commit's log write and sync queue behind at most 8 x 256 KiB of them.
constexpr std::size_t kCheckpointWriteWindow = 8;
constexpr std::size_t kCheckpointRunPages = 64;
// Held pages a finished checkpoint forgets per hold of unwritten_mutex_.
constexpr std::size_t kForgetSlice = 256;
}  // namespace

struct PageStore::RunningCheckpoint {
    std::vector<std::pair<PageNumber, PageRef>> pages;  // held pages and the state block
    DatabaseHeader header;  // the secondary slot names the checkpoint
    bool metadata = false;  // the file grew: sync its length too
    LogPosition log_start;
    Status result = ok();
    coro::Event done;
};

Task<Status> PageStore::start_checkpoint(const CommitRequest& request,
                                         std::pair<PageNumber, PageRef> state) {
    RINGDB_ASSERT(running_ == nullptr);
    // The commit's record and every one before it are written, the last block padded: replay
    // from the checkpoint starts at the next block.
    RINGDB_CO_TRY(co_await prepare_log_for_checkpoint());
    RINGDB_CO_TRY(co_await cover_layout());
    auto run = std::make_shared<RunningCheckpoint>();
    run->metadata = grew_since_sync_;
    {
        std::lock_guard lock(unwritten_mutex_);
        run->pages.assign(unwritten_.begin(), unwritten_.end());
    }
    run->pages.push_back(state);
    {
        std::lock_guard lock(allocator_mutex_);
        saved_state_block_ = state.first;
        unpersisted_.clear();
    }
    DatabaseHeader header = disk_header();
    CommitSlot slot = slot_of(request, layout_pages(), state.first);
    slot.log_first_page = log_first_page_;
    slot.log_pages = log_pages_;
    slot.log_start = log_->end();
    header.slots[header.secondary_index()] = slot;
    header.slot_valid[header.secondary_index()] = true;
    run->header = header;
    run->log_start = slot.log_start;
    running_ = run;
    {
        std::lock_guard lock(state_mutex_);
        last_run_ = run;
    }
    coro::ThreadContext* on = nullptr;
    if (options_.checkpoint_thread) {
        if (checkpoint_worker_ == nullptr) {
            checkpoint_worker_ = std::make_unique<coro::WorkerThread>();
        }
        on = &checkpoint_worker_->context();
    }
    checkpoint_scope_.spawn(run_checkpoint(this, std::move(run), on));
    co_return ok();
}

Task<void> PageStore::run_checkpoint(PageStore* store, std::shared_ptr<RunningCheckpoint> run,
                                     coro::ThreadContext* on) {
    if (on != nullptr) {
        co_await coro::schedule_on(*on);
    } else {
        // After the commit that starts it has returned: its I/O never fails that commit.
        co_await coro::yield_now();
    }
    run->result = co_await store->write_checkpoint(*run);
    // The images are not needed any more (the run stays known until the next one starts).
    std::vector<std::pair<PageNumber, PageRef>>().swap(run->pages);
    if (!run->result && run->result.error().code != Errc::previous_io) {
        std::lock_guard lock(store->state_mutex_);
        store->checkpoint_failure_ = run->result.error();
    }
    run->done.set();
}

Task<Status> PageStore::write_checkpoint(RunningCheckpoint& run) {
    // A few writes in flight, not thousands: a commit's log write queues behind what the
    // device already holds.
    RINGDB_CO_TRY(co_await write_pages(run.pages, kCheckpointWriteWindow, kCheckpointRunPages));
    // Phase one: the new slot is durable but not yet primary.
    DatabaseHeader header = run.header;
    RINGDB_CO_TRY(co_await write_header(header));
    RINGDB_CO_TRY(co_await sync_device(run.metadata));
    header.swap_primary(true);
    RINGDB_CO_TRY(co_await write_header(header));
    RINGDB_CO_TRY(co_await sync_device(false));
    {
        std::lock_guard lock(state_mutex_);
        disk_header_ = header;
    }
    // Readers find these pages in the file from now on; an entry a later commit replaced
    // stays. A slice at a time, so that readers and commits are not held up for long.
    for (std::size_t start = 0; start < run.pages.size(); start += kForgetSlice) {
        const std::size_t end = std::min(run.pages.size(), start + kForgetSlice);
        std::lock_guard lock(unwritten_mutex_);
        for (std::size_t i = start; i < end; ++i) {
            const auto& [number, image] = run.pages[i];
            auto it = unwritten_.find(number);
            if (it != unwritten_.end() && it->second == image) {
                unwritten_bytes_ -= image->size();
                unwritten_.erase(it);
            }
        }
        has_unwritten_.store(!unwritten_.empty(), std::memory_order_release);
    }
    co_return ok();
}

void PageStore::harvest_checkpoint() {
    if (running_ == nullptr || !running_->done.is_set()) {
        return;
    }
    std::shared_ptr<RunningCheckpoint> run = std::exchange(running_, nullptr);
    if (run->result) {
        checkpoint_durable(run->log_start);
        checkpoints_.fetch_add(1, std::memory_order_relaxed);
    }
}

Task<Status> PageStore::finish_checkpoint() {
    std::shared_ptr<RunningCheckpoint> run = running_;
    if (run == nullptr) {
        co_return ok();
    }
    if (!run->done.is_set()) {
        const auto started = std::chrono::steady_clock::now();
        co_await run->done.wait();
        const auto waited = std::chrono::steady_clock::now() - started;
        checkpoint_wait_ns_.fetch_add(
                static_cast<std::uint64_t>(
                        std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count()),
                std::memory_order_relaxed);
    }
    harvest_checkpoint();
    if (!run->result) {
        co_return Error{Errc::previous_io};  // the commit that fails reports the cause
    }
    co_return ok();
}

Task<Error> PageStore::cause_of(Error error) {
    if (error.code != Errc::previous_io) {
        co_return error;
    }
    // The checkpoint may still be waiting for its other writes after the one that failed.
    std::shared_ptr<RunningCheckpoint> last;
    {
        std::lock_guard lock(state_mutex_);
        last = last_run_;
    }
    if (last != nullptr) {
        co_await last->done.wait();
    }
    std::lock_guard lock(state_mutex_);
    if (checkpoint_failure_) {
        error = *checkpoint_failure_;
        checkpoint_failure_.reset();
    }
    co_return error;
}

Task<Status> PageStore::make_room(std::size_t bytes) {
    if (running_ == nullptr) {
        co_return ok();
    }
    if (log_accepts(bytes) && held_bytes() < options_.checkpoint_bytes) {
        co_return ok();
    }
    auto finished = co_await finish_checkpoint();
    co_return finished;
}

void PageStore::publish_current(const CommitSlot& slot) {
    std::lock_guard lock(state_mutex_);
    non_durable_ = slot;
}

Task<Status> PageStore::sync_device(bool metadata) {
    Status synced = ok();
    if (metadata) {
        synced = co_await device_->sync_all();
    } else {
        synced = co_await device_->sync_data();
    }
    if (!synced) {
        co_return fail(synced.error());
    }
    co_return ok();
}

PageStore::~PageStore() {
    // A background checkpoint refers to this store: it ends first.
    if (checkpoint_scope_.active() != 0) {
        coro::sync_wait(checkpoint_scope_.join());
    }
    checkpoint_worker_.reset();
}

}  // namespace ringdb::engine
