#pragma once
// Transactions.
//
// WriteTransaction: at most one is live per database; Database::begin_write waits
// (asynchronously) for the previous one to end. It sees its own changes. Ending it: commit()
// (durability as configured) or abort(); destroying a live one aborts it. Every operation on a
// finished transaction, or on a table opened from it, returns Errc::transaction_finished.
//
// ReadTransaction: a snapshot of the latest commit at the time it began (durable or not). Any
// number may be live, on any threads, concurrently with the writer; pages they can see are not
// reused until they (and every table, guard and range obtained from them) are gone.
//
// Savepoint: a point a write transaction can return the user tables to (docs/api.md,
// "Savepoints"). It shows the commit its write transaction started from and pins it like a
// reader: nothing it can see is reused while it is valid. Ephemeral savepoints live as long as
// their Savepoint object; persistent ones are stored in the file until deleted, survive
// reopen, and are fetched again with get_persistent_savepoint. Restoring affects user tables
// only: persistent savepoint records and the freed-page bookkeeping are not rolled back.
//
// Thread rules: a transaction object may be moved between threads; one operation at a time per
// table.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ringdb/multimap_table.hpp>
#include <ringdb/options.hpp>
#include <ringdb/raw_table.hpp>
#include <ringdb/result.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/table.hpp>
#include <ringdb/table_definition.hpp>
#include <ringdb/task.hpp>
#include <ringdb/ttl_table.hpp>

namespace ringdb::engine {
class SavepointHandle;
}  // namespace ringdb::engine

namespace ringdb {

/// A savepoint handle (see above). Movable; destroying an ephemeral savepoint's last handle
/// releases it (and makes it invalid); a persistent savepoint stays until deleted.
class Savepoint {
public:
    Savepoint(Savepoint&&) noexcept = default;
    Savepoint& operator=(Savepoint&&) noexcept = default;
    ~Savepoint();

    /// The savepoint's id (ids increase; persistent ids are those list_persistent_savepoints
    /// reports). 0 for a moved-from handle.
    std::uint64_t id() const noexcept;
    /// Whether it is stored in the file.
    bool persistent() const noexcept;

private:
    friend class WriteTransaction;
    explicit Savepoint(std::shared_ptr<engine::SavepointHandle> handle) noexcept
        : handle_(std::move(handle)) {}

    std::shared_ptr<engine::SavepointHandle> handle_;
};

class WriteTransaction {
public:
    WriteTransaction(WriteTransaction&&) noexcept = default;
    WriteTransaction& operator=(WriteTransaction&&) noexcept = default;
    ~WriteTransaction();

    /// Opens a table, creating it if missing. Errors: table_already_open (open in this
    /// transaction through another handle), table_is_multimap, table_type_mismatch,
    /// type_definition_changed, invalid_argument (bad name), transaction_finished, io,
    /// corrupted.
    template <Key K, Value V>
    Task<Result<Table<K, V>>> open_table(const TableDefinition<K, V>& definition) {
        // The schema is hoisted into a local: temporaries with non-trivial members inside a
        // co_await expression are miscompiled by g++ 12 (docs/coroutines.md rule 2).
        TableSchema schema = definition.schema();
        auto raw = co_await open_raw(std::move(schema), &Codec<K>::compare);
        if (!raw) {
            co_return raw.error();
        }
        co_return Table<K, V>(std::move(*raw));
    }

    /// Opens a TTL table (<ringdb/ttl_table.hpp>), creating it if missing. Errors: as
    /// open_table; table_type_mismatch when the name holds a plain table (or the other way).
    template <Key K, Value V>
    Task<Result<TtlTable<K, V>>> open_ttl_table(const TtlTableDefinition<K, V>& definition) {
        TableSchema schema = definition.schema();
        auto raw = co_await open_raw(std::move(schema), &Codec<K>::compare);
        if (!raw) {
            co_return raw.error();
        }
        co_return TtlTable<K, V>(std::move(*raw), clock());
    }

    /// Opens a multimap table, creating it if missing. Errors: table_already_open,
    /// table_is_not_multimap (a normal table has that name), table_type_mismatch,
    /// type_definition_changed, invalid_argument (bad name), transaction_finished, io,
    /// corrupted.
    template <Key K, MultimapValueType V>
    Task<Result<MultimapTable<K, V>>> open_multimap_table(
            const MultimapTableDefinition<K, V>& definition) {
        if (txn_ == nullptr) {
            co_return Error{Errc::transaction_finished};  // moved from
        }
        TableSchema schema = definition.schema();
        std::shared_ptr<engine::WriteTxn> txn = txn_;
        auto raw = co_await detail::RawMultimap::open_write(std::move(txn), std::move(schema),
                                                            &Codec<K>::compare,
                                                            detail::multimap_value_order<V>());
        if (!raw) {
            co_return raw.error();
        }
        co_return MultimapTable<K, V>(std::move(*raw));
    }

