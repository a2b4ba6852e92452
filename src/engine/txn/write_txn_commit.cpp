// WriteTxn::commit and freed-page reclamation (docs/design.md sections 7 and 8).
//
// Invariants:
//  - A block listed in `freed` or `system_freed` under transaction T is unreachable from every
//    commit >= T and reachable from some commit < T; it is returned to the allocator only when
//    no reader (read transaction, savepoint, verification) is pinned below T, and, for a durable
//    commit's reclamation, when T <= the last durable commit (a crash returns to that commit,
//    which must find every block it references intact).
//  - A non-durable commit keeps the blocks it frees that no durable commit references
//    (unpersisted) out of the tables: they wait in TransactionContext::deferred_frees() and are
//    freed by a later commit once no reader and no valid savepoint precedes the freeing commit; a
//    durable commit moves the rest into the tables under their freeing commit's id.
//  - `allocated` holds, for every commit after the oldest valid savepoint, the data blocks it
//    allocated; older entries are purged at every commit.

#include <algorithm>

#include "engine/btree/cursor.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/assert.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

// Recording freed blocks can free more blocks (copy-on-write of the system trees); after the
// first round every touched page is dirty, so a few rounds always suffice.
constexpr int kFreedRounds = 16;
// First sequence number of the entries a durable commit writes for deferred blocks.
constexpr std::uint32_t kDeferredSequence = 0x80000000;

struct ListEntry {
    Bytes key;
    std::vector<PageNumber> pages;
};

// The entries of a page-list table for transactions in [first, last].
Task<Result<std::vector<ListEntry>>> collect_entries(const Btree& list, std::uint64_t first,
                                                     std::uint64_t last) {
    std::vector<ListEntry> entries;
    PageListKey low = page_list_key(first, 0);
    Cursor cursor(list, Bound::included(low), Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= list.length(); ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            break;
        }
        RINGDB_CO_TRY_ASSIGN(std::uint64_t txn, page_list_key_transaction(entry->key));
        if (txn > last) {
            break;
        }
        RINGDB_CO_TRY_ASSIGN(auto pages, decode_page_list(entry->value));
        entries.push_back(ListEntry{Bytes(entry->key.begin(), entry->key.end()),
                                    std::move(pages)});
    }
    co_return entries;
}

}  // namespace

Task<Result<BtreeRoot>> WriteTxn::system_table_root(std::string_view name) {
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await system_tree_.get(name));
    co_return stored ? stored->root : BtreeRoot{};
}

Task<Status> WriteTxn::store_system_table(std::string_view name, Btree& tree) {
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await system_tree_.get(name));
    if (tree.empty()) {
        // An empty system table is absent (docs/design.md section 4).
        if (stored) {
            RINGDB_CO_TRY(co_await system_tree_.remove(name));
        }
        co_return ok();
    }
    RINGDB_CO_TRY_ASSIGN(BtreeRoot root, co_await tree.finalize());
    if (stored && stored->root == root) {
        co_return ok();
    }
    TableSchema schema = stored ? stored->schema : page_list_schema(name);
    if (name == kSavepointsTable) {
        schema = savepoints_schema();
    } else if (name == kNextSavepointTable) {
        schema = next_savepoint_schema();
    }
    StoredTable table{std::move(schema), root};
    RINGDB_CO_TRY(co_await system_tree_.put(name, table));
    co_return ok();
}

Task<Status> WriteTxn::reclaim_freed(Btree& freed, std::uint64_t bound) {
    // Each round removes one entry; the tree shrinks, so this ends.
    for (std::uint64_t round = 0; round <= freed.length() + 1; ++round) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await freed.first());
        if (!entry) {
            break;
        }
        RINGDB_CO_TRY_ASSIGN(std::uint64_t txn, page_list_key_transaction(entry->key));
        if (txn > bound) {
            break;
        }
        RINGDB_CO_TRY_ASSIGN(auto pages, decode_page_list(entry->value));
        for (PageNumber page : pages) {
            RINGDB_CO_TRY(context_->store().free_committed(page));
            reclaimed_.push_back(page);
        }
        // No snapshot reaches these blocks any more: their images would only take cache
        // room from live pages until evicted (docs/design.md section 7).
        context_->store().forget_cached(pages);
        Bytes key(entry->key.begin(), entry->key.end());
        RINGDB_CO_TRY(co_await freed.remove(key));
    }
    co_return ok();
}

