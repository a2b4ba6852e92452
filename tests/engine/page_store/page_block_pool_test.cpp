// PageBlockPool: 4 KiB blocks from 2 MiB huge-page slabs, per-thread caches, slabs unmapped
// once entirely free (src/engine/page_store/page_buffer.*). Under AddressSanitizer the pool is
// disabled and take() returns null; the tests check that instead.

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/page_store/page_buffer.hpp"

using ringdb::engine::PageBlockPool;
using ringdb::engine::PageBuffer;

namespace {

constexpr std::size_t kBlock = PageBlockPool::kBlockSize;

std::uint64_t address(const std::byte* p) { return std::bit_cast<std::uint64_t>(p); }

void stamp(std::byte* block, std::uint64_t tag) {
    for (std::size_t i = 0; i < kBlock; i += sizeof tag) {
        std::memcpy(block + i, &tag, sizeof tag);
    }
}

bool has_stamp(const std::byte* block, std::uint64_t tag) {
    for (std::size_t i = 0; i < kBlock; i += sizeof tag) {
        std::uint64_t seen = 0;
        std::memcpy(&seen, block + i, sizeof seen);
        if (seen != tag) {
            return false;
        }
    }
    return true;
}

}  // namespace

TEST_CASE("Pool blocks are aligned, distinct and keep their bytes until given back",
          "[engine][store][pool]") {
    if (!PageBlockPool::kEnabled) {
        REQUIRE(PageBlockPool::take() == nullptr);
        return;
    }
    constexpr std::size_t kCount = 3 * PageBlockPool::kBlocksPerSlab / 2;
    std::vector<std::byte*> blocks;
    std::set<std::uint64_t> seen;
    for (std::size_t i = 0; i < kCount; ++i) {
        std::byte* block = PageBlockPool::take();
        REQUIRE(block != nullptr);
        REQUIRE(address(block) % kBlock == 0);
        REQUIRE(seen.insert(address(block)).second);
        stamp(block, i + 1);
        blocks.push_back(block);
    }
    REQUIRE(PageBlockPool::stats().slabs >= 2);
    for (std::size_t i = 0; i < kCount; ++i) {
        REQUIRE(has_stamp(blocks[i], i + 1));
        PageBlockPool::give(blocks[i]);
    }
    // Given-back blocks are handed out again before any new memory is mapped.
    std::size_t slabs = PageBlockPool::stats().slabs;
    std::byte* again = PageBlockPool::take();
    REQUIRE(seen.count(address(again)) == 1);
    REQUIRE(PageBlockPool::stats().slabs == slabs);
    PageBlockPool::give(again);
}

TEST_CASE("A slab is unmapped once every block of it is free again", "[engine][store][pool]") {
    if (!PageBlockPool::kEnabled) {
        REQUIRE(PageBlockPool::stats().slabs == 0);
        return;
    }
    PageBlockPool::flush_thread();
    PageBlockPool::Stats before = PageBlockPool::stats();
    // Enough to empty this thread's cache and the shared pool and map kKeepEmpty + 3 more slabs.
    std::size_t count =
            before.shared_free + (PageBlockPool::kKeepEmpty + 4) * PageBlockPool::kBlocksPerSlab;
    std::vector<std::byte*> blocks;
    for (std::size_t i = 0; i < count; ++i) {
        blocks.push_back(PageBlockPool::take());
        REQUIRE(blocks.back() != nullptr);
    }
    REQUIRE(PageBlockPool::stats().slabs >= before.slabs + PageBlockPool::kKeepEmpty + 3);
    for (std::byte* block : blocks) {
        PageBlockPool::give(block);
    }
    PageBlockPool::flush_thread();
    // The new slabs are entirely free again: all but kKeepEmpty are returned to the system.
    PageBlockPool::Stats after = PageBlockPool::stats();
    REQUIRE(after.slabs <= before.slabs + PageBlockPool::kKeepEmpty);
    REQUIRE(after.shared_free >= before.shared_free);
}