    /// Deletes a table; returns whether it existed. Errors: table_already_open,
    /// table_is_multimap, invalid_argument (a name check_table_name refuses).
    Task<Result<bool>> delete_table(std::string name);
    /// Deletes a multimap table and every page of its sets; returns whether it existed.
    /// Errors: table_already_open, table_is_not_multimap.
    Task<Result<bool>> delete_multimap_table(std::string name);
    /// Renames a multimap table. Errors: table_does_not_exist, table_exists,
    /// table_already_open, table_is_not_multimap.
    Task<Status> rename_multimap_table(std::string from, std::string to);
    /// Names of the multimap tables, sorted, including this transaction's changes.
    Task<Result<std::vector<std::string>>> list_multimap_tables();
    /// Renames a table. Errors: table_does_not_exist, table_exists, table_already_open,
    /// table_is_multimap, invalid_argument (either name refused by check_table_name).
    Task<Status> rename_table(std::string from, std::string to);
    /// Names of the (normal) tables, sorted, including this transaction's changes.
    Task<Result<std::vector<std::string>>> list_tables();

    /// Durability of commit(): immediate (default) or none. A transaction that created or
    /// deleted a persistent savepoint commits durably whatever this says (the change to the
    /// savepoint must survive a crash); try_set_durability reports that case as an error.
    void set_durability(Durability durability) noexcept { durability_ = durability; }
    /// As set_durability, but refuses Durability::none with persistent_savepoint_modified
    /// (and keeps the durability unchanged) when this transaction created or deleted a
    /// persistent savepoint. Errors: persistent_savepoint_modified, transaction_finished.
    Status try_set_durability(Durability durability);
    /// The durability commit() will use.
    Durability durability() const noexcept;
    /// Commit in two syncs: recovery then trusts the commit without verifying its trees.
    void set_two_phase_commit(bool on) noexcept { two_phase_ = on; }
    /// Also save the allocator state, so that the next open after a crash needs no tree walk
    /// (implies two-phase commit).
    void set_quick_repair(bool on) noexcept { quick_repair_ = on; }
    /// How much a durable commit trims the end of the file (see ShrinkPolicy).
    void set_shrink_policy(ShrinkPolicy policy) noexcept { shrink_ = policy; }

    /// Makes the changes visible (and durable, unless durability is none). The transaction is
    /// over whatever the outcome. Errors: io, no_space (the database then refuses writes with
    /// previous_io until reopened), transaction_finished.
    Task<Status> commit();
    /// Discards every change. Idempotent.
    void abort();

    /// The transaction's id (ids increase by one per commit).
    std::uint64_t id() const;
    /// Space statistics of the database as this transaction sees it, including its own
    /// changes (reads every page). Errors: transaction_finished, io, corrupted.
    Task<Result<DatabaseStats>> stats();

    // Savepoints (docs/api.md, "Savepoints"). A transaction is "dirty" once it opened, renamed or
    // deleted a table, restored a savepoint, or read or changed the persistent savepoints; a
    // dirty transaction cannot create savepoints. Every call may also return
    // transaction_finished, io or corrupted.

    /// A savepoint of the commit this transaction started from, valid while the returned
    /// object lives. Errors: invalid_savepoint if the transaction is dirty.
    Task<Result<Savepoint>> ephemeral_savepoint();
    /// Stores a savepoint of the commit this transaction started from in the file (with this
    /// transaction's commit; an abort deletes it) and returns its id. Makes the transaction
    /// dirty. Errors: invalid_savepoint if the transaction is dirty or its durability is none.
    Task<Result<std::uint64_t>> persistent_savepoint();
    /// The persistent savepoint `id`. Makes the transaction dirty. Errors: invalid_savepoint
    /// if there is none with this id.
    Task<Result<Savepoint>> get_persistent_savepoint(std::uint64_t id);
    /// Deletes the persistent savepoint `id` when this transaction commits; returns whether it
    /// existed. Makes the transaction dirty. Errors: invalid_savepoint if the durability is
    /// none.
    Task<Result<bool>> delete_persistent_savepoint(std::uint64_t id);
    /// Ids of the persistent savepoints, ascending. Makes the transaction dirty.
    Task<Result<std::vector<std::uint64_t>>> list_persistent_savepoints();
    /// Returns every user table to its state at `savepoint` (this transaction's earlier table
    /// changes are discarded). Savepoints newer than `savepoint` become invalid at once, even
    /// if this transaction aborts; newer persistent savepoints are deleted when it commits.
    /// A savepoint can be restored any number of times. Errors: invalid_savepoint (of another
    /// database, invalidated, deleted, or moved from), table_already_open while a table
    /// handle of this transaction is open.
    Task<Status> restore_savepoint(const Savepoint& savepoint);

