// Btree modification: insert, remove, and the bottom-up propagation of splits and merges.
//
// A modifying operation descends from the root recording the path (PathLevel per branch),
// edits the leaf, and then walks the path upwards applying a Replacement at each level:
//   - nothing changed (in-place edit of a dirty page): stop;
//   - only the child's page number changed (copy-on-write): store it in the parent, copying the
//     parent first if it is committed; stop once a parent is modified in place;
//   - the child split, emptied, dissolved or fell below a third of a page: materialise the
//     parent's children (items_), splice the pieces in, merge or rebalance an underfull child
//     with a sibling, and rebuild the parent (which may split in turn).
// Invariant: every ancestor of a dirty page is dirty, so a dirty page's parent is updated in
// place and the walk stops there.
//
// Separators and items point into page buffers; every buffer they may point into is held in
// path_ or keep_alive_ until the operation ends. A buffer we hold is never passed through
// pages.writable() (that would force a private copy): refs are dropped first.

#include "engine/btree/btree.hpp"

#include <algorithm>
#include <cstring>

#include "util/assert.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

Btree::Btree(TreePages& pages, KeyCompare key_compare, BtreeRoot root) noexcept
        : pages_(pages), compare_(key_compare), root_(root) {}

std::optional<Result<std::optional<OwnedBytes>>> Btree::try_insert(
        std::span<const std::byte> key, std::span<const std::byte> value, bool keep_old) {
    auto inserted = try_insert_plain(key, value, keep_old);
    if (sink_ != nullptr && inserted && *inserted) {
        sink_->inserted(key, value);
    }
    return inserted;
}

std::optional<Result<bool>> Btree::try_remove(std::span<const std::byte> key) {
    auto removed = try_remove_plain(key);
    if (sink_ != nullptr && removed && *removed && **removed) {
        sink_->removed(key);
    }
    return removed;
}

std::optional<Result<std::optional<OwnedBytes>>> Btree::try_insert_plain(
        std::span<const std::byte> key, std::span<const std::byte> value, bool keep_old) {
    using Inserted = Result<std::optional<OwnedBytes>>;
    if (key.size() > kMaxKeyOrValueLength || value.size() > kMaxKeyOrValueLength ||
        key.size() + value.size() > kMaxPairLength) {
        return Inserted{Error{Errc::value_too_large, 0, key.size() + value.size()}};
    }
    if (root_.page.is_null()) {
        return std::nullopt;
    }
    std::optional<Status> walked = descend_cached(key);
    if (!walked) {
        return std::nullopt;
    }
    if (!*walked) {
        finish_modification();
        return Inserted{walked->error()};
    }
    LeafView::Search at = leaf_view_.search(key, compare_);
    if (!insert_stays_in_leaf(key, value, at)) {
        // A split, a copy-on-write or a merge: the coroutine path walks again (the pages are
        // warm now) and propagates.
        path_.clear();
        leaf_ref_.reset();
        return std::nullopt;
    }
    std::optional<OwnedBytes> old;
    if (at.found && keep_old) {
        std::span<const std::byte> bytes = leaf_view_.value(at.index);
        old.emplace(bytes.begin(), bytes.end());
    } else if (at.found) {
        old.emplace();
    }
    Replacement rep;
    Status status = insert_into_leaf(key, value, at, rep);
    RINGDB_ASSERT(!status || (!rep.changed && (!rep.underfull || leaf_is_root_)));
    finish_modification();
    if (!status) {
        return Inserted{status.error()};
    }
    if (!old) {
        root_.length += 1;
    }
    return Inserted{std::move(old)};
}

