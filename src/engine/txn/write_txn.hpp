#pragma once
// WriteTxn: the engine side of a write transaction.
//
// Owns the transaction's dirty pages (WritePages), the user and system table trees as of the
// transaction's start, and the trees of the tables it opened. Tables stay in tables_ until the
// end of the transaction, so closing and reopening a table sees its earlier changes; their
// roots are written into the user table tree at commit.
//
// Commit (docs/design.md sections 7 and 8): flush table roots, reclaim freed blocks that no
// reader can see, record the blocks this transaction freed in the system tables `freed` (data
// pages) and `system_freed`, and, while savepoints exist, the data blocks it allocated in
// `allocated`; finalise checksums, and hand everything to the page store.
//
// Savepoints (savepoint.cpp, docs/api.md "Savepoints"): a savepoint pins the commit this
// transaction started from. Restoring one puts the user table tree back to its root, makes the data
// pages freed since then reachable again (their `freed` entries go) and frees the data pages
// allocated since then (listed in `allocated`).
//
// Thread rules: one operation at a time per table; tables may be used from several threads
// (WritePages is thread-safe); table opening, commit and abort are not concurrent with
// anything else on the transaction.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <ringdb/result.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/table_schema.hpp>
#include <ringdb/task.hpp>

#include "coro/async_mutex.hpp"
#include "engine/btree/btree.hpp"
#include "engine/log/log_record.hpp"
#include "engine/table/multimap.hpp"
#include "engine/table/open_table.hpp"
#include "engine/table/table_tree.hpp"
#include "engine/txn/data_pages.hpp"
#include "engine/txn/system_tables.hpp"
#include "engine/txn/transaction_context.hpp"
#include "engine/txn/txn_pages.hpp"

namespace ringdb::engine {

class SavepointHandle;

struct CommitOptions {
    Durability durability = Durability::immediate;
    bool two_phase = false;
    bool quick_repair = false;
    ShrinkPolicy shrink = ShrinkPolicy::normal;
    /// Group commit: return once pages and header are written; the group committer issues the
    /// sync (PageStore::sync_deferred). Ignored for non-durable and two-phase commits.
    bool defer_sync = false;
    /// Recovery's replay transaction: commit as a non-durable commit without a log record,
    /// its pages held; the caller makes it durable by writing the replayed records again
    /// (PageStore::relog). Requires durability none.
    bool hold = false;
};

class WriteTxn : public TableHost {
public:
    /// Waits (asynchronously) until no other write transaction is live.
    /// Errors: previous_io after an earlier failure, database_closed, invalid_argument on a
    /// read-only database.
    static Task<Result<std::shared_ptr<WriteTxn>>> begin(
            std::shared_ptr<TransactionContext> context);

    WriteTxn(const WriteTxn&) = delete;
    WriteTxn& operator=(const WriteTxn&) = delete;
    ~WriteTxn();

    std::uint64_t id() const noexcept { return id_; }
    bool active() const noexcept { return state_ == State::active; }
    TransactionContext& context() noexcept { return *context_; }

    /// Opens (creating if missing) a table. Errors: table_already_open, table_is_multimap /
    /// table_is_not_multimap, table_type_mismatch, type_definition_changed, invalid_argument
    /// (bad name), transaction_finished, io, corrupted. `internal`: the engine opens one of its
    /// own tables, whose name check_table_name refuses.
    Task<Result<OpenTable*>> open_table(TableSchema schema, KeyCompare compare,
                                        bool internal = false);
    /// Ends the use of a table handle; its changes stay in the transaction.
    void close_table(OpenTable* table) noexcept;
    /// Group commit: ends the use of every table handle (a batch that kept one open must not
    /// make the next batch fail with table_already_open).
    void release_tables() noexcept;
    /// Deletes a table; returns whether it existed. Errors: table_already_open,
    /// table_is_multimap / table_is_not_multimap (wrong kind for the call).
    Task<Result<bool>> delete_table(std::string name, TableKind kind);
    /// Renames a table. Errors: table_does_not_exist, table_exists, table_already_open,
    /// table_is_multimap / table_is_not_multimap.
    Task<Status> rename_table(std::string from, std::string to, TableKind kind);
    /// Names of the tables of one kind, sorted bytewise, including this transaction's changes.
    Task<Result<std::vector<std::string>>> list_tables(TableKind kind);

