#pragma once
// Cursor: double-ended range iteration over a Btree.
//
// A cursor covers the entries between a lower and an upper bound (each Included, Excluded or
// Unbounded) and is consumed from both ends: next() yields entries in increasing key order,
// next_back() in decreasing order, and the two ends meet without yielding an entry twice. An
// empty or inverted range (lower > upper, or lower == upper with an excluded side) yields
// nothing. Once either end reports the end of the range, both ends stay finished.
//
// Cost: a step inside the current leaf is synchronous. try_next()/try_next_back() perform it
// and return false when the step needs to load another page (or the range is finished), and
// next()/next_back() return an awaitable whose await_ready() also seeks and crosses to the
// next leaf synchronously when the pages are cached, so only a step that needs a device read
// creates a coroutine frame (docs/coroutines.md rule 7). The synchronous walk borrows the
// branches on its way down (TreePages::try_borrow: no reference count updates) and keeps only
// their page numbers and child indices; a later leaf crossing borrows the turning branch
// again (or reads it, on the asynchronous path). Only the leaf is held.
//
// Lifetime: an entry's spans point into a leaf the cursor holds (a PageRef): they stay valid
// until the next step of the same end. front_page()/back_page() return the leaf of the last
// entry of each end, to keep a guard for longer. REQUIRES: the Btree outlives the cursor.
//
// Modification while a cursor is open: allowed (this is how retain/extract-style loops are
// built on top). The cursor never sees a half-modified page: it holds the buffers it loaded,
// committed pages are never written, and a dirty page held by the cursor is copied by
// pages.writable() before the tree modifies it. Each end remembers the tree's generation; a
// step taken after a modification first re-seeks that end in the current tree, so every step
// returns the entry following (or preceding) the last key that end returned, in the tree as
// it is now: keys removed since are not returned, keys inserted ahead of an end are. Removing
// the entry just returned and stepping again is therefore well defined (one re-seek per step).

#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/btree.hpp"
#include "engine/btree/page_layout.hpp"

namespace ringdb::engine {

enum class BoundKind : std::uint8_t { unbounded, included, excluded };

/// One end of a range. The key is copied by the Cursor constructor.
struct Bound {
    BoundKind kind = BoundKind::unbounded;
    std::span<const std::byte> key;

    static Bound unbounded() noexcept { return Bound{}; }
    static Bound included(std::span<const std::byte> k) noexcept {
        return Bound{BoundKind::included, k};
    }
    static Bound excluded(std::span<const std::byte> k) noexcept {
        return Bound{BoundKind::excluded, k};
    }
};

/// A bound's key owned by a cursor: up to kInline bytes in place (no allocation), longer keys
/// (or keys handed over as a vector) on the heap.
class BoundKey {
public:
    static constexpr std::size_t kInline = 64;

    BoundKey() noexcept = default;
    explicit BoundKey(std::span<const std::byte> key);
    explicit BoundKey(std::vector<std::byte> key) noexcept
        : heap_(std::move(key)), size_(heap_.size()), on_heap_(true) {}

    std::span<const std::byte> view() const noexcept {
        return on_heap_ ? std::span<const std::byte>(heap_)
                        : std::span<const std::byte>(inline_.data(), size_);
    }
    void clear() noexcept {
        heap_.clear();
        size_ = 0;
        on_heap_ = false;
    }

private:
    std::array<std::byte, kInline> inline_;
    std::vector<std::byte> heap_;
    std::size_t size_ = 0;
    bool on_heap_ = false;
};

class Cursor {
public:
    struct Entry {
        std::span<const std::byte> key;
        std::span<const std::byte> value;
    };
    using StepResult = Result<std::optional<Entry>>;

    class StepAwaiter {
    public:
        StepAwaiter(Cursor& cursor, bool forward) noexcept : cursor_(cursor), forward_(forward) {}
        bool await_ready();
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting);
        StepResult await_resume() { return std::move(result_); }

    private:
        static Task<void> slow_path(StepAwaiter* self);

        Cursor& cursor_;
        bool forward_;
        StepResult result_;
        Task<void> slow_task_;
    };