Task<Result<std::optional<OwnedBytes>>> Btree::insert(std::span<const std::byte> key,
                                                      std::span<const std::byte> value) {
    std::optional<Result<std::optional<OwnedBytes>>> fast = try_insert(key, value);
    if (fast) {
        co_return std::move(*fast);
    }
    if (root_.page.is_null()) {
        EntrySeq seq;
        seq.add_entry(key, value);
        Replacement rep;
        Status built = build_leaf_pieces(seq, rep);
        if (built) {
            built = set_root(rep);
        }
        finish_modification();
        if (!built) {
            co_return built.error();
        }
        root_.length = 1;
        report_inserted(key, value);
        co_return std::optional<OwnedBytes>{};
    }
    Status status = co_await descend(key);
    std::optional<OwnedBytes> old;
    if (status) {
        LeafView::Search at = leaf_view_.search(key, compare_);
        if (at.found) {
            std::span<const std::byte> bytes = leaf_view_.value(at.index);
            old.emplace(bytes.begin(), bytes.end());
        }
        Replacement rep;
        status = insert_into_leaf(key, value, at, rep);
        if (status) {
            status = co_await propagate(rep);
        }
    }
    finish_modification();
    if (!status) {
        co_return status.error();
    }
    if (!old) {
        root_.length += 1;
    }
    report_inserted(key, value);
    co_return std::move(old);
}

std::optional<Result<bool>> Btree::try_remove_plain(std::span<const std::byte> key) {
    using Removed = Result<bool>;
    if (root_.page.is_null()) {
        return Removed{false};
    }
    std::optional<Status> walked = descend_cached(key);
    if (!walked) {
        return std::nullopt;
    }
    if (!*walked) {
        finish_modification();
        return Removed{walked->error()};
    }
    const LeafView::Search at = leaf_view_.search(key, compare_);
    const std::uint32_t n = leaf_view_.count();
    const bool in_place =
            at.found && leaf_dirty_ && leaf_page_.order() == 0 && n > 2 &&
            (leaf_is_root_ ||
             (leaf_view_.used_length() - leaf_view_.entry_size(at.index)) * 3 >=
                     pages_.page_size());
    if (!in_place) {
        // Absent (nothing to do, cursors need not re-seek) or not in place: untouched.
        path_.clear();
        leaf_ref_.reset();
        if (!at.found) {
            return Removed{false};
        }
        return std::nullopt;
    }
    Replacement rep;
    Status status = remove_from_leaf(at, rep);
    RINGDB_ASSERT(!status || (!rep.changed && (!rep.underfull || leaf_is_root_)));
    finish_modification();
    if (!status) {
        return Removed{status.error()};
    }
    root_.length -= 1;
    return Removed{true};
}

Task<Result<std::optional<OwnedBytes>>> Btree::remove(std::span<const std::byte> key) {
    if (root_.page.is_null()) {
        co_return std::optional<OwnedBytes>{};
    }
    Status status = co_await descend(key);
    std::optional<OwnedBytes> old;
    if (status) {
        LeafView::Search at = leaf_view_.search(key, compare_);
        if (at.found) {
            std::span<const std::byte> bytes = leaf_view_.value(at.index);
            old.emplace(bytes.begin(), bytes.end());
            Replacement rep;
            status = remove_from_leaf(at, rep);
            if (status) {
                status = co_await propagate(rep);
            }
        }
    }
    if (!old && status) {
        // Absent key: nothing was touched, so cursors need not re-seek.
        path_.clear();
        leaf_ref_.reset();
        co_return std::move(old);
    }
    finish_modification();
    if (!status) {
        co_return status.error();
    }
    root_.length -= 1;
    if (sink_ != nullptr) {
        sink_->removed(key);
    }
    co_return std::move(old);
}

