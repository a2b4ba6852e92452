// Btree::relocate: moves pages towards the start of the file (compaction).
//
// The walk is post-order: children are relocated before their parent, and a parent whose child
// moved is rewritten (in place if this transaction already owns it, else copied), so the usual
// invariant holds afterwards: every ancestor of a dirty page is dirty, and finalize() computes
// the checksums. Leaves are recognised by depth (the depth of the leftmost leaf) and read only
// when they move.

#include <cstring>
#include <functional>
#include <vector>

#include "engine/btree/btree.hpp"
#include "util/endian.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

class Relocator {
public:
    Relocator(TreePages& pages, const std::function<bool(PageNumber)>& should_move,
              std::uint32_t leaf_depth) noexcept
        : pages_(pages), should_move_(should_move), leaf_depth_(leaf_depth) {}

    std::uint64_t moved() const noexcept { return moved_; }

    /// Relocates the subtree rooted at `page`; returns the page its parent must reference.
    /// `expected`: the checksum the parent holds for `page` (check_page): a damaged page is
    /// reported, never copied under a fresh checksum.
    Task<Result<PageNumber>> visit(PageNumber page, util::Checksum128 expected,
                                   std::uint32_t depth) {
        if (depth > leaf_depth_ || depth >= kMaxDepth) {
            co_return Error{Errc::corrupted, 0, page.raw()};
        }
        if (depth == leaf_depth_) {
            if (!should_move_(page)) {
                co_return page;
            }
            ReadPage read{pages_, page};
            RINGDB_CO_TRY_ASSIGN(PageRef ref, co_await read);
            RINGDB_CO_TRY(check_page(*ref, expected, page));
            if (page_type(ref->bytes()) != kLeafType) {
                co_return Error{Errc::corrupted, 0, page.raw()};
            }
            RINGDB_CO_TRY_ASSIGN(PageNumber target, copy_lower(page, ref, {}));
            co_return target;
        }
        std::vector<std::pair<PageNumber, util::Checksum128>> children;
        {
            ReadPage read{pages_, page};
            RINGDB_CO_TRY_ASSIGN(PageRef ref, co_await read);
            RINGDB_CO_TRY(check_page(*ref, expected, page));
            RINGDB_CO_TRY_ASSIGN(BranchView branch, parse_branch(pages_, *ref, page));
            children.reserve(branch.child_count());
            for (std::uint32_t i = 0; i < branch.child_count(); ++i) {
                children.emplace_back(branch.child(i), branch.child_checksum(i));
            }
        }
        std::vector<std::pair<std::uint32_t, PageNumber>> changes;
        for (std::uint32_t i = 0; i < children.size(); ++i) {
            auto relocated = co_await visit(children[i].first, children[i].second, depth + 1);
            if (!relocated) {
                co_return relocated.error();
            }
            if (*relocated != children[i].first) {
                changes.emplace_back(i, *relocated);
            }
        }
        const bool move_self = should_move_(page);
        if (changes.empty() && !move_self) {
            co_return page;
        }
        if (!move_self && pages_.is_dirty(page)) {
            MutPageRef buffer = pages_.writable(page);
            if (buffer == nullptr) {
                co_return Error{Errc::corrupted, 0, page.raw()};
            }
            RINGDB_CO_TRY(patch(buffer, page, changes));
            co_return page;
        }
        ReadPage read{pages_, page};
        RINGDB_CO_TRY_ASSIGN(PageRef ref, co_await read);
        RINGDB_CO_TRY(check_page(*ref, expected, page));  // a new buffer if it was evicted
        RINGDB_CO_TRY_ASSIGN(PageNumber target, copy_lower(page, ref, changes));
        co_return target;
    }

private:
    using Changes = std::vector<std::pair<std::uint32_t, PageNumber>>;

    /// Points the children listed in `changes` at their new blocks (checksums are placeholders
    /// until finalize()).
    Status patch(const MutPageRef& buffer, PageNumber page, const Changes& changes) {
        RINGDB_TRY_ASSIGN(BranchView branch, BranchView::parse(buffer->bytes(), page));
        for (const auto& [index, child] : changes) {
            util::store_le64(buffer->data() + branch.child_offset(index), child.raw());
            std::memset(buffer->data() + branch.checksum_offset(index), 0, 16);
        }
        return ok();
    }

    /// Copies `page` into a newly allocated block when that block lies lower, or whenever
    /// children changed (the parent must be rewritten anyway). Returns the page to reference.
    Result<PageNumber> copy_lower(PageNumber page, const PageRef& ref, const Changes& changes) {
        RINGDB_TRY_ASSIGN(auto allocated, pages_.allocate(ref->size()));
        auto& [target, buffer] = allocated;
        if (target.index() >= page.index() && changes.empty()) {
            pages_.free(target);
            return page;
        }
        std::memcpy(buffer->data(), ref->data(), ref->size());
        if (!changes.empty()) {
            RINGDB_TRY(patch(buffer, target, changes));
        }
        pages_.free(page);
        if (target.index() < page.index()) {
            ++moved_;
        }
        return target;
    }

    TreePages& pages_;
    const std::function<bool(PageNumber)>& should_move_;
    std::uint32_t leaf_depth_;
    std::uint64_t moved_ = 0;
};

/// Depth of the leftmost leaf (0 when the root is a leaf).
Task<Result<std::uint32_t>> leaf_depth_of(TreePages& pages, BtreeRoot root) {
    PageNumber page = root.page;
    util::Checksum128 expected = root.checksum;
    for (std::uint32_t depth = 0; depth < kMaxDepth; ++depth) {
        ReadPage read{pages, page};
        RINGDB_CO_TRY_ASSIGN(PageRef ref, co_await read);
        RINGDB_CO_TRY(check_page(*ref, expected, page));
        if (page_type(ref->bytes()) == kLeafType) {
            co_return depth;
        }
        RINGDB_CO_TRY_ASSIGN(BranchView branch, parse_branch(pages, *ref, page));
        page = branch.child(0);
        expected = branch.child_checksum(0);
    }
    co_return Error{Errc::corrupted, 0, root.page.raw()};
}

}  // namespace

Task<Result<std::uint64_t>> Btree::relocate(const std::function<bool(PageNumber)>& should_move) {
    if (root_.page.is_null()) {
        co_return std::uint64_t{0};
    }
    RINGDB_CO_TRY_ASSIGN(std::uint32_t leaf_depth, co_await leaf_depth_of(pages_, root_));
    Relocator relocator(pages_, should_move, leaf_depth);
    auto root = co_await relocator.visit(root_.page, root_.checksum, 0);
    if (!root) {
        co_return root.error();
    }
    if (*root != root_.page) {
        root_.page = *root;
        root_.checksum = {};
    }
    generation_ += 1;
    co_return relocator.moved();
}

}  // namespace ringdb::engine
