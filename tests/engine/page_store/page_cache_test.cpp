// PageCache: the open-addressing CLOCK table, its byte bound, the per-thread front table and
// concurrent hits (docs/design.md, "Performance notes").

#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/sync_wait.hpp>
#include <ringdb/when_all.hpp>

#include "engine/page_store/page_cache.hpp"
#include "io/memory_device.hpp"
#include "io/sim_device.hpp"

using ringdb::sync_wait;
using namespace ringdb::engine;  // NOLINT: test file

namespace {

constexpr std::uint32_t kPage = 4096;

MutPageRef page_with(std::uint64_t tag, std::size_t size = kPage) {
    MutPageRef buffer = PageBuffer::make(size);
    buffer->data()[0] = static_cast<std::byte>(tag);
    buffer->data()[1] = static_cast<std::byte>(tag >> 8);
    return buffer;
}

std::uint64_t tag_of(const PageRef& page) {
    return std::to_integer<std::uint64_t>(page->data()[0]) |
           (std::to_integer<std::uint64_t>(page->data()[1]) << 8);
}

}  // namespace

TEST_CASE("The page cache stays within its byte bound under any insert order",
          "[engine][store][cache]") {
    std::uint64_t seed = ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    const std::uint64_t capacity = 64 * kPage;  // four pages per shard
    PageCache cache(capacity);
    std::vector<std::uint64_t> present;
    for (int round = 0; round < 20000; ++round) {
        std::uint64_t index = 1 + rng() % 512;
        unsigned order = rng() % 8 == 0 ? 1 : 0;
        index = index / 2 * 2;  // aligned for order 1
        if (index == 0) {
            index = 2;
        }
        PageNumber page = PageNumber::make(index, order);
        switch (rng() % 4) {
            case 0:
                cache.erase(page);
                REQUIRE(cache.lookup(page) == nullptr);
                break;
            case 1: {
                PageRef hit = cache.lookup(page);
                if (hit != nullptr) {
                    REQUIRE(tag_of(hit) == (index & 0xffff));
                }
                break;
            }
            default:
                cache.insert(page, page_with(index, kPage << order));
                break;
        }
        auto stats = cache.stats();
        REQUIRE(stats.used_bytes <= stats.capacity_bytes);
    }
    auto stats = cache.stats();
    CHECK(stats.evictions > 0);
    CHECK(stats.entries > 0);
    cache.clear();
    stats = cache.stats();
    CHECK(stats.used_bytes == 0);
    CHECK(stats.entries == 0);
}

TEST_CASE("CLOCK eviction keeps a page that is hit between inserts", "[engine][store][cache]") {
    PageCache cache(PageCache::kShards * 4 * kPage);  // four pages per shard
    // Insert many pages, hitting page 1 after each insert: page 1 must survive while its
    // neighbours come and go (a sweep clears its bit, the next hit sets it again).
    PageNumber hot = PageNumber::make(1, 0);
    cache.insert(hot, page_with(1));
    for (std::uint64_t i = 2; i < 600; ++i) {
        cache.insert(PageNumber::make(i, 0), page_with(i));
        // A hit sets the reference bit only when it reaches the shared table, and this
        // thread's front table would answer first: look up from a fresh thread each time.
        PageRef again;
        std::thread reader([&] { again = cache.lookup(hot); });
        reader.join();
        REQUIRE(again != nullptr);
        REQUIRE(tag_of(again) == 1);
    }
    CHECK(cache.stats().evictions > 0);
}

TEST_CASE("Erasing a page invalidates every thread's front entry for it",
          "[engine][store][cache]") {
    PageCache cache(1 << 20);
    PageNumber page = PageNumber::make(8, 0);
    PageRef first = page_with(8);
    first->mark_hot();  // only hot pages (branches) enter the front table
    cache.insert(page, first);
    REQUIRE(cache.lookup(page) != nullptr);  // now in this thread's front table
    REQUIRE(cache.lookup(page) != nullptr);
    std::thread other([&] { cache.erase(page); });
    other.join();
    CHECK(cache.lookup(page) == nullptr);
    // A replacing insert invalidates as well: the new image is served, never the old one.
    PageRef replacement = page_with(9);
    replacement->mark_hot();
    cache.insert(page, replacement);
    REQUIRE(tag_of(cache.lookup(page)) == 9);
    std::thread replace([&] { cache.insert(page, page_with(10)); });
    replace.join();
    CHECK(tag_of(cache.lookup(page)) == 10);
    // clear() too.
    cache.clear();
    CHECK(cache.lookup(page) == nullptr);
    // Two caches never answer for each other.
    PageCache second(1 << 20);
    second.insert(page, page_with(11));
    REQUIRE(tag_of(second.lookup(page)) == 11);
    CHECK(cache.lookup(page) == nullptr);
}