Task<Status> Btree::descend(std::span<const std::byte> key) {
    path_.clear();
    PageNumber page = root_.page;
    util::Checksum128 expected = root_.checksum;
    for (std::uint32_t depth = 0;; ++depth) {
        if (depth >= kMaxDepth) {
            co_return Error{Errc::corrupted, 0, page.raw()};
        }
        ReadPage read{pages_, page};
        Result<PageRef> loaded = co_await read;
        if (!loaded) {
            co_return loaded.error();
        }
        PageRef ref = std::move(*loaded);
        const bool dirty = read.dirty();
        RINGDB_CO_TRY(check_page(*ref, expected, page));
        if (page_type(ref->bytes()) == kLeafType) {
            RINGDB_CO_TRY_ASSIGN(leaf_view_, parse_leaf(dirty, *ref, page));
            leaf_page_ = page;
            leaf_dirty_ = dirty;
            leaf_ref_ = std::move(ref);
            co_return ok();
        }
        RINGDB_CO_TRY_ASSIGN(BranchView view, parse_branch(dirty, *ref, page));
        std::uint32_t child = view.find_child(key, compare_);
        PageNumber next = view.child(child);
        expected = view.child_checksum(child);
        path_.push_back(PathLevel{page, std::move(ref), view, child, dirty});
        page = next;
    }
}

std::optional<Status> Btree::descend_cached(std::span<const std::byte> key) {
    // Branches are only looked at on the way down and the leaf is modified in place, so no
    // page on the path needs a reference (TreePages::try_peek); path_ stays empty.
    path_.clear();
    PageNumber page = root_.page;
    for (std::uint32_t depth = 0; depth < kMaxDepth; ++depth) {
        PageRef holder;
        bool dirty = false;
        const PageBuffer* buffer = pages_.try_peek(page, holder, dirty);
        // An unchecked page (check_page): descend() walks again, carrying the checksums.
        if (buffer == nullptr || buffer->needs_check()) {
            return std::nullopt;
        }
        if (page_type(buffer->bytes()) == kLeafType) {
            if (!dirty) {
                return std::nullopt;  // copy-on-write: insert() does it (and holds the page)
            }
            RINGDB_TRY_ASSIGN(leaf_view_, parse_leaf(dirty, *buffer, page));
            leaf_page_ = page;
            leaf_dirty_ = dirty;
            leaf_is_root_ = depth == 0;
            leaf_ref_.reset();  // insert_into_leaf's in-place cases do not need it
            return ok();
        }
        RINGDB_TRY_ASSIGN(BranchView view, parse_branch(dirty, *buffer, page));
        page = view.child(view.find_child(key, compare_));
    }
    return Status{Error{Errc::corrupted, 0, page.raw()}};
}

bool Btree::insert_stays_in_leaf(std::span<const std::byte> key,
                                 std::span<const std::byte> value, LeafView::Search at) const {
    // The conditions of insert_into_leaf's two in-place cases, with nothing to propagate.
    if (!leaf_dirty_) {
        return false;
    }
    const LeafView& view = leaf_view_;
    if (at.found && value.size() == view.value(at.index).size()) {
        return true;
    }
    const std::uint32_t n = view.count();
    const std::uint32_t page_size = pages_.page_size();
    const std::uint32_t new_count = at.found ? n : n + 1;
    const std::uint64_t new_used = view.used_length() + key.size() + value.size() + 8 -
                                   (at.found ? view.entry_size(at.index) : 0);
    if (new_count == 1 || new_used > page_size || new_count > kMaxLeafEntries) {
        return false;  // a leaf of one entry may need another order: leave it to insert()
    }
    // A leaf that shrinks below a third of a page is merged or rebalanced by propagate(),
    // unless it is the root; one that grows (an append after a packed split) stays as it is.
    return leaf_page_.order() == 0 &&
           (leaf_is_root_ || new_used >= view.used_length() || new_used * 3 >= page_size);
}

Result<MutPageRef> Btree::make_writable(PageNumber& page, bool dirty, PageRef& held,
                                        std::uint64_t old_used, std::uint64_t bytes) {
    RINGDB_DEBUG_ASSERT(dirty == pages_.is_dirty(page));
    if (dirty) {
        held.reset();
        MutPageRef buffer = pages_.writable(page);
        RINGDB_ASSERT_CTX(buffer != nullptr, "dirty page without a writable buffer", page.raw());
        return buffer;
    }
    RINGDB_TRY_ASSIGN(auto allocated, pages_.allocate(std::max(old_used, bytes)));
    std::memcpy(allocated.second->data(), held->data(), old_used);
    pages_.free(page);
    held.reset();
    page = allocated.first;
    return std::move(allocated.second);
}

