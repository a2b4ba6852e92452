// Savepoints (docs/api.md "Savepoints", docs/design.md section 7): creation, the persistent
// savepoint table, restore, and re-registration at open.
//
// Restore in transaction R to a savepoint of commit S:
//  - R's own data changes so far are discarded (its dirty data blocks go back to the
//    allocator, its freed data list is dropped: every block it freed was either reachable
//    from S's root, so it must stay, or allocated after S, so it is in `allocated`);
//  - entries of `freed` after S are removed, and so are the data blocks that non-durable
//    commits after S deferred (TransactionContext::deferred_frees): their blocks are reachable from
//    S's root again, or were allocated after S;
//  - every block in `allocated` after S is freed by R. Those entries stay: a later restore of
//    an older savepoint removes R's `freed` entry and must find the blocks there again;
//  - the user table tree is set to S's root;
//  - newer savepoints become invalid at once (even if R aborts, docs/quirks.md Q-23) and newer
//    persistent savepoints are deleted with R.
// Reclamation never frees a block freed after the oldest valid savepoint, and `allocated`
// keeps every entry after it, so both lists are complete for any valid savepoint.

#include "engine/txn/savepoint.hpp"

#include <algorithm>

#include "engine/btree/cursor.hpp"
#include "engine/txn/txn_pages.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/endian.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

SavepointHandle::~SavepointHandle() {
    if (ephemeral_) {
        context_->tracker().deallocate_savepoint(record_.id, record_.transaction_id);
    }
}

Task<Result<std::shared_ptr<SavepointHandle>>> WriteTxn::ephemeral_savepoint() {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    if (dirty_) {
        co_return Error{Errc::invalid_savepoint};
    }
    SavepointRecord record;
    record.transaction_id = base_.transaction_id;
    record.user_root = base_.user_root;
    record.id = context_->tracker().allocate_savepoint(record.transaction_id);
    co_return std::make_shared<SavepointHandle>(context_, record, true);
}

Task<Result<std::uint64_t>> WriteTxn::persistent_savepoint(Durability durability) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    if (dirty_ || durability != Durability::immediate) {
        co_return Error{Errc::invalid_savepoint};
    }
    dirty_ = true;
    SavepointRecord record;
    record.transaction_id = base_.transaction_id;
    record.user_root = base_.user_root;
    record.id = context_->tracker().allocate_savepoint(record.transaction_id);
    // Registered first so that a failure below releases it with the transaction.
    created_persistent_.emplace_back(record.id, record.transaction_id);
    RINGDB_CO_TRY_ASSIGN(BtreeRoot root, co_await system_table_root(kSavepointsTable));
    Btree savepoints(pages_, &compare_bytes, root);
    SavepointKey key = savepoint_key(record.id);
    Bytes value = record.encode();
    RINGDB_CO_TRY(co_await savepoints.insert(key, value));
    RINGDB_CO_TRY(co_await store_system_table(kSavepointsTable, savepoints));
    RINGDB_CO_TRY_ASSIGN(BtreeRoot next_root, co_await system_table_root(kNextSavepointTable));
    Btree next(pages_, &compare_bytes, next_root);
    Bytes next_value(8);
    util::store_le64(next_value.data(), record.id + 1);
    RINGDB_CO_TRY(co_await next.insert(kNextSavepointKey, next_value));
    RINGDB_CO_TRY(co_await store_system_table(kNextSavepointTable, next));
    co_return record.id;
}

Task<Result<std::shared_ptr<SavepointHandle>>> WriteTxn::get_persistent_savepoint(
        std::uint64_t id) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    dirty_ = true;
    RINGDB_CO_TRY_ASSIGN(BtreeRoot root, co_await system_table_root(kSavepointsTable));
    Btree savepoints(pages_, &compare_bytes, root);
    SavepointKey key = savepoint_key(id);
    RINGDB_CO_TRY_ASSIGN(auto found, co_await savepoints.get(key));
    if (!found) {
        co_return Error{Errc::invalid_savepoint};
    }
    RINGDB_CO_TRY_ASSIGN(SavepointRecord record, SavepointRecord::decode(found->bytes));
    if (record.id != id) {
        co_return Error{Errc::corrupted, 0, id};
    }
    co_return std::make_shared<SavepointHandle>(context_, record, false);
}

