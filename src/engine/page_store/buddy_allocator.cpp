#include "engine/page_store/buddy_allocator.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "util/assert.hpp"
#include "util/endian.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

constexpr char kMagic[8] = {'R', 'D', 'B', 'A', 'L', 'L', 'O', 'C'};
constexpr std::uint64_t block_pages(unsigned order) { return std::uint64_t{1} << order; }
// can_free reads the page map for blocks up to this order (64 words), the per-order bitmaps
// for larger ones.
constexpr unsigned kPageMapScanOrder = 12;
/// The bits [from, to) of a word, 0 <= from < to <= 64.
constexpr std::uint64_t bits_between(unsigned from, unsigned to) {
    std::uint64_t upper = to == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << to) - 1;
    return upper & (~std::uint64_t{0} << from);
}

}  // namespace

BuddyAllocator::BuddyAllocator(std::uint64_t layout_pages)
    : layout_pages_(layout_pages < 1 ? 1 : layout_pages), free_(kMaxOrder + 1) {
    size_bitmaps();
    add_free_range(1, layout_pages_);
}

void BuddyAllocator::size_bitmaps() {
    for (unsigned o = 0; o <= kMaxOrder; ++o) {
        free_[o].resize((layout_pages_ + block_pages(o) - 1) >> o);
    }
    free_map_.resize((layout_pages_ + 63) / 64);
    if ((layout_pages_ & 63) != 0) {
        free_map_.back() &= bits_between(0, static_cast<unsigned>(layout_pages_ & 63));
    }
}

void BuddyAllocator::mark_pages(std::uint64_t start, std::uint64_t count, bool free) {
    const std::uint64_t end = start + count;
    while (start < end) {
        const std::uint64_t word = start >> 6;
        const auto from = static_cast<unsigned>(start & 63);
        const auto to = static_cast<unsigned>(std::min<std::uint64_t>(end - (word << 6), 64));
        const std::uint64_t mask = bits_between(from, to);
        free_map_[word] = free ? (free_map_[word] | mask) : (free_map_[word] & ~mask);
        start = (word << 6) + to;
    }
}

bool BuddyAllocator::any_page_free(std::uint64_t start, std::uint64_t end) const {
    while (start < end) {
        const std::uint64_t word = start >> 6;
        const auto from = static_cast<unsigned>(start & 63);
        const auto to = static_cast<unsigned>(std::min<std::uint64_t>(end - (word << 6), 64));
        if ((free_map_[word] & bits_between(from, to)) != 0) {
            return true;
        }
        start = (word << 6) + to;
    }
    return false;
}

void BuddyAllocator::insert_free(std::uint64_t index, unsigned order) {
    RINGDB_ASSERT_CTX(index % block_pages(order) == 0, "misaligned free block", index);
    RINGDB_ASSERT_CTX(index + block_pages(order) <= layout_pages_, "free block past end", index);
    free_[order].set(index >> order);
    nonempty_orders_ |= std::uint32_t{1} << order;
    free_pages_ += block_pages(order);
}

void BuddyAllocator::remove_free(std::uint64_t index, unsigned order) {
    free_[order].reset(index >> order);
    if (free_[order].count() == 0) {
        nonempty_orders_ &= ~(std::uint32_t{1} << order);
    }
    free_pages_ -= block_pages(order);
}

bool BuddyAllocator::has_smaller_free_inside(std::uint64_t index, unsigned order) const {
    // Orders below `order` that have any free block: bits [index >> o, (index + 2^order) >> o).
    std::uint32_t orders = nonempty_orders_ & ((std::uint32_t{1} << order) - 1);
    while (orders != 0) {
        auto o = static_cast<unsigned>(std::countr_zero(orders));
        orders &= orders - 1;
        std::uint64_t next = free_[o].find_next(index >> o);
        if (next != LevelBitmap::npos && next < (index + block_pages(order)) >> o) {
            return true;
        }
    }
    return false;
}

void BuddyAllocator::add_free_range(std::uint64_t start, std::uint64_t end) {
    // Decompose [start, end) into maximal aligned blocks, merging each with free buddies.
    while (start < end) {
        unsigned order = 0;
        while (order < kMaxOrder && start % block_pages(order + 1) == 0 &&
               start + block_pages(order + 1) <= end) {
            ++order;
        }
        free(PageNumber::make(start, order));
        start += block_pages(order);
    }
}

void BuddyAllocator::free_range(std::uint64_t start, std::uint64_t end) {
    RINGDB_ASSERT_CTX(start >= 1 && start <= end && end <= layout_pages_, "free_range", start);
    add_free_range(start, end);
}

std::optional<PageNumber> BuddyAllocator::free_block_containing(std::uint64_t index) const {
    if (index == 0 || !page_free(index)) {
        return std::nullopt;
    }
    std::uint32_t orders = nonempty_orders_;
    while (orders != 0) {
        auto o = static_cast<unsigned>(std::countr_zero(orders));
        orders &= orders - 1;
        std::uint64_t container = index & ~(block_pages(o) - 1);
        if (has_free(container, o)) {
            return PageNumber::make(container, o);
        }
    }
    return std::nullopt;
}

