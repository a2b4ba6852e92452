#pragma once
// WriteTxn: the engine side of a write transaction.
//
// Owns the transaction's dirty pages (WritePages), the user and system table trees as of the
// transaction's start, and the trees of the tables it opened. Tables stay in tables_ until the
// end of the transaction, so closing and reopening a table sees its earlier changes; their
// roots are written into the user table tree at commit.
//
// Commit (docs/design.md sections 7 and 8): flush table roots, reclaim freed blocks that no
// reader can see, record the blocks this transaction freed in the system table `freed`,
// finalise checksums, and hand everything to the page store.
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
#include <ringdb/table_schema.hpp>
#include <ringdb/task.hpp>

#include "coro/async_mutex.hpp"
#include "engine/btree/btree.hpp"
#include "engine/table/table_tree.hpp"
#include "engine/txn/database_core.hpp"
#include "engine/txn/txn_pages.hpp"

namespace ringdb::engine {

/// A table opened in a transaction: its schema and its tree.
struct OpenTable {
    OpenTable(TreePages& pages, KeyCompare compare, TableSchema s, BtreeRoot root)
        : schema(std::move(s)), tree(pages, compare, root) {}

    TableSchema schema;
    Btree tree;
    bool in_use = false;  // a handle to it is open
};

struct CommitOptions {
    Durability durability = Durability::immediate;
    bool two_phase = false;
    bool quick_repair = false;
    ShrinkPolicy shrink = ShrinkPolicy::normal;
};

class WriteTxn {
public:
    /// Waits (asynchronously) until no other write transaction is live.
    /// Errors: previous_io after an earlier failure, database_closed, invalid_argument on a
    /// read-only database.
    static Task<Result<std::shared_ptr<WriteTxn>>> begin(std::shared_ptr<DatabaseCore> core);

    WriteTxn(const WriteTxn&) = delete;
    WriteTxn& operator=(const WriteTxn&) = delete;
    ~WriteTxn();

    std::uint64_t id() const noexcept { return id_; }
    bool active() const noexcept { return state_ == State::active; }
    DatabaseCore& core() noexcept { return *core_; }

    /// Opens (creating if missing) a table. Errors: table_already_open, table_is_multimap /
    /// table_is_not_multimap, table_type_mismatch, type_definition_changed, invalid_argument
    /// (bad name), transaction_finished, io, corrupted.
    Task<Result<OpenTable*>> open_table(TableSchema schema, KeyCompare compare);
    /// Ends the use of a table handle; its changes stay in the transaction.
    void close_table(OpenTable* table) noexcept;
    /// Deletes a table; returns whether it existed. Errors: table_already_open,
    /// table_is_multimap / table_is_not_multimap (wrong kind for the call).
    Task<Result<bool>> delete_table(std::string name, TableKind kind);
    /// Renames a table. Errors: table_does_not_exist, table_exists, table_already_open,
    /// table_is_multimap / table_is_not_multimap.
    Task<Status> rename_table(std::string from, std::string to, TableKind kind);
    /// Names of the tables of one kind, sorted bytewise, including this transaction's changes.
    Task<Result<std::vector<std::string>>> list_tables(TableKind kind);

    Task<Status> commit(CommitOptions options);
    /// Discards every change. Idempotent.
    void abort() noexcept;

private:
    enum class State { active, committed, aborted };

    WriteTxn(std::shared_ptr<DatabaseCore> core, coro::AsyncLockGuard lock, std::uint64_t id,
             const CommitSlot& base);
    Task<Result<std::optional<StoredTable>>> find_table(std::string_view name);
    Task<Status> flush_tables();
    Task<Status> reclaim_freed(Btree& freed);
    Task<Status> record_freed(Btree& freed, std::uint32_t& sequence);
    Task<Status> commit_system_tables();
    void finish() noexcept;

    std::shared_ptr<DatabaseCore> core_;
    coro::AsyncLockGuard lock_;
    std::uint64_t id_;
    State state_ = State::active;
    WritePages pages_;
    TableTree user_tree_;
    TableTree system_tree_;
    std::map<std::string, std::unique_ptr<OpenTable>> tables_;
    // Blocks this commit returned to the allocator from `freed`: a commit that fails before
    // the store has them allocated again (the committed `freed` table still lists them).
    std::vector<PageNumber> reclaimed_;
};

/// The schema of the system table `freed` (keys: transaction id and sequence, big-endian).
TableSchema freed_table_schema();

}  // namespace ringdb::engine
