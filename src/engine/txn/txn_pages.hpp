#pragma once
// The page sets a B-tree sees inside a transaction (TreePages implementations).
//
// WritePages belongs to a write transaction: blocks it allocates are dirty, held in memory and
// modifiable in place until commit hands them to the page store; committed blocks it stops
// using are recorded as freed by this transaction. Thread-safe (one write transaction may be
// used from several threads, one table per thread), so every call takes the mutex; the dirty
// set is an open-addressing table keyed by page number (DirtyMap), one probe per lookup, no
// allocation per page. Buffers of dirty blocks freed again in the same transaction (the pages
// a split or a rebuilt branch replaces) are kept for the next allocate() of the same size
// instead of going back to malloc.
//
// Extents (docs/design.md section 5): single pages are carved in address order from a run of
// free pages the transaction takes from the allocator (its extent, PageStore::allocate_extent)
// and extends in place while the pages after it are free, so that a commit's pages form a few
// runs of adjacent pages that the page store writes with one vectored write each. The first
// extent is sized from the previous transaction's page count, each further one may be twice
// as large (2^kMinExtentOrder to 2^kMaxExtentOrder pages); a dirty single page freed again is
// a hole that the next single-page allocation reuses. Small transactions (fewer than
// kExtentMinPages single pages, after one as small) take single pages lowest first instead,
// because carving does not pay for them (docs/performance.md, "Contiguous extents and
// vectored writes"). At commit (take_dirty) and at rollback
// the extent's unused tail and the holes go back to the allocator, so a commit never holds
// an unreachable page: saved allocator states and full repair see the same free space as
// without extents. Larger blocks come from the allocator directly.
//
// SnapshotPages belongs to a read transaction: committed pages only, through the shared cache.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "engine/btree/tree_pages.hpp"
#include "engine/page_store/page_store.hpp"
#include "util/assert.hpp"

namespace ringdb::engine {

/// Page number -> dirty buffer: linear probing over a power-of-two array, backward-shift
/// deletion (no tombstones), at most half full. Not thread-safe (WritePages locks around it).
class DirtyMap {
public:
    DirtyMap() = default;
    DirtyMap(const DirtyMap&) = delete;
    DirtyMap& operator=(const DirtyMap&) = delete;

    std::size_t size() const noexcept { return size_; }
    /// The buffer stored for `page`, or null. Starts a prefetch of the page's first bytes.
    MutPageRef* find(PageNumber page) noexcept {
        std::size_t at = position(page);
        if (at == kAbsent) {
            return nullptr;
        }
        __builtin_prefetch(slots_[at].data);
        return &slots_[at].buffer;
    }
    /// Replaces the buffer of a present entry (a private copy, WritePages::writable).
    void replace_buffer(PageNumber page, MutPageRef buffer) noexcept {
        std::size_t at = position(page);
        RINGDB_ASSERT(at != kAbsent && buffer != nullptr);
        slots_[at].data = buffer->data();
        slots_[at].buffer = std::move(buffer);
    }
    bool contains(PageNumber page) const noexcept { return position(page) != kAbsent; }
    /// Stores `buffer` for `page`. REQUIRES: `page` is not null and not present.
    void insert(PageNumber page, MutPageRef buffer);
    /// Removes `page` and returns its buffer (null if absent).
    MutPageRef erase(PageNumber page) noexcept;
    /// Calls f(page, buffer&) for every entry, in no particular order.
    template <typename F>
    void for_each(F&& f) {
        for (Slot& slot : slots_) {
            if (slot.page != 0) {
                f(PageNumber::from_raw(slot.page), slot.buffer);
            }
        }
    }
    void clear() noexcept;
    /// Makes room for `count` entries without growing. REQUIRES: empty.
    void reserve(std::size_t count);

private:
    static constexpr std::size_t kAbsent = ~std::size_t{0};
    struct Slot {
        std::uint64_t page = 0;  // raw page number; 0 = empty (never a valid block)
        MutPageRef buffer;
        // buffer->data(), kept here so that a lookup can start fetching the page's bytes
        // while the buffer's reference count (another cache line) is still on its way.
        const std::byte* data = nullptr;
    };
    std::size_t home(std::uint64_t raw) const noexcept {
        return static_cast<std::size_t>((raw * 0x9e3779b97f4a7c15ULL) >> shift_);
    }
    std::size_t position(PageNumber page) const noexcept;
    void grow();

    std::vector<Slot> slots_;
    std::size_t size_ = 0;
    unsigned shift_ = 64;
};

class WritePages final : public TreePages {
public:
    /// The dirty-page table starts with room for the previous transaction's pages and a
    /// quarter more (PageStore::extent_hint), so a large transaction does not rehash it
    /// through every power of two on the way.
    explicit WritePages(PageStore& store);
    ~WritePages() override;