Status Btree::insert_into_leaf(std::span<const std::byte> key, std::span<const std::byte> value,
                               LeafView::Search at, Replacement& out) {
    const LeafView& view = leaf_view_;
    const std::uint32_t n = view.count();
    const std::uint32_t page_size = pages_.page_size();
    const std::uint64_t old_used = view.used_length();
    const std::uint32_t new_count = at.found ? n : n + 1;
    const std::uint64_t new_used = old_used + key.size() + value.size() + 8 -
                                   (at.found ? view.entry_size(at.index) : 0);
    if (at.found && value.size() == view.value(at.index).size() && leaf_dirty_) {
        // Same-length replacement in a dirty page: overwrite the value bytes.
        std::uint32_t offset = view.value_offset(at.index);
        leaf_ref_.reset();
        MutPageRef buffer = pages_.writable(leaf_page_);
        RINGDB_ASSERT_CTX(buffer != nullptr, "dirty leaf not writable", leaf_page_.raw());
        if (!value.empty()) {
            std::memcpy(buffer->data() + offset, value.data(), value.size());
        }
        return ok();
    }
    const bool fits = new_count == 1 || (new_used <= page_size && new_count <= kMaxLeafEntries);
    const unsigned order = new_count == 1 ? order_for(new_used, page_size) : 0;
    if (fits && order == leaf_page_.order()) {
        PageNumber page = leaf_page_;
        RINGDB_TRY_ASSIGN(MutPageRef buffer,
                          make_writable(page, leaf_dirty_, leaf_ref_, old_used, new_used));
        if (at.found && n == 1) {
            std::memset(buffer->data(), 0, old_used);
            EntrySeq seq;
            seq.add_entry(key, value);
            write_leaf(buffer->bytes(), seq, 0, 1);
        } else {
            if (at.found) {
                leaf_remove_in_place(buffer->bytes(), at.index);
            }
            leaf_insert_in_place(buffer->bytes(), at.index, key, value);
        }
        out.changed = page != leaf_page_;
        out.underfull = new_used < old_used && new_used * 3 < page_size;
        out.count = 1;
        out.pieces[0] = Piece{page, {}, std::move(buffer), new_used};
        return ok();
    }
    EntrySeq seq;
    seq.add_range(view, 0, at.index);
    seq.add_entry(key, value);
    seq.add_range(view, at.found ? at.index + 1 : at.index, n);
    // An entry appended after the last key of the tree: pack the leaf full and start the next
    // (ascending loads then fill their leaves instead of leaving them half empty).
    const LeafSplit split =
            !at.found && at.index == n && on_right_edge() ? LeafSplit::packed : LeafSplit::halves;
    if (leaf_dirty_ && leaf_page_.order() == 0) {
        // A split of a dirty leaf: its first piece stays in its block.
        bool reused = false;
        RINGDB_TRY(build_leaf_pieces(seq, out, leaf_page_, &reused, split));
        if (reused) {
            return ok();
        }
    } else {
        RINGDB_TRY(build_leaf_pieces(seq, out, {}, nullptr, split));
    }
    pages_.free(leaf_page_);
    return ok();
}

bool Btree::on_right_edge() const noexcept {
    return std::all_of(path_.begin(), path_.end(), [](const PathLevel& level) {
        return level.child == level.view.key_count();
    });
}

