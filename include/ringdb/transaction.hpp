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
#include <ringdb/table.hpp>
#include <ringdb/table_definition.hpp>
#include <ringdb/task.hpp>

namespace ringdb {

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
        if (txn_ == nullptr) {
            co_return Error{Errc::transaction_finished};  // moved from
        }
        // Arguments are hoisted into locals: temporaries with non-trivial members inside a
        // co_await expression are miscompiled by g++ 12 (docs/coroutines.md rule 2).
        TableSchema schema = definition.schema();
        std::shared_ptr<engine::WriteTxn> txn = txn_;
        auto raw = co_await detail::RawTable::open_write(std::move(txn), std::move(schema),
                                                         &Codec<K>::compare);
        if (!raw) {
            co_return raw.error();
        }
        co_return Table<K, V>(std::move(*raw));
    }

    /// Opens a multimap table, creating it if missing. Errors: table_already_open,
    /// table_is_not_multimap (a normal table has that name), table_type_mismatch,
    /// type_definition_changed, invalid_argument (bad name), transaction_finished, io,
    /// corrupted.
    template <Key K, Key V>
    Task<Result<MultimapTable<K, V>>> open_multimap_table(
            const MultimapTableDefinition<K, V>& definition) {
        if (txn_ == nullptr) {
            co_return Error{Errc::transaction_finished};  // moved from
        }
        TableSchema schema = definition.schema();
        std::shared_ptr<engine::WriteTxn> txn = txn_;
        auto raw = co_await detail::RawMultimap::open_write(std::move(txn), std::move(schema),
                                                            &Codec<K>::compare,
                                                            &Codec<V>::compare);
        if (!raw) {
            co_return raw.error();
        }
        co_return MultimapTable<K, V>(std::move(*raw));
    }

    /// Deletes a table; returns whether it existed. Errors: table_already_open,
    /// table_is_multimap.
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
    /// table_is_multimap.
    Task<Status> rename_table(std::string from, std::string to);
    /// Names of the (normal) tables, sorted, including this transaction's changes.
    Task<Result<std::vector<std::string>>> list_tables();

    /// Durability of commit(): immediate (default) or none.
    void set_durability(Durability durability) noexcept { durability_ = durability; }
    /// Commit in two syncs: recovery then trusts the commit without verifying its trees.
    void set_two_phase_commit(bool on) noexcept { two_phase_ = on; }
    /// Also save the allocator state, so that the next open after a crash needs no tree walk
    /// (implies two-phase commit).
    void set_quick_repair(bool on) noexcept { quick_repair_ = on; }

    /// Makes the changes visible (and durable, unless durability is none). The transaction is
    /// over whatever the outcome. Errors: io, no_space (the database then refuses writes with
    /// previous_io until reopened), transaction_finished.
    Task<Status> commit();
    /// Discards every change. Idempotent.
    void abort();

    /// The transaction's id (ids increase by one per commit).
    std::uint64_t id() const;

private:
    friend class Database;
    explicit WriteTransaction(std::shared_ptr<engine::WriteTxn> txn) noexcept
        : txn_(std::move(txn)) {}

    std::shared_ptr<engine::WriteTxn> txn_;
    Durability durability_ = Durability::immediate;
    bool two_phase_ = false;
    bool quick_repair_ = false;
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
        if (txn_ == nullptr) {
            co_return Error{Errc::transaction_finished};  // moved from
        }
        TableSchema schema = definition.schema();
        std::shared_ptr<engine::ReadTxn> txn = txn_;
        auto raw = co_await detail::RawTable::open_read(std::move(txn), std::move(schema),
                                                        &Codec<K>::compare);
        if (!raw) {
            co_return raw.error();
        }
        co_return ReadOnlyTable<K, V>(std::move(*raw));
    }

    /// Opens a multimap table of the snapshot. Errors: table_does_not_exist,
    /// table_is_not_multimap, table_type_mismatch, type_definition_changed, io, corrupted.
    template <Key K, Key V>
    Task<Result<ReadOnlyMultimapTable<K, V>>> open_multimap_table(
            const MultimapTableDefinition<K, V>& definition) {
        if (txn_ == nullptr) {
            co_return Error{Errc::transaction_finished};  // moved from
        }
        TableSchema schema = definition.schema();
        std::shared_ptr<engine::ReadTxn> txn = txn_;
        auto raw = co_await detail::RawMultimap::open_read(std::move(txn), std::move(schema),
                                                           &Codec<K>::compare,
                                                           &Codec<V>::compare);
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
    explicit ReadTransaction(std::shared_ptr<engine::ReadTxn> txn) noexcept
        : txn_(std::move(txn)) {}

    std::shared_ptr<engine::ReadTxn> txn_;
};

}  // namespace ringdb