    /// Commits. A transaction that created or deleted a persistent savepoint always commits
    /// durably, whatever options.durability says.
    Task<Status> commit(CommitOptions options);
    /// Compaction: relocates every page ending past `packed_end` (a base-page index) that the
    /// allocator can place lower, in every user and system table and both table trees
    /// (compaction.cpp). No table may be open. Returns how many pages moved lower.
    Task<Result<std::uint64_t>> relocate_pages(std::uint64_t packed_end);
    /// Space statistics of the database as this transaction sees it (stats.cpp).
    /// Errors: transaction_finished, io, corrupted.
    Task<Result<DatabaseStats>> stats();
    /// Discards every change. Idempotent.
    void abort() noexcept;

    // Savepoints (savepoint.cpp). Errors common to all: transaction_finished, io, corrupted.
    /// A savepoint of the commit this transaction started from, released when the last
    /// reference to the handle goes. Errors: invalid_savepoint if the transaction is dirty.
    Task<Result<std::shared_ptr<SavepointHandle>>> ephemeral_savepoint();
    /// Like ephemeral_savepoint, but stored in the file until deleted; returns its id.
    /// Errors: invalid_savepoint if the transaction is dirty or `durability` is none.
    Task<Result<std::uint64_t>> persistent_savepoint(Durability durability);
    /// Errors: invalid_savepoint if no persistent savepoint has this id.
    Task<Result<std::shared_ptr<SavepointHandle>>> get_persistent_savepoint(std::uint64_t id);
    /// Returns whether it existed. Errors: invalid_savepoint if `durability` is none.
    Task<Result<bool>> delete_persistent_savepoint(std::uint64_t id, Durability durability);
    /// Ids of the persistent savepoints, ascending.
    Task<Result<std::vector<std::uint64_t>>> list_persistent_savepoints();
    /// Errors: invalid_savepoint (another database's, dropped, deleted, or invalidated by the
    /// restore of an older one), table_already_open while a table handle is open.
    Task<Status> restore_savepoint(std::shared_ptr<SavepointHandle> savepoint);
    /// Whether this transaction created or deleted a persistent savepoint.
    bool persistent_savepoints_modified() const noexcept {
        return !created_persistent_.empty() || !deleted_persistent_.empty();
    }
    /// Set by table changes, restores and savepoint-table access (docs/api.md, "Savepoints").
    bool dirty() const noexcept { return dirty_; }

    // Commit log (docs/design.md section 10).
    /// Makes the transaction commit as a checkpoint, whatever its size (a change the log does
    /// not describe: a savepoint restore, compaction, a table whose key order only the
    /// application knows).
    void require_checkpoint() noexcept { checkpoint_required_ = true; }
    /// Recovery: applies the operations of one logged record (replay.cpp). The transaction
    /// logs nothing itself. Errors: corrupted (an operation that does not fit the tables:
    /// a damaged record), io.
    Task<Status> apply_logged(const DecodedRecord& record);
    /// Recovery, before apply_logged: reads the leaves that the records' inserts and removals
    /// will change, up to 32 at a time, so that applying them meets cached pages. Only tables
    /// that exist before the records are applied are read; nothing of the transaction changes,
    /// and a failed read is left for the apply to meet and report.
    Task<void> prefetch_for_replay(const std::vector<DecodedRecord>& records);
    /// Recovery: the transaction's own changes are not logged (they are the log's).
    void set_replaying() noexcept { replaying_ = true; }

private:
    enum class State { active, committed, aborted };
    struct DeletedSavepoint {
        std::uint64_t id;
        std::uint64_t transaction_id;
        bool created_here;
    };

