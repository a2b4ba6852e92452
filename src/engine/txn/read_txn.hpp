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
#include "engine/table/open_table.hpp"
#include "engine/table/table_tree.hpp"
#include "engine/txn/transaction_context.hpp"
#include "engine/txn/txn_pages.hpp"

namespace ringdb::engine {

class ReadTxn : public TableHost {
public:
    /// Errors: database_closed.
    static Result<std::shared_ptr<ReadTxn>> begin(std::shared_ptr<TransactionContext> context);

    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;
    ~ReadTxn();

    std::uint64_t id() const noexcept { return slot_.transaction_id; }
    const CommitSlot& slot() const noexcept { return slot_; }
    TransactionContext& context() noexcept { return *context_; }

    /// The table, owned by the caller, which must keep this transaction alive while it uses it.
    /// Errors: table_does_not_exist, table_is_multimap / table_is_not_multimap,
    /// table_type_mismatch, type_definition_changed, io, corrupted.
    Task<Result<std::unique_ptr<OpenTable>>> open_table(TableSchema schema, KeyCompare compare);
    Task<Result<std::vector<std::string>>> list_tables(TableKind kind);

private:
    ReadTxn(std::shared_ptr<TransactionContext> context, const CommitSlot& slot);

    std::shared_ptr<TransactionContext> context_;
    CommitSlot slot_;
    SnapshotPages pages_;
    TableTree user_tree_;
};

/// Names of the tables of `kind` in a table tree, sorted bytewise.
Task<Result<std::vector<std::string>>> list_table_names(const Btree& tree, TableKind kind);

}  // namespace ringdb::engine
