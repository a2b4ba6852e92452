#pragma once
// SavepointHandle: the engine side of ringdb::Savepoint (docs/api.md, "Savepoints").
//
// A savepoint records a commit (its transaction id and user table tree root). It is registered
// with the tracker as a reader of that commit, so nothing it can see is reclaimed, and it is
// valid until dropped (ephemeral), deleted (persistent), or invalidated by the restore of an
// older savepoint. An ephemeral handle releases its registration when destroyed; a persistent
// savepoint's registration belongs to the file's record and is released when it is deleted.

#include <cstdint>
#include <memory>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/txn/system_tables.hpp"

namespace ringdb::engine {

class TransactionContext;

class SavepointHandle {
public:
    SavepointHandle(std::shared_ptr<TransactionContext> context, SavepointRecord record,
                    bool ephemeral) noexcept
        : context_(std::move(context)), record_(record), ephemeral_(ephemeral) {}
    SavepointHandle(const SavepointHandle&) = delete;
    SavepointHandle& operator=(const SavepointHandle&) = delete;
    ~SavepointHandle();

    std::uint64_t id() const noexcept { return record_.id; }
    std::uint64_t transaction_id() const noexcept { return record_.transaction_id; }
    const BtreeRoot& user_root() const noexcept { return record_.user_root; }
    bool ephemeral() const noexcept { return ephemeral_; }
    /// The database it belongs to (a savepoint is valid only there).
    const TransactionContext* context() const noexcept { return context_.get(); }

private:
    std::shared_ptr<TransactionContext> context_;
    SavepointRecord record_;
    bool ephemeral_;
};

/// At open: registers the persistent savepoints of the current commit with the tracker and
/// restores the savepoint counter. Errors: io, corrupted.
Task<Status> load_persistent_savepoints(TransactionContext& context);

}  // namespace ringdb::engine