Status Btree::remove_from_leaf(LeafView::Search at, Replacement& out) {
    const LeafView& view = leaf_view_;
    const std::uint32_t n = view.count();
    const std::uint32_t page_size = pages_.page_size();
    if (n == 1) {
        pages_.free(leaf_page_);
        out.changed = true;
        out.count = 0;
        return ok();
    }
    const std::uint64_t old_used = view.used_length();
    const std::uint64_t new_used = old_used - view.entry_size(at.index);
    const bool fits = n == 2 || new_used <= page_size;
    const unsigned order = n == 2 ? order_for(new_used, page_size) : 0;
    if (fits && order == leaf_page_.order()) {
        PageNumber page = leaf_page_;
        RINGDB_TRY_ASSIGN(MutPageRef buffer,
                          make_writable(page, leaf_dirty_, leaf_ref_, old_used, new_used));
        leaf_remove_in_place(buffer->bytes(), at.index);
        out.changed = page != leaf_page_;
        out.underfull = new_used * 3 < page_size;
        out.count = 1;
        out.pieces[0] = Piece{page, {}, std::move(buffer), new_used};
        return ok();
    }
    EntrySeq seq;
    seq.add_range(view, 0, at.index);
    seq.add_range(view, at.index + 1, n);
    RINGDB_TRY(build_leaf_pieces(seq, out));
    pages_.free(leaf_page_);
    return ok();
}

Status Btree::build_leaf_pieces(const EntrySeq& seq, Replacement& out, PageNumber reuse,
                               bool* reused, LeafSplit split) {
    const std::uint32_t page_size = pages_.page_size();
    leaf_prefix_sizes(seq, prefix_);
    partition_leaf(prefix_, page_size, ends_, split);
    RINGDB_ASSERT(!ends_.empty() && ends_.size() <= kMaxPieces);
    // The first piece may go into `reuse` (the dirty leaf being split, which `seq` reads
    // from): it is built aside and copied over once every other piece has been written.
    const std::uint64_t first_used = kLeafHeaderSize + prefix_[ends_[0]];
    const bool in_place = !reuse.is_null() && ends_.size() >= 2 && first_used <= page_size;
    if (reused != nullptr) {
        *reused = in_place;
    }
    std::uint32_t first = 0;
    for (std::uint32_t t = 0; t < ends_.size(); ++t) {
        std::uint32_t last = ends_[t];
        std::uint64_t used = kLeafHeaderSize + prefix_[last] - prefix_[first];
        if (t == 0 && in_place) {
            scratch_.assign(page_size, std::byte{0});
            write_leaf(scratch_, seq, first, last);
            first = last;
            continue;
        }
        RINGDB_TRY_ASSIGN(auto allocated, pages_.allocate(used));
        write_leaf(allocated.second->bytes(), seq, first, last);
        if (t + 1 < ends_.size()) {
            // The separator is the piece's last key, read back from the page just written.
            Result<LeafView> written = LeafView::parse(allocated.second->bytes(), allocated.first);
            RINGDB_ASSERT(written.has_value());
            out.separators[t] = written->key(written->count() - 1);
        }
        out.pieces[t] = Piece{allocated.first, {}, std::move(allocated.second), used};
        first = last;
    }
    if (in_place) {
        leaf_ref_.reset();  // the split leaf's old bytes are no longer read
        MutPageRef buffer = pages_.writable(reuse);
        RINGDB_ASSERT_CTX(buffer != nullptr, "dirty leaf not writable", reuse.raw());
        std::memcpy(buffer->data(), scratch_.data(), page_size);
        Result<LeafView> written = LeafView::parse(buffer->bytes(), reuse);
        RINGDB_ASSERT(written.has_value());
        out.separators[0] = written->key(written->count() - 1);
        out.pieces[0] = Piece{reuse, {}, std::move(buffer), first_used};
    }
    out.changed = true;
    out.count = static_cast<std::uint32_t>(ends_.size());
    out.underfull = out.count == 1 && out.pieces[0].used * 3 < page_size;
    out.degenerate = false;
    return ok();
}