std::optional<PageNumber> BuddyAllocator::allocate_at(std::uint64_t index, unsigned max_order) {
    std::optional<PageNumber> container = free_block_containing(index);
    if (!container) {
        return std::nullopt;
    }
    // index is aligned to 2^t and t <= the container's order, so the block fits inside it.
    unsigned order = std::min(max_order, container->order());
    while (order > 0 && index % block_pages(order) != 0) {
        --order;
    }
    PageNumber block = PageNumber::make(index, order);
    Status marked = mark_allocated(block);
    RINGDB_ASSERT(marked.has_value());
    return block;
}

std::optional<PageNumber> BuddyAllocator::lowest_free(unsigned order) const {
    if (order > kMaxOrder) {
        return std::nullopt;
    }
    // The lowest-addressed free block that fits, whatever its order: preferring an exact-order
    // block far up the file would leave data there and keep the file from shrinking.
    unsigned best = kMaxOrder + 1;
    std::uint64_t index = 0;
    std::uint32_t orders = nonempty_orders_ & ~((std::uint32_t{1} << order) - 1);
    while (orders != 0) {
        auto o = static_cast<unsigned>(std::countr_zero(orders));
        orders &= orders - 1;
        std::uint64_t first = free_[o].find_first() << o;
        if (best > kMaxOrder || first < index) {
            best = o;
            index = first;
        }
    }
    if (best > kMaxOrder) {
        return std::nullopt;
    }
    return PageNumber::make(index, best);
}

std::optional<PageNumber> BuddyAllocator::allocate(unsigned order) {
    std::optional<PageNumber> found = lowest_free(order);
    if (!found) {
        return std::nullopt;
    }
    const std::uint64_t index = found->index();
    unsigned o = found->order();
    remove_free(index, o);
    // Split down, keeping the upper halves free.
    while (o > order) {
        --o;
        insert_free(index + block_pages(o), o);
    }
    mark_pages(index, block_pages(order), false);
    return PageNumber::make(index, order);
}

void BuddyAllocator::free(PageNumber block) {
    std::uint64_t index = block.index();
    unsigned order = block.order();
    RINGDB_ASSERT_CTX(index != 0 && index + block.pages() <= layout_pages_, "free outside extent",
                      block.raw());
    while (order < kMaxOrder) {
        std::uint64_t buddy = index ^ block_pages(order);
        if (buddy == 0 || buddy + block_pages(order) > layout_pages_ || !has_free(buddy, order)) {
            break;
        }
        remove_free(buddy, order);
        index = index < buddy ? index : buddy;
        ++order;
    }
    insert_free(index, order);
    mark_pages(block.index(), block.pages(), true);
}

Status BuddyAllocator::mark_allocated(PageNumber block) {
    std::uint64_t index = block.index();
    unsigned order = block.order();
    if (!block.is_valid() || index + block.pages() > layout_pages_) {
        return Error{Errc::corrupted, 0, block.raw()};
    }
    // Find the free block that contains this one, then split it down around it.
    std::uint32_t orders = nonempty_orders_ & ~((std::uint32_t{1} << order) - 1);
    while (orders != 0) {
        auto o = static_cast<unsigned>(std::countr_zero(orders));
        orders &= orders - 1;
        std::uint64_t container = index & ~(block_pages(o) - 1);
        if (!has_free(container, o)) {
            continue;
        }
        remove_free(container, o);
        while (o > order) {
            --o;
            std::uint64_t half = block_pages(o);
            std::uint64_t lower = container;
            std::uint64_t upper = container + half;
            if (index >= upper) {
                insert_free(lower, o);
                container = upper;
            } else {
                insert_free(upper, o);
            }
        }
        mark_pages(index, block.pages(), false);
        return ok();
    }
    return Error{Errc::corrupted, 0, block.raw()};
}

bool BuddyAllocator::is_free(PageNumber block) const {
    // A free container holds the block's first page; a single page is free iff its bit is.
    if (block.order() > kMaxOrder || !page_free(block.index())) {
        return false;
    }
    if (block.order() == 0) {
        return true;
    }
    std::uint32_t orders = nonempty_orders_ & ~((std::uint32_t{1} << block.order()) - 1);
    while (orders != 0) {
        auto o = static_cast<unsigned>(std::countr_zero(orders));
        orders &= orders - 1;
        if (has_free(block.index() & ~(block_pages(o) - 1), o)) {
            return true;
        }
    }
    return false;
}

bool BuddyAllocator::can_free(PageNumber block) const {
    if (!block.is_valid() || block.index() + block.pages() > layout_pages_) {
        return false;
    }
    // No page of the block is free: no free block contains it or lies inside it.
    if (block.order() <= kPageMapScanOrder) {
        return !any_page_free(block.index(), block.index() + block.pages());
    }
    return !is_free(block) && !has_smaller_free_inside(block.index(), block.order());
}