Status WriteTxn::reclaim_deferred() {
    auto& deferred = context_->deferred_frees();
    if (restored_to_) {
        // A restore to commit S makes data blocks freed after S reachable again, or lists
        // them in `allocated` after S (then the restore freed them itself).
        for (auto& entry : deferred) {
            if (entry.transaction_id > *restored_to_) {
                entry.data.clear();
            }
        }
    }
    std::uint64_t bound = context_->deferred_bound();
    std::size_t done = 0;
    for (; done < deferred.size() && deferred[done].transaction_id <= bound; ++done) {
        for (const auto* list : {&deferred[done].data, &deferred[done].system}) {
            for (PageNumber page : *list) {
                RINGDB_TRY_ASSIGN(bool freed, context_->store().free_if_unpersisted(page));
                if (!freed) {
                    return Error{Errc::corrupted, 0, page.raw()};
                }
            }
        }
    }
    deferred.erase(deferred.begin(), deferred.begin() + static_cast<std::ptrdiff_t>(done));
    return ok();
}

Task<Status> WriteTxn::absorb_deferred(Btree& freed, Btree& system_freed) {
    // A durable commit ends the "unpersisted" state of every block, so the blocks still
    // waiting for readers go into the tables, under the commit that freed them. Their
    // sequence numbers start high: the lists of that commit already use the low ones.
    auto& deferred = context_->deferred_frees();
    for (auto& entry : deferred) {
        std::uint32_t data_sequence = kDeferredSequence;
        std::uint32_t system_sequence = kDeferredSequence;
        RINGDB_CO_TRY(co_await record_pages_of(freed, entry.transaction_id, std::move(entry.data),
                                               data_sequence));
        RINGDB_CO_TRY(co_await record_pages_of(system_freed, entry.transaction_id,
                                               std::move(entry.system), system_sequence));
    }
    deferred.clear();
    co_return ok();
}

std::vector<PageNumber> WriteTxn::split_unpersisted(std::vector<PageNumber> pages,
                                                    std::vector<PageNumber>& deferred) {
    std::vector<PageNumber> persisted;
    persisted.reserve(pages.size());
    for (PageNumber page : pages) {
        if (context_->store().is_unpersisted(page)) {
            deferred.push_back(page);
        } else {
            persisted.push_back(page);
        }
    }
    return persisted;
}

Task<Status> WriteTxn::record_pages(Btree& list, std::vector<PageNumber> pages,
                                    std::uint32_t& sequence) {
    auto recorded = co_await record_pages_of(list, id_, std::move(pages), sequence);
    co_return recorded;
}

Task<Status> WriteTxn::record_pages_of(Btree& list, std::uint64_t transaction_id,
                                       std::vector<PageNumber> pages, std::uint32_t& sequence) {
    for (std::size_t start = 0; start < pages.size(); start += kPageListChunk) {
        std::size_t count = std::min(kPageListChunk, pages.size() - start);
        std::span<const PageNumber> chunk(pages.data() + start, count);
        Bytes value = encode_page_list(chunk);
        auto key = page_list_key(transaction_id, sequence++);
        RINGDB_CO_TRY(co_await list.insert(key, value));
    }
    co_return ok();
}

Task<Status> WriteTxn::record_allocated(Btree& allocated) {
    std::optional<std::uint64_t> oldest = context_->tracker().oldest_savepoint();
    // Entries that no valid savepoint can restore past are dropped.
    std::uint64_t purge_to = oldest ? *oldest : id_;
    RINGDB_CO_TRY_ASSIGN(auto stale, co_await collect_entries(allocated, 0, purge_to));
    for (const ListEntry& entry : stale) {
        RINGDB_CO_TRY(co_await allocated.remove(entry.key));
    }
    if (oldest && data_pages_.tracking()) {
        std::vector<PageNumber> pages = data_pages_.allocated();
        std::sort(pages.begin(), pages.end(),
                  [](PageNumber a, PageNumber b) { return a.raw() < b.raw(); });
        std::uint32_t sequence = 0;
        RINGDB_CO_TRY(co_await record_pages(allocated, std::move(pages), sequence));
    }
    co_return ok();
}