Task<Result<bool>> WriteTxn::delete_persistent_savepoint(std::uint64_t id,
                                                         Durability durability) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    if (durability != Durability::immediate) {
        co_return Error{Errc::invalid_savepoint};
    }
    dirty_ = true;
    RINGDB_CO_TRY_ASSIGN(BtreeRoot root, co_await system_table_root(kSavepointsTable));
    Btree savepoints(pages_, &compare_bytes, root);
    SavepointKey key = savepoint_key(id);
    RINGDB_CO_TRY_ASSIGN(auto removed, co_await savepoints.remove(key));
    if (!removed) {
        co_return false;
    }
    RINGDB_CO_TRY_ASSIGN(SavepointRecord record, SavepointRecord::decode(*removed));
    RINGDB_CO_TRY(co_await store_system_table(kSavepointsTable, savepoints));
    bool created_here = false;
    for (auto it = created_persistent_.begin(); it != created_persistent_.end(); ++it) {
        if (it->first == id) {
            created_persistent_.erase(it);
            created_here = true;
            break;
        }
    }
    deleted_persistent_.push_back(DeletedSavepoint{id, record.transaction_id, created_here});
    co_return true;
}

Task<Result<std::vector<std::uint64_t>>> WriteTxn::list_persistent_savepoints() {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    dirty_ = true;
    RINGDB_CO_TRY_ASSIGN(BtreeRoot root, co_await system_table_root(kSavepointsTable));
    Btree savepoints(pages_, &compare_bytes, root);
    std::vector<std::uint64_t> ids;
    Cursor cursor(savepoints, Bound::unbounded(), Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= savepoints.length(); ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            break;
        }
        RINGDB_CO_TRY_ASSIGN(std::uint64_t id, savepoint_key_id(entry->key));
        ids.push_back(id);
    }
    co_return ids;
}

Task<Status> WriteTxn::entries_after(Btree& list, std::uint64_t transaction_id,
                                     std::vector<PageNumber>* pages, bool remove) {
    std::vector<Bytes> keys;
    PageListKey low = page_list_key(transaction_id + 1, 0);
    Cursor cursor(list, Bound::included(low), Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= list.length(); ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            break;
        }
        if (pages != nullptr) {
            RINGDB_CO_TRY_ASSIGN(auto listed, decode_page_list(entry->value));
            pages->insert(pages->end(), listed.begin(), listed.end());
        }
        if (remove) {
            keys.emplace_back(entry->key.begin(), entry->key.end());
        }
    }
    for (const Bytes& key : keys) {
        RINGDB_CO_TRY(co_await list.remove(key));
    }
    co_return ok();
}

Task<Status> WriteTxn::delete_savepoints_after(std::uint64_t id) {
    RINGDB_CO_TRY_ASSIGN(BtreeRoot root, co_await system_table_root(kSavepointsTable));
    Btree savepoints(pages_, &compare_bytes, root);
    std::vector<SavepointRecord> doomed;
    SavepointKey low = savepoint_key(id);
    Cursor cursor(savepoints, Bound::excluded(low), Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= savepoints.length(); ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            break;
        }
        RINGDB_CO_TRY_ASSIGN(SavepointRecord record, SavepointRecord::decode(entry->value));
        doomed.push_back(record);
    }
    for (const SavepointRecord& record : doomed) {
        SavepointKey key = savepoint_key(record.id);
        RINGDB_CO_TRY(co_await savepoints.remove(key));
        bool created_here = false;
        for (auto it = created_persistent_.begin(); it != created_persistent_.end(); ++it) {
            if (it->first == record.id) {
                created_persistent_.erase(it);
                created_here = true;
                break;
            }
        }
        deleted_persistent_.push_back(
                DeletedSavepoint{record.id, record.transaction_id, created_here});
    }
    RINGDB_CO_TRY(co_await store_system_table(kSavepointsTable, savepoints));
    co_return ok();
}

