#pragma once
// DatabaseCore: one open database inside the engine: its lifecycle (open, recovery, close),
// the file lock, the transactions' shared state and the group committer it owns. The public
// Database is a handle to one of these; transactions keep it alive through their
// TransactionContext.
//
// Maintenance that needs the whole database lives beside it in db/: compaction and the
// integrity check (maintenance.hpp), verification (verify_database.hpp), recovery
// (recovery.cpp).

#include <memory>
#include <optional>
#include <string>

#include <ringdb/options.hpp>
#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/db/file_lock.hpp"
#include "engine/db/group_commit.hpp"
#include "engine/txn/transaction_context.hpp"

namespace ringdb::engine {

/// How a database is opened, beside the user's DatabaseOptions.
struct OpenMode {
    bool create = true;      // initialise a missing or empty file as a new database
    bool read_only = false;  // no writes at all: the file must have been closed cleanly
    /// Background checkpoints get a thread of their own (set for files; a device handed in,
    /// such as a simulated one, keeps them on the committer's thread).
    bool checkpoint_thread = false;
};

class DatabaseCore : public std::enable_shared_from_this<DatabaseCore> {
public:
    /// Opens a database file: lock, page store, recovery (docs/design.md section 9).
    /// Errors: database_already_open, io (ENOENT...), corrupted, upgrade_required,
    /// repair_aborted.
    static Task<Result<std::shared_ptr<DatabaseCore>>> open_file(std::string path,
                                                                 DatabaseOptions options,
                                                                 OpenMode mode = {});
    /// Opens a database on a device the caller provides (memory or simulated disk); no lock.
    static Task<Result<std::shared_ptr<DatabaseCore>>> open_device(
            std::unique_ptr<io::BlockDevice> device, DatabaseOptions options,
            OpenMode mode = {});

    DatabaseCore(const DatabaseCore&) = delete;
    DatabaseCore& operator=(const DatabaseCore&) = delete;
    ~DatabaseCore();

    /// The state transactions share, as a pointer that keeps this database alive.
    std::shared_ptr<TransactionContext> transactions() {
        return std::shared_ptr<TransactionContext>(shared_from_this(), &context_);
    }
    /// The page store, for maintenance and inspection (transactions use transactions()).
    PageStore& store() noexcept { return context_.store(); }
    GroupCommitter& group_committer() noexcept { return *group_committer_; }
    bool read_only() const noexcept { return mode_.read_only; }
    bool closed() const noexcept { return context_.closed(); }

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
    DatabaseCore(DatabaseOptions options, OpenMode mode)
        : options_(std::move(options)), mode_(mode), context_(mode.read_only) {
        context_.set_clock(options_.clock);
    }
    static Task<Result<std::shared_ptr<DatabaseCore>>> start(
            std::shared_ptr<DatabaseCore> core, std::unique_ptr<io::BlockDevice> device);
    /// Recovery after an unclean close, with every page read past the OS page cache.
    Task<Status> recover();
    /// Chooses the slot to keep (walks and checks it) and rebuilds the allocator.
    Task<Status> recover_slot();
    Task<Status> full_repair();
    /// Applies the commit log records after the recovered checkpoint in one transaction. When
    /// the checkpoint was trusted as it is (two-phase, saved allocator state) and the records
    /// fit the log again, the transaction's pages stay held and the records are written again
    /// at a fresh lap (PageStore::relog); otherwise it commits as a checkpoint
    /// (docs/design.md section 10).
    Task<Status> replay_log();

    DatabaseOptions options_;
    bool checkpoint_trusted_ = false;  // recover_slot() kept a two-phase slot and its state
    OpenMode mode_;
    FileLock lock_;
    TransactionContext context_;
    std::optional<GroupCommitter> group_committer_;  // built once the store is open
};

}  // namespace ringdb::engine
