#pragma once
// Btree: the copy-on-write B+tree of the storage engine (docs/design.md section 3).
//
// A tree is a BtreeRoot plus a key order; it reaches pages only through a TreePages, so the
// same code serves read transactions (committed pages through the cache) and write
// transactions (dirty pages modified in place, committed pages copied on write).
//
// Copy-on-write: a committed page (pages.writable() returns null) is never modified. Changing
// it allocates a new block, writes the new content there, frees the old block and updates the
// parent, which is copied the same way if it is committed. Hence every ancestor of a dirty page
// is dirty. Dirty pages are modified in place through pages.writable(), always using the buffer
// it returns (it is a private copy when a guard or cursor still holds the old one, so guards
// keep the bytes they were given).
//
// Checksums: a parent's checksum field for a dirty child is a placeholder (zero when this code
// wrote it, stale otherwise); finalize() computes them bottom-up. root().checksum is meaningful
// only after finalize() and until the next modification.
//
// Page policy: a leaf that would exceed one base page splits at the half-bytes point (each half
// keeps at least one entry; the separator is the last key of the left half); a single entry
// larger than a page gets a leaf of order order_for(size); a branch that exceeds a page splits
// moving its middle key up. A page that falls below a third of a base page after a removal is
// merged with, or rebalanced against, a sibling; a root branch with one child collapses.
//
// Concurrency: a Btree belongs to one transaction on one thread. Modifying operations (insert,
// remove, finalize, free_all) must not overlap any other operation on the same Btree object;
// read operations (get, first, last, cursors) may interleave with each other. After a modifying
// operation fails (I/O error, no_space, corrupted input) the tree is unspecified and its
// transaction must be aborted.
//
// Parameter lifetime: every Task here takes spans; it must be co_awaited in the full-expression
// that created it (docs/coroutines.md rule 5).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/mutation_sink.hpp"
#include "engine/btree/page_layout.hpp"
#include "engine/btree/tree_pages.hpp"

namespace ringdb::engine {

/// A value inside a page: zero-copy, valid while the guard lives (it holds the page).
struct ValueRef {
    PageRef page;
    std::span<const std::byte> bytes;
};

/// An entry inside a page, as ValueRef.
struct EntryRef {
    PageRef page;
    std::span<const std::byte> key;
    std::span<const std::byte> value;
};

using OwnedBytes = std::vector<std::byte>;

/// Key and value limits (docs/design.md section 6).
inline constexpr std::uint64_t kMaxKeyOrValueLength = std::uint64_t{3} << 30;
inline constexpr std::uint64_t kMaxPairLength = (std::uint64_t{15} << 30) / 4;

class Btree {
public:
    /// REQUIRES: `pages` outlives the Btree and every cursor over it.
    Btree(TreePages& pages, KeyCompare key_compare, BtreeRoot root) noexcept;
    Btree(const Btree&) = delete;
    Btree& operator=(const Btree&) = delete;

    const BtreeRoot& root() const noexcept { return root_; }
    std::uint64_t length() const noexcept { return root_.length; }
    bool empty() const noexcept { return root_.page.is_null(); }
    TreePages& pages() const noexcept { return pages_; }
    KeyCompare compare() const noexcept { return compare_; }
    /// Incremented by every modification; cursors use it to notice that they must re-seek.
    std::uint64_t generation() const noexcept { return generation_; }

    /// The value stored under `key`, or none. Errors: io, corrupted.
    Task<Result<std::optional<ValueRef>>> get(std::span<const std::byte> key) const;
    /// get() without a coroutine, over pages that are dirty or cached: none when a page on the
    /// path would need a device read (then call get()). Branches on the way down are borrowed
    /// (TreePages::try_borrow), so a cached lookup takes one page reference, for the leaf.
    std::optional<Result<std::optional<ValueRef>>> try_get(std::span<const std::byte> key) const;
    /// The smallest / largest entry, or none for an empty tree. Errors: io, corrupted.
    Task<Result<std::optional<EntryRef>>> first() const;
    Task<Result<std::optional<EntryRef>>> last() const;

