// Cursor: double-ended range iteration (see cursor.hpp for the contract).
//
// Invariants of an End:
//   - when positioned, path[0..depth) are the branches from the root to `leaf`, each with the
//     index of the child taken, and `view` parses `leaf`;
//   - last_key (when has_last) points into `leaf` if last_in_leaf, else into `last_leaf`, so
//     it stays valid for the meeting test and for re-seeking after a modification;
//   - every entry this end returned is strictly beyond every entry the other end returned.

#include "engine/btree/cursor.hpp"

#include <algorithm>
#include <cstring>

#include "util/assert.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

BoundKey::BoundKey(std::span<const std::byte> key) : size_(key.size()) {
    if (key.size() <= kInline) {
        if (!key.empty()) {
            std::memcpy(inline_.data(), key.data(), key.size());
        }
    } else {
        heap_.assign(key.begin(), key.end());
        on_heap_ = true;
    }
}

Cursor::Cursor(const Btree& tree, Bound lower, Bound upper)
        : tree_(&tree),
          compare_(tree.compare()),
          lower_kind_(lower.kind),
          upper_kind_(upper.kind),
          lower_key_(lower.key),
          upper_key_(upper.key) {
    check_bounds();
}

Cursor::Cursor(const Btree& tree, BoundKind lower_kind, std::vector<std::byte> lower_bytes,
               BoundKind upper_kind, std::vector<std::byte> upper_bytes)
        : tree_(&tree),
          compare_(tree.compare()),
          lower_kind_(lower_kind),
          upper_kind_(upper_kind),
          lower_key_(std::move(lower_bytes)),
          upper_key_(std::move(upper_bytes)) {
    check_bounds();
}

void Cursor::check_bounds() {
    if (lower_kind_ == BoundKind::unbounded) {
        lower_key_.clear();
    }
    if (upper_kind_ == BoundKind::unbounded) {
        upper_key_.clear();
    }
    if (lower_kind_ != BoundKind::unbounded && upper_kind_ != BoundKind::unbounded) {
        int c = compare_keys(compare_, lower_key(), upper_key());
        bool exclusive = lower_kind_ == BoundKind::excluded || upper_kind_ == BoundKind::excluded;
        if (c > 0 || (c == 0 && exclusive)) {
            done_ = true;
        }
    }
}

bool Cursor::in_range_for_front(std::span<const std::byte> key) const {
    if (upper_kind_ != BoundKind::unbounded) {
        int c = compare_keys(compare_, key, upper_key());
        if (c > 0 || (c == 0 && upper_kind_ == BoundKind::excluded)) {
            return false;
        }
    }
    return !back_.has_last || compare_keys(compare_, key, back_.last_key) < 0;
}

bool Cursor::in_range_for_back(std::span<const std::byte> key) const {
    if (lower_kind_ != BoundKind::unbounded) {
        int c = compare_keys(compare_, key, lower_key());
        if (c < 0 || (c == 0 && lower_kind_ == BoundKind::excluded)) {
            return false;
        }
    }
    return !front_.has_last || compare_keys(compare_, key, front_.last_key) > 0;
}

bool Cursor::try_step(bool forward, Entry& out) {
    End& end = forward ? front_ : back_;
    if (forward) {
        run_ready_ = false;
    }
    if (done_ || !end.positioned || end.generation != tree_->generation()) {
        return false;
    }
    std::uint32_t index = 0;
    if (forward) {
        if (end.position >= end.view.count()) {
            return false;
        }
        index = end.position;
    } else {
        if (end.position == 0) {
            return false;
        }
        index = end.position - 1;
    }
    std::span<const std::byte> key = end.view.key(index);
    if (end.has_last) {
        // Keys must move strictly onward: a damaged tree (a child listed twice, a branch
        // pointing back up) would otherwise repeat entries forever. Finite pages and strictly
        // ordered keys make every iteration end.
        int c = compare_keys(compare_, key, end.last_key);
        if (forward ? c <= 0 : c >= 0) {
            out_of_order_ = true;
            done_ = true;
            return false;
        }
    }
    if (!(forward ? in_range_for_front(key) : in_range_for_back(key))) {
        done_ = true;
        return false;
    }
    end.position = forward ? index + 1 : index;
    end.last_key = key;
    end.has_last = true;
    if (!end.last_in_leaf) {
        end.last_in_leaf = true;
        end.last_leaf.reset();
    }
    out = Entry{key, end.view.value(index)};
    run_ready_ = forward;
    return true;
}