void BuddyAllocator::grow(std::uint64_t new_layout_pages) {
    RINGDB_ASSERT(new_layout_pages >= layout_pages_);
    std::uint64_t old = layout_pages_;
    layout_pages_ = new_layout_pages;
    size_bitmaps();
    add_free_range(old, new_layout_pages);
}

std::uint64_t BuddyAllocator::trailing_free_start() const {
    std::uint64_t end = layout_pages_;
    // Each step removes one free block ending at `end`; there are at most free-block-count
    // steps, and blocks are disjoint, so the loop terminates.
    for (;;) {
        if (end <= 1 || !page_free(end - 1)) {
            return end;  // the last page is allocated (or the header): no free block ends here
        }
        bool found = false;
        for (unsigned o = 0; o <= kMaxOrder && !found; ++o) {
            if (end < block_pages(o) + 1) {
                break;
            }
            std::uint64_t start = end - block_pages(o);
            if (start % block_pages(o) == 0 && has_free(start, o)) {
                end = start;
                found = true;
            }
        }
        if (!found) {
            return end;
        }
    }
}

void BuddyAllocator::shrink(std::uint64_t new_layout_pages) {
    RINGDB_ASSERT(new_layout_pages >= 1 && new_layout_pages <= layout_pages_);
    RINGDB_ASSERT(new_layout_pages >= trailing_free_start());
    for (unsigned o = 0; o <= kMaxOrder; ++o) {
        // The free blocks at or past the new end go; one straddling it would be kept, which
        // the precondition (the new end starts a free block) rules out.
        std::uint64_t cut = (new_layout_pages + block_pages(o) - 1) >> o;
        for (std::uint64_t i = free_[o].find_next(cut); i != LevelBitmap::npos;
             i = free_[o].find_next(i + 1)) {
            remove_free(i << o, o);
        }
        if (cut > 0) {
            std::uint64_t last = cut - 1;
            RINGDB_ASSERT(!free_[o].test(last) || (last << o) + block_pages(o) <= new_layout_pages);
        }
    }
    layout_pages_ = new_layout_pages;
    size_bitmaps();
}

std::vector<PageNumber> BuddyAllocator::free_blocks() const {
    std::vector<PageNumber> blocks;
    for (unsigned o = 0; o <= kMaxOrder; ++o) {
        for (std::uint64_t i = free_[o].find_first(); i != LevelBitmap::npos;
             i = free_[o].find_next(i + 1)) {
            blocks.push_back(PageNumber::make(i << o, o));
        }
    }
    return blocks;
}

std::vector<std::byte> BuddyAllocator::serialize() const {
    std::vector<PageNumber> blocks = free_blocks();
    std::vector<std::byte> out(24 + 8 * blocks.size());
    std::memcpy(out.data(), kMagic, sizeof(kMagic));
    util::store_le64(out.data() + 8, layout_pages_);
    util::store_le64(out.data() + 16, blocks.size());
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        util::store_le64(out.data() + 24 + 8 * i, blocks[i].raw());
    }
    return out;
}

Result<BuddyAllocator> BuddyAllocator::deserialize(std::span<const std::byte> bytes) {
    if (bytes.size() < 24 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
        return Error{Errc::corrupted};
    }
    std::uint64_t layout = util::load_le64(bytes.data() + 8);
    std::uint64_t count = util::load_le64(bytes.data() + 16);
    if (layout < 1 || layout > PageNumber::kIndexMask || count > (bytes.size() - 24) / 8) {
        return Error{Errc::corrupted};
    }
    // Start fully allocated, then free the listed blocks, refusing overlaps.
    BuddyAllocator allocator(1);
    allocator.layout_pages_ = layout;
    allocator.size_bitmaps();
    for (std::uint64_t i = 0; i < count; ++i) {
        auto block = PageNumber::from_raw(util::load_le64(bytes.data() + 24 + 8 * i));
        // Valid, inside the extent, and none of its pages already listed (no free container,
        // no smaller free block inside): exactly what can_free checks.
        if (!allocator.can_free(block)) {
            return Error{Errc::corrupted, 0, block.raw()};
        }
        allocator.insert_free(block.index(), block.order());
        allocator.mark_pages(block.index(), block.pages(), true);
    }
    return allocator;
}

}  // namespace ringdb::engine

namespace ringdb::engine {

Status BuddyAllocator::mark_range_allocated(std::uint64_t start, std::uint64_t end) {
    std::uint64_t at = start;
    while (at < end) {
        unsigned order = 0;
        while (order < kMaxOrder && at % (std::uint64_t{2} << order) == 0 &&
               at + (std::uint64_t{2} << order) <= end) {
            ++order;
        }
        RINGDB_TRY(mark_allocated(PageNumber::make(at, order)));
        at += std::uint64_t{1} << order;
    }
    return ok();
}

}  // namespace ringdb::engine
