// Recovery's replay of commit log records into a write transaction (docs/design.md section 10).
// The operations were valid when they were logged, on the state this transaction rebuilds, so
// one that does not fit (a table missing or of another kind, a key order unknown) means the
// record or the checkpoint is damaged: corrupted.

#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include <ringdb/when_all.hpp>

#include "engine/table/key_order.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

std::string to_string(std::span<const std::byte> bytes) {
    return std::string(static_cast<const char*>(static_cast<const void*>(bytes.data())),
                       bytes.size());
}

/// A lookup whose only purpose is to bring the pages on `key`'s path into the cache.
Task<void> touch(const Btree* tree, std::span<const std::byte> key) {
    auto found = co_await tree->get(key);
    (void)found;
}

bool changes_a_key(LogOp op) noexcept {
    return op == LogOp::insert || op == LogOp::remove || op == LogOp::multimap_insert ||
           op == LogOp::multimap_remove || op == LogOp::multimap_remove_key;
}

}  // namespace

Task<void> WriteTxn::prefetch_for_replay(const std::vector<DecodedRecord>& records) {
    constexpr std::size_t kDepth = 32;
    // Read-only trees over this transaction's pages (nothing is dirty yet), one per table.
    std::map<std::string_view, std::unique_ptr<Btree>> trees;
    std::vector<Task<void>> reads;
    for (const DecodedRecord& record : records) {
        for (const LogOperation& operation : record.operations) {
            if (!changes_a_key(operation.op)) {
                continue;
            }
            auto at = trees.find(operation.table);
            if (at == trees.end()) {
                std::unique_ptr<Btree> tree;
                auto stored = co_await find_table(operation.table);
                if (stored && *stored) {
                    const KeyCompare compare = key_order_for((*stored)->schema.key_type);
                    if (compare != nullptr) {
                        tree = std::make_unique<Btree>(pages_, compare, (*stored)->root);
                    }
                }
                at = trees.emplace(operation.table, std::move(tree)).first;
            }
            if (at->second == nullptr) {
                continue;
            }
            reads.push_back(touch(at->second.get(), operation.key));
            if (reads.size() == kDepth) {
                co_await when_all(std::move(reads));
                reads.clear();
            }
        }
    }
    if (!reads.empty()) {
        co_await when_all(std::move(reads));
    }
}

Task<Result<OpenTable*>> WriteTxn::open_for_replay(std::string_view name) {
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await find_table(name));
    if (!stored) {
        co_return Error{Errc::corrupted};
    }
    const KeyCompare compare = key_order_for(stored->schema.key_type);
    if (compare == nullptr) {
        co_return Error{Errc::corrupted};
    }
    TableSchema schema = stored->schema;
    RINGDB_CO_TRY_ASSIGN(OpenTable* table, co_await open_table(std::move(schema), compare));
    table->in_use = false;
    co_return table;
}

Task<Status> WriteTxn::apply_operation(const LogOperation& operation) {
    switch (operation.op) {
    case LogOp::create_table: {
        RINGDB_CO_TRY_ASSIGN(StoredTable table,
                             StoredTable::decode(to_string(operation.key), operation.value));
        const KeyCompare compare = key_order_for(table.schema.key_type);
        RINGDB_CO_TRY_ASSIGN(OpenTable* opened,
                             co_await open_table(std::move(table.schema), compare));
        opened->in_use = false;
        co_return ok();
    }
    case LogOp::delete_table: {
        RINGDB_CO_TRY_ASSIGN(bool existed,
                             co_await delete_table(to_string(operation.key), operation.kind));
        co_return existed ? ok() : Status{Error{Errc::corrupted}};
    }
    case LogOp::rename_table: {
        Status renamed = co_await rename_table(to_string(operation.key),
                                               to_string(operation.value), operation.kind);
        co_return renamed;
    }
    default:
        break;
    }
    RINGDB_CO_TRY_ASSIGN(OpenTable* table, co_await open_for_replay(operation.table));
    const bool multimap = table->schema.kind == TableKind::multimap;
    if (multimap != (operation.op == LogOp::multimap_insert ||
                     operation.op == LogOp::multimap_remove ||
                     operation.op == LogOp::multimap_remove_key)) {
        co_return Error{Errc::corrupted};
    }
    const KeyCompare value_order = multimap ? key_order_for(table->schema.value_type) : nullptr;
    switch (operation.op) {
    case LogOp::insert:
        RINGDB_CO_TRY(co_await table->tree.insert(operation.key, operation.value));
        break;
    case LogOp::remove:
        RINGDB_CO_TRY(co_await table->tree.remove(operation.key));
        break;
    case LogOp::multimap_insert:
        RINGDB_CO_TRY(co_await multimap_insert(table->tree, value_order, table->multimap,
                                               operation.key, operation.value));
        break;
    case LogOp::multimap_remove:
        RINGDB_CO_TRY(co_await multimap_remove(table->tree, value_order, table->multimap,
                                               operation.key, operation.value));
        break;
    case LogOp::multimap_remove_key:
        RINGDB_CO_TRY(co_await multimap_remove_key(table->tree, table->multimap, operation.key));
        break;
    default:
        co_return Error{Errc::corrupted};
    }
    co_return ok();
}

Task<Status> WriteTxn::apply_logged(const DecodedRecord& record) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    begin_data_change();
    for (const LogOperation& operation : record.operations) {
        RINGDB_CO_TRY(co_await apply_operation(operation));
    }
    co_return ok();
}

}  // namespace ringdb::engine