    /// Inserts or replaces; returns the previous value. length() grows only for a new key.
    /// Errors: value_too_large (tree unchanged), io, no_space, corrupted.
    Task<Result<std::optional<OwnedBytes>>> insert(std::span<const std::byte> key,
                                                   std::span<const std::byte> value);
    /// insert() without a coroutine for the common case of a bulk load: every page on the
    /// path is dirty or cached and the leaf is dirty and takes the pair in place (no split, no
    /// copy-on-write, not left below a third of a page). Returns none, with the tree
    /// untouched, in every other case (then call insert()). Errors as insert(). With
    /// `keep_old` false a replaced value is reported as an empty OwnedBytes (no copy).
    std::optional<Result<std::optional<OwnedBytes>>> try_insert(std::span<const std::byte> key,
                                                                std::span<const std::byte> value,
                                                                bool keep_old = true);
    /// Removes `key`; returns its value, or none (and the tree is untouched) if absent.
    /// Errors: io, no_space, corrupted.
    Task<Result<std::optional<OwnedBytes>>> remove(std::span<const std::byte> key);
    /// remove() without a coroutine and without a copy of the value, when every page on the
    /// path is dirty or cached and the leaf is dirty and stays in place (not left below a third
    /// of a page unless it is the root); returns whether the key was there. None, with the
    /// tree untouched, in every other case (then call remove()).
    std::optional<Result<bool>> try_remove(std::span<const std::byte> key);

    /// Computes the checksums of every dirty page, children first, and returns the root with
    /// its checksum and length. Reads only dirty pages (always in memory). Errors: corrupted.
    Task<Result<BtreeRoot>> finalize();

    /// Frees every page of the tree (for delete_table) and leaves it empty. Errors: io,
    /// corrupted (then some pages may already be freed).
    Task<Status> free_all();

    /// Compaction: moves every page for which `should_move` is true into a newly allocated
    /// block when the allocator hands out a lower one, rewriting the ancestors of moved pages
    /// (copy-on-write as usual; old blocks are freed through the TreePages). Returns how many
    /// pages moved to a lower address. Call finalize() afterwards. `should_move` must outlive
    /// the Task (co_await it at once). Errors: io, no_space, corrupted.
    Task<Result<std::uint64_t>> relocate(const std::function<bool(PageNumber)>& should_move);
    /// Reports every later insert and removal to `sink` (null: none). REQUIRES: `sink`
    /// outlives the tree or is reset first.
    void set_sink(MutationSink* sink) noexcept { sink_ = sink; }
    MutationSink* sink() const noexcept { return sink_; }

    /// Makes the tree show another root (a savepoint restore); frees nothing. REQUIRES: no
    /// modifying operation is in progress.
    void reset(BtreeRoot root) noexcept {
        root_ = root;
        ++generation_;
    }

private:
    // The operations without reporting to the sink.
    std::optional<Result<std::optional<OwnedBytes>>> try_insert_plain(
            std::span<const std::byte> key, std::span<const std::byte> value, bool keep_old);
    std::optional<Result<bool>> try_remove_plain(std::span<const std::byte> key);
    void report_inserted(std::span<const std::byte> key, std::span<const std::byte> value) {
        if (sink_ != nullptr) {
            sink_->inserted(key, value);
        }
    }

    /// A branch on the path from the root to the leaf being modified.
    struct PathLevel {
        PageNumber page;
        PageRef ref;      // dropped before pages.writable(page); the view dies with it
        BranchView view;  // valid while ref is held
        std::uint32_t child = 0;
        bool dirty = false;  // allocated by this transaction (stays so during the operation)
    };
    /// One page replacing (part of) a child.
    struct Piece {
        PageNumber page;
        util::Checksum128 checksum;  // zero placeholder for dirty pages
        PageRef ref;                 // its content (null for a degenerate piece)
        std::uint64_t used = 0;
    };
    static constexpr std::uint32_t kMaxPieces = 8;
    /// What happened to a child, for its parent to apply.
    struct Replacement {
        bool changed = false;     // the parent's reference must change (page numbers differ)
        bool underfull = false;   // the single piece is below a third of a base page
        bool degenerate = false;  // the child branch dissolved; pieces[0] is its only child
        std::uint32_t count = 0;  // 0: the child became empty
        std::array<Piece, kMaxPieces> pieces{};
        std::array<std::span<const std::byte>, kMaxPieces> separators{};  // after piece j
    };