Status Btree::build_branch_pieces(std::span<const BranchItem> items, Replacement& out) {
    const std::uint32_t page_size = pages_.page_size();
    partition_branch(items, page_size, ends_);
    RINGDB_ASSERT(!ends_.empty() && ends_.size() <= kMaxPieces);
    std::uint32_t first = 0;
    for (std::uint32_t t = 0; t < ends_.size(); ++t) {
        std::uint32_t last = ends_[t];
        std::span<const BranchItem> piece = items.subspan(first, last - first);
        std::uint64_t used = branch_items_size(piece);
        RINGDB_TRY_ASSIGN(auto allocated, pages_.allocate(used));
        write_branch(allocated.second->bytes(), piece);
        // The key of a piece's last item moves up as the separator after it.
        out.separators[t] = piece.back().key;
        out.pieces[t] = Piece{allocated.first, {}, std::move(allocated.second), used};
        first = last;
    }
    out.changed = true;
    out.count = static_cast<std::uint32_t>(ends_.size());
    out.underfull = out.count == 1 && out.pieces[0].used * 3 < page_size;
    out.degenerate = false;
    return ok();
}

void Btree::hold(Replacement& rep) {
    for (std::uint32_t t = 0; t < rep.count; ++t) {
        if (rep.pieces[t].ref != nullptr) {
            keep_alive_.push_back(std::move(rep.pieces[t].ref));
        }
    }
}

void Btree::splice_items(std::uint32_t first, std::uint32_t replaced, const Replacement& rep) {
    RINGDB_ASSERT(first + replaced <= items_.size());
    std::span<const std::byte> last_key = items_[first + replaced - 1].key;
    auto at = items_.begin() + first;
    at = items_.erase(at, at + replaced);
    for (std::uint32_t t = 0; t < rep.count; ++t) {
        std::span<const std::byte> key = t + 1 < rep.count ? rep.separators[t] : last_key;
        at = items_.insert(at, BranchItem{rep.pieces[t].page, rep.pieces[t].checksum, key}) + 1;
    }
}

Status Btree::update_child_in_place(std::uint32_t level, Replacement& rep) {
    PathLevel& parent = path_[level];
    const std::uint32_t checksum_offset = parent.view.checksum_offset(parent.child);
    const std::uint32_t child_offset = parent.view.child_offset(parent.child);
    const std::uint64_t used = parent.view.used_length();
    PageNumber page = parent.page;
    RINGDB_TRY_ASSIGN(MutPageRef buffer, make_writable(page, parent.dirty, parent.ref, used, used));
    util::store_le64(buffer->data() + child_offset, rep.pieces[0].page.raw());
    util::store_checksum(buffer->data() + checksum_offset, rep.pieces[0].checksum);
    Replacement up;
    up.changed = page != parent.page;
    up.count = 1;
    up.pieces[0] = Piece{page, {}, std::move(buffer), used};
    rep = std::move(up);
    return ok();
}

Task<Status> Btree::propagate(Replacement& rep) {
    for (std::uint32_t level = static_cast<std::uint32_t>(path_.size()); level-- > 0;) {
        if (!rep.changed && !rep.underfull) {
            co_return ok();
        }
        PathLevel& parent = path_[level];
        if (rep.count == 1 && !rep.degenerate) {
            bool merged = false;
            if (rep.underfull) {
                Status s = co_await rebalance(level, rep, merged);
                RINGDB_CO_TRY(s);
            }
            if (!merged) {
                if (!rep.changed) {
                    co_return ok();
                }
                RINGDB_CO_TRY(update_child_in_place(level, rep));
                continue;
            }
        } else {
            items_.clear();
            append_branch_items(parent.view, items_);
            if (rep.count == 0) {
                items_.erase(items_.begin() + parent.child);
            } else {
                splice_items(parent.child, 1, rep);
            }
            bool degenerate = rep.degenerate;
            hold(rep);
            if (degenerate) {
                bool merged = false;
                Status s = co_await rebalance(level, rep, merged);
                RINGDB_CO_TRY(s);
                RINGDB_ASSERT(merged);
            }
        }
        // items_ now holds the parent's new children.
        RINGDB_ASSERT(!items_.empty());
        if (rewrite_branch_in_place(level, rep)) {
            continue;
        }
        Replacement up;
        if (items_.size() == 1) {
            up.changed = true;
            up.degenerate = true;
            up.count = 1;
            up.pieces[0] = Piece{items_[0].child, items_[0].checksum, nullptr, 0};
        } else {
            RINGDB_CO_TRY(build_branch_pieces(items_, up));
        }
        pages_.free(parent.page);
        hold(rep);
        rep = std::move(up);
    }
    co_return set_root(rep);
}

