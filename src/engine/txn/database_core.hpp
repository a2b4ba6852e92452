#pragma once
// DatabaseCore: one open database inside the engine: the file lock, the page store, the
// transaction tracker and the writer mutex. The public Database is a handle to one of these;
// transactions keep it alive.
//
// Snapshot publication: begin_read reads the latest commit and registers it with the tracker
// under snapshot_mutex_, and a commit computes its reclamation bound under the same mutex, so a
// reader can never register a snapshot whose pages a concurrent commit is reclaiming.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <ringdb/options.hpp>
#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "coro/async_mutex.hpp"
#include "engine/group/group_commit.hpp"
#include "engine/page_store/page_store.hpp"
#include "engine/txn/file_lock.hpp"
#include "engine/txn/transaction_tracker.hpp"

namespace ringdb::engine {

struct CoreOptions {
    std::uint32_t page_size = 4096;
    std::uint64_t cache_bytes = std::uint64_t{256} << 20;
    IoBackend io = IoBackend::automatic;
    bool direct_writes = true;  // io::FileOptions::direct_writes for file-backed databases
    bool read_only = false;
    bool create = true;
    /// Called during a full repair with progress in [0, 1); returning false aborts the open
    /// with Errc::repair_aborted.
    std::function<bool(double)> repair_progress;
};

class DatabaseCore : public std::enable_shared_from_this<DatabaseCore> {
public:
    /// Opens a database file: lock, page store, recovery (docs/design.md section 9).
    /// Errors: database_already_open, io (ENOENT...), corrupted, upgrade_required,
    /// repair_aborted.
    static Task<Result<std::shared_ptr<DatabaseCore>>> open_file(std::string path,
                                                                 CoreOptions options);
    /// Opens a database on a device the caller provides (memory or simulated disk); no lock.
    static Task<Result<std::shared_ptr<DatabaseCore>>> open_device(
            std::unique_ptr<io::BlockDevice> device, CoreOptions options);

    DatabaseCore(const DatabaseCore&) = delete;
    DatabaseCore& operator=(const DatabaseCore&) = delete;
    ~DatabaseCore();

    PageStore& store() noexcept { return *store_; }
    GroupCommitter& group_committer() noexcept { return group_committer_; }
    TransactionTracker& tracker() noexcept { return tracker_; }
    coro::AsyncMutex& writer_mutex() noexcept { return writer_mutex_; }
    bool read_only() const noexcept { return options_.read_only; }

    /// The latest commit, registered as a reader (release with release_snapshot).
    CommitSlot acquire_snapshot();
    void release_snapshot(std::uint64_t transaction_id);
    /// Transaction ids of committed blocks that no reader can see any more are <= this.
    std::uint64_t reclaim_bound();
    /// Blocks freed by a non-durable commit that no durable commit references ("unpersisted"
    /// blocks), kept in memory instead of the freed-page tables until no reader can see them
    /// (docs/design.md section 7). Writer only; a crash loses them with the commits, and a
    /// durable commit moves what is left into the tables.
    struct DeferredFree {
        std::uint64_t transaction_id = 0;  // the commit that freed them
        std::vector<PageNumber> data;
        std::vector<PageNumber> system;
    };
    std::vector<DeferredFree>& deferred_frees() noexcept { return deferred_frees_; }
    /// Deferred blocks freed by commits <= this are seen by no reader and no valid savepoint
    /// (`transaction_id` is the committing transaction's).
    std::uint64_t deferred_bound(std::uint64_t transaction_id);

    std::uint64_t next_transaction_id() noexcept { return next_transaction_id_; }
    void advance_transaction_id() noexcept { ++next_transaction_id_; }

    /// Set while a write transaction is live (close refuses to run then).
    void set_writer_active(bool active) noexcept { writer_active_ = active; }
    bool writer_active() const noexcept { return writer_active_; }
    bool closed() const noexcept { return closed_; }

    /// Makes a final quick-repair commit (saving the allocator state, shrinking the file),
    /// clears the recovery bit and closes the file. Errors: transaction_in_progress while a
    /// write transaction is live; previous_io after an earlier failure (the file then keeps
    /// its recovery bit and the next open repairs it).
    Task<Status> close();

    // Integrity check (maintenance.hpp), also used by recovery.
    /// Whether the primary slot's trees verify (checksums and structure of every page).
    /// Errors: io (damage is a false result, not an error).
    Task<Result<bool>> slot_verifies();
    /// An allocator rebuilt by walking every tree of the primary slot (full repair without
    /// installing it). Errors: io, corrupted.
    Task<Result<BuddyAllocator>> rebuild_allocator();

private:
    explicit DatabaseCore(CoreOptions options) : options_(std::move(options)) {}
    static Task<Result<std::shared_ptr<DatabaseCore>>> start(std::shared_ptr<DatabaseCore> core,
                                                             std::unique_ptr<io::BlockDevice> device);
    /// Recovery after an unclean close, with every page read past the OS page cache.
    Task<Status> recover();
    /// Chooses the slot to keep (walks and checks it) and rebuilds the allocator.
    Task<Status> recover_slot();
    Task<Status> full_repair();
    /// Registers the persistent savepoints of the current commit and restores the savepoint
    /// counter (savepoint.cpp). Errors: io, corrupted.
    Task<Status> load_savepoints();

    CoreOptions options_;
    FileLock lock_;
    std::unique_ptr<PageStore> store_;
    TransactionTracker tracker_;
    coro::AsyncMutex writer_mutex_;
    GroupCommitter group_committer_;
    std::mutex snapshot_mutex_;
    std::uint64_t next_transaction_id_ = 1;
    std::vector<DeferredFree> deferred_frees_;  // ascending by transaction; writer only
    bool writer_active_ = false;
    bool closed_ = false;
};

}  // namespace ringdb::engine
