#pragma once
// ReadTxn: a snapshot of the latest commit (durable or not) at the time it began.
// The snapshot stays registered with the tracker, so no page it can reach is reused, until
// the ReadTxn and every table and guard obtained from it are gone (they share ownership).

#include <memory>
#include <string>
#include <vector>

#include <ringdb/result.hpp>
#include <ringdb/table_schema.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/btree.hpp"
#include "engine/table/table_tree.hpp"
#include "engine/txn/database_core.hpp"
#include "engine/txn/txn_pages.hpp"

namespace ringdb::engine {

class ReadTxn;

/// A table of a snapshot. Keeps the snapshot alive.
struct ReadTable {
    ReadTable(std::shared_ptr<ReadTxn> owner, TableSchema s, KeyCompare compare,
              TreePages& pages, BtreeRoot root)
        : txn(std::move(owner)), schema(std::move(s)), tree(pages, compare, root) {}

    std::shared_ptr<ReadTxn> txn;
    TableSchema schema;
    Btree tree;
    std::uint64_t pairs = 0;  // multimap tables only: the number of (key, value) pairs
};

class ReadTxn : public std::enable_shared_from_this<ReadTxn> {
public:
    /// Errors: database_closed.
    static Result<std::shared_ptr<ReadTxn>> begin(std::shared_ptr<DatabaseCore> core);

    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;
    ~ReadTxn();

    std::uint64_t id() const noexcept { return slot_.transaction_id; }
    const CommitSlot& slot() const noexcept { return slot_; }

    /// Errors: table_does_not_exist, table_is_multimap / table_is_not_multimap,
    /// table_type_mismatch, type_definition_changed, io, corrupted.
    Task<Result<std::shared_ptr<ReadTable>>> open_table(TableSchema schema, KeyCompare compare);
    Task<Result<std::vector<std::string>>> list_tables(TableKind kind);

private:
    ReadTxn(std::shared_ptr<DatabaseCore> core, const CommitSlot& slot);

    std::shared_ptr<DatabaseCore> core_;
    CommitSlot slot_;
    SnapshotPages pages_;
    TableTree user_tree_;
};

/// Names of the tables of `kind` in a table tree, sorted bytewise.
Task<Result<std::vector<std::string>>> list_table_names(const Btree& tree, TableKind kind);

}  // namespace ringdb::engine
