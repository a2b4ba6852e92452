#pragma once
// BuddyAllocator: the free space of the file, as blocks of 2^order base pages
// (docs/design.md section 5).
//
// Invariants:
//  - The managed extent is base pages [1, layout_pages); page 0 is the header.
//  - Every free page belongs to exactly one free block; a free block is aligned to its size and
//    lies wholly inside the extent.
//  - A free block's buddy (index ^ 2^order) is never free at the same order: free() merges.
//  - allocate() returns the lowest-addressed free block that fits (of any order >= the one
//    asked for), split down as needed, which keeps data near the start of the file so that
//    shrinking and compaction can trim its end.
// Representation: one LevelBitmap per order, bit i of order o set iff the block of 2^o pages at
// base page i * 2^o is free, plus a mask of the orders that have any free block, plus a flat
// map with one bit per base page (set iff the page is free), which answers is_free, can_free
// and free_block_containing for allocated pages with one bit test. Every call is a few word
// operations per order instead of a walk through per-order ordered sets.
// Not thread-safe: the page store serialises access.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <ringdb/result.hpp>

#include "engine/page_store/level_bitmap.hpp"
#include "engine/page_store/page_number.hpp"

namespace ringdb::engine {

class BuddyAllocator {
public:
    /// An allocator whose whole extent [1, layout_pages) is free.
    explicit BuddyAllocator(std::uint64_t layout_pages);

    std::uint64_t layout_pages() const noexcept { return layout_pages_; }
    std::uint64_t free_pages() const noexcept { return free_pages_; }
    std::uint64_t allocated_pages() const noexcept { return layout_pages_ - 1 - free_pages_; }

    /// A free block of `order`, or nullopt when none fits in the current extent (grow first).
    std::optional<PageNumber> allocate(unsigned order);
    /// The free block allocate(order) would split from (the lowest-addressed free block of
    /// `order` or larger), without allocating it; nullopt if there is none.
    std::optional<PageNumber> lowest_free(unsigned order) const;
    /// The free block that contains base page `index`, or nullopt if that page is not free.
    std::optional<PageNumber> free_block_containing(std::uint64_t index) const;
    /// Allocates the largest block that starts at base page `index`, has order <= max_order
    /// and lies inside the free block containing that page; nullopt if the page is not free.
    std::optional<PageNumber> allocate_at(std::uint64_t index, unsigned max_order);
    /// Returns a block. REQUIRES: it was allocated and lies inside the extent.
    void free(PageNumber block);
    /// Frees the base pages [start, end), as the largest aligned blocks that tile the range
    /// (each merged with its free buddies): the unused tail of a write transaction's extent.
    /// REQUIRES: 1 <= start <= end <= layout_pages() and no page of the range is free.
    void free_range(std::uint64_t start, std::uint64_t end);
    /// Marks a block allocated (full repair). Errors: corrupted if any of its pages is already
    /// allocated or outside the extent (detail = the block's raw number).
    Status mark_allocated(PageNumber block);
    /// mark_allocated() for the base pages [start, end), as the largest aligned blocks.
    Status mark_range_allocated(std::uint64_t start, std::uint64_t end);
    /// Whether every page of the block is free.
    bool is_free(PageNumber block) const;
    /// Whether free(block) is consistent: a valid block inside the extent, none of whose pages
    /// is free. Used on page numbers read from disk before they are freed.
    bool can_free(PageNumber block) const;

    /// Extends the extent; the new pages are free. REQUIRES: new_layout_pages >= current.
    void grow(std::uint64_t new_layout_pages);
    /// The lowest extent length such that every page from there to the end is free.
    std::uint64_t trailing_free_start() const;
    /// Cuts the extent to `new_layout_pages`. REQUIRES: new_layout_pages >=
    /// trailing_free_start() and is the start of a free block or the current end.
    void shrink(std::uint64_t new_layout_pages);

    /// The saved-state encoding (docs/design.md section 5, without the trailing checksum, which
    /// the page store adds): "RDBALLOC", layout pages, free block count, raw block numbers.
    std::vector<std::byte> serialize() const;
    /// Rebuilds an allocator from serialize()'s bytes. Errors: corrupted on any inconsistency
    /// (bad magic, counts, overlapping or misaligned blocks, blocks outside the extent).
    static Result<BuddyAllocator> deserialize(std::span<const std::byte> bytes);

    /// The free blocks, ascending by order then index (for tests and stats).
    std::vector<PageNumber> free_blocks() const;

private:
    void add_free_range(std::uint64_t start, std::uint64_t end);
    void insert_free(std::uint64_t index, unsigned order);
    void remove_free(std::uint64_t index, unsigned order);
    bool has_free(std::uint64_t index, unsigned order) const {
        return free_[order].test(index >> order);
    }
    /// Whether a free block of order < `order` starts inside [index, index + 2^order).
    bool has_smaller_free_inside(std::uint64_t index, unsigned order) const;
    /// Sizes every order's bitmap and the page map to the current layout_pages_.
    void size_bitmaps();
    /// Sets or clears the page map's bits for the pages [start, start + count).
    void mark_pages(std::uint64_t start, std::uint64_t count, bool free);
    bool page_free(std::uint64_t page) const {
        return page < layout_pages_ && ((free_map_[page >> 6] >> (page & 63)) & 1) != 0;
    }
    /// Whether any page of [start, end) is free (by the page map). REQUIRES: end <= layout.
    bool any_page_free(std::uint64_t start, std::uint64_t end) const;

    std::uint64_t layout_pages_;
    std::uint64_t free_pages_ = 0;
    std::uint32_t nonempty_orders_ = 0;  // bit o: free_[o] has a set bit
    std::vector<LevelBitmap> free_;      // per order: bit i = block at i << order is free
    std::vector<std::uint64_t> free_map_;  // bit p: base page p is free
};

}  // namespace ringdb::engine