    /// Copies the bounds' keys (short ones into the cursor itself, without allocating).
    Cursor(const Btree& tree, Bound lower, Bound upper);
    /// As above, taking ownership of the bound keys instead of copying them.
    Cursor(const Btree& tree, BoundKind lower_kind, std::vector<std::byte> lower_bytes,
           BoundKind upper_kind, std::vector<std::byte> upper_bytes);
    Cursor(Cursor&&) noexcept = default;
    Cursor& operator=(Cursor&&) = delete;
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;

    /// The next entry from the front if it is available without loading a page.
    bool try_next(Entry& out) { return try_step(true, out); }
    /// The next entry from the back if it is available without loading a page.
    bool try_next_back(Entry& out) { return try_step(false, out); }
    /// The next entry from the front, or none at the end. Errors: io, corrupted.
    StepAwaiter next() noexcept { return StepAwaiter(*this, true); }
    /// The next entry from the back, or none at the end. Errors: io, corrupted.
    StepAwaiter next_back() noexcept { return StepAwaiter(*this, false); }

    /// A whole step without a coroutine, seeking or crossing to the next leaf over cached
    /// pages only: true with `out` set when done (an entry, the end, or an error); false when
    /// a page must be read, in which case step_slow() must take this step (the end is left
    /// for it to re-seek past the last key it returned).
    bool step_cached(bool forward, StepResult& out);
    /// The step, reading pages as needed. Errors: io, corrupted.
    Task<StepResult> step_slow(bool forward);

    /// The entries of one leaf that the front end consumes together: indices [first, last)
    /// of `view`, in increasing key order, each inside the range.
    struct LeafRun {
        LeafView view;
        std::uint32_t first = 0;
        std::uint32_t last = 0;
    };
    /// After a forward step returned an entry: that entry and the ones that follow it in the
    /// same leaf and lie in the range (before the upper bound and the back end), the latter
    /// consumed at once, so a scan pays for one step per leaf instead of one per entry. Its
    /// spans stay valid like the last entry's (front_page() holds the leaf). Only the run's
    /// boundary keys are compared: a damaged leaf whose keys are out of order yields them in
    /// leaf order (every step still moves onward, so a scan ends). Empty (first == last) when
    /// the last step was not a forward step that returned an entry.
    LeafRun take_leaf_run();
    /// Readahead over the leaves that follow the front end's leaf: the parent branch whose
    /// children are being listed (the leaf's parent, or one after it under the same
    /// grandparent), its index in the grandparent, the next child of it to list, and the
    /// last parent index whose branch was listed to be read.
    struct Readahead {
        PageNumber grand;
        std::uint32_t parent_index = 0;
        PageNumber parent;
        std::uint32_t next = 0;
        std::uint32_t requested_upto = 0;
    };
    /// Appends to `out` up to `max` pages a forward scan will read next, after what `state`
    /// listed already, and records them in `state`: the leaves after the front end's leaf
    /// under its parent, then those under the following parents of the same grandparent. A
    /// parent that is not cached is listed itself (with the next few), to be read before its
    /// leaves. Lists nothing where the grandparent is neither held nor cached; readahead is
    /// a hint (the steps read what they need).
    void next_leaves(Readahead& state, std::uint32_t max, std::vector<PageNumber>& out);
    /// The (up to) out.size() leaves right after the front end's leaf under its parent, for
    /// prefetching; returns how many were written (0 when the parent is not cached).
    std::uint32_t following_leaves(std::span<PageNumber> out);

    bool finished() const noexcept { return done_; }
    const PageRef& front_page() const noexcept { return front_.leaf; }
    const PageRef& back_page() const noexcept { return back_.leaf; }

private:
    /// One branch of an end's path. The asynchronous walk holds the branch (`ref`, `view`);
    /// the synchronous walk only borrows it on the way down (no reference count update) and
    /// keeps its number, so a later leaf crossing looks it up again.
    struct Level {
        PageRef ref;      // null when the branch was only borrowed
        BranchView view;  // valid while `ref` is held
        PageNumber page;
        std::uint32_t index = 0;     // the child taken
        std::uint32_t children = 0;  // the branch's child count
    };
    /// A child to descend to, with the checksum its parent holds for it (check_page).
    struct ChildAt {
        PageNumber page;
        util::Checksum128 checksum;
    };
    /// The branches of one end's path: the first kInline levels inline (every realistic
    /// tree), deeper ones (up to kMaxDepth) in a vector, so a cursor stays small and cheap to
    /// create. REQUIRES: a level is written before it is read.
    class Path {
    public:
        Level& operator[](std::uint32_t i) {
            if (i < kInline) {
                return inline_[i];
            }
            if (overflow_.size() <= i - kInline) {
                overflow_.resize(i - kInline + 1);
            }
            return overflow_[i - kInline];
        }
        const Level& operator[](std::uint32_t i) const {
            return i < kInline ? inline_[i] : overflow_[i - kInline];
        }