Task<Status> WriteTxn::commit_system_tables(Durability durability) {
    RINGDB_CO_TRY_ASSIGN(BtreeRoot freed_root, co_await system_table_root(kFreedTable));
    RINGDB_CO_TRY_ASSIGN(BtreeRoot system_root, co_await system_table_root(kSystemFreedTable));
    RINGDB_CO_TRY_ASSIGN(BtreeRoot allocated_root, co_await system_table_root(kAllocatedTable));
    Btree freed(pages_, &compare_bytes, freed_root);
    Btree system_freed(pages_, &compare_bytes, system_root);
    Btree allocated(pages_, &compare_bytes, allocated_root);
    // Deferred blocks no reader sees were freed when the commit started (WriteTxn::commit).
    bool durable = durability == Durability::immediate;
    // Every commit reuses what was freed before the last durable commit (the last checkpoint)
    // that no reader sees: a crash returns to that commit, which does not reach those blocks.
    // Logged commits reclaim too, so a checkpoint interval's old pages are reused in the next
    // one instead of piling up until the checkpoint after it.
    const std::uint64_t bound = context_->reclaim_bound();
    RINGDB_CO_TRY(co_await reclaim_freed(freed, bound));
    RINGDB_CO_TRY(co_await reclaim_freed(system_freed, bound));
    if (durable) {
        RINGDB_CO_TRY(co_await absorb_deferred(freed, system_freed));
    }
    if (!allocated.empty() || data_pages_.tracking()) {
        RINGDB_CO_TRY(co_await record_allocated(allocated));
    }
    std::uint32_t data_sequence = 0;
    std::vector<PageNumber> data_freed = data_pages_.take_freed();
    if (!durable) {
        data_freed = split_unpersisted(std::move(data_freed), deferred_data_);
    }
    RINGDB_CO_TRY(co_await record_pages(freed, std::move(data_freed), data_sequence));
    std::uint32_t system_sequence = 0;
    for (int round = 0; round < kFreedRounds; ++round) {
        std::vector<PageNumber> system_pages = pages_.take_freed();
        if (!durable) {
            system_pages = split_unpersisted(std::move(system_pages), deferred_system_);
        }
        RINGDB_CO_TRY(co_await record_pages(system_freed, std::move(system_pages),
                                            system_sequence));
        RINGDB_CO_TRY(co_await store_system_table(kFreedTable, freed));
        RINGDB_CO_TRY(co_await store_system_table(kSystemFreedTable, system_freed));
        RINGDB_CO_TRY(co_await store_system_table(kAllocatedTable, allocated));
        if (pages_.freed_count() == 0) {
            co_return ok();
        }
    }
    RINGDB_ASSERT(false && "recording freed pages did not converge");
    co_return Error{Errc::corrupted};
}

void WriteTxn::end_savepoint_changes(bool committed) noexcept {
    TransactionTracker& tracker = context_->tracker();
    if (committed) {
        for (const DeletedSavepoint& deleted : deleted_persistent_) {
            tracker.deallocate_savepoint(deleted.id, deleted.transaction_id);
        }
    } else {
        for (const auto& [id, transaction_id] : created_persistent_) {
            tracker.deallocate_savepoint(id, transaction_id);
        }
        for (const DeletedSavepoint& deleted : deleted_persistent_) {
            if (deleted.created_here) {
                tracker.deallocate_savepoint(deleted.id, deleted.transaction_id);
            }
        }
    }
    created_persistent_.clear();
    deleted_persistent_.clear();
}

bool WriteTxn::commits_logged(const CommitOptions& options) const {
    if (replaying_ || checkpoint_required_ || options.quick_repair || options.two_phase ||
        persistent_savepoints_modified() || log_.overflowed()) {
        return false;
    }
    return context_->store().log_accepts(log_.size() + kRecordPayloadHeader);
}

void WriteTxn::settle_commit(const Status& status) {
    if (status) {
        context_->advance_transaction_id();
        if (!deferred_data_.empty() || !deferred_system_.empty()) {
            TransactionContext::DeferredFree entry;
            entry.transaction_id = id_;
            entry.data = std::move(deferred_data_);
            entry.system = std::move(deferred_system_);
            context_->deferred_frees().push_back(std::move(entry));
        }
        return;
    }
    pages_.rollback();
    // A commit that failed without poisoning the store (a failed read) must leave the
    // allocator as it was: the reclaimed blocks are still listed in the committed freed
    // lists, and freeing them twice, or handing them out while listed, would corrupt them.
    if (!context_->store().poisoned()) {
        for (PageNumber page : reclaimed_) {
            context_->store().restore_committed(page);
        }
    }
}

