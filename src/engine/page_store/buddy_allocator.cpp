#include "engine/page_store/buddy_allocator.hpp"

#include <algorithm>
#include <cstring>

#include "util/assert.hpp"
#include "util/endian.hpp"

namespace ringdb::engine {

namespace {

constexpr char kMagic[8] = {'R', 'D', 'B', 'A', 'L', 'L', 'O', 'C'};
constexpr std::uint64_t block_pages(unsigned order) { return std::uint64_t{1} << order; }

}  // namespace

BuddyAllocator::BuddyAllocator(std::uint64_t layout_pages)
    : layout_pages_(layout_pages < 1 ? 1 : layout_pages), free_(kMaxOrder + 1) {
    add_free_range(1, layout_pages_);
}

void BuddyAllocator::insert_free(std::uint64_t index, unsigned order) {
    RINGDB_ASSERT_CTX(index % block_pages(order) == 0, "misaligned free block", index);
    RINGDB_ASSERT_CTX(index + block_pages(order) <= layout_pages_, "free block past end", index);
    free_[order].insert(index);
    free_pages_ += block_pages(order);
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
    if (index == 0 || index >= layout_pages_) {
        return std::nullopt;
    }
    for (unsigned o = 0; o <= kMaxOrder; ++o) {
        std::uint64_t container = index & ~(block_pages(o) - 1);
        if (free_[o].count(container) != 0) {
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
    for (unsigned o = order; o <= kMaxOrder; ++o) {
        if (!free_[o].empty() && (best > kMaxOrder || *free_[o].begin() < index)) {
            best = o;
            index = *free_[o].begin();
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
    const unsigned best = found->order();
    unsigned o = best;
    free_[o].erase(free_[o].begin());
    free_pages_ -= block_pages(o);
    // Split down, keeping the upper halves free.
    while (o > order) {
        --o;
        insert_free(index + block_pages(o), o);
    }
    return PageNumber::make(index, order);
}

void BuddyAllocator::free(PageNumber block) {
    std::uint64_t index = block.index();
    unsigned order = block.order();
    RINGDB_ASSERT_CTX(index != 0 && index + block.pages() <= layout_pages_, "free outside extent",
                      block.raw());
    while (order < kMaxOrder) {
        std::uint64_t buddy = index ^ block_pages(order);
        if (buddy == 0 || buddy + block_pages(order) > layout_pages_) {
            break;
        }
        auto it = free_[order].find(buddy);
        if (it == free_[order].end()) {
            break;
        }
        free_[order].erase(it);
        free_pages_ -= block_pages(order);
        index = index < buddy ? index : buddy;
        ++order;
    }
    insert_free(index, order);
}

Status BuddyAllocator::mark_allocated(PageNumber block) {
    std::uint64_t index = block.index();
    unsigned order = block.order();
    if (!block.is_valid() || index + block.pages() > layout_pages_) {
        return Error{Errc::corrupted, 0, block.raw()};
    }
    // Find the free block that contains this one, then split it down around it.
    for (unsigned o = order; o <= kMaxOrder; ++o) {
        std::uint64_t container = index & ~(block_pages(o) - 1);
        auto it = free_[o].find(container);
        if (it == free_[o].end()) {
            continue;
        }
        free_[o].erase(it);
        free_pages_ -= block_pages(o);
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
        return ok();
    }
    return Error{Errc::corrupted, 0, block.raw()};
}

bool BuddyAllocator::is_free(PageNumber block) const {
    for (unsigned o = block.order(); o <= kMaxOrder; ++o) {
        std::uint64_t container = block.index() & ~(block_pages(o) - 1);
        if (free_[o].count(container) != 0) {
            return true;
        }
    }
    return false;
}

bool BuddyAllocator::can_free(PageNumber block) const {
    if (!block.is_valid() || block.index() + block.pages() > layout_pages_ || is_free(block)) {
        return false;
    }
    for (unsigned o = 0; o < block.order(); ++o) {
        auto it = free_[o].lower_bound(block.index());
        if (it != free_[o].end() && *it < block.index() + block.pages()) {
            return false;
        }
    }
    return true;
}

void BuddyAllocator::grow(std::uint64_t new_layout_pages) {
    RINGDB_ASSERT(new_layout_pages >= layout_pages_);
    std::uint64_t old = layout_pages_;
    layout_pages_ = new_layout_pages;
    add_free_range(old, new_layout_pages);
}

std::uint64_t BuddyAllocator::trailing_free_start() const {
    std::uint64_t end = layout_pages_;
    // Each step removes one free block ending at `end`; there are at most free-block-count
    // steps, and blocks are disjoint, so the loop terminates.
    for (;;) {
        bool found = false;
        for (unsigned o = 0; o <= kMaxOrder && !found; ++o) {
            if (end < block_pages(o) + 1) {
                break;
            }
            std::uint64_t start = end - block_pages(o);
            if (start % block_pages(o) == 0 && free_[o].count(start) != 0) {
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
        auto it = free_[o].lower_bound(new_layout_pages);
        while (it != free_[o].end()) {
            free_pages_ -= block_pages(o);
            it = free_[o].erase(it);
        }
    }
    layout_pages_ = new_layout_pages;
    // A free block straddling the new end would have been kept above; the precondition (the
    // new end starts a free block) rules that out.
    for (unsigned o = 0; o <= kMaxOrder; ++o) {
        RINGDB_ASSERT(free_[o].empty() ||
                      *free_[o].rbegin() + block_pages(o) <= layout_pages_);
    }
}

std::vector<PageNumber> BuddyAllocator::free_blocks() const {
    std::vector<PageNumber> blocks;
    for (unsigned o = 0; o <= kMaxOrder; ++o) {
        for (std::uint64_t index : free_[o]) {
            blocks.push_back(PageNumber::make(index, o));
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
    if (layout < 1 || count > (bytes.size() - 24) / 8) {
        return Error{Errc::corrupted};
    }
    // Start fully allocated, then free the listed blocks, refusing overlaps.
    BuddyAllocator allocator(1);
    allocator.layout_pages_ = layout;
    for (std::uint64_t i = 0; i < count; ++i) {
        auto block = PageNumber::from_raw(util::load_le64(bytes.data() + 24 + 8 * i));
        if (!block.is_valid() || block.index() + block.pages() > layout ||
            allocator.is_free(block)) {
            return Error{Errc::corrupted, 0, block.raw()};
        }
        // A listed block must not contain an already freed smaller block either.
        for (unsigned o = 0; o < block.order(); ++o) {
            auto it = allocator.free_[o].lower_bound(block.index());
            if (it != allocator.free_[o].end() && *it < block.index() + block.pages()) {
                return Error{Errc::corrupted, 0, block.raw()};
            }
        }
        allocator.insert_free(block.index(), block.order());
    }
    return allocator;
}

}  // namespace ringdb::engine
