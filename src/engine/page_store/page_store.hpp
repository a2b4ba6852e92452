#pragma once
// PageStore: the file, its header, the page allocator and the shared page cache, and the commit
// protocol that makes a transaction's pages durable (docs/design.md sections 5, 8 and 9).
//
// The store knows pages, slots and blocks, not tables: walking trees (full repair, verification,
// freed-page reclamation) is done by the transaction layer through the store's primitives.
//
// Threads: reads (try_read, read) may come from any thread at any time. Allocation, freeing and
// commit come from the one live write transaction; the allocator is guarded by a mutex anyway,
// because one write transaction may be used from several threads. commit() must not run
// concurrently with another commit.
//
// Failure: any failed write or sync poisons the store: that call returns the error and every
// later allocate/commit returns Errc::previous_io until the database is reopened. A background
// checkpoint's failure is returned by the earliest commit that fails after it (in commit
// order: a pending group sync before the commit that follows it).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <ringdb/options.hpp>
#include <ringdb/result.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/runtime.hpp>
#include <ringdb/task.hpp>
#include <ringdb/task_scope.hpp>

#include "coro/event.hpp"
#include "engine/page_store/buddy_allocator.hpp"
#include "engine/page_store/commit_log.hpp"
#include "engine/page_store/header.hpp"
#include "engine/page_store/page_buffer.hpp"
#include "engine/page_store/page_cache.hpp"
#include "engine/page_store/page_number.hpp"
#include "io/block_device.hpp"

namespace ringdb::engine {

struct PageStoreOptions {
    std::uint32_t page_size = 4096;     // used only when a new file is initialised
    std::uint64_t cache_bytes = std::uint64_t{256} << 20;
    bool read_only = false;
    bool create = true;                 // initialise an empty file as a new database
    Compression compression;            // recorded in a new file's header
    /// Commit log (docs/design.md section 10): its size in a new file, rounded up to whole
    /// pages (a file keeps the log it has).
    std::uint64_t log_bytes = std::uint64_t{16} << 20;
    /// A checkpoint is due when pages committed since the last one hold this many bytes...
    std::uint64_t checkpoint_bytes = std::uint64_t{64} << 20;
    /// ...or this much time has passed since it (checked at commits).
    std::chrono::milliseconds checkpoint_interval{30000};
    /// Background checkpoints run on a thread of their own (a file device). Otherwise they
    /// run on the thread of the commit that starts them, interleaved with its later work, so
    /// that a simulated device's I/O order stays deterministic; that thread must then keep
    /// serving its context until the checkpoint ends (close() waits for it).
    bool checkpoint_thread = false;
};

/// The public Durability and ShrinkPolicy (<ringdb/options.hpp>) are the engine's own.
using ringdb::Durability;
using ringdb::ShrinkPolicy;

/// What one commit hands to the store.
struct CommitRequest {
    std::uint64_t transaction_id = 0;
    BtreeRoot user_root;
    BtreeRoot system_root;
    /// Every block the transaction allocated and still holds, with its final image.
    std::vector<std::pair<PageNumber, PageRef>> dirty_pages;
    Durability durability = Durability::immediate;
    bool two_phase = false;
    bool save_allocator_state = false;  // quick repair; forces two-phase
    ShrinkPolicy shrink = ShrinkPolicy::normal;
    /// Group commit (durable, one-phase only): write the pages and the header but do not sync;
    /// the commit becomes the base of the next write transaction at once and visible to
    /// readers only when sync_deferred() succeeds.
    bool defer_sync = false;
    /// The highest hybrid logical clock issued so far (recorded in the slot).
    std::uint64_t clock_high_water = 0;
    /// A logged commit (docs/design.md section 10): the pages stay in memory as for a
    /// non-durable commit, and `log_payload` is appended to the commit log, synced for
    /// Durability::immediate (by sync_deferred() with defer_sync). REQUIRES:
    /// log_accepts(log_payload.size()). Otherwise a durable commit is a checkpoint.
    bool logged = false;
    std::vector<std::byte> log_payload;
    /// A logged commit that also starts a background checkpoint of the snapshot it makes
    /// (docs/design.md section 10): the transaction recorded its frees as for a durable
    /// commit. REQUIRES: logged, and !checkpoint_running().
    bool checkpoint = false;
};

/// A commit writing at least this many pages writes them with BlockDevice::write_direct; a
/// smaller one writes them buffered, because the extra device round trip before the header
/// costs a small commit more than it saves (docs/io.md, "Direct writes", has the
/// measurements).
inline constexpr std::size_t kDirectWriteMinPages = 32;


/// Base pages [start, end).
struct PageRun {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
};

/// allocate_extent() first fits blocks of at least 2^kExtentFitOrder pages (more for larger
/// extents).
inline constexpr unsigned kExtentFitOrder = 2;

class PageStore {
public:
    /// Opens the store on `device`. An empty device is initialised as a new database when
    /// options.create is set (header written without magic, synced, then with magic, synced);
    /// otherwise an empty device is Errc::corrupted. Errors: corrupted (not a ringdb file,
    /// damaged header), upgrade_required, io. The allocator is not ready until
    /// load_saved_allocator() succeeds or install_allocator() is called.
    static Task<Result<std::unique_ptr<PageStore>>> open(std::unique_ptr<io::BlockDevice> device,
                                                          PageStoreOptions options);