Task<Result<CommitRequest>> WriteTxn::build_request(const CommitOptions& options,
                                                     RequestKind kind) {
    finish_tables();
    RINGDB_CO_TRY(co_await flush_tables());
    const Durability frees = kind.checkpoint ? Durability::immediate
                             : kind.logged   ? Durability::none
                                             : options.durability;
    RINGDB_CO_TRY(co_await commit_system_tables(frees));
    RINGDB_CO_TRY_ASSIGN(BtreeRoot user_root, co_await user_tree_.tree().finalize());
    RINGDB_CO_TRY_ASSIGN(BtreeRoot system_root, co_await system_tree_.tree().finalize());
    CommitRequest request;
    request.transaction_id = id_;
    request.user_root = user_root;
    request.system_root = system_root;
    request.dirty_pages = pages_.take_dirty();
    request.durability = options.durability;
    request.two_phase = options.two_phase;
    request.save_allocator_state = options.quick_repair;
    request.shrink = options.shrink;
    request.defer_sync = options.defer_sync;
    request.clock_high_water = context_->clock_high_water();
    request.logged = kind.logged;
    request.checkpoint = kind.checkpoint;
    if (kind.logged) {
        request.log_payload = log_.finish(id_, request.clock_high_water);
    }
    co_return request;
}

Task<Status> WriteTxn::commit(CommitOptions options) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    if (persistent_savepoints_modified() || options.quick_repair) {
        options.durability = Durability::immediate;
    }
    // Either one log record (the pages stay in memory, as for a non-durable commit), or a
    // checkpoint: the pages are written and the slot names them (docs/design.md section 10).
    // Without a log (DatabaseOptions::log_size 0) a non-durable commit stays one.
    RINGDB_ASSERT(!options.hold || options.durability == Durability::none);
    PageStore& store = context_->store();
    // Blocks that earlier logged commits replaced and that no reader sees any more are freed
    // first: they are garbage, and must not count as held pages below (a checkpoint or a wait
    // for one is due when the pages held for the next checkpoint reach checkpoint_bytes).
    Status prepared = reclaim_deferred();
    if (prepared && !options.hold) {
        // A full log, or too many held pages, wait for the background checkpoint if one
        // runs; its failure poisons the store, which the store's commit below reports.
        (void)co_await store.make_room(log_.size() + kRecordPayloadHeader);
    }
    // A table whose sampler is ready gets its dictionary now; that makes this commit a
    // checkpoint. A failure to store one fails the commit below.
    if (prepared) {
        prepared = co_await create_dictionaries();
    }
    const bool logged = !options.hold && commits_logged(options);
    // A due checkpoint is started by the next logged commit, non-durable ones included: the
    // pages of logged commits stay in memory until a checkpoint writes them, so a stream of
    // non-durable commits must not hold them (and the blocks they replaced) without bound.
    // That commit records its frees as a durable commit does (the checkpoint's allocator
    // state must not leak the blocks that wait for readers).
    const bool checkpoint = logged && store.checkpoint_due();
    if (!logged && !options.hold &&
        (options.durability == Durability::immediate || store.log_capacity() != 0)) {
        options.quick_repair = true;
        options.durability = Durability::immediate;
    }
    // Whatever happens now, the transaction is over; a failure leaves the database poisoned
    // or unchanged (nothing reaches the header unless every step succeeded).
    state_ = State::committed;
    RequestKind kind;
    kind.logged = logged;
    kind.checkpoint = checkpoint;
    Status status = prepared;
    if (status) {
        auto request = co_await build_request(options, kind);
        if (!request) {
            status = request.error();
        } else {
            status = co_await store.commit(std::move(*request));
        }
    }
    if (!status) {
        Error reported = co_await store.report_failure(status.error());
        status = reported;
    }
    tables_.clear();
    settle_commit(status);
    reclaimed_.clear();
    end_savepoint_changes(static_cast<bool>(status));
    finish();
    co_return status;
}

}  // namespace ringdb::engine