    /// Whether this handle is the one a group-commit batch receives (Database::
    /// submit_write_batch): its commit() returns invalid_argument, its abort() fails the batch
    /// (batch_failed with cause cancelled) instead of ending the group's transaction, and the
    /// durability settings are the group's.
    bool in_batch() const noexcept { return batch_ != nullptr; }

private:
    friend class Database;
    struct BatchState {
        bool abort_requested = false;
    };
    std::shared_ptr<const WallClock> clock() const;
    /// Opens the untyped table behind open_table / open_ttl_table (transaction_finished for a
    /// moved-from handle).
    Task<Result<detail::RawTable>> open_raw(TableSchema schema, detail::KeyOrder order);
    explicit WriteTransaction(std::shared_ptr<engine::WriteTxn> txn,
                              BatchState* batch = nullptr) noexcept
        : txn_(std::move(txn)), batch_(batch) {}

    std::shared_ptr<engine::WriteTxn> txn_;
    BatchState* batch_ = nullptr;  // set for a batch's handle; owned by the batch runner
    Durability durability_ = Durability::immediate;
    bool two_phase_ = false;
    bool quick_repair_ = false;
    ShrinkPolicy shrink_ = ShrinkPolicy::normal;
};

class ReadTransaction {
public:
    ReadTransaction(ReadTransaction&&) noexcept = default;
    ReadTransaction& operator=(ReadTransaction&&) noexcept = default;
    ~ReadTransaction();

    /// Opens a table of the snapshot. Errors: table_does_not_exist, table_is_multimap,
    /// table_type_mismatch, type_definition_changed, io, corrupted.
    template <Key K, Value V>
    Task<Result<ReadOnlyTable<K, V>>> open_table(const TableDefinition<K, V>& definition) {
        TableSchema schema = definition.schema();  // hoisted (docs/coroutines.md rule 2)
        auto raw = co_await open_raw(std::move(schema), &Codec<K>::compare);
        if (!raw) {
            co_return raw.error();
        }
        co_return ReadOnlyTable<K, V>(std::move(*raw));
    }

    /// Opens a TTL table of the snapshot. Errors: as open_table.
    template <Key K, Value V>
    Task<Result<ReadOnlyTtlTable<K, V>>> open_ttl_table(
            const TtlTableDefinition<K, V>& definition) {
        TableSchema schema = definition.schema();
        auto raw = co_await open_raw(std::move(schema), &Codec<K>::compare);
        if (!raw) {
            co_return raw.error();
        }
        co_return ReadOnlyTtlTable<K, V>(std::move(*raw), clock());
    }

    /// Opens a multimap table of the snapshot. Errors: table_does_not_exist,
    /// table_is_not_multimap, table_type_mismatch, type_definition_changed, io, corrupted.
    template <Key K, MultimapValueType V>
    Task<Result<ReadOnlyMultimapTable<K, V>>> open_multimap_table(
            const MultimapTableDefinition<K, V>& definition) {
        if (txn_ == nullptr) {
            co_return Error{Errc::transaction_finished};  // moved from
        }
        TableSchema schema = definition.schema();
        std::shared_ptr<engine::ReadTxn> txn = txn_;
        auto raw = co_await detail::RawMultimap::open_read(std::move(txn), std::move(schema),
                                                           &Codec<K>::compare,
                                                           detail::multimap_value_order<V>());
        if (!raw) {
            co_return raw.error();
        }
        co_return ReadOnlyMultimapTable<K, V>(std::move(*raw));
    }

    /// Names of the (normal) tables of the snapshot, sorted.
    Task<Result<std::vector<std::string>>> list_tables();
    /// Names of the multimap tables of the snapshot, sorted.
    Task<Result<std::vector<std::string>>> list_multimap_tables();

    /// The id of the commit this snapshot shows.
    std::uint64_t id() const;

private:
    friend class Database;
    friend class ReadOnlyDatabase;
    std::shared_ptr<const WallClock> clock() const;
    Task<Result<detail::RawTable>> open_raw(TableSchema schema, detail::KeyOrder order);
    explicit ReadTransaction(std::shared_ptr<engine::ReadTxn> txn) noexcept
        : txn_(std::move(txn)) {}

    std::shared_ptr<engine::ReadTxn> txn_;
};

}  // namespace ringdb
