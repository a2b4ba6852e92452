// Recovery at open (docs/design.md section 9): choosing the commit slot to trust after an
// unclean shutdown, and rebuilding the allocator by walking every tree (full repair).

#include <functional>

#include "engine/btree/cursor.hpp"
#include "engine/btree/verify.hpp"
#include "engine/log/log_record.hpp"
#include "engine/db/database_core.hpp"
#include "engine/table/key_order.hpp"
#include "engine/table/multimap.hpp"
#include "engine/table/table_tree.hpp"
#include "engine/txn/system_tables.hpp"
#include "engine/txn/txn_pages.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/endian.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

// Calls `visit` with every table stored in a table tree.
Task<Status> for_each_table(const Btree& tree,
                            const std::function<Task<Status>(const StoredTable&)>& visit) {
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= tree.length(); ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            co_return ok();
        }
        std::string name(entry->key.size(), '\0');
        std::memcpy(name.data(), entry->key.data(), entry->key.size());
        RINGDB_CO_TRY_ASSIGN(StoredTable table, StoredTable::decode(name, entry->value));
        RINGDB_CO_TRY(co_await visit(table));
    }
    co_return Error{Errc::corrupted};
}

Task<Result<bool>> tree_verifies(TreePages& pages, KeyCompare compare, BtreeRoot root) {
    auto report = co_await verify_tree(pages, compare, root);
    if (!report) {
        if (report.error().code == Errc::corrupted) {
            co_return false;
        }
        co_return report.error();
    }
    co_return report->ok();
}

struct VerifyAll {
    TreePages* pages;
    bool all_ok = true;
    KeyCompare value_order = nullptr;  // of the multimap whose subtrees are being verified

    // One multimap subtree (through for_each_subtree).
    Task<Status> subtree(const BtreeRoot& root) {
        auto verified = co_await tree_verifies(*pages, value_order, root);
        if (!verified) {
            co_return verified.error();
        }
        all_ok = all_ok && *verified;
        co_return ok();
    }

    Task<Status> operator()(const StoredTable& table) {
        auto verified = co_await tree_verifies(*pages, key_order_for(table.schema.key_type),
                                               table.root);
        if (!verified) {
            co_return verified.error();
        }
        all_ok = all_ok && *verified;
        if (*verified && table.schema.kind == TableKind::multimap) {
            value_order = key_order_for(table.schema.value_type);
            SubtreeVisitor visit = [this](const BtreeRoot& root) { return subtree(root); };
            Status walked = co_await for_each_subtree(*pages, table.root, visit);
            if (!walked) {
                if (walked.error().code != Errc::corrupted) {
                    co_return walked.error();
                }
                all_ok = false;
            }
        }
        co_return ok();
    }
};

struct MarkAll {
    TreePages* pages;
    BuddyAllocator* allocator;

    Task<Status> mark_tree(const BtreeRoot& root) {
        Status first_error = ok();
        std::function<void(PageNumber)> mark = [this, &first_error](PageNumber page) {
            Status s = allocator->mark_allocated(page);
            if (!s && first_error) {
                first_error = s;
            }
        };
        RINGDB_CO_TRY(co_await visit_pages(*pages, root, mark));
        co_return first_error;
    }

    Task<Status> subtree(const BtreeRoot& root) {
        auto marked = co_await mark_tree(root);
        co_return marked;
    }

    Task<Status> operator()(const StoredTable& table) {
        RINGDB_CO_TRY(co_await mark_tree(table.root));
        if (table.schema.kind == TableKind::multimap) {
            // Subtree pages are reachable too; leaving them unmarked would hand them out again.
            SubtreeVisitor visit = [this](const BtreeRoot& root) { return subtree(root); };
            Status walked = co_await for_each_subtree(*pages, table.root, visit);
            co_return walked;
        }
        co_return ok();
    }
};

}  // namespace