    std::uint32_t page_size() const noexcept override { return store_.page_size(); }
    PageRef try_read(PageNumber page) override;
    PageRef try_read_flagged(PageNumber page, bool& dirty) override;
    const PageRef* try_borrow(PageNumber page, PageRef& holder) override;
    const PageBuffer* try_peek(PageNumber page, PageRef& holder, bool& dirty) override;
    Task<Result<PageRef>> read(PageNumber page) override;
    Result<std::pair<PageNumber, MutPageRef>> allocate(std::size_t bytes) override;
    MutPageRef writable(PageNumber page) override;
    bool is_dirty(PageNumber page) const override;
    void free(PageNumber page) override;

    /// The dirty blocks with their images, for commit; the set is emptied (the blocks now
    /// belong to the commit).
    std::vector<std::pair<PageNumber, PageRef>> take_dirty();
    /// Committed blocks freed by this transaction since the last call.
    std::vector<PageNumber> take_freed();
    std::size_t dirty_count() const;
    std::size_t freed_count() const;
    /// Returns every dirty block to the allocator and forgets the freed list (abort).
    void rollback();
    /// Extent sizes (see the file comment); PageStore::set_extents_enabled(false) turns
    /// extents off (compaction).
    static constexpr unsigned kMinExtentOrder = 4;  // 16 pages
    /// Transactions below this many single pages (and following one below it) do not carve.
    static constexpr std::size_t kExtentMinPages = 16;
    static constexpr unsigned kMaxExtentOrder = 8;  // 256 pages

private:
    static constexpr std::size_t kMaxSpareBuffers = 32;
    static constexpr std::size_t kSpareProbes = 4;
    /// A zeroed buffer of `size` bytes: a spare one if there is one. REQUIRES: mutex_ held.
    MutPageRef new_buffer(std::size_t size);
    /// Keeps the buffer of a freed dirty block for reuse (once nobody else holds it).
    /// REQUIRES: mutex_ held.
    void recycle(MutPageRef buffer);
    /// A single page from the holes or the extent (taking a new extent when it is used up).
    /// REQUIRES: mutex_ held.
    Result<PageNumber> carve_page();
    /// Returns the extent's unused tail and the holes to the allocator and ends carving.
    /// REQUIRES: mutex_ held.
    void release_extent();
    /// A block straight from the allocator (lowest address first). REQUIRES: mutex_ held.
    Result<std::pair<PageNumber, MutPageRef>> allocate_lowest(unsigned order);

    PageStore& store_;
    mutable std::mutex mutex_;
    DirtyMap dirty_;                     // guarded by mutex_
    std::vector<PageNumber> freed_;      // guarded by mutex_
    // Buffers of freed dirty blocks, oldest first; guarded by mutex_; base page size only.
    std::vector<MutPageRef> spare_;
    // Extent state, guarded by mutex_: pages [extent_next_, extent_end_) are allocated to this
    // transaction and not handed out yet; holes_ are dirty single pages freed again.
    std::uint64_t extent_next_ = 0;
    std::uint64_t extent_end_ = 0;
    unsigned extent_order_ = 0;  // order of the next extent (0: not chosen yet)
    std::vector<PageNumber> holes_;
    bool carving_ = false;       // single pages come from extents (see allocate())
    std::size_t singles_ = 0;    // single pages taken lowest first so far
};

class SnapshotPages final : public TreePages {
public:
    explicit SnapshotPages(PageStore& store) noexcept : store_(store) {}

    std::uint32_t page_size() const noexcept override { return store_.page_size(); }
    PageRef try_read(PageNumber page) override { return store_.try_read(page); }
    const PageRef* try_borrow(PageNumber page, PageRef& holder) override {
        return store_.try_borrow(page, holder);
    }
    Task<Result<PageRef>> read(PageNumber page) override { return store_.read(page); }
    void prefetch(PageNumber page, std::size_t bytes) override { store_.prefetch(page, bytes); }
    Task<Status> read_span(std::span<const PageNumber> pages) override {
        return store_.read_span(pages);
    }
    std::uint64_t readahead_budget() const noexcept override {
        return store_.cache_capacity_bytes() / 4 / store_.page_size();
    }
    Result<std::pair<PageNumber, MutPageRef>> allocate(std::size_t) override {
        return Error{Errc::invalid_argument};
    }
    MutPageRef writable(PageNumber) override { return nullptr; }
    bool is_dirty(PageNumber) const override { return false; }
    void free(PageNumber) override {}

private:
    PageStore& store_;
};

}  // namespace ringdb::engine
