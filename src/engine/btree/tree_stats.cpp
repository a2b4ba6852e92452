#include "engine/btree/tree_stats.hpp"

#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/btree/page_layout.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

Task<Result<TableStats>> tree_stats(TreePages& pages, BtreeRoot root) {
    TableStats stats;
    if (root.page.is_null()) {
        co_return stats;
    }
    // Depth-first with an explicit stack of (page, depth, the checksum its parent holds);
    // every leaf must lie at the depth of the first one found.
    struct Pending {
        PageNumber page;
        std::uint32_t depth;
        util::Checksum128 expected;
    };
    std::vector<Pending> stack{{root.page, 1, root.checksum}};
    std::unordered_set<std::uint64_t> seen;  // a damaged tree may reference a page twice
    std::uint32_t leaf_depth = 0;
    while (!stack.empty()) {
        const PageNumber page = stack.back().page;
        const std::uint32_t depth = stack.back().depth;
        const util::Checksum128 expected = stack.back().expected;
        stack.pop_back();
        if (depth > kMaxDepth || !seen.insert(page.raw()).second) {
            co_return Error{Errc::corrupted, 0, page.raw()};
        }
        ReadPage read{pages, page};
        RINGDB_CO_TRY_ASSIGN(PageRef ref, co_await read);
        RINGDB_CO_TRY(check_page(*ref, expected, page));
        const std::uint64_t block = ref->size();
        if (page_type(ref->bytes()) == kLeafType) {
            RINGDB_CO_TRY_ASSIGN(LeafView leaf, parse_leaf(pages, *ref, page));
            if (leaf_depth == 0) {
                leaf_depth = depth;
            } else if (depth != leaf_depth) {
                co_return Error{Errc::corrupted, 0, page.raw()};
            }
            std::uint64_t payload = 0;
            for (std::uint32_t i = 0; i < leaf.count(); ++i) {
                payload += leaf.key(i).size() + leaf.value(i).size();
            }
            stats.leaf_pages += page.pages();
            stats.stored_bytes += payload;
            stats.metadata_bytes += leaf.used_length() - payload;
            stats.fragmented_bytes += block - leaf.used_length();
            continue;
        }
        RINGDB_CO_TRY_ASSIGN(BranchView branch, parse_branch(pages, *ref, page));
        stats.branch_pages += page.pages();
        stats.metadata_bytes += branch.used_length();
        stats.fragmented_bytes += block - branch.used_length();
        for (std::uint32_t i = branch.child_count(); i > 0; --i) {
            stack.push_back(Pending{branch.child(i - 1), depth + 1, branch.child_checksum(i - 1)});
        }
    }
    stats.tree_height = leaf_depth;
    co_return stats;
}

}  // namespace ringdb::engine