Task<Result<bool>> DatabaseCore::slot_verifies() {
    const CommitSlot slot = store().disk_header().primary();
    SnapshotPages pages(store());
    for (const BtreeRoot* tree : {&slot.user_root, &slot.system_root}) {
        RINGDB_CO_TRY_ASSIGN(bool tree_ok, co_await tree_verifies(pages, &compare_bytes, *tree));
        if (!tree_ok) {
            co_return false;
        }
        VerifyAll verify{&pages};
        std::function<Task<Status>(const StoredTable&)> visit = std::ref(verify);
        TableTree tables(pages, *tree);
        Status walked = co_await for_each_table(tables.tree(), visit);
        if (!walked) {
            if (walked.error().code == Errc::corrupted) {
                co_return false;
            }
            co_return walked.error();
        }
        if (!verify.all_ok) {
            co_return false;
        }
    }
    co_return true;
}

Task<Status> DatabaseCore::recover() {
    // What the disk holds decides, not what the kernel's page cache shows: after a failed
    // sync Linux may keep the failed pages cached and marked clean, and a commit built on
    // them would be lost at the next power failure (docs/design.md section 9).
    if (options_.repair_callback && !options_.repair_callback(0.0)) {
        co_return Error{Errc::repair_aborted};
    }
    store().set_uncached_reads(true);
    Status recovered = co_await recover_slot();
    store().set_uncached_reads(false);
    co_return recovered;
}

Task<Status> DatabaseCore::recover_slot() {
    const DatabaseHeader header = store().disk_header();
    if (header.two_phase()) {
        // A two-phase primary was synced before it became primary: trust it without a walk.
        if (!header.slot_valid[header.primary_index()]) {
            co_return Error{Errc::corrupted};
        }
    } else {
        bool primary_ok = header.slot_valid[header.primary_index()];
        if (primary_ok) {
            RINGDB_CO_TRY_ASSIGN(primary_ok, co_await slot_verifies());
        }
        if (!primary_ok) {
            if (options_.repair_callback && !options_.repair_callback(0.3)) {
                co_return Error{Errc::repair_aborted};
            }
            RINGDB_CO_TRY(store().use_secondary_slot());
            RINGDB_CO_TRY_ASSIGN(bool secondary_ok, co_await slot_verifies());
            if (!secondary_ok) {
                co_return Error{Errc::corrupted};
            }
        }
    }
    RINGDB_CO_TRY_ASSIGN(bool loaded, co_await store().load_saved_allocator());
    if (!loaded) {
        RINGDB_CO_TRY(co_await full_repair());
    }
    checkpoint_trusted_ = header.two_phase() && loaded;
    co_return ok();
}

Task<Status> DatabaseCore::replay_log() {
    if (store().disk_header().primary().log_pages == 0) {
        co_return ok();  // no log: the last checkpoint is the last commit
    }
    RINGDB_CO_TRY_ASSIGN(auto payloads, co_await store().read_log());
    std::vector<DecodedRecord> records;
    records.reserve(payloads.size());
    std::uint64_t clock = context_.clock_high_water();
    std::uint64_t last_id = store().current().transaction_id;
    for (const auto& payload : payloads) {
        RINGDB_CO_TRY_ASSIGN(DecodedRecord record, decode_record(payload));
        clock = std::max(clock, record.clock_high_water);
        last_id = std::max(last_id, record.transaction_id);
        records.push_back(std::move(record));
    }
    context_.set_clock_high_water(clock);
    // Transaction ids continue after the replayed ones.
    context_.set_next_transaction_id(last_id + 1);
    // One transaction applies every record. Then either the records are written again at the
    // log's fresh lap and the slot names them (its checkpoint unchanged; the pages stay held
    // like those of any logged commit), so that recovery writes about as much as the log
    // holds whatever the file's size; or, when the slot was repaired or the records do not
    // fit beside themselves, the transaction commits as a checkpoint, which names the fresh
    // lap. Nothing else is appended to the log before either is durable.
    const bool relog = checkpoint_trusted_ && store().relog_fits(payloads);
    RINGDB_CO_TRY_ASSIGN(auto txn, co_await WriteTxn::begin(transactions()));
    txn->set_replaying();
    co_await txn->prefetch_for_replay(records);
    for (std::size_t i = 0; i < records.size(); ++i) {
        // Progress after slot choice and allocator repair (which report up to 0.9).
        const double progress = 0.9 + 0.09 * static_cast<double>(i) /
                                              static_cast<double>(records.size());
        if (options_.repair_callback && !options_.repair_callback(progress)) {
            co_return Error{Errc::repair_aborted};
        }
        RINGDB_CO_TRY(co_await txn->apply_logged(records[i]));
    }
    CommitOptions options;
    if (relog) {
        options.durability = Durability::none;
        options.hold = true;
    } else {
        options.quick_repair = true;
    }
    RINGDB_CO_TRY(co_await txn->commit(options));
    if (relog) {
        RINGDB_CO_TRY(co_await store().relog(payloads));
    }
    co_return ok();
}

