// Split keys of a tree (see split_keys.hpp).

#include "engine/btree/split_keys.hpp"

#include "engine/btree/page_layout.hpp"
#include "engine/btree/tree_pages.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

// `wanted` keys spread evenly over `keys` (all of them when there are not more).
std::vector<Bytes> pick_evenly(const std::vector<Bytes>& keys, std::size_t wanted) {
    if (keys.size() <= wanted) {
        return keys;
    }
    std::vector<Bytes> cuts;
    const std::size_t parts = wanted + 1;
    for (std::size_t j = 1; j < parts; ++j) {
        // The j-th of `parts` equal shares of the keys.size() + 1 children ends here.
        cuts.push_back(keys[j * (keys.size() + 1) / parts - 1]);
    }
    return cuts;
}

}  // namespace

Task<Result<std::vector<Bytes>>> split_keys(const Btree& tree, std::size_t parts) {
    constexpr std::size_t kMaxLevels = 4;
    constexpr std::size_t kMaxBranches = 4096;
    std::vector<Bytes> keys;
    if (parts < 2 || tree.root().page.is_null()) {
        co_return keys;
    }
    std::vector<std::pair<PageNumber, util::Checksum128>> level{
            {tree.root().page, tree.root().checksum}};
    for (std::size_t depth = 0; depth < kMaxLevels && level.size() <= kMaxBranches; ++depth) {
        // The separators inside this level's branches, in key order (those between two
        // branches sit in their parent and are left out: any ascending keys will do).
        std::vector<Bytes> level_keys;
        std::vector<std::pair<PageNumber, util::Checksum128>> children;
        for (const auto& at : level) {
            const PageNumber page = at.first;
            ReadPage read{tree.pages(), page};
            Result<PageRef> loaded = co_await read;
            if (!loaded) {
                co_return loaded.error();
            }
            RINGDB_CO_TRY(check_page(**loaded, at.second, page));
            if (page_type((*loaded)->bytes()) != kBranchType) {
                co_return pick_evenly(keys, parts - 1);  // leaves: the level above is all
            }
            Result<BranchView> branch = parse_branch(tree.pages(), **loaded, page);
            if (!branch) {
                co_return branch.error();
            }
            for (std::uint32_t i = 0; i < branch->child_count(); ++i) {
                if (i > 0) {
                    auto key = branch->key(i - 1);
                    level_keys.emplace_back(key.begin(), key.end());
                }
                children.emplace_back(branch->child(i), branch->child_checksum(i));
            }
        }
        keys = std::move(level_keys);
        level = std::move(children);
        if (keys.size() + 1 >= parts) {
            break;
        }
    }
    co_return pick_evenly(keys, parts - 1);
}

}  // namespace ringdb::engine