bool Btree::rewrite_branch_in_place(std::uint32_t level, Replacement& rep) {
    PathLevel& parent = path_[level];
    const std::uint32_t page_size = pages_.page_size();
    if (!parent.dirty || parent.page.order() != 0 || items_.size() < 2 ||
        items_.size() - 1 > kMaxBranchKeys) {
        return false;
    }
    const std::uint64_t used = branch_items_size(items_);
    if (used > page_size) {
        return false;
    }
    // items_' keys point into the parent's own buffer: build the page aside, then copy it
    // over. The page number stays, so the grandparent needs no change (a dirty page is
    // modified in place, as update_child_in_place does).
    const std::uint64_t old_used = parent.view.used_length();
    scratch_.resize(page_size);
    write_branch(scratch_, items_);
    parent.ref.reset();
    MutPageRef buffer = pages_.writable(parent.page);
    RINGDB_ASSERT_CTX(buffer != nullptr, "dirty branch not writable", parent.page.raw());
    std::memcpy(buffer->data(), scratch_.data(), used);
    if (used < old_used) {
        std::memset(buffer->data() + used, 0, old_used - used);
    }
    hold(rep);
    Replacement up;
    up.changed = false;
    up.count = 1;
    up.underfull = used * 3 < page_size;
    up.pieces[0] = Piece{parent.page, {}, std::move(buffer), used};
    rep = std::move(up);
    return true;
}

Status Btree::set_root(Replacement& rep) {
    for (std::uint32_t round = 0; rep.changed; ++round) {
        RINGDB_ASSERT(round < kMaxDepth);
        if (rep.count == 0) {
            root_.page = PageNumber{};
            root_.checksum = {};
            return ok();
        }
        if (rep.count == 1) {
            root_.page = rep.pieces[0].page;
            root_.checksum = rep.pieces[0].checksum;
            return ok();
        }
        // The root split: a new root branch above the pieces (which may split again when
        // separators are huge).
        items_.clear();
        for (std::uint32_t t = 0; t < rep.count; ++t) {
            std::span<const std::byte> key;
            if (t + 1 < rep.count) {
                key = rep.separators[t];
            }
            items_.push_back(BranchItem{rep.pieces[t].page, rep.pieces[t].checksum, key});
        }
        Replacement up;
        RINGDB_TRY(build_branch_pieces(items_, up));
        hold(rep);
        rep = std::move(up);
    }
    return ok();
}

Task<Status> Btree::rebalance(std::uint32_t level, Replacement& rep, bool& merged) {
    merged = false;
    PathLevel& parent = path_[level];
    const std::uint32_t index = parent.child;
    const bool degenerate = rep.degenerate;
    if (!degenerate) {
        items_.clear();
        append_branch_items(parent.view, items_);
        items_[index].child = rep.pieces[0].page;
        items_[index].checksum = rep.pieces[0].checksum;
    }
    RINGDB_ASSERT(items_.size() >= 2 && index < items_.size());
    const std::uint32_t left = index + 1 < items_.size() ? index : index - 1;
    const std::uint32_t sibling = left == index ? index + 1 : index - 1;
    const PageNumber sibling_page = items_[sibling].child;
    ReadPage read{pages_, sibling_page};
    Result<PageRef> loaded = co_await read;
    if (!loaded) {
        co_return loaded.error();
    }
    PageRef sibling_ref = std::move(*loaded);
    RINGDB_CO_TRY(check_page(*sibling_ref, items_[sibling].checksum, sibling_page));
    keep_alive_.push_back(sibling_ref);
    Replacement pieces;
    if (degenerate) {
        RINGDB_CO_TRY(combine_with_sibling_branch(index, left, sibling_ref, sibling_page, pieces));
        merged = true;
    } else {
        const Piece& pending = rep.pieces[0];
        if (page_type(pending.ref->bytes()) != page_type(sibling_ref->bytes())) {
            co_return Error{Errc::corrupted, 0, sibling_page.raw()};
        }
        const bool pending_is_left = left == index;
        const PageRef& left_ref = pending_is_left ? pending.ref : sibling_ref;
        const PageRef& right_ref = pending_is_left ? sibling_ref : pending.ref;
        const PageNumber left_page = pending_is_left ? pending.page : sibling_page;
        const PageNumber right_page = pending_is_left ? sibling_page : pending.page;
        if (page_type(pending.ref->bytes()) == kLeafType) {
            RINGDB_CO_TRY(combine_leaves(left_ref, left_page, right_ref, right_page, pieces,
                                         merged));
        } else {
            RINGDB_CO_TRY(combine_branches(items_[left].key, left_ref, left_page, right_ref,
                                           right_page, pieces, merged));
        }
    }
    if (!merged) {
        co_return ok();
    }
    hold(rep);
    if (!degenerate) {
        pages_.free(items_[index].child);
    }
    pages_.free(sibling_page);
    splice_items(left, 2, pieces);
    hold(pieces);
    co_return ok();
}

