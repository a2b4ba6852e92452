#pragma once
// Database: an open ringdb file.
//
//   auto db = co_await ringdb::Database::create("data.ringdb");   // Result<Database>
//   auto txn = co_await db->begin_write();
//   auto table = co_await txn->open_table(kUsers);
//   co_await table->insert(42, "alice");
//   co_await txn->commit();
//
// Opening takes an advisory lock on the file: one read-write handle at a time
// (database_already_open otherwise, also within one process). A database that was not closed
// cleanly is recovered during open, with no action from the user: the last durable commit is
// kept, checked against its checksums, and the allocator is rebuilt when needed.
//
// Close it with close(), which saves the allocator state (fast next open) and clears the
// recovery flag. Destroying an open Database without close() leaves the file as after a crash:
// safe, repaired by the next open. A Database must outlive its transactions' use (they keep the
// engine alive, but a closed database refuses them with database_closed).
//
// Threads: begin_read and begin_write may be called from any thread; begin_write waits
// asynchronously (never blocking a thread) while another write transaction is live.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <ringdb/hlc.hpp>
#include <ringdb/options.hpp>
#include <ringdb/result.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/task.hpp>
#include <ringdb/transaction.hpp>
#include <ringdb/verify.hpp>

namespace ringdb::engine {
class DatabaseCore;
class WriteTxn;
}  // namespace ringdb::engine

namespace ringdb::detail {
struct DatabaseAccess;  // test-only seam: src/api/database_access.hpp
}  // namespace ringdb::detail

namespace ringdb {

/// A group-commit batch (Database::submit_write_batch): performs mutations on the group's
/// transaction and returns ok, or an error that fails the batch (and rolls back its group).
/// It must not keep a table handle, guard or range past its return; it must not throw.
using WriteBatch = std::function<Task<Status>(WriteTransaction&)>;

/// Counters of the group committer since the database was opened.
class Database {
public:
    /// Opens `path`, creating a new database if the file is missing or empty.
    /// Errors: database_already_open, corrupted (the file is not a ringdb database or is
    /// damaged beyond recovery), upgrade_required, repair_aborted, io (with errno),
    /// invalid_argument (options.compression out of range: detail 1 algorithm, 2 level; no
    /// file is created or changed).
    static Task<Result<Database>> create(std::string path, DatabaseOptions options = {});
    /// Opens an existing database. Errors: as create, and io with ENOENT for a missing file;
    /// an empty file is corrupted.
    static Task<Result<Database>> open(std::string path, DatabaseOptions options = {});

    Database(Database&&) noexcept = default;
    Database& operator=(Database&&) noexcept = default;
    ~Database();

    /// Starts the write transaction, waiting for the live one to end.
    /// Errors: previous_io (an earlier write or sync failed: reopen), database_closed.
    Task<Result<WriteTransaction>> begin_write();
    /// Group commit: applies `batch`, together with the batches submitted meanwhile, in one
    /// write transaction with one commit and one sync, and completes when its group is durable
    /// (docs/group_commit.md). Batches of a group run in submission order, one at a time, on
    /// the leader's thread; the caller's coroutine resumes on its own thread. Readers see a
    /// group once it is durable. Errors: batch_failed (this batch returned an error, or called
    /// abort(): Error::detail holds the cause's Errc, sys_errno its errno; the group is rolled
    /// back), peer_failed (another batch of the group failed; nothing of this one was kept, it
    /// may be resubmitted), database_closed, invalid_argument (empty function), and the
    /// commit's errors (previous_io, io, no_space) for every batch of a failed group. A batch
    /// that fails with previous_io (an earlier I/O failure latched the database) is not
    /// blamed: every batch of its group gets previous_io, not batch_failed / peer_failed.
    Task<Status> submit_write_batch(WriteBatch batch);
    GroupCommitStats group_commit_stats() const;
    /// The commit log's counters (all zero for a closed or moved-from handle).
    CommitLogStats commit_log_stats() const;