    PageStore(const PageStore&) = delete;
    PageStore& operator=(const PageStore&) = delete;
    ~PageStore();

    std::uint32_t page_size() const noexcept { return page_size_; }
    bool read_only() const noexcept { return options_.read_only; }
    bool was_created() const noexcept { return created_; }
    /// The file's value compression (algorithm none when values are stored as they are).
    const Compression& compression() const noexcept { return compression_; }
    /// Whether the last read-write handle did not close cleanly.
    bool recovery_required() const;
    /// The header as on disk (as far as this handle knows).
    DatabaseHeader disk_header() const;
    /// The latest commit, durable or not: what a new reader sees.
    CommitSlot current() const;
    /// The last durable commit.
    CommitSlot durable() const;
    std::uint64_t file_length() const noexcept { return file_length_; }

    // Recovery (open path only).
    /// Makes the secondary slot the one this handle uses (the primary failed verification).
    /// Errors: corrupted if the secondary's slot checksum is invalid.
    Status use_secondary_slot();
    /// Loads the allocator state saved by the current slot's commit (quick repair). Returns
    /// false when there is none or it does not belong to this commit or fails its checksum
    /// (then run a full repair and install_allocator()).
    Task<Result<bool>> load_saved_allocator();
    /// Installs an allocator rebuilt by full repair.
    void install_allocator(BuddyAllocator allocator);
    /// An allocator with the current layout, everything free (the start of a full repair).
    /// Errors: corrupted (detail = the layout) when the slot's layout is beyond what any commit
    /// of this file can have named (more than twice the file's pages plus two growth steps):
    /// the allocator's memory grows with the layout, so an absurd one is refused.
    Result<BuddyAllocator> empty_allocator() const;
    /// Sets the recovery bit on disk (read-write open), extending a short file to its layout.
    Task<Status> mark_open();

    // Reads.
    PageRef try_read(PageNumber page);
    /// As try_read, without a reference count where possible (PageCache::borrow).
    const PageRef* try_borrow(PageNumber page, PageRef& holder) {
        return cache_.borrow(page, holder);
    }
    /// Readahead of `pages` (PageCache::read_span: ascending base pages, one read over their
    /// span), through the operating system's cache like every other read (measured against
    /// direct reads in docs/performance.md, "The cold scan"). A hint: pages outside the
    /// layout, pages a pipelined commit holds unwritten, and recovery's uncached reads make it
    /// read nothing. Errors: the device's.
    Task<Status> read_span(std::span<const PageNumber> pages);
    /// The page cache's budget in bytes.
    std::uint64_t cache_capacity_bytes() const noexcept { return cache_.capacity_bytes(); }
    /// PageCache::prefetch: a hint, for scans.
    void prefetch(PageNumber page, std::size_t bytes) { cache_.prefetch(page, bytes); }
    /// Errors: corrupted for a block outside the layout or malformed number; io, previous_io.
    Task<Result<PageRef>> read(PageNumber page);
    /// While set, pages not in the cache are read with BlockDevice::read_uncached: recovery
    /// checks what the disk holds, not what the kernel's page cache may still show after a
    /// failed sync (docs/design.md section 9). Set only while no other reader runs.
    void set_uncached_reads(bool on) noexcept { uncached_reads_ = on; }

