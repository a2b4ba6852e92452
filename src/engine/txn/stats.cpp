// WriteTxn::stats (docs/api.md, "Statistics").

#include <algorithm>

#include "engine/btree/tree_stats.hpp"
#include "engine/table/key_order.hpp"
#include "engine/table/table_tree.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

/// Adds the pages and bytes of a table tree or system table: all of it is metadata.
void add_as_metadata(DatabaseStats& total, const TableStats& tree) {
    total.metadata_bytes += tree.stored_bytes + tree.metadata_bytes;
    total.fragmented_bytes += tree.fragmented_bytes;
}

}  // namespace

Task<Result<DatabaseStats>> WriteTxn::stats() {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    DatabaseStats total;
    total.page_size = pages_.page_size();
    total.allocated_pages = context_->store().allocated_pages();
    total.free_pages = context_->store().free_pages();
    total.fragmented_bytes = total.free_pages * total.page_size;

    RINGDB_CO_TRY_ASSIGN(TableStats master,
                         co_await tree_stats(pages_, user_tree_.tree().root()));
    total.branch_pages += master.leaf_pages + master.branch_pages;
    add_as_metadata(total, master);
    std::uint32_t tallest = 0;
    RINGDB_CO_TRY_ASSIGN(auto tables, co_await collect_tables(user_tree_.tree()));
    for (auto& [name, stored] : tables) {
        // A table opened in this transaction has a newer root than the table tree records.
        auto open = tables_.find(name);
        BtreeRoot root = open != tables_.end() ? open->second->tree.root() : stored.root;
        RINGDB_CO_TRY_ASSIGN(TableStats table, co_await tree_stats(pages_, root));
        tallest = std::max(tallest, table.tree_height);
        total.leaf_pages += table.leaf_pages;
        total.branch_pages += table.branch_pages;
        total.stored_bytes += table.stored_bytes;
        total.metadata_bytes += table.metadata_bytes;
        total.fragmented_bytes += table.fragmented_bytes;
    }
    total.tree_height = master.tree_height + tallest;

    RINGDB_CO_TRY_ASSIGN(TableStats system,
                         co_await tree_stats(pages_, system_tree_.tree().root()));
    add_as_metadata(total, system);
    RINGDB_CO_TRY_ASSIGN(auto system_tables, co_await collect_tables(system_tree_.tree()));
    for (auto& [name, stored] : system_tables) {
        RINGDB_CO_TRY_ASSIGN(TableStats table, co_await tree_stats(pages_, stored.root));
        add_as_metadata(total, table);
    }
    co_return total;
}

}  // namespace ringdb::engine