    WriteTxn(std::shared_ptr<TransactionContext> context, coro::AsyncLockGuard lock,
             std::uint64_t id, const CommitSlot& base);
    Task<Result<std::optional<StoredTable>>> find_table(std::string_view name);
    /// Marks the transaction dirty; the first call decides whether data allocations are
    /// tracked (only while a savepoint exists).
    void begin_data_change();
    Task<Status> flush_tables();
    // Compression dictionaries (dictionaries.cpp, write_txn.cpp).
    /// REQUIRES: compression_for(table.schema) is not null.
    Task<Status> attach_envelope(OpenTable& table, const std::optional<StoredTable>& stored);
    /// At commit: stores a dictionary for each open table whose sampler is ready and whose
    /// training gave one; such a commit is a checkpoint (replay never creates dictionaries).
    Task<Status> create_dictionaries();
    /// After `id`'s table was deleted: removes dictionary `id` if no table names it any more.
    Task<Status> release_dictionary(std::uint64_t id);
    // Commit helpers (write_txn_commit.cpp).
    Task<Result<BtreeRoot>> system_table_root(std::string_view name);
    Task<Status> store_system_table(std::string_view name, Btree& tree);
    Task<Status> reclaim_freed(Btree& freed, std::uint64_t bound);
    Status reclaim_deferred();
    Task<Status> absorb_deferred(Btree& freed, Btree& system_freed);
    /// Non-durable commits keep unpersisted blocks out of the tables (they go to `deferred`).
    std::vector<PageNumber> split_unpersisted(std::vector<PageNumber> pages,
                                              std::vector<PageNumber>& deferred);
    Task<Status> record_allocated(Btree& allocated);
    Task<Status> record_pages(Btree& list, std::vector<PageNumber> pages, std::uint32_t& sequence);
    Task<Status> record_pages_of(Btree& list, std::uint64_t transaction_id,
                                 std::vector<PageNumber> pages, std::uint32_t& sequence);
    Task<Status> commit_system_tables(Durability durability);
    void end_savepoint_changes(bool committed) noexcept;
    // Savepoint helpers (savepoint.cpp).
    /// Collects (into `pages`, if given) and optionally removes the page-list entries of
    /// transactions after `transaction_id`.
    Task<Status> entries_after(Btree& list, std::uint64_t transaction_id,
                               std::vector<PageNumber>* pages, bool remove);
    Task<Status> delete_savepoints_after(std::uint64_t id);
    void finish() noexcept;
    /// Gives a newly opened table its log sink.
    void attach_sink(OpenTable& table);
    /// After the store's commit: the transaction id advances and deferred frees are handed
    /// over, or (failure) the transaction's pages and reclaimed blocks are given back.
    void settle_commit(const Status& status);
    /// How commit() hands the transaction to the store.
    struct RequestKind {
        bool logged = false;      // one log record
        bool checkpoint = false;  // logged, then a background checkpoint of its snapshot
    };
    /// commit()'s work before the store: tables flushed, frees recorded (as for a durable
    /// commit unless the commit is logged without a checkpoint), roots finalized.
    Task<Result<CommitRequest>> build_request(const CommitOptions& options, RequestKind kind);
    /// Whether this commit goes to the log (else it is a checkpoint): nothing forces a
    /// checkpoint and the log has room for its record.
    bool commits_logged(const CommitOptions& options) const;
    // Replay helpers (replay.cpp).
    Task<Result<OpenTable*>> open_for_replay(std::string_view name);
    Task<Status> apply_operation(const LogOperation& operation);

    std::shared_ptr<TransactionContext> context_;
    coro::AsyncLockGuard lock_;
    std::uint64_t id_;
    State state_ = State::active;
    WritePages pages_;
    DataPages data_pages_;  // the user trees' view of pages_
    TableTree user_tree_;
    TableTree system_tree_;
    // The record of this transaction's changes (declared before tables_, whose sinks refer to
    // it).
    RecordBuilder log_;
    bool checkpoint_required_ = false;
    bool replaying_ = false;
    std::map<std::string, std::unique_ptr<OpenTable>> tables_;
    CommitSlot base_;  // the commit this transaction started from
    bool dirty_ = false;
    bool tracking_decided_ = false;
    // The oldest savepoint commit restored in this transaction, if any.
    std::optional<std::uint64_t> restored_to_;
    // Unpersisted blocks this (non-durable) commit freed, handed to the context if it succeeds.
    std::vector<PageNumber> deferred_data_;
    std::vector<PageNumber> deferred_system_;
    // Persistent savepoints created here (released if the transaction does not commit) and
    // deleted here (released when it commits): (id, transaction id).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> created_persistent_;
    std::vector<DeletedSavepoint> deleted_persistent_;
    // Blocks this commit returned to the allocator from `freed`: a commit that fails before
    // the store has them allocated again (the committed `freed` table still lists them).
    std::vector<PageNumber> reclaimed_;
};

}  // namespace ringdb::engine