Task<Status> DatabaseCore::full_repair() {
    auto report = [this](double progress) {
        return !options_.repair_callback || options_.repair_callback(progress);
    };
    if (!report(0.0)) {
        co_return Error{Errc::repair_aborted};
    }
    RINGDB_CO_TRY_ASSIGN(BuddyAllocator allocator, co_await rebuild_allocator());
    if (!report(0.9)) {
        co_return Error{Errc::repair_aborted};
    }
    store().install_allocator(std::move(allocator));
    co_return ok();
}

Task<Result<BuddyAllocator>> DatabaseCore::rebuild_allocator() {
    const CommitSlot slot = store().disk_header().primary();
    SnapshotPages pages(store());
    RINGDB_CO_TRY_ASSIGN(BuddyAllocator allocator, store().empty_allocator());
    MarkAll mark{&pages, &allocator};
    std::function<Task<Status>(const StoredTable&)> visit = std::ref(mark);
    if (!slot.allocator_state.is_null() && slot.allocator_state_txn == slot.transaction_id &&
        slot.allocator_state.is_valid() &&
        slot.allocator_state.index() + slot.allocator_state.pages() <= slot.layout_pages) {
        // The saved allocator state's block stays allocated until the next checkpoint frees
        // it (install_allocator hands it over). Damaged, it is still not data.
        (void)allocator.mark_allocated(slot.allocator_state);
    }
    if (slot.log_pages != 0) {
        // The commit log's pages are allocated for good.
        RINGDB_CO_TRY(allocator.mark_range_allocated(slot.log_first_page,
                                                     slot.log_first_page + slot.log_pages));
    }
    RINGDB_CO_TRY(co_await mark.mark_tree(slot.user_root));
    TableTree user_tables(pages, slot.user_root);
    RINGDB_CO_TRY(co_await for_each_table(user_tables.tree(), visit));
    RINGDB_CO_TRY(co_await mark.mark_tree(slot.system_root));
    TableTree system_tables(pages, slot.system_root);
    RINGDB_CO_TRY(co_await for_each_table(system_tables.tree(), visit));
    // Blocks recorded as freed are still allocated until reclaimed.
    for (std::string_view list_name : {kFreedTable, kSystemFreedTable}) {
        RINGDB_CO_TRY_ASSIGN(auto list, co_await system_tables.get(list_name));
        if (!list) {
            continue;
        }
        Btree list_tree(pages, &compare_bytes, list->root);
        Cursor cursor(list_tree, Bound::unbounded(), Bound::unbounded());
        for (std::uint64_t guard = 0; guard <= list_tree.length(); ++guard) {
            RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
            if (!entry) {
                break;
            }
            RINGDB_CO_TRY_ASSIGN(auto listed, decode_page_list(entry->value));
            for (PageNumber page : listed) {
                RINGDB_CO_TRY(allocator.mark_allocated(page));
            }
        }
    }
    co_return allocator;
}

}  // namespace ringdb::engine