Task<Status> WriteTxn::restore_savepoint(std::shared_ptr<SavepointHandle> savepoint) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    if (savepoint == nullptr || savepoint->context() != context_.get() ||
        !context_->tracker().is_valid_savepoint(savepoint->id())) {
        co_return Error{Errc::invalid_savepoint};
    }
    // The restored trees are not described by operations: the commit is a checkpoint.
    require_checkpoint();
    for (const auto& [name, table] : tables_) {
        if (table->in_use) {
            co_return Error{Errc::table_already_open};
        }
    }
    bool changed_before = tracking_decided_;
    begin_data_change();
    if (changed_before && !data_pages_.tracking()) {
        // Unreachable (see begin_data_change), but without tracking this transaction's own
        // data blocks could not be found again.
        co_return Error{Errc::invalid_savepoint};
    }
    tables_.clear();
    data_pages_.release_allocated();
    std::uint64_t base = savepoint->transaction_id();

    RINGDB_CO_TRY_ASSIGN(BtreeRoot allocated_root, co_await system_table_root(kAllocatedTable));
    Btree allocated(pages_, &compare_bytes, allocated_root);
    std::vector<PageNumber> unreachable;
    RINGDB_CO_TRY(co_await entries_after(allocated, base, &unreachable, false));
    data_pages_.replace_freed(std::move(unreachable));

    RINGDB_CO_TRY_ASSIGN(BtreeRoot freed_root, co_await system_table_root(kFreedTable));
    Btree freed(pages_, &compare_bytes, freed_root);
    RINGDB_CO_TRY(co_await entries_after(freed, base, nullptr, true));
    // Deferred frees after S are dropped at commit the same way (write_txn_commit.cpp).
    restored_to_ = restored_to_ ? std::min(*restored_to_, base) : base;
    RINGDB_CO_TRY(co_await store_system_table(kFreedTable, freed));

    user_tree_.tree().reset(savepoint->user_root());
    context_->tracker().invalidate_savepoints_after(savepoint->id());
    RINGDB_CO_TRY(co_await delete_savepoints_after(savepoint->id()));
    co_return ok();
}

Task<Status> load_persistent_savepoints(TransactionContext& context) {
    const CommitSlot slot = context.store().current();
    SnapshotPages pages(context.store());
    TableTree system(pages, slot.system_root);
    RINGDB_CO_TRY_ASSIGN(auto next, co_await system.get(kNextSavepointTable));
    if (next) {
        Btree tree(pages, &compare_bytes, next->root);
        RINGDB_CO_TRY_ASSIGN(auto value, co_await tree.get(kNextSavepointKey));
        if (value) {
            if (value->bytes.size() != 8) {
                co_return Error{Errc::corrupted, 0, value->bytes.size()};
            }
            context.tracker().raise_next_savepoint_id(util::load_le64(value->bytes.data()));
        }
    }
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await system.get(kSavepointsTable));
    if (!stored) {
        co_return ok();
    }
    Btree tree(pages, &compare_bytes, stored->root);
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= tree.length(); ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            break;
        }
        RINGDB_CO_TRY_ASSIGN(SavepointRecord record, SavepointRecord::decode(entry->value));
        RINGDB_CO_TRY_ASSIGN(std::uint64_t id, savepoint_key_id(entry->key));
        if (id != record.id || record.transaction_id > slot.transaction_id) {
            co_return Error{Errc::corrupted, 0, id};
        }
        context.tracker().register_savepoint(record.id, record.transaction_id);
    }
    co_return ok();
}

}  // namespace ringdb::engine
