// Relocation for compaction (db/compaction.cpp drives the rounds): a write transaction moves
// every page lying past a given end of the file into lower free blocks, in every user and
// system table and in both table trees.

#include <functional>

#include "engine/txn/write_txn.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

/// Relocates the tables of `tables` and then the table tree itself.
Task<Result<std::uint64_t>> relocate_table_tree(TreePages& pages, TableTree& tables,
                                                const std::function<bool(PageNumber)>& move) {
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await collect_tables(tables.tree()));
    std::uint64_t moved = 0;
    for (auto& [name, table] : stored) {
        Btree tree(pages, &compare_bytes, table.root);
        RINGDB_CO_TRY_ASSIGN(std::uint64_t count, co_await tree.relocate(move));
        if (count == 0 && !pages.is_dirty(tree.root().page)) {
            continue;
        }
        moved += count;
        RINGDB_CO_TRY_ASSIGN(table.root, co_await tree.finalize());
        RINGDB_CO_TRY(co_await tables.put(name, table));
    }
    RINGDB_CO_TRY_ASSIGN(std::uint64_t own, co_await tables.tree().relocate(move));
    co_return moved + own;
}

}  // namespace

Task<Result<std::uint64_t>> WriteTxn::relocate_pages(std::uint64_t packed_end) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    if (!tables_.empty()) {
        co_return Error{Errc::table_already_open};
    }
    // Moved pages are not operations: the commit is a checkpoint.
    require_checkpoint();
    std::function<bool(PageNumber)> move = [packed_end](PageNumber page) {
        return page.index() + page.pages() > packed_end;
    };
    RINGDB_CO_TRY_ASSIGN(std::uint64_t user,
                         co_await relocate_table_tree(pages_, user_tree_, move));
    RINGDB_CO_TRY_ASSIGN(std::uint64_t system,
                         co_await relocate_table_tree(pages_, system_tree_, move));
    co_return user + system;
}

}  // namespace ringdb::engine