    // Allocation (write transaction).
    /// A block of `order`, growing the layout when needed (the file is extended at commit).
    /// Errors: previous_io after a failure, invalid_argument in a read-only store,
    /// no_space when the order exceeds kMaxOrder.
    Result<PageNumber> allocate(unsigned order);
    void free(PageNumber page);
    /// A run of free pages for a write transaction to carve single pages from in address
    /// order (WritePages; docs/design.md section 5, "Extents"), at most 2^(order+1) pages:
    ///  1. first fit: the lowest free block of at least 2^f pages, f = max(kExtentFitOrder,
    ///     order - 2) (capped at order), taking the largest block of order <= `order` that
    ///     starts there, together with the free pages just before it (same free run);
    ///  2. else the largest smaller free block (fragments);
    ///  3. the layout grows only when no page at all is free, as for allocate(0): contiguity
    ///     alone never grows the file (docs/performance.md, "Contiguous extents and
    ///     vectored writes", has why).
    /// Every page of the run is allocated. Errors as allocate().
    Result<PageRun> allocate_extent(unsigned order);
    /// Extends a run that ends at base page `end` by the largest free block starting there
    /// (order <= `order`). Returns the new end, or nullopt (nothing allocated).
    std::optional<std::uint64_t> extend_extent(std::uint64_t end, unsigned order);
    /// Frees the base pages [start, end) (the unused tail of an extent). REQUIRES: every page
    /// of the range is allocated and inside the layout.
    void free_range(std::uint64_t start, std::uint64_t end);
    /// Drops a cached image of `page`: a page carved from an extent is handed out again.
    void forget_cached(PageNumber page) { cache_.erase(page); }
    /// Drops the cached images of blocks that no snapshot can reach any more (reclaimed from
    /// the freed lists), so that stale images do not crowd live pages out of the cache.
    void forget_cached(std::span<const PageNumber> pages) { cache_.erase(pages); }
    /// Whether write transactions carve their single pages from extents (on by default).
    /// Compaction turns them off while it runs: it wants the lowest pages, not runs.
    bool extents_enabled() const noexcept {
        return extents_enabled_.load(std::memory_order_relaxed);
    }
    void set_extents_enabled(bool on) noexcept {
        extents_enabled_.store(on, std::memory_order_relaxed);
    }
    /// Pages the last committed write transaction held (how large its first extent should
    /// be); set by WritePages at commit.
    std::uint64_t extent_hint() const noexcept {
        return extent_hint_.load(std::memory_order_relaxed);
    }
    void set_extent_hint(std::uint64_t pages) noexcept {
        extent_hint_.store(pages, std::memory_order_relaxed);
    }
    /// Frees a block whose number was read from disk (the freed-page table): Errc::corrupted,
    /// and nothing freed, if it is malformed, outside the layout or (partly) free already.
    Status free_committed(PageNumber page);
    /// Undoes free_committed for a commit that failed before reaching the store: the block is
    /// allocated again. REQUIRES: the store is not poisoned and the block is free (the failed
    /// transaction's own blocks were returned first).
    void restore_committed(PageNumber page);
    std::uint64_t allocated_pages() const;
    std::uint64_t free_pages() const;
    std::uint64_t layout_pages() const;

    // Non-durable commits (docs/design.md section 8).
    /// Whether `page` was allocated by a non-durable commit since the last durable one (the
    /// last durable commit does not reference it, so it may be reused once no reader sees it).
    bool is_unpersisted(PageNumber page) const;
    /// Frees `page` if it is unpersisted (see above) and returns true; otherwise returns false
    /// and changes nothing. Errors: corrupted if the allocator disagrees (a damaged list).
    Result<bool> free_if_unpersisted(PageNumber page);
    /// Pages of non-durable commits held in memory, not yet written to the file.
    std::uint64_t unwritten_pages() const;

    /// Makes a transaction's pages and roots the current commit (section 8 of the design).
    Task<Status> commit(CommitRequest request);
    /// What a commit that failed with `error` reports (the transaction layer asks for every
    /// failed commit): previous_io becomes the cause a background checkpoint failed with, for
    /// the earliest commit that fails after it (a group whose sync is pending is waited for,
    /// and reports it if its sync fails); later ones get previous_io.
    Task<Error> report_failure(Error error);