TEST_CASE("A page evicted while in a front table is not served after its block is reused",
          "[engine][store][cache]") {
    PageCache cache(PageCache::kShards * 2 * kPage);  // two pages per shard
    PageNumber page = PageNumber::make(8, 0);
    cache.insert(page, page_with(8));
    REQUIRE(tag_of(cache.lookup(page)) == 8);  // in this thread's front table now
    // Evict it from the shared table without touching this thread's front table.
    std::thread filler([&] {
        for (std::uint64_t i = 100; i < 100 + 64 * PageCache::kShards; ++i) {
            cache.insert(PageNumber::make(i, 0), page_with(i));
        }
    });
    filler.join();
    REQUIRE(cache.stats().evictions > 0);
    // The block is reallocated (erased) and committed again with new content.
    std::thread writer([&] {
        cache.erase(page);
        cache.insert(page, page_with(9));
    });
    writer.join();
    PageRef now = cache.lookup(page);
    REQUIRE(now != nullptr);
    CHECK(tag_of(now) == 9);
}

TEST_CASE("Coalesced misses cost one device read, then hits", "[engine][store][cache]") {
    ringdb::io::MemoryDevice device;
    std::vector<std::byte> image(32 * kPage);
    for (std::size_t i = 0; i < image.size(); ++i) {
        image[i] = static_cast<std::byte>(i / kPage);
    }
    REQUIRE(sync_wait(device.write(0, image)).has_value());
    PageCache cache(1 << 20);
    std::vector<ringdb::Task<ringdb::Result<PageRef>>> reads;
    for (int i = 0; i < 16; ++i) {
        reads.push_back(cache.read(device, kPage, PageNumber::make(5, 0)));
    }
    auto pages = sync_wait(ringdb::when_all(std::move(reads)));
    for (auto& page : pages) {
        REQUIRE(page.has_value());
        REQUIRE((*page)->data()[0] == std::byte{5});
    }
    auto stats = cache.stats();
    CHECK(stats.misses == 1);
    CHECK(stats.misses + stats.coalesced + stats.hits == 16);
    auto again = sync_wait(cache.read(device, kPage, PageNumber::make(5, 0)));
    REQUIRE(again.has_value());
    CHECK(again->get() == pages[0]->get());
    CHECK(cache.stats().misses == 1);
    // An order-1 block is read whole.
    auto big = sync_wait(cache.read(device, kPage, PageNumber::make(6, 1)));
    REQUIRE(big.has_value());
    CHECK((*big)->size() == 2 * kPage);
    CHECK((*big)->data()[kPage] == std::byte{7});
}

TEST_CASE("Concurrent hits, inserts and erases from several threads", "[engine][store][threads]") {
    PageCache cache(32 * kPage);  // small: constant eviction while readers hit
    constexpr std::uint64_t kPages = 128;
    // Odd pages are hot, so they also pass through the readers' front tables.
    auto image = [](std::uint64_t index) {
        MutPageRef page = page_with(index);
        if (index % 2 == 1) {
            page->mark_hot();
        }
        return page;
    };
    for (std::uint64_t i = 1; i <= kPages; ++i) {
        cache.insert(PageNumber::make(i, 0), image(i));
    }
    std::atomic<bool> wrong{false};
    std::atomic<std::uint64_t> hits{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 1);
            for (int i = 0; i < 20000; ++i) {
                std::uint64_t index = 1 + rng() % kPages;
                PageNumber page = PageNumber::make(index, 0);
                if (t == 0 && i % 4 == 0) {
                    if (i % 8 == 0) {
                        cache.erase(page);
                    } else {
                        cache.insert(page, image(index));
                    }
                    continue;
                }
                PageRef hit;
                if (i % 2 == 0) {
                    hit = cache.lookup(page);
                } else {
                    PageRef holder;
                    const PageRef* borrowed = cache.borrow(page, holder);
                    if (borrowed != nullptr) {
                        hit = *borrowed;
                    }
                }
                if (hit != nullptr) {
                    hits.fetch_add(1, std::memory_order_relaxed);
                    if (tag_of(hit) != index) {
                        wrong.store(true);
                    }
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    CHECK_FALSE(wrong.load());
    CHECK(hits.load() > 0);
    auto stats = cache.stats();
    CHECK(stats.used_bytes <= stats.capacity_bytes);
}

TEST_CASE("borrow serves hot pages from the front table without a reference",
          "[engine][store][cache]") {
    PageCache cache(1 << 20);
    PageNumber leaf = PageNumber::make(20, 0);
    PageNumber branch = PageNumber::make(21, 0);
    cache.insert(leaf, page_with(20));
    PageRef hot = page_with(21);
    hot->mark_hot();
    cache.insert(branch, hot);
    PageRef holder;
    // A page that is not hot never enters the front table: every hit fills the holder.
    for (int i = 0; i < 2; ++i) {
        holder.reset();
        const PageRef* got = cache.borrow(leaf, holder);
        REQUIRE(got == &holder);
        CHECK(tag_of(*got) == 20);
    }
    // A hot page: the first hit remembers it, the second is answered from the front table and
    // leaves the holder empty; the borrowed reference is the cache's own (no extra owner).
    holder.reset();
    const PageRef* first = cache.borrow(branch, holder);
    REQUIRE(first != nullptr);
    CHECK(first != &holder);
    CHECK(holder == nullptr);
    const PageRef* again = cache.borrow(branch, holder);
    REQUIRE(again != nullptr);
    CHECK(again != &holder);
    CHECK(holder == nullptr);
    CHECK(tag_of(*again) == 21);
    // A miss.
    CHECK(cache.borrow(PageNumber::make(22, 0), holder) == nullptr);
}