    /// A snapshot of the latest commit. Errors: database_closed.
    Result<ReadTransaction> begin_read();

    /// The file's value compression (chosen at creation; docs/compression.md); algorithm none
    /// for a moved-from handle.
    Compression compression() const;

    /// The database's hybrid logical clock (docs/hlc.md): a timestamp greater than every one
    /// this database issued before, across reopen, even when the wall clock (DatabaseOptions::
    /// clock) went back. Each commit and the close record the highest timestamp issued; after
    /// a crash the guarantee covers every timestamp issued before the last durable commit (so
    /// every timestamp a committed transaction stored). Thread-safe; a closed database still
    /// issues timestamps. Errors: database_closed for a moved-from handle.
    Result<HybridLogicalClock> hlc_now();
    /// Receives a timestamp from elsewhere (a peer's message): moves the database clock past
    /// it and returns the new timestamp, greater than `received` and than every timestamp
    /// issued before (HybridLogicalClock::merge). Errors: as hlc_now().
    Result<HybridLogicalClock> hlc_update(HybridLogicalClock received);

    /// Checks the latest commit at `level`, beside readers and writers (its snapshot is pinned
    /// while it runs). Damage is reported in the VerifyReport, not as an error; at
    /// VerifyLevel::pages every problem a page walk finds (checksum or structure) counts as a
    /// corrupt page. Errors: database_closed, io.
    Task<Result<VerifyReport>> verify_integrity(VerifyLevel level = VerifyLevel::full);

    /// Moves pages towards the start of the file and trims it (several durable commits);
    /// returns whether anything moved. Needs exclusive use of the database: it waits for the
    /// live write transaction like begin_write, and fails with transaction_in_progress while a
    /// read transaction or savepoint is live. Errors: database_closed, previous_io, io,
    /// no_space, corrupted.
    Task<Result<bool>> compact();
    /// Re-reads the last commit from the file (not from the cache), verifies every page
    /// checksum and the tree structure, and rebuilds the page allocator from the trees.
    /// Returns true when everything was consistent; false when something was repaired (the
    /// allocator disagreed with the trees, or the last commit was damaged and the previous
    /// one was restored - its later changes are then lost). Needs exclusive use as compact().
    /// Errors: corrupted (neither commit slot is intact), transaction_in_progress,
    /// database_closed, previous_io, io.
    Task<Result<bool>> check_integrity();
    /// Final commit with the allocator state, file trimmed, recovery flag cleared, file closed.
    /// Errors: transaction_in_progress (a write transaction is live; nothing is closed),
    /// previous_io, io.
    Task<Status> close();

private:
    friend struct detail::DatabaseAccess;
    explicit Database(std::shared_ptr<engine::DatabaseCore> core) noexcept
        : core_(std::move(core)) {}
    static Task<Status> run_batch(const WriteBatch& batch, std::shared_ptr<engine::WriteTxn> txn);
    static Task<Result<Database>> open_with(std::string path, DatabaseOptions options,
                                            bool create);

    std::shared_ptr<engine::DatabaseCore> core_;
};

/// A read-only handle: several may share a file (shared lock), none while a read-write handle
/// has it. The file must have been closed cleanly (repair_aborted otherwise: a read-only
/// handle never writes, so it cannot repair).
class ReadOnlyDatabase {
public:
    static Task<Result<ReadOnlyDatabase>> open(std::string path, DatabaseOptions options = {});

    ReadOnlyDatabase(ReadOnlyDatabase&&) noexcept = default;
    ReadOnlyDatabase& operator=(ReadOnlyDatabase&&) noexcept = default;
    ~ReadOnlyDatabase();

    Result<ReadTransaction> begin_read();
    Task<Status> close();

private:
    explicit ReadOnlyDatabase(std::shared_ptr<engine::DatabaseCore> core) noexcept
        : core_(std::move(core)) {}
    std::shared_ptr<engine::DatabaseCore> core_;
};

}  // namespace ringdb