    // Commit log (log_store.cpp; docs/design.md section 10).
    /// Whether a logged commit with a payload of `bytes` can be appended now: the log exists,
    /// the record is at most a quarter of it, and it has room without a checkpoint.
    bool log_accepts(std::size_t bytes) const;
    /// Whether the next commit should start a checkpoint: none is running, and the log is
    /// half full, the pages committed since the last checkpoint exceed checkpoint_bytes, or
    /// checkpoint_interval has passed.
    bool checkpoint_due() const;
    /// Whether a background checkpoint started by a logged commit is still to be taken in
    /// (committer only).
    bool checkpoint_running() const noexcept { return running_ != nullptr; }
    /// Waits for the background checkpoint, if one runs, and takes it in: its log space is
    /// reused from now on. The wait counts in checkpoint_wait_us. Errors: previous_io if it
    /// failed (the store is poisoned).
    Task<Status> finish_checkpoint();
    /// Before a commit whose record has `bytes` of payload: while a background checkpoint
    /// runs, waits for it when the log has no room for the record (the checkpoint frees the
    /// log space before it) or the pages held since it started reach checkpoint_bytes (so
    /// held pages stay under twice checkpoint_bytes). Errors as finish_checkpoint().
    Task<Status> make_room(std::size_t bytes);
    /// Clean open: the writer continues where the last checkpoint's replay would start.
    void open_log();
    /// Recovery: the payloads of the records after the current slot's checkpoint, in order.
    /// The writer then starts a fresh lap at the log's start; the next checkpoint names it
    /// (so the caller applies the payloads and commits a checkpoint before anything else).
    /// Errors: io, corrupted (a damaged record that was durable; the log block outside the
    /// layout).
    Task<Result<std::vector<std::vector<std::byte>>>> read_log();
    /// Recovery without a checkpoint (docs/design.md section 10): whether the records read_log
    /// returned can be written again as new records beside the ones they came from.
    bool relog_fits(const std::vector<std::vector<std::byte>>& payloads) const;
    /// Writes `payloads` again as the log's records from its restart position, syncs them,
    /// and makes the header's primary slot name them as the replay start (two phases; the
    /// slot's checkpoint is unchanged). REQUIRES: relog_fits(payloads), and the transaction
    /// that applied them committed with its pages held (a non-durable commit without a
    /// record). Errors: the device's (the store is poisoned).
    Task<Status> relog(const std::vector<std::vector<std::byte>>& payloads);
    /// The largest payload a logged commit may have (0 without a log).
    std::size_t log_record_limit() const noexcept;
    /// Bytes of the log (0 for a read-only handle).
    std::uint64_t log_capacity() const noexcept { return log_ ? log_->region_bytes() : 0; }
    /// The log's and the checkpoints' counters. Any thread.
    CommitLogStats log_stats() const;
    /// Bytes of records after the last checkpoint.
    std::uint64_t log_used() const noexcept { return log_ ? log_->used_bytes() : 0; }
    /// Syncs the commit written with defer_sync (nothing to do without one), then publishes it
    /// to readers and trims the file if it shrank. A failure poisons the store and fails the
    /// commits built on it. Every later commit writes its header only after this sync.
    Task<Status> sync_deferred();
    /// What the next write transaction starts from: the last commit written, whether or not
    /// its sync is still due (current() is what readers see).
    CommitSlot writer_base() const;

    /// Clears the recovery bit after a clean shutdown and closes the device. REQUIRES: the last
    /// commit was durable (the caller makes a final durable commit first).
    Task<Status> close();

    // Integrity check (integrity.cpp).
    /// Drops every cached page, so that the next reads come from the device.
    void drop_cache();
    /// Reads and decodes the header from the device. Errors: corrupted, io.
    Task<Result<DatabaseHeader>> read_header_from_device();
    /// Whether the live allocator has exactly the layout and the free pages of `other`.
    bool allocator_matches(const BuddyAllocator& other) const;

    bool poisoned() const noexcept { return poisoned_; }
    PageCacheStats cache_stats() const { return cache_.stats(); }
    io::BlockDevice& device() noexcept { return *device_; }

private:
    /// Whether a slot's layout length is one a commit of this file can have written (see
    /// empty_allocator()).
    bool layout_plausible(std::uint64_t layout_pages) const;
    PageStore(std::unique_ptr<io::BlockDevice> device, PageStoreOptions options);