    Task<Status> descend(std::span<const std::byte> key);
    /// For try_insert: finds the leaf over dirty or cached pages without taking references
    /// (leaf_view_ is valid until the next page access; path_ stays empty); none at the first
    /// page that would need a device read.
    std::optional<Status> descend_cached(std::span<const std::byte> key);
    /// Whether insert_into_leaf(key, value, at) would modify the dirty leaf in place and
    /// leave nothing to propagate (a root leaf may be underfull).
    bool insert_stays_in_leaf(std::span<const std::byte> key, std::span<const std::byte> value,
                              LeafView::Search at) const;
    /// The buffer to modify `page` through: in place if `dirty`, else a copy in a new block
    /// (`page` becomes the new block, the old one is freed). `held` is released either way.
    Result<MutPageRef> make_writable(PageNumber& page, bool dirty, PageRef& held,
                                     std::uint64_t old_used, std::uint64_t bytes);
    Status insert_into_leaf(std::span<const std::byte> key, std::span<const std::byte> value,
                            LeafView::Search at, Replacement& out);
    Status remove_from_leaf(LeafView::Search at, Replacement& out);
    /// Whether the leaf reached by the descent is the tree's last (path_ takes the last child
    /// at every level). REQUIRES: path_ holds the descent's views.
    bool on_right_edge() const noexcept;
    /// Writes `seq` as leaf pieces into new blocks; with `reuse` (a dirty base-page leaf held
    /// in leaf_ref_) the first piece of a split goes into that block instead, and *reused
    /// says whether it did (then the caller must not free it). `split` as partition_leaf.
    Status build_leaf_pieces(const EntrySeq& seq, Replacement& out, PageNumber reuse = {},
                             bool* reused = nullptr, LeafSplit split = LeafSplit::halves);
    Status build_branch_pieces(std::span<const BranchItem> items, Replacement& out);
    void hold(Replacement& rep);
    void splice_items(std::uint32_t first, std::uint32_t replaced, const Replacement& rep);
    Status update_child_in_place(std::uint32_t level, Replacement& rep);
    Task<Status> propagate(Replacement& rep);
    Task<Status> rebalance(std::uint32_t level, Replacement& rep, bool& merged);
    Status combine_with_sibling_branch(std::uint32_t index, std::uint32_t left,
                                       const PageRef& sibling_ref, PageNumber sibling_page,
                                       Replacement& out);
    Status combine_leaves(const PageRef& left_ref, PageNumber left_page, const PageRef& right_ref,
                          PageNumber right_page, Replacement& out, bool& merged);
    Status combine_branches(std::span<const std::byte> separator, const PageRef& left_ref,
                            PageNumber left_page, const PageRef& right_ref, PageNumber right_page,
                            Replacement& out, bool& merged);
    /// Propagation into a dirty parent whose new children (items_) fit its page: rewrites it
    /// in place instead of allocating a new block; `rep` becomes the parent's replacement.
    /// Returns false (nothing done) when that does not apply.
    bool rewrite_branch_in_place(std::uint32_t level, Replacement& rep);
    Status set_root(Replacement& rep);
    void finish_modification();

    TreePages& pages_;
    KeyCompare compare_;
    BtreeRoot root_;
    std::uint64_t generation_ = 0;
    MutationSink* sink_ = nullptr;

    // Scratch state of the modifying operation in progress, reused so that the steady state
    // allocates nothing. Only one modifying operation runs at a time (see above).
    std::vector<PathLevel> path_;
    PageNumber leaf_page_;
    bool leaf_dirty_ = false;
    bool leaf_is_root_ = false;  // set by descend_cached
    PageRef leaf_ref_;
    LeafView leaf_view_;
    std::vector<BranchItem> items_;
    std::vector<BranchItem> combine_items_;
    std::vector<std::uint64_t> prefix_;
    std::vector<std::uint32_t> ends_;
    std::vector<std::byte> scratch_;  // a branch built aside (rewrite_branch_in_place)
    // Buffers that separators and items point into, held until the operation ends.
    std::vector<PageRef> keep_alive_;
};

}  // namespace ringdb::engine