Status Btree::combine_with_sibling_branch(std::uint32_t index, std::uint32_t left,
                                          const PageRef& sibling_ref, PageNumber sibling_page,
                                          Replacement& out) {
    // The dissolved child's only child joins its sibling's children; the parent separator
    // between the two comes down between them.
    RINGDB_TRY_ASSIGN(BranchView sibling, parse_branch(pages_, *sibling_ref, sibling_page));
    combine_items_.clear();
    if (left == index) {
        combine_items_.push_back(items_[index]);
        append_branch_items(sibling, combine_items_);
    } else {
        append_branch_items(sibling, combine_items_);
        combine_items_.back().key = items_[left].key;
        combine_items_.push_back(items_[index]);
    }
    return build_branch_pieces(combine_items_, out);
}

Status Btree::combine_leaves(const PageRef& left_ref, PageNumber left_page,
                             const PageRef& right_ref, PageNumber right_page, Replacement& out,
                             bool& merged) {
    RINGDB_TRY_ASSIGN(LeafView left, parse_leaf(pages_, *left_ref, left_page));
    RINGDB_TRY_ASSIGN(LeafView right, parse_leaf(pages_, *right_ref, right_page));
    EntrySeq seq;
    seq.add_range(left, 0, left.count());
    seq.add_range(right, 0, right.count());
    leaf_prefix_sizes(seq, prefix_);
    partition_leaf(prefix_, pages_.page_size(), ends_);
    // Merge into one page, or move entries across when that changes the boundary; anything
    // else (a sibling holding one huge entry) would not improve the tree.
    if (ends_.size() > 2 || (ends_.size() == 2 && ends_[0] == left.count())) {
        return ok();
    }
    merged = true;
    return build_leaf_pieces(seq, out);
}

Status Btree::combine_branches(std::span<const std::byte> separator, const PageRef& left_ref,
                               PageNumber left_page, const PageRef& right_ref,
                               PageNumber right_page, Replacement& out, bool& merged) {
    RINGDB_TRY_ASSIGN(BranchView left, parse_branch(pages_, *left_ref, left_page));
    RINGDB_TRY_ASSIGN(BranchView right, parse_branch(pages_, *right_ref, right_page));
    combine_items_.clear();
    append_branch_items(left, combine_items_);
    combine_items_.back().key = separator;
    append_branch_items(right, combine_items_);
    partition_branch(combine_items_, pages_.page_size(), ends_);
    if (ends_.size() > 2 || (ends_.size() == 2 && ends_[0] == left.child_count())) {
        return ok();
    }
    merged = true;
    return build_branch_pieces(combine_items_, out);
}

void Btree::finish_modification() {
    path_.clear();
    leaf_ref_.reset();
    leaf_view_ = LeafView{};
    items_.clear();
    combine_items_.clear();
    keep_alive_.clear();
    generation_ += 1;
}

}  // namespace ringdb::engine
