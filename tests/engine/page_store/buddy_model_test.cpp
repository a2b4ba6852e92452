// The bitmap BuddyAllocator against a reference model: the earlier implementation with one
// std::set of free block indices per order, kept here verbatim in behaviour. Random sequences
// of every mutating call are applied to both, and after each step every observer is compared
// (docs/design.md section 5). Also LevelBitmap against a std::vector<bool>.
// Seeds: RINGDB_SEED (SimDevice::seed_from_environment), printed on failure.

#include <algorithm>
#include <cstring>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/page_store/buddy_allocator.hpp"
#include "engine/page_store/level_bitmap.hpp"
#include "io/sim_device.hpp"
#include "util/endian.hpp"

using ringdb::Errc;
using ringdb::engine::BuddyAllocator;
using ringdb::engine::kMaxOrder;
using ringdb::engine::LevelBitmap;
using ringdb::engine::PageNumber;

namespace {

std::uint64_t test_seed() {
    return ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
}

constexpr std::uint64_t block_pages(unsigned order) { return std::uint64_t{1} << order; }

/// The reference: free blocks as one ordered set of indices per order.
class ModelAllocator {
public:
    explicit ModelAllocator(std::uint64_t layout) : layout_(layout < 1 ? 1 : layout) {
        add_range(1, layout_);
    }

    std::uint64_t layout() const { return layout_; }
    std::uint64_t free_pages() const { return free_pages_; }

    std::optional<PageNumber> lowest_free(unsigned order) const {
        std::optional<PageNumber> best;
        for (unsigned o = order; o <= kMaxOrder; ++o) {
            if (!free_[o].empty() && (!best || *free_[o].begin() < best->index())) {
                best = PageNumber::make(*free_[o].begin(), o);
            }
        }
        return best;
    }

    std::optional<PageNumber> allocate(unsigned order) {
        std::optional<PageNumber> found = order <= kMaxOrder ? lowest_free(order) : std::nullopt;
        if (!found) {
            return std::nullopt;
        }
        unsigned o = found->order();
        remove(found->index(), o);
        while (o > order) {
            --o;
            insert(found->index() + block_pages(o), o);
        }
        return PageNumber::make(found->index(), order);
    }