Cursor::LeafRun Cursor::take_leaf_run() {
    End& end = front_;
    LeafRun run;
    if (!run_ready_ || !end.positioned || !end.last_in_leaf || end.position == 0 ||
        end.generation != tree_->generation()) {
        return run;
    }
    run_ready_ = false;
    run = LeafRun{end.view, end.position - 1, end.position};
    const std::uint32_t count = end.view.count();
    if (done_ || end.position >= count) {
        return run;
    }
    if (compare_keys(compare_, end.view.key(end.position), end.last_key) <= 0) {
        out_of_order_ = true;  // reported by the next step
        done_ = true;
        return run;
    }
    // The first index past the range: keys ascend in the leaf, so the range is a prefix.
    std::uint32_t last = count;
    if (!in_range_for_front(end.view.key(count - 1))) {
        std::uint32_t lo = end.position;
        std::uint32_t hi = count - 1;  // out of range
        while (lo < hi) {
            std::uint32_t mid = lo + (hi - lo) / 2;
            if (in_range_for_front(end.view.key(mid))) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        last = lo;
    }
    if (last > end.position) {
        end.position = last;
        end.last_key = end.view.key(last - 1);
    }
    run.last = end.position;
    return run;
}

std::optional<BranchView> Cursor::cached_branch(const Level& level, PageNumber page,
                                                PageRef& holder) {
    if (level.ref != nullptr && level.page == page) {
        return level.view;
    }
    TreePages& pages = tree_->pages();
    const PageRef* ref = pages.try_borrow(page, holder);
    if (ref == nullptr) {
        return std::nullopt;
    }
    if (ref != &holder) {
        holder = *ref;  // keep the page while its view is read
    }
    if (page_type(holder->bytes()) != kBranchType || holder->needs_check()) {
        return std::nullopt;  // readahead hints come from checked pages only
    }
    Result<BranchView> branch = parse_branch(pages, *holder, page);
    if (!branch) {
        return std::nullopt;  // the step that reaches the damage reports it
    }
    return *branch;
}

void Cursor::next_leaves(Readahead& state, std::uint32_t max, std::vector<PageNumber>& out) {
    const End& end = front_;
    if (!end.positioned || end.depth == 0 || max == 0) {
        return;
    }
    const Level& parent = end.path[end.depth - 1];
    const Level* grand = end.depth >= 2 ? &end.path[end.depth - 2] : nullptr;
    const PageNumber grand_page = grand != nullptr ? grand->page : PageNumber{};
    const std::uint32_t at = grand != nullptr ? grand->index : 0;
    // Start over at the front end's leaf unless the state lists further ahead in its tree.
    const bool behind = state.grand != grand_page || state.parent_index < at ||
                        (state.parent_index == at && state.next <= parent.index);
    if (behind) {
        // Parents already listed to be read stay listed.
        const std::uint32_t requested =
                state.grand == grand_page ? std::max(state.requested_upto, at) : at;
        state = Readahead{grand_page, at, parent.page, parent.index + 1, requested};
    }
    std::optional<BranchView> grand_view;
    PageRef grand_holder;
    const std::size_t limit = out.size() + max;
    while (out.size() < limit) {
        PageRef holder;
        std::optional<BranchView> view = cached_branch(parent, state.parent, holder);
        if (view) {
            while (state.next < view->child_count() && out.size() < limit) {
                out.push_back(view->child(state.next++));
            }
            if (state.next < view->child_count()) {
                return;
            }
        }
        // On to the next parent under the grandparent (a deeper crossing is not looked for).
        if (grand == nullptr) {
            return;
        }
        if (!grand_view) {
            grand_view = cached_branch(*grand, grand_page, grand_holder);
            if (!grand_view || grand_view->child_count() != grand->children) {
                return;
            }
        }
        if (!view) {
            // The parent is not cached: read it, and the few after it, before their leaves.
            const std::uint32_t stop = std::min(grand->children, state.parent_index + 4);
            for (std::uint32_t i = std::max(state.requested_upto + 1, state.parent_index);
                 i < stop; ++i) {
                out.push_back(grand_view->child(i));
                state.requested_upto = i;
            }
            return;
        }
        if (state.parent_index + 1 >= grand->children) {
            return;
        }
        state.parent_index += 1;
        state.parent = grand_view->child(state.parent_index);
        state.next = 0;
    }
}

std::uint32_t Cursor::following_leaves(std::span<PageNumber> out) {
    Readahead state;
    std::vector<PageNumber>& pages = following_;
    pages.clear();
    next_leaves(state, static_cast<std::uint32_t>(out.size()), pages);
    std::copy(pages.begin(), pages.end(), out.begin());
    return static_cast<std::uint32_t>(pages.size());
}

void Cursor::leave_leaf(End& end) {
    // Keep the buffer the last returned key lies in; drop any other.
    if (end.last_in_leaf) {
        end.last_leaf = std::move(end.leaf);
        end.last_in_leaf = false;
    }
    end.leaf.reset();
    end.view = LeafView{};
}

Task<Cursor::StepResult> Cursor::step_slow(bool forward) {
    // Each round either returns, finishes, or loads a leaf. A seek may land past the last
    // candidate of its leaf, which costs one advance; leaves are never empty, so the next
    // round yields an entry or finishes. More rounds mean the tree changed during a step,
    // which the Btree contract forbids.
    for (std::uint32_t round = 0; round < 8; ++round) {
        Entry entry;
        if (try_step(forward, entry)) {
            co_return std::optional<Entry>{entry};
        }
        if (out_of_order_) {
            co_return Error{Errc::corrupted};
        }
        if (done_) {
            co_return std::optional<Entry>{};
        }
        End& end = forward ? front_ : back_;
        if (!end.positioned || end.generation != tree_->generation()) {
            Status s = co_await seek(forward);
            RINGDB_CO_TRY(s);
        } else {
            Status s = co_await advance(forward);
            RINGDB_CO_TRY(s);
        }
    }
    RINGDB_ASSERT(false && "cursor step did not converge: tree modified during a step");
    co_return std::optional<Entry>{};
}

Cursor::SeekProbe Cursor::probe_for(const End& end, bool forward) const noexcept {
    // Past the last key this end returned, else the range bound on this side.
    if (end.has_last) {
        return SeekProbe{end.last_key, true, false};
    }
    BoundKind kind = forward ? lower_kind_ : upper_kind_;
    return SeekProbe{forward ? lower_key() : upper_key(), kind == BoundKind::excluded,
                     kind == BoundKind::unbounded};
}

Task<Status> Cursor::seek(bool forward) {
    End& end = forward ? front_ : back_;
    leave_leaf(end);
    for (std::uint32_t d = 0; d < end.depth; ++d) {
        end.path[d] = Level{};
    }
    end.depth = 0;
    end.positioned = false;
    end.generation = tree_->generation();
    PageNumber page = tree_->root().page;
    if (page.is_null()) {
        done_ = true;
        co_return ok();
    }
    util::Checksum128 expected = tree_->root().checksum;
    const SeekProbe seek_probe = probe_for(end, forward);
    const std::span<const std::byte> probe = seek_probe.key;
    const bool exclusive = seek_probe.exclusive;
    const bool unbounded = seek_probe.unbounded;
    TreePages& pages = tree_->pages();
    for (std::uint32_t depth = 0;; ++depth) {
        if (depth >= kMaxDepth) {
            co_return Error{Errc::corrupted, 0, page.raw()};
        }
        ReadPage read{pages, page};
        Result<PageRef> loaded = co_await read;
        if (!loaded) {
            co_return loaded.error();
        }
        PageRef ref = std::move(*loaded);
        RINGDB_CO_TRY(check_page(*ref, expected, page));
        if (page_type(ref->bytes()) == kLeafType) {
            RINGDB_CO_TRY_ASSIGN(LeafView leaf, parse_leaf(pages, *ref, page));
            std::uint32_t position = 0;
            if (unbounded) {
                position = forward ? 0 : leaf.count();
            } else {
                LeafView::Search at = leaf.search(probe, compare_);
                // Front: first key >= probe (> if exclusive). Back: one past the last key
                // <= probe (< if exclusive).
                position = at.index + ((at.found && (forward == exclusive)) ? 1 : 0);
            }
            end.leaf = std::move(ref);
            end.view = leaf;
            end.position = position;
            end.positioned = true;
            co_return ok();
        }
        RINGDB_CO_TRY_ASSIGN(BranchView branch, parse_branch(pages, *ref, page));
        std::uint32_t child = 0;
        if (unbounded) {
            child = forward ? 0 : branch.key_count();
        } else {
            child = branch.find_child(probe, compare_);
        }
        end.path[depth] = Level{std::move(ref), branch, page, child, branch.child_count()};
        page = branch.child(child);
        expected = branch.child_checksum(child);
        end.depth = depth + 1;
    }
}

std::uint32_t Cursor::pivot_level(const End& end, bool forward) noexcept {
    std::uint32_t level = end.depth;
    while (level > 0) {
        const Level& l = end.path[level - 1];
        bool more = forward ? l.index + 1 < l.children : l.index > 0;
        if (more) {
            break;
        }
        --level;
    }
    return level;
}

Task<Result<std::optional<Cursor::ChildAt>>> Cursor::child_of(Level& level) {
    if (level.ref == nullptr) {
        ReadPage read{tree_->pages(), level.page};
        Result<PageRef> loaded = co_await read;
        if (!loaded) {
            co_return loaded.error();
        }
        if ((*loaded)->needs_check()) {
            co_return std::optional<ChildAt>{};
        }
        RINGDB_CO_TRY_ASSIGN(BranchView branch, parse_branch(tree_->pages(), **loaded, level.page));
        if (branch.child_count() != level.children) {
            co_return Error{Errc::corrupted, 0, level.page.raw()};
        }
        level.ref = std::move(*loaded);
        level.view = branch;
    }
    co_return std::optional<ChildAt>{
            ChildAt{level.view.child(level.index), level.view.child_checksum(level.index)}};
}

Task<Status> Cursor::advance(bool forward) {
    End& end = forward ? front_ : back_;
    // The deepest branch with a sibling on this side of the path taken.
    std::uint32_t level = pivot_level(end, forward);
    leave_leaf(end);
    if (level == 0) {
        done_ = true;
        co_return ok();
    }
    Level& pivot = end.path[level - 1];
    pivot.index = forward ? pivot.index + 1 : pivot.index - 1;
    Result<std::optional<ChildAt>> child = co_await child_of(pivot);
    RINGDB_CO_TRY(child);
    if (!*child) {
        unposition(end);  // the next round seeks past the last key returned
        co_return ok();
    }
    for (std::uint32_t d = level; d < end.depth; ++d) {
        end.path[d] = Level{};
    }
    end.depth = level;
    Status s = co_await descend_edge(end, **child, forward);
    co_return s;
}

Task<Status> Cursor::descend_edge(End& end, ChildAt at, bool forward) {
    TreePages& pages = tree_->pages();
    PageNumber page = at.page;
    util::Checksum128 expected = at.checksum;
    while (true) {
        if (end.depth >= kMaxDepth) {
            co_return Error{Errc::corrupted, 0, page.raw()};
        }
        ReadPage read{pages, page};
        Result<PageRef> loaded = co_await read;
        if (!loaded) {
            co_return loaded.error();
        }
        PageRef ref = std::move(*loaded);
        RINGDB_CO_TRY(check_page(*ref, expected, page));
        if (page_type(ref->bytes()) == kLeafType) {
            RINGDB_CO_TRY_ASSIGN(LeafView leaf, parse_leaf(pages, *ref, page));
            end.leaf = std::move(ref);
            end.view = leaf;
            end.position = forward ? 0 : leaf.count();
            co_return ok();
        }
        RINGDB_CO_TRY_ASSIGN(BranchView branch, parse_branch(pages, *ref, page));
        std::uint32_t child = forward ? 0 : branch.key_count();
        end.path[end.depth] = Level{std::move(ref), branch, page, child, branch.child_count()};
        page = branch.child(child);
        expected = branch.child_checksum(child);
        end.depth += 1;
    }
}

void Cursor::unposition(End& end) {
    leave_leaf(end);
    for (std::uint32_t d = 0; d < end.depth; ++d) {
        end.path[d] = Level{};
    }
    end.depth = 0;
    end.positioned = false;
}

std::optional<Status> Cursor::descend_edge_cached(End& end, PageNumber page, bool forward) {
    TreePages& pages = tree_->pages();
    while (true) {
        if (end.depth >= kMaxDepth) {
            return Status{Error{Errc::corrupted, 0, page.raw()}};
        }
        PageRef holder;
        // Valid until the next page access: only parsing happens in between.
        const PageRef* ref = pages.try_borrow(page, holder);
        // An unchecked page (check_page): the slow path walks again, carrying checksums.
        if (ref == nullptr || (*ref)->needs_check()) {
            return std::nullopt;
        }
        if (page_type((*ref)->bytes()) == kLeafType) {
            Result<LeafView> leaf = parse_leaf(pages, **ref, page);
            if (!leaf) {
                return Status{leaf.error()};
            }
            end.leaf = ref == &holder ? std::move(holder) : *ref;
            end.view = *leaf;
            end.position = forward ? 0 : leaf->count();
            return Status{ok()};
        }
        Result<BranchView> branch = parse_branch(pages, **ref, page);
        if (!branch) {
            return Status{branch.error()};
        }
        std::uint32_t child = forward ? 0 : branch->key_count();
        end.path[end.depth] = Level{nullptr, BranchView{}, page, child, branch->child_count()};
        page = branch->child(child);
        end.depth += 1;
    }
}

std::optional<Result<PageNumber>> Cursor::child_cached(const Level& level) {
    if (level.ref != nullptr) {
        return Result<PageNumber>{level.view.child(level.index)};
    }
    TreePages& pages = tree_->pages();
    PageRef holder;
    const PageRef* ref = pages.try_borrow(level.page, holder);
    if (ref == nullptr || (*ref)->needs_check()) {
        return std::nullopt;
    }
    Result<BranchView> branch = parse_branch(pages, **ref, level.page);
    if (!branch) {
        return Result<PageNumber>{branch.error()};
    }
    if (branch->child_count() != level.children) {
        return Result<PageNumber>{Error{Errc::corrupted, 0, level.page.raw()}};
    }
    return Result<PageNumber>{branch->child(level.index)};
}

std::optional<Status> Cursor::seek_cached(bool forward) {
    // As seek(), step for step, with try_read instead of awaiting reads.
    End& end = forward ? front_ : back_;
    unposition(end);
    end.generation = tree_->generation();
    PageNumber page = tree_->root().page;
    if (page.is_null()) {
        done_ = true;
        return Status{ok()};
    }
    const SeekProbe seek_probe = probe_for(end, forward);
    const std::span<const std::byte> probe = seek_probe.key;
    const bool exclusive = seek_probe.exclusive;
    const bool unbounded = seek_probe.unbounded;
    TreePages& pages = tree_->pages();
    for (std::uint32_t depth = 0;; ++depth) {
        if (depth >= kMaxDepth) {
            return Status{Error{Errc::corrupted, 0, page.raw()}};
        }
        PageRef holder;
        // Valid until the next page access: only parsing and searching happen in between.
        const PageRef* ref = pages.try_borrow(page, holder);
        // An unchecked page (check_page): seek() walks again, carrying checksums.
        if (ref == nullptr || (*ref)->needs_check()) {
            unposition(end);
            return std::nullopt;
        }
        if (page_type((*ref)->bytes()) == kLeafType) {
            Result<LeafView> leaf = parse_leaf(pages, **ref, page);
            if (!leaf) {
                return Status{leaf.error()};
            }
            std::uint32_t position = 0;
            if (unbounded) {
                position = forward ? 0 : leaf->count();
            } else {
                LeafView::Search at = leaf->search(probe, compare_);
                position = at.index + ((at.found && (forward == exclusive)) ? 1 : 0);
            }
            end.leaf = ref == &holder ? std::move(holder) : *ref;
            end.view = *leaf;
            end.position = position;
            end.positioned = true;
            return Status{ok()};
        }
        Result<BranchView> branch = parse_branch(pages, **ref, page);
        if (!branch) {
            return Status{branch.error()};
        }
        std::uint32_t child = 0;
        if (unbounded) {
            child = forward ? 0 : branch->key_count();
        } else {
            child = branch->find_child(probe, compare_);
        }
        end.path[depth] = Level{nullptr, BranchView{}, page, child, branch->child_count()};
        page = branch->child(child);
        end.depth = depth + 1;
    }
}

std::optional<Status> Cursor::advance_cached(bool forward) {
    // As advance(); when a page on the way down is not cached, the end is unpositioned so the
    // slow path re-seeks past the last key returned (the same entry advance() would reach).
    End& end = forward ? front_ : back_;
    std::uint32_t level = pivot_level(end, forward);
    if (level == 0) {
        leave_leaf(end);
        done_ = true;
        return Status{ok()};
    }
    if (!end.has_last) {
        return std::nullopt;  // nothing to re-seek from: let advance() do it
    }
    leave_leaf(end);
    Level& pivot = end.path[level - 1];
    pivot.index = forward ? pivot.index + 1 : pivot.index - 1;
    std::optional<Result<PageNumber>> child = child_cached(pivot);
    if (!child) {
        unposition(end);
        return std::nullopt;
    }
    if (!*child) {
        return Status{child->error()};
    }
    for (std::uint32_t d = level; d < end.depth; ++d) {
        end.path[d] = Level{};
    }
    end.depth = level;
    std::optional<Status> s = descend_edge_cached(end, **child, forward);
    if (!s) {
        unposition(end);
    }
    return s;
}

bool Cursor::step_cached(bool forward, StepResult& out) {
    // The rounds of step_slow(), without awaiting.
    for (std::uint32_t round = 0; round < 8; ++round) {
        Entry entry;
        if (try_step(forward, entry)) {
            out = std::optional<Entry>{entry};
            return true;
        }
        if (out_of_order_) {
            out = Error{Errc::corrupted};
            return true;
        }
        if (done_) {
            out = std::optional<Entry>{};
            return true;
        }
        End& end = forward ? front_ : back_;
        std::optional<Status> s = !end.positioned || end.generation != tree_->generation()
                                          ? seek_cached(forward)
                                          : advance_cached(forward);
        if (!s) {
            return false;
        }
        if (!*s) {
            out = s->error();
            return true;
        }
    }
    return false;
}

bool Cursor::StepAwaiter::await_ready() { return cursor_.step_cached(forward_, result_); }

std::coroutine_handle<> Cursor::StepAwaiter::await_suspend(std::coroutine_handle<> awaiting) {
    slow_task_ = slow_path(this);
    auto handle = slow_task_.handle();
    handle.promise().continuation_ = awaiting;
    return handle;
}

Task<void> Cursor::StepAwaiter::slow_path(StepAwaiter* self) {
    StepResult result = co_await self->cursor_.step_slow(self->forward_);
    self->result_ = std::move(result);
}

}  // namespace ringdb::engine