    /// Grows the layout by the growth step (docs/design.md section 5), by at least two blocks
    /// of `order`. REQUIRES: allocator_mutex_ held.
    void grow_locked(unsigned order);
    /// Whether a block of `order` may be allocated now. Errors: previous_io (poisoned),
    /// invalid_argument (read-only store), no_space (order above kMaxOrder).
    Status check_allocatable(unsigned order) const;
    Task<Status> initialise_new_file();
    Task<Status> write_header(const DatabaseHeader& header);
    Task<Status> sync(bool metadata);
    /// Writes `pages`, at most `window` writes (runs of adjacent pages, each of at most
    /// `max_run` pages) in flight at a time.
    Task<Status> write_pages(const std::vector<std::pair<PageNumber, PageRef>>& pages,
                             std::size_t window = SIZE_MAX, std::size_t max_run = SIZE_MAX);
    Task<Result<PageNumber>> save_allocator_state(std::uint64_t transaction_id);
    Result<PageNumber> reserve_state_block(std::size_t margin);
    /// Extends the file to the layout (preallocating) when the layout grew past it.
    Task<Status> cover_layout();
    /// Writes the allocator state into `block`; false if it no longer fits.
    Task<Result<bool>> write_state(PageNumber block, std::uint64_t transaction_id);
    Task<Status> commit_durable(CommitRequest& request);
    // commit_durable's steps: free the previous commit's saved allocator state; trim free
    // space at the end of the layout as `policy` asks; after the header is written, cache the
    // commit's pages and take its saved state block as the current one.
    void release_saved_state();
    /// commit_durable's first steps: free the previous saved state, shrink as the request
    /// asks, save the allocator state if asked (returns its block, or null).
    Task<Result<PageNumber>> shrink_and_save_state(const CommitRequest& request);
    void shrink_layout(ShrinkPolicy policy);
    void adopt_committed(const CommitRequest& request, PageNumber state_block);
    /// The slot naming `request`'s roots over a layout of `layout` pages.
    static CommitSlot slot_of(const CommitRequest& request, std::uint64_t layout,
                              PageNumber state_block) noexcept;
    Task<Status> commit_non_durable(CommitRequest& request);
    /// The pages of `request` stay in memory (unwritten, unpersisted). Returns whether the
    /// unwritten pages now exceed their share of the cache: a non-durable commit without a
    /// log then writes them early. A logged commit does not: the checkpoints bound its held
    /// pages (checkpoint_due, make_room), and an early write would wait for the running one.
    bool hold_pages(const CommitRequest& request);
    Task<Status> commit_logged(CommitRequest& request);
    // Background checkpoints (checkpoint.cpp).
    struct RunningCheckpoint;
    /// Saves the allocator state into a new block, in memory: returns the block and its image.
    Result<std::pair<PageNumber, PageRef>> prepare_state(std::uint64_t transaction_id);
    /// Bytes of the blocks allocated by commits since the last checkpoint started.
    std::uint64_t held_bytes() const;
    /// The allocator state as the image of `block`, or null when it no longer fits.
    PageRef state_image(PageNumber block, std::uint64_t transaction_id);
    /// After commit_logged() of a request with `checkpoint`: snapshots the held pages and the
    /// slot naming the commit, and starts writing them.
    Task<Status> start_checkpoint(const CommitRequest& request,
                                  std::pair<PageNumber, PageRef> state);
    static Task<void> run_checkpoint(PageStore* store, std::shared_ptr<RunningCheckpoint> run,
                                     coro::ThreadContext* on);
    /// The checkpoint's I/O: pages, header in two phases, syncs; then the header is published
    /// as the durable one and the written pages leave unwritten_.
    Task<Status> write_checkpoint(RunningCheckpoint& run);
    /// Takes in a finished background checkpoint (committer only).
    void harvest_checkpoint();
    /// Makes `slot` what readers see, without touching the durable header.
    void publish_current(const CommitSlot& slot);
    /// sync() without touching grew_since_sync_ (the background checkpoint's).
    Task<Status> sync_device(bool metadata);
    /// What a commit reports for `error`: previous_io becomes the cause a background
    /// checkpoint failed with, for the first commit that learns of it (no commit waited for
    /// that checkpoint, so none has reported it yet).
    /// Waits for the last background checkpoint to end first (it may still be waiting for its
    /// other writes after the one that failed).
    Task<Error> cause_of(Error error);
    /// A checkpoint's log work before its header: every appended record is written.
    Task<Status> prepare_log_for_checkpoint();
    /// The log's place in the file (its pages follow the header in a new file).
    void create_log(std::uint64_t first_page, std::uint64_t pages, LogPosition start);
    /// After the checkpoint naming `start` is durable.
    void checkpoint_durable(LogPosition start);
    /// Writes every unwritten page to the file (no sync) and forgets them.
    Task<Status> flush_unwritten();
    PageRef find_unwritten(PageNumber page);
    Error fail(Error error);