    std::optional<PageNumber> containing(std::uint64_t index) const {
        if (index == 0 || index >= layout_) {
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

    std::optional<PageNumber> allocate_at(std::uint64_t index, unsigned max_order) {
        std::optional<PageNumber> container = containing(index);
        if (!container) {
            return std::nullopt;
        }
        unsigned order = std::min(max_order, container->order());
        while (order > 0 && index % block_pages(order) != 0) {
            --order;
        }
        REQUIRE(mark_allocated(PageNumber::make(index, order)));
        return PageNumber::make(index, order);
    }

    void free(PageNumber block) {
        std::uint64_t index = block.index();
        unsigned order = block.order();
        while (order < kMaxOrder) {
            std::uint64_t buddy = index ^ block_pages(order);
            if (buddy == 0 || buddy + block_pages(order) > layout_ ||
                free_[order].count(buddy) == 0) {
                break;
            }
            remove(buddy, order);
            index = std::min(index, buddy);
            ++order;
        }
        insert(index, order);
    }

    void add_range(std::uint64_t start, std::uint64_t end) {
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

    bool mark_allocated(PageNumber block) {
        std::uint64_t index = block.index();
        unsigned order = block.order();
        if (!block.is_valid() || index + block.pages() > layout_) {
            return false;
        }
        for (unsigned o = order; o <= kMaxOrder; ++o) {
            std::uint64_t container = index & ~(block_pages(o) - 1);
            if (free_[o].count(container) == 0) {
                continue;
            }
            remove(container, o);
            while (o > order) {
                --o;
                if (index >= container + block_pages(o)) {
                    insert(container, o);
                    container += block_pages(o);
                } else {
                    insert(container + block_pages(o), o);
                }
            }
            return true;
        }
        return false;
    }

    bool is_free(PageNumber block) const {
        for (unsigned o = block.order(); o <= kMaxOrder; ++o) {
            if (free_[o].count(block.index() & ~(block_pages(o) - 1)) != 0) {
                return true;
            }
        }
        return false;
    }

    bool can_free(PageNumber block) const {
        if (!block.is_valid() || block.index() + block.pages() > layout_ || is_free(block)) {
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

    void grow(std::uint64_t layout) {
        std::uint64_t old = layout_;
        layout_ = layout;
        add_range(old, layout);
    }

    std::uint64_t trailing_free_start() const {
        std::uint64_t end = layout_;
        for (bool found = true; found;) {
            found = false;
            for (unsigned o = 0; o <= kMaxOrder && end >= block_pages(o) + 1; ++o) {
                std::uint64_t start = end - block_pages(o);
                if (start % block_pages(o) == 0 && free_[o].count(start) != 0) {
                    end = start;
                    found = true;
                    break;
                }
            }
        }
        return end;
    }

    void shrink(std::uint64_t layout) {
        for (unsigned o = 0; o <= kMaxOrder; ++o) {
            while (!free_[o].empty() && *free_[o].rbegin() >= layout) {
                remove(*free_[o].rbegin(), o);
            }
        }
        layout_ = layout;
    }

    std::vector<PageNumber> free_blocks() const {
        std::vector<PageNumber> blocks;
        for (unsigned o = 0; o <= kMaxOrder; ++o) {
            for (std::uint64_t index : free_[o]) {
                blocks.push_back(PageNumber::make(index, o));
            }
        }
        return blocks;
    }

private:
    void insert(std::uint64_t index, unsigned order) {
        REQUIRE(free_[order].insert(index).second);
        free_pages_ += block_pages(order);
    }
    void remove(std::uint64_t index, unsigned order) {
        REQUIRE(free_[order].erase(index) == 1);
        free_pages_ -= block_pages(order);
    }

    std::uint64_t layout_;
    std::uint64_t free_pages_ = 0;
    std::set<std::uint64_t> free_[kMaxOrder + 1];
};

/// Pages the test owns (allocated through either allocator), as disjoint [start, end) runs.
struct Owned {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;

    void add(PageNumber block) { runs.emplace_back(block.index(), block.index() + block.pages()); }
    /// Removes [start, end), which lies inside runs[i], keeping the pieces around it.
    void cut(std::size_t i, std::uint64_t start, std::uint64_t end) {
        auto [a, b] = runs[i];
        runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(i));
        if (a < start) {
            runs.emplace_back(a, start);
        }
        if (end < b) {
            runs.emplace_back(end, b);
        }
    }
};

void compare(const BuddyAllocator& real, const ModelAllocator& model, std::mt19937_64& rng) {
    REQUIRE(real.layout_pages() == model.layout());
    REQUIRE(real.free_pages() == model.free_pages());
    REQUIRE(real.free_blocks() == model.free_blocks());
    for (unsigned o = 0; o <= kMaxOrder + 1; ++o) {
        INFO("order " << o);
        REQUIRE(real.lowest_free(o) == model.lowest_free(o));
    }
    REQUIRE(real.trailing_free_start() == model.trailing_free_start());
    const std::uint64_t span = model.layout() + 64;
    for (int probe = 0; probe < 24; ++probe) {
        // Orders past 12 take can_free's per-order path instead of the page map.
        unsigned order = static_cast<unsigned>(probe % 4 == 0 ? rng() % 20 : rng() % 6);
        std::uint64_t index = rng() % span;
        if (rng() % 4 != 0) {
            index &= ~(block_pages(order) - 1);  // mostly aligned blocks
        }
        PageNumber block = PageNumber::make(index, order);
        INFO("probe " << index << " order " << order);
        REQUIRE(real.is_free(block) == model.is_free(block));
        REQUIRE(real.can_free(block) == model.can_free(block));
        REQUIRE(real.free_block_containing(index) == model.containing(index));
    }
}

/// One random step on both allocators; `owned` tracks the pages the test may free.
void step(BuddyAllocator& real, ModelAllocator& model, Owned& owned, std::mt19937_64& rng,
          std::uint64_t max_layout) {
    const unsigned kind = static_cast<unsigned>(rng() % 100);
    if (kind < 30) {
        unsigned order = rng() % 50 == 0 ? kMaxOrder + 1 : static_cast<unsigned>(rng() % 6);
        auto a = real.allocate(order);
        REQUIRE(a == model.allocate(order));
        if (a) {
            owned.add(*a);
        }
    } else if (kind < 42) {
        std::uint64_t index = rng() % (model.layout() + 8);
        unsigned max_order = static_cast<unsigned>(rng() % 9);
        auto a = real.allocate_at(index, max_order);
        REQUIRE(a == model.allocate_at(index, max_order));
        if (a) {
            owned.add(*a);
        }
    } else if (kind < 62 && !owned.runs.empty()) {
        // free(): an aligned block inside an owned run, as large as fits.
        std::size_t i = rng() % owned.runs.size();
        auto [a, b] = owned.runs[i];
        std::uint64_t index = a + rng() % (b - a);
        unsigned order = 0;
        while (order < 8 && index % block_pages(order + 1) == 0 &&
               index + block_pages(order + 1) <= b && rng() % 3 != 0) {
            ++order;
        }
        PageNumber block = PageNumber::make(index, order);
        REQUIRE(real.can_free(block));
        real.free(block);
        model.free(block);
        owned.cut(i, index, index + block.pages());
    } else if (kind < 72 && !owned.runs.empty()) {
        std::size_t i = rng() % owned.runs.size();
        auto [a, b] = owned.runs[i];
        std::uint64_t start = a + rng() % (b - a + 1);
        std::uint64_t end = start + rng() % (b - start + 1);
        real.free_range(start, end);
        model.add_range(start, end);
        owned.cut(i, start, end);
    } else if (kind < 82) {
        unsigned order = static_cast<unsigned>(rng() % 6);
        std::uint64_t index = rng() % (model.layout() + 16);
        if (rng() % 8 != 0) {
            index &= ~(block_pages(order) - 1);
        }
        PageNumber block = PageNumber::make(index, order);
        auto marked = real.mark_allocated(block);
        bool expected = model.mark_allocated(block);
        REQUIRE(marked.has_value() == expected);
        if (marked) {
            owned.add(block);
        } else {
            REQUIRE(marked.error().code == Errc::corrupted);
            REQUIRE(marked.error().detail == block.raw());
        }
    } else if (kind < 88) {
        if (model.layout() < max_layout) {
            std::uint64_t layout = model.layout() + rng() % 300;
            real.grow(layout);
            model.grow(layout);
        }
    } else if (kind < 94) {
        // shrink() to the trailing free start, the current end, or the start of a free block
        // past the trailing free start.
        std::uint64_t start = model.trailing_free_start();
        std::vector<std::uint64_t> ends{start, model.layout()};
        for (PageNumber block : model.free_blocks()) {
            if (block.index() >= start) {
                ends.push_back(block.index());
            }
        }
        std::uint64_t layout = std::max<std::uint64_t>(ends[rng() % ends.size()], 1);
        real.shrink(layout);
        model.shrink(layout);
    } else {
        std::vector<std::byte> bytes = real.serialize();
        REQUIRE(bytes.size() == 24 + 8 * model.free_blocks().size());
        REQUIRE(ringdb::util::load_le64(bytes.data() + 8) == model.layout());
        if (rng() % 3 == 0 && bytes.size() > 24) {
            // A damaged entry: the model decides whether the list is still consistent.
            std::size_t entry = rng() % ((bytes.size() - 24) / 8);
            std::uint64_t raw = ringdb::util::load_le64(bytes.data() + 24 + 8 * entry);
            raw ^= std::uint64_t{1} << (rng() % 64);
            ringdb::util::store_le64(bytes.data() + 24 + 8 * entry, raw);
            auto copy = BuddyAllocator::deserialize(bytes);
            // Expected: nothing free, then each listed block in turn, refused if any of its
            // pages is free already (can_free depends only on the set of free pages).
            ModelAllocator listed(model.layout());
            for (PageNumber block : listed.free_blocks()) {
                REQUIRE(listed.mark_allocated(block));
            }
            bool consistent = true;
            for (std::size_t e = 0; e < (bytes.size() - 24) / 8 && consistent; ++e) {
                auto block = PageNumber::from_raw(
                        ringdb::util::load_le64(bytes.data() + 24 + 8 * e));
                consistent = listed.can_free(block);
                if (consistent) {
                    listed.add_range(block.index(), block.index() + block.pages());
                }
            }
            REQUIRE(copy.has_value() == consistent);
            if (copy) {
                REQUIRE(copy->free_pages() == listed.free_pages());
            } else {
                REQUIRE(copy.error().code == Errc::corrupted);
            }
            return;
        }
        auto copy = BuddyAllocator::deserialize(bytes);
        REQUIRE(copy.has_value());
        REQUIRE(copy->serialize() == bytes);
        real = std::move(*copy);
    }
}

}  // namespace

TEST_CASE("The bitmap buddy allocator matches the ordered-set model step by step",
          "[engine][store]") {
    const std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    struct Shape {
        std::uint64_t layout;
        std::uint64_t max_layout;
        int steps;
    };
    // Small files churn through every order; the large one has several summary levels.
    const Shape shapes[] = {{1, 600, 3000}, {100, 2000, 3000}, {300000, 300600, 800}};
    for (const Shape& shape : shapes) {
        INFO("initial layout " << shape.layout);
        BuddyAllocator real(shape.layout);
        ModelAllocator model(shape.layout);
        Owned owned;
        compare(real, model, rng);
        for (int i = 0; i < shape.steps; ++i) {
            INFO("step " << i);
            step(real, model, owned, rng, shape.max_layout);
            compare(real, model, rng);
        }
    }
}

TEST_CASE("LevelBitmap finds set bits like a scan of a vector<bool>", "[engine][store]") {
    const std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    LevelBitmap bitmap;
    std::vector<bool> model;
    auto next_in_model = [&model](std::uint64_t from) {
        for (std::uint64_t i = from; i < model.size(); ++i) {
            if (model[i]) {
                return i;
            }
        }
        return LevelBitmap::npos;
    };
    const std::uint64_t sizes[] = {0, 1, 63, 64, 65, 4095, 4096, 4097, 70000, 262145, 300000};
    for (int round = 0; round < 40; ++round) {
        std::uint64_t size = sizes[rng() % std::size(sizes)] + rng() % 3;
        bitmap.resize(size);
        model.resize(size, false);
        REQUIRE(bitmap.size() == size);
        auto ones = std::count(model.begin(), model.end(), true);
        REQUIRE(bitmap.count() == static_cast<std::uint64_t>(ones));
        for (int op = 0; op < 300 && size > 0; ++op) {
            // Clustered positions, so that words fill and empty.
            std::uint64_t centre = rng() % size;
            std::uint64_t i = centre - std::min<std::uint64_t>(centre, rng() % 8);
            if (model[i]) {
                bitmap.reset(i);
            } else {
                bitmap.set(i);
            }
            model[i] = !model[i];
            REQUIRE(bitmap.test(i) == model[i]);
            std::uint64_t from = rng() % (size + 2);
            REQUIRE(bitmap.find_next(from) == next_in_model(from));
        }
        REQUIRE(bitmap.find_first() == next_in_model(0));
        REQUIRE_FALSE(bitmap.test(size));
    }
}
