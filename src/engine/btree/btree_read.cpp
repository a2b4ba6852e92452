// Btree lookups (get, first, last), finalize (bottom-up checksums) and free_all.
//
// Lookups hold one PageRef at a time and hand the leaf's ref to the returned guard, so the
// bytes they return stay valid however the tree changes afterwards. Every page access is a
// ReadPage awaitable: a cached or dirty page costs no coroutine frame.

#include <array>
#include <functional>

#include "engine/btree/btree.hpp"
#include "engine/btree/verify.hpp"
#include "util/assert.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

enum class Edge { first, last };

/// Descends along the first or last child to a leaf and returns its first or last entry.
Task<Result<std::optional<EntryRef>>> edge_entry(TreePages& pages, BtreeRoot root, Edge edge) {
    PageNumber page = root.page;
    if (page.is_null()) {
        co_return std::optional<EntryRef>{};
    }
    util::Checksum128 expected = root.checksum;
    for (std::uint32_t depth = 0; depth < kMaxDepth; ++depth) {
        ReadPage read{pages, page};
        Result<PageRef> loaded = co_await read;
        if (!loaded) {
            co_return loaded.error();
        }
        PageRef ref = std::move(*loaded);
        RINGDB_CO_TRY(check_page(*ref, expected, page));
        if (page_type(ref->bytes()) == kLeafType) {
            RINGDB_CO_TRY_ASSIGN(LeafView leaf, parse_leaf(pages, *ref, page));
            std::uint32_t i = edge == Edge::first ? 0 : leaf.count() - 1;
            EntryRef entry{std::move(ref), leaf.key(i), leaf.value(i)};
            co_return std::optional<EntryRef>{std::move(entry)};
        }
        RINGDB_CO_TRY_ASSIGN(BranchView branch, parse_branch(pages, *ref, page));
        const std::uint32_t child = edge == Edge::first ? 0 : branch.key_count();
        page = branch.child(child);
        expected = branch.child_checksum(child);
    }
    co_return Error{Errc::corrupted, 0, page.raw()};
}

}  // namespace

std::optional<Result<std::optional<ValueRef>>> Btree::try_get(
        std::span<const std::byte> key) const {
    using Found = Result<std::optional<ValueRef>>;
    PageNumber page = root_.page;
    if (page.is_null()) {
        return Found{std::optional<ValueRef>{}};
    }
    for (std::uint32_t depth = 0; depth < kMaxDepth; ++depth) {
        PageRef holder;
        // Valid until the next page access: only parse and search happen in between.
        const PageRef* ref = pages_.try_borrow(page, holder);
        // A page still to be checked against its parent's checksum: get() walks again and
        // checks it (this walk carries no checksums, to stay as cheap as before the check).
        if (ref == nullptr || (*ref)->needs_check()) {
            return std::nullopt;
        }
        const PageBuffer& buffer = **ref;
        if (page_type(buffer.bytes()) == kLeafType) {
            Result<LeafView> leaf = parse_leaf(pages_, buffer, page);
            if (!leaf) {
                return Found{leaf.error()};
            }
            LeafView::Search at = leaf->search(key, compare_);
            if (!at.found) {
                return Found{std::optional<ValueRef>{}};
            }
            PageRef keep = ref == &holder ? std::move(holder) : *ref;
            return Found{std::optional<ValueRef>{ValueRef{std::move(keep), leaf->value(at.index)}}};
        }
        Result<BranchView> branch = parse_branch(pages_, buffer, page);
        if (!branch) {
            return Found{branch.error()};
        }
        page = branch->child(branch->find_child(key, compare_));
    }
    return Found{Error{Errc::corrupted, 0, page.raw()}};
}

Task<Result<std::optional<ValueRef>>> Btree::get(std::span<const std::byte> key) const {
    std::optional<Result<std::optional<ValueRef>>> cached = try_get(key);
    if (cached) {
        co_return std::move(*cached);
    }
    // Some page on the path needs a device read: walk again, awaiting misses.
    PageNumber page = root_.page;
    util::Checksum128 expected = root_.checksum;
    for (std::uint32_t depth = 0; depth < kMaxDepth; ++depth) {
        ReadPage read{pages_, page};
        Result<PageRef> loaded = co_await read;
        if (!loaded) {
            co_return loaded.error();
        }
        PageRef ref = std::move(*loaded);
        RINGDB_CO_TRY(check_page(*ref, expected, page));
        if (page_type(ref->bytes()) == kLeafType) {
            RINGDB_CO_TRY_ASSIGN(LeafView leaf, parse_leaf(pages_, *ref, page));
            LeafView::Search at = leaf.search(key, compare_);
            if (!at.found) {
                co_return std::optional<ValueRef>{};
            }
            ValueRef value{std::move(ref), leaf.value(at.index)};
            co_return std::optional<ValueRef>{std::move(value)};
        }
        RINGDB_CO_TRY_ASSIGN(BranchView branch, parse_branch(pages_, *ref, page));
        const std::uint32_t child = branch.find_child(key, compare_);
        page = branch.child(child);
        expected = branch.child_checksum(child);
    }
    co_return Error{Errc::corrupted, 0, page.raw()};
}