    std::unique_ptr<io::BlockDevice> device_;
    PageStoreOptions options_;
    std::uint32_t page_size_ = 4096;
    bool created_ = false;
    Compression compression_{CompressionAlgorithm::none, 0, 0};
    std::uint64_t file_length_ = 0;
    bool grew_since_sync_ = false;
    std::atomic<bool> poisoned_{false};  // set by the committer or a background checkpoint

    // The committed state, read by any thread (readers starting, verification) and published
    // by the committer: guarded by state_mutex_ (writes; the committer's own reads need not
    // lock, as it is the only writer).
    mutable std::mutex state_mutex_;
    DatabaseHeader disk_header_;
    std::optional<CommitSlot> non_durable_;  // latest non-durable commit, if newer than disk
    // The commit written with defer_sync and not synced yet (guarded by state_mutex_; at most
    // one: the next header waits for its sync).
    struct Deferred {
        DatabaseHeader header;
        std::uint64_t trim_to = 0;  // file length to trim to once synced (0: none)
        // A logged commit: the slot readers see once the log is synced, and its record.
        std::optional<CommitSlot> logged;
        std::uint64_t log_sequence = 0;
        coro::Event synced;
        Status result = ok();
    };
    std::shared_ptr<Deferred> deferred_;
    // How the last background checkpoint failed, until a commit reports it (cause_of()).
    std::optional<Error> checkpoint_failure_;
    // The last background checkpoint started (it may have ended).
    std::shared_ptr<RunningCheckpoint> last_run_;
    /// Waits for the deferred commit's sync, if one is due. Errors: previous_io if it failed.
    Task<Status> wait_deferred();
    /// The header the next commit builds on: the deferred one, else the one on disk.
    DatabaseHeader base_header() const;
    void publish(const DatabaseHeader& header, std::optional<CommitSlot> non_durable);

    mutable std::mutex allocator_mutex_;
    std::optional<BuddyAllocator> allocator_;  // guarded by allocator_mutex_
    PageNumber saved_state_block_;             // guarded by allocator_mutex_; freed by the
                                               // next durable commit
    // Blocks allocated by non-durable commits since the last durable commit; guarded by
    // allocator_mutex_.
    std::unordered_set<PageNumber> unpersisted_;

    // Pages of non-durable commits kept in memory instead of being written: readers find them
    // here when the cache has evicted them. Written by the next durable commit, or earlier when
    // they exceed unwritten_limit_bytes_. Guarded by unwritten_mutex_; has_unwritten_ lets
    // reads skip the mutex when the map is empty.
    mutable std::mutex unwritten_mutex_;
    std::unordered_map<PageNumber, PageRef> unwritten_;
    std::uint64_t unwritten_bytes_ = 0;
    std::uint64_t unwritten_limit_bytes_ = 0;
    std::atomic<bool> has_unwritten_{false};
    bool uncached_reads_ = false;
    std::atomic<std::uint64_t> extent_hint_{0};
    std::atomic<bool> extents_enabled_{true};

    // The commit log (owned by the committer; none in a read-only store) and its pages.
    std::optional<CommitLog> log_;
    std::uint64_t log_first_page_ = 0;
    std::uint64_t log_pages_ = 0;
    std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();
    LogPosition replayed_from_;  // where the records read_log() returned start
    // Counters for log_stats(), written by the committer, read by any thread.
    std::atomic<std::uint64_t> logged_commits_{0};
    std::atomic<std::uint64_t> checkpoints_{0};
    std::atomic<std::uint64_t> checkpoint_wait_ns_{0};
    std::atomic<std::uint64_t> log_used_bytes_{0};

    // The background checkpoint not yet taken in (committer only), the scope that runs it and
    // its thread (options_.checkpoint_thread; created at the first one).
    std::shared_ptr<RunningCheckpoint> running_;
    coro::TaskScope checkpoint_scope_;
    std::unique_ptr<coro::WorkerThread> checkpoint_worker_;

    PageCache cache_;
};

}  // namespace ringdb::engine