TEST_CASE("Page buffers of one base page use pool blocks; others do not",
          "[engine][store][pool]") {
    auto small = PageBuffer::make(kBlock);
    auto large = PageBuffer::make(4 * kBlock);
    REQUIRE(address(small->data()) % PageBuffer::kAlignment == 0);
    REQUIRE(address(large->data()) % PageBuffer::kAlignment == 0);
    REQUIRE(small->bytes()[kBlock - 1] == std::byte{0});
    REQUIRE(large->bytes()[4 * kBlock - 1] == std::byte{0});
    std::byte* block = small->data();
    small.reset();
    if (PageBlockPool::kEnabled) {
        // The freed block is this thread's most recent one: the next buffer gets it, zeroed.
        stamp(block, 7);
        auto next = PageBuffer::make(kBlock);
        REQUIRE(next->data() == block);
        REQUIRE(next->bytes()[0] == std::byte{0});
    } else {
        REQUIRE(PageBlockPool::take() == nullptr);
    }
}

TEST_CASE("Threads take, exchange and give back pool blocks concurrently",
          "[engine][store][pool][threads]") {
    constexpr int kThreads = 4;
    constexpr int kRounds = 200;
    std::atomic<int> failures{0};
    // Each thread stamps the blocks it holds and checks the stamp before giving them back: a
    // block handed to two holders at once would be overwritten by the other. Half of each
    // round's blocks are given back by the next thread, so blocks also cross threads.
    std::vector<std::vector<std::byte*>> handoff(kThreads);
    std::vector<std::atomic<bool>> ready(kThreads);
    auto worker = [&](int id) {
        std::mt19937_64 rng(static_cast<std::uint64_t>(id) * 7919 + 1);
        std::vector<std::byte*> held;
        for (int round = 0; round < kRounds; ++round) {
            std::size_t n = 1 + rng() % 300;
            for (std::size_t i = 0; i < n; ++i) {
                std::byte* block = PageBlockPool::take();
                if (block == nullptr) {
                    if (PageBlockPool::kEnabled) {
                        failures.fetch_add(1);
                    }
                    continue;
                }
                stamp(block, address(block) ^ static_cast<std::uint64_t>(id));
                held.push_back(block);
            }
            for (std::byte* block : held) {
                if (!has_stamp(block, address(block) ^ static_cast<std::uint64_t>(id))) {
                    failures.fetch_add(1);
                }
                PageBlockPool::give(block);
            }
            held.clear();
        }
        PageBlockPool::flush_thread();
    };
    auto exchanger = [&](int id) {
        // Takes blocks and leaves them for the next exchanger to give back.
        std::vector<std::byte*> mine;
        for (int i = 0; i < 700; ++i) {
            std::byte* block = PageBlockPool::take();
            if (block != nullptr) {
                stamp(block, ~address(block));
                mine.push_back(block);
            }
        }
        handoff[id] = std::move(mine);
        ready[id].store(true, std::memory_order_release);
        int from = (id + 1) % kThreads;
        while (!ready[from].load(std::memory_order_acquire)) {
            std::this_thread::yield();
        }
        for (std::byte* block : handoff[from]) {
            if (!has_stamp(block, ~address(block))) {
                failures.fetch_add(1);
            }
            PageBlockPool::give(block);
        }
    };
    PageBlockPool::flush_thread();
    PageBlockPool::Stats before = PageBlockPool::stats();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back(worker, t);
    }
    for (std::thread& t : threads) {
        t.join();
    }
    threads.clear();
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back(exchanger, t);
    }
    for (std::thread& t : threads) {
        t.join();
    }
    REQUIRE(failures.load() == 0);
    // Exited threads returned their caches: every block the threads took is free in the shared
    // pool again, so the slabs mapped for them were unmapped (but kKeepEmpty kept empty).
    PageBlockPool::Stats after = PageBlockPool::stats();
    REQUIRE(after.slabs <= before.slabs + PageBlockPool::kKeepEmpty);
    REQUIRE(after.shared_free >= before.shared_free);
}