Task<Result<std::optional<EntryRef>>> Btree::first() const {
    Result<std::optional<EntryRef>> entry = co_await edge_entry(pages_, root_, Edge::first);
    co_return entry;
}

Task<Result<std::optional<EntryRef>>> Btree::last() const {
    Result<std::optional<EntryRef>> entry = co_await edge_entry(pages_, root_, Edge::last);
    co_return entry;
}

namespace {

/// A dirty branch whose children's checksums finalize is filling in.
struct FinalizeFrame {
    PageNumber page;
    MutPageRef buffer;
    std::uint32_t children = 0;
    std::uint32_t next = 0;  // next child to examine
    std::uint32_t used = 0;
};

/// Advances `top` to its next dirty child; null when all children are done.
PageNumber next_dirty_child(TreePages& pages, FinalizeFrame& top) {
    const std::uint32_t children_offset = kBranchHeaderSize + 16 * top.children;
    while (top.next < top.children) {
        std::uint32_t i = top.next++;
        PageNumber child =
                PageNumber::from_raw(util::load_le64(top.buffer->data() + children_offset + 8 * i));
        if (pages.is_dirty(child)) {
            return child;
        }
    }
    return PageNumber{};
}

}  // namespace

Task<Result<BtreeRoot>> Btree::finalize() {
    if (root_.page.is_null()) {
        root_.checksum = {};
        co_return root_;
    }
    if (!pages_.is_dirty(root_.page)) {
        co_return root_;
    }
    // Iterative post-order walk over dirty pages only: a committed child's stored checksum is
    // already right, and every ancestor of a dirty page is dirty.
    std::array<FinalizeFrame, kMaxDepth> stack;
    std::uint32_t depth = 0;
    PageNumber enter = root_.page;
    while (true) {
        std::optional<util::Checksum128> done;
        if (!enter.is_null()) {
            ReadPage read{pages_, enter};
            Result<PageRef> loaded = co_await read;
            if (!loaded) {
                co_return loaded.error();
            }
            PageRef ref = std::move(*loaded);
            if (page_type(ref->bytes()) == kLeafType) {
                RINGDB_CO_TRY_ASSIGN(LeafView leaf, parse_leaf(pages_, *ref, enter));
                done = util::xxh3_128(ref->bytes().first(leaf.used_length()));
            } else {
                RINGDB_CO_TRY_ASSIGN(BranchView branch, parse_branch(pages_, *ref, enter));
                if (depth >= kMaxDepth) {
                    co_return Error{Errc::corrupted, 0, enter.raw()};
                }
                FinalizeFrame frame{enter, nullptr, branch.child_count(), 0, branch.used_length()};
                ref.reset();
                frame.buffer = pages_.writable(enter);
                RINGDB_ASSERT_CTX(frame.buffer != nullptr, "dirty branch not writable",
                                  enter.raw());
                stack[depth++] = std::move(frame);
            }
            enter = PageNumber{};
        } else {
            FinalizeFrame& top = stack[depth - 1];
            enter = next_dirty_child(pages_, top);
            if (enter.is_null()) {
                done = util::xxh3_128(top.buffer->bytes().first(top.used));
                top.buffer.reset();
                --depth;
            }
        }
        if (done) {
            if (depth == 0) {
                root_.checksum = *done;
                co_return root_;
            }
            FinalizeFrame& parent = stack[depth - 1];
            util::store_checksum(parent.buffer->data() + kBranchHeaderSize + 16 * (parent.next - 1),
                                 *done);
        }
    }
}

Task<Status> Btree::free_all() {
    TreePages* pages = &pages_;
    std::function<void(PageNumber)> free_page = [pages](PageNumber page) { pages->free(page); };
    Status status = co_await visit_pages(pages_, root_, free_page);
    root_ = BtreeRoot{};
    generation_ += 1;
    co_return status;
}

}  // namespace ringdb::engine