    private:
        static constexpr std::uint32_t kInline = 6;
        std::array<Level, kInline> inline_{};
        std::vector<Level> overflow_;
    };
    /// One end's position: the path from the root to its leaf, and the index in the leaf
    /// (front: the next entry to return; back: one past it).
    struct End {
        Path path;
        std::uint32_t depth = 0;
        PageRef leaf;
        LeafView view;
        std::uint32_t position = 0;
        bool positioned = false;
        std::uint64_t generation = 0;
        // The last key this end returned, and the leaf it lies in once the end moved on.
        std::span<const std::byte> last_key;
        bool has_last = false;
        bool last_in_leaf = false;
        PageRef last_leaf;
    };

    bool try_step(bool forward, Entry& out);
    /// seek() / advance() over cached pages: none when a page is not cached.
    std::optional<Status> seek_cached(bool forward);
    std::optional<Status> advance_cached(bool forward);
    /// The branch `page`: the view `level` holds when it is that page, else the cached page
    /// (borrowed into `holder`); none when not cached or not a well-formed branch.
    std::optional<BranchView> cached_branch(const Level& level, PageNumber page, PageRef& holder);

    /// Follows the first or last child from `page` down to a leaf over cached pages.
    std::optional<Status> descend_edge_cached(End& end, PageNumber page, bool forward);
    /// The child of `level` at its index, from its held view or by borrowing its page again;
    /// none when the page is no longer cached or is still to be checked (check_page).
    std::optional<Result<PageNumber>> child_cached(const Level& level);
    /// As child_cached(), reading the branch again (and holding it) if needed; none when the
    /// branch read again is still to be checked: the level does not keep the checksum its
    /// parent holds, so the end is sought again from the root.
    Task<Result<std::optional<ChildAt>>> child_of(Level& level);
    /// The branch level above the end's leaf to turn at for a step beyond the leaf: the
    /// deepest with a sibling on that side; 0 when there is none (the tree's edge).
    static std::uint32_t pivot_level(const End& end, bool forward) noexcept;
    /// Forgets the end's position (after a cached walk met an uncached page): the next step
    /// re-seeks past the last key it returned.
    void unposition(End& end);
    bool in_range_for_front(std::span<const std::byte> key) const;
    bool in_range_for_back(std::span<const std::byte> key) const;
    Task<Status> seek(bool forward);
    Task<Status> advance(bool forward);
    Task<Status> descend_edge(End& end, ChildAt child, bool forward);
    void leave_leaf(End& end);
    /// Constructor tail: drops unbounded keys, finishes an empty or inverted range.
    void check_bounds();
    /// Where a seek of one end starts: the key to search and how to treat an equal key.
    struct SeekProbe {
        std::span<const std::byte> key;
        bool exclusive = false;
        bool unbounded = false;
    };
    SeekProbe probe_for(const End& end, bool forward) const noexcept;
    std::span<const std::byte> lower_key() const noexcept { return lower_key_.view(); }
    std::span<const std::byte> upper_key() const noexcept { return upper_key_.view(); }

    const Btree* tree_;
    KeyCompare compare_;
    BoundKind lower_kind_;
    BoundKind upper_kind_;
    BoundKey lower_key_;
    BoundKey upper_key_;
    bool done_ = false;
    bool out_of_order_ = false;  // a key did not move onward: the tree is damaged (corrupted)
    bool run_ready_ = false;     // the last step was a forward one that returned an entry
    std::vector<PageNumber> following_;  // following_leaves' scratch
    End front_;
    End back_;
};

}  // namespace ringdb::engine
