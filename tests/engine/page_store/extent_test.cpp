// Contiguous commits: the buddy allocator's run primitives, WritePages carving single pages
// from extents, and the page store writing each run of adjacent pages with one write
// (docs/design.md section 5 "Extents", docs/io.md "Vectored writes").

#include <cstring>
#include <random>
#include <set>

#include <catch2/catch.hpp>

#include <ringdb/sync_wait.hpp>

#include "engine/page_store/buddy_allocator.hpp"
#include "engine/page_store/page_store.hpp"
#include "engine/txn/txn_pages.hpp"
#include "io/sim_device.hpp"

using ringdb::Errc;
using ringdb::sync_wait;
using ringdb::io::OpKind;
using namespace ringdb::engine;  // NOLINT: test file

namespace {

std::uint64_t test_seed() {
    return ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
}

// Allocation is tested without a commit log (which would take the pages after the header).
constexpr std::uint64_t kLogPages = 0;

std::unique_ptr<PageStore> open_store(std::unique_ptr<ringdb::io::BlockDevice> device) {
    PageStoreOptions options;
    options.log_bytes = 4096 * kLogPages;
    auto store = sync_wait(PageStore::open(std::move(device), options));
    REQUIRE(store.has_value());
    REQUIRE(sync_wait((*store)->mark_open()).has_value());
    return std::move(*store);
}

/// Whether the allocator's free pages are exactly `expected` (checked page by page).
bool free_set_is(const BuddyAllocator& allocator, const std::set<std::uint64_t>& expected) {
    std::set<std::uint64_t> actual;
    for (PageNumber block : allocator.free_blocks()) {
        for (std::uint64_t p = block.index(); p < block.index() + block.pages(); ++p) {
            actual.insert(p);
        }
    }
    return actual == expected && allocator.free_pages() == expected.size();
}

}  // namespace

TEST_CASE("The buddy allocator finds, takes and returns runs of pages", "[engine][store]") {
    BuddyAllocator allocator(64);  // pages 1..63 free
    std::set<std::uint64_t> free_pages;
    for (std::uint64_t p = 1; p < 64; ++p) {
        free_pages.insert(p);
    }
    REQUIRE(free_set_is(allocator, free_pages));

    // The lowest block of at least 4 pages: 4..7 (1..3 are smaller blocks).
    auto lowest = allocator.lowest_free(2);
    REQUIRE(lowest.has_value());
    REQUIRE(lowest->index() == 4);
    REQUIRE(allocator.free_pages() == 63);  // a look, not an allocation

    REQUIRE(allocator.free_block_containing(0) == std::nullopt);  // the header
    REQUIRE(allocator.free_block_containing(64) == std::nullopt);  // past the end
    auto containing = allocator.free_block_containing(37);
    REQUIRE(containing.has_value());
    REQUIRE(containing->index() <= 37);
    REQUIRE(containing->index() + containing->pages() > 37);

    // allocate_at takes the largest aligned block starting at the page, up to max_order.
    auto at = allocator.allocate_at(8, 5);
    REQUIRE(at.has_value());
    REQUIRE(*at == PageNumber::make(8, 3));  // 8 is aligned to 8 pages, not 16
    for (std::uint64_t p = 8; p < 16; ++p) {
        free_pages.erase(p);
    }
    REQUIRE(free_set_is(allocator, free_pages));
    auto single = allocator.allocate_at(21, 4);
    REQUIRE(*single == PageNumber::make(21, 0));
    free_pages.erase(21);
    REQUIRE(allocator.allocate_at(21, 4) == std::nullopt);  // taken
    REQUIRE(allocator.allocate_at(9, 0) == std::nullopt);
    REQUIRE(free_set_is(allocator, free_pages));

    // free_range returns any allocated range and merges it with its free neighbours.
    allocator.free_range(8, 16);
    allocator.free_range(21, 22);
    REQUIRE(allocator.free_pages() == 63);
    REQUIRE(allocator.free_blocks().size() == 6);  // 1, 2-3, 4-7, 8-15, 16-31, 32-63
    allocator.free_range(5, 5);                    // empty: nothing changes
    REQUIRE(allocator.free_pages() == 63);

    // A run carved in pieces and returned in pieces leaves the allocator as it was.
    auto block = allocator.allocate(5);
    REQUIRE(*block == PageNumber::make(32, 5));
    allocator.free_range(40, 64);
    allocator.free(PageNumber::make(35, 0));
    allocator.free_range(32, 35);
    allocator.free_range(36, 40);
    REQUIRE(allocator.free_blocks().size() == 6);
    auto copy = BuddyAllocator::deserialize(allocator.serialize());
    REQUIRE(copy.has_value());
    REQUIRE(copy->free_blocks() == allocator.free_blocks());
}

TEST_CASE("A write transaction carves its single pages in address order", "[engine][store]") {
    auto seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto store = open_store(std::move(owned));
    const std::uint64_t allocated_before = store->allocated_pages();
    REQUIRE(allocated_before == kLogPages);

    SECTION("pages follow each other, a freed page is reused, the rest goes back at commit") {
        std::vector<PageNumber> pages;
        {
            WritePages txn(*store);
            for (int i = 0; i < 40; ++i) {
                auto page = txn.allocate(store->page_size());
                REQUIRE(page.has_value());
                std::memset(page->second->data(), 0x40 + i, page->second->size());
                pages.push_back(page->first);
            }
            // 40 pages: extents of 16 then 32 pages, the second continuing the first when
            // the pages after it are free (a new file: they are).
            for (std::size_t i = 1; i < pages.size(); ++i) {
                INFO("page " << i);
                REQUIRE(pages[i].order() == 0);
                REQUIRE(pages[i].index() == pages[i - 1].index() + 1);
            }
            // A dirty page freed again is the next single page handed out.
            txn.free(pages[7]);
            auto again = txn.allocate(store->page_size());
            REQUIRE(again.has_value());
            REQUIRE(again->first == pages[7]);
            std::memset(again->second->data(), 0x77, again->second->size());
            // Larger blocks still come from the allocator.
            auto big = txn.allocate(4 * store->page_size());
            REQUIRE(big.has_value());
            REQUIRE(big->first.order() == 2);
            txn.free(big->first);
            REQUIRE(store->allocated_pages() > allocated_before + 40);  // the extent's tail

            auto dirty = txn.take_dirty();
            REQUIRE(dirty.size() == 40);
            // The unused tail is free again: exactly the dirty pages are allocated.
            REQUIRE(store->allocated_pages() == allocated_before + 40);
            REQUIRE(store->extent_hint() == 40);

            const std::uint64_t writes = sim->calls(OpKind::write);
            CommitRequest request;
            request.transaction_id = 1;
            request.user_root.page = pages[0];
            request.user_root.length = 1;
            request.dirty_pages = std::move(dirty);
            REQUIRE(sync_wait(store->commit(std::move(request))).has_value());
            // One run of 40 pages: one write, then the header.
            REQUIRE(sim->calls(OpKind::write) - writes == 2);
        }
        REQUIRE(store->allocated_pages() == allocated_before + 40);
        // The run landed whole: the durable image holds every page.
        auto image = sim->crash(ringdb::io::CrashMode::durable_only);
        auto opened = sync_wait(PageStore::open(ringdb::io::SimDevice::from_image(image, seed),
                                                PageStoreOptions{}));
        REQUIRE(opened.has_value());
        auto& reopened = *opened;
        REQUIRE(reopened->durable().transaction_id == 1);
        reopened->install_allocator(reopened->empty_allocator().value());
        for (std::size_t i = 0; i < pages.size(); ++i) {
            auto read = sync_wait(reopened->read(pages[i]));
            REQUIRE(read.has_value());
            const int fill = i == 7 ? 0x77 : 0x40 + static_cast<int>(i);
            REQUIRE((*read)->data()[100] == static_cast<std::byte>(fill));
        }
    }
    SECTION("a rollback returns the pages, the holes and the extent") {
        {
            WritePages txn(*store);
            std::vector<PageNumber> pages;
            for (int i = 0; i < 20; ++i) {
                auto page = txn.allocate(store->page_size());
                REQUIRE(page.has_value());
                pages.push_back(page->first);
            }
            txn.free(pages[3]);
            txn.free(pages[4]);
            txn.rollback();
            REQUIRE(store->allocated_pages() == allocated_before);
        }
        REQUIRE(store->allocated_pages() == allocated_before);
    }
    SECTION("with extents off, single pages come lowest first") {
        store->set_extents_enabled(false);
        WritePages txn(*store);
        auto first = txn.allocate(store->page_size());
        auto second = txn.allocate(store->page_size());
        REQUIRE(first.has_value());
        REQUIRE(second.has_value());
        REQUIRE(first->first.index() == 1);  // the lowest free page of a new file
        REQUIRE(second->first.index() == 2);
        txn.free(first->first);
        auto third = txn.allocate(store->page_size());
        REQUIRE(third.has_value());
        REQUIRE(third->first.index() == 1);  // freed to the allocator, lowest again
        txn.rollback();
        REQUIRE(store->allocated_pages() == allocated_before);
        store->set_extents_enabled(true);
    }
    SECTION("a poisoned store hands out no extent") {
        sim->fail_at(OpKind::sync, sim->calls(OpKind::sync));
        WritePages txn(*store);
        auto page = txn.allocate(store->page_size());
        REQUIRE(page.has_value());
        CommitRequest request;
        request.transaction_id = 1;
        request.dirty_pages = txn.take_dirty();
        REQUIRE(sync_wait(store->commit(std::move(request))).error().code == Errc::io);
        REQUIRE(txn.allocate(store->page_size()).error().code == Errc::previous_io);
        REQUIRE(store->allocate_extent(4).error().code == Errc::previous_io);
    }
}

TEST_CASE("Extents keep the file small: first fit low, growth only when nothing is free",
          "[engine][store]") {
    auto seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    auto store = open_store(std::make_unique<ringdb::io::SimDevice>(seed));
    REQUIRE(store->allocated_pages() == kLogPages);
    // Fill the layout with single pages, then free every other one: plenty of free pages,
    // none of them adjacent.
    std::vector<PageNumber> taken;
    auto first = store->allocate(0);  // a new file's layout grows here
    REQUIRE(first.has_value());
    taken.push_back(*first);
    const std::uint64_t layout = store->layout_pages();
    REQUIRE(layout >= 256);
    while (store->free_pages() > 0) {
        auto page = store->allocate(0);
        REQUIRE(page.has_value());
        taken.push_back(*page);
    }
    REQUIRE(store->layout_pages() == layout);
    for (std::size_t i = 0; i < taken.size(); i += 2) {
        store->free(taken[i]);
    }
    // No block of four pages: the extent is a fragment, the file does not grow.
    auto fragment = store->allocate_extent(4);
    REQUIRE(fragment.has_value());
    REQUIRE(fragment->end - fragment->start == 1);
    REQUIRE(fragment->start == taken[0].index());  // the lowest
    REQUIRE(store->layout_pages() == layout);
    // Free a run of 8 pages in the middle: the extent is that run, from its start (the walk
    // back over the free pages before the first aligned block of four).
    for (std::size_t i = 101; i < 109; i += 2) {
        store->free(taken[i]);
    }
    const std::uint64_t run_start = taken[100].index();  // pages 100..108 of taken are free
    const std::uint64_t free_before = store->free_pages();
    auto run = store->allocate_extent(4);
    REQUIRE(run.has_value());
    INFO("run " << run->start << ".." << run->end << " expected from " << run_start);
    REQUIRE(run->start == run_start);
    REQUIRE(run->end - run->start >= 4);
    REQUIRE(free_before - store->free_pages() == run->end - run->start);
    // The rest of the free run continues it.
    auto more = store->extend_extent(run->end, 4);
    REQUIRE(more.has_value());
    REQUIRE(*more == taken[108].index() + 1);
    // Take every free page: only now does an extent grow the file, and it is whole.
    while (store->free_pages() > 0) {
        auto page = store->allocate(0);
        REQUIRE(page.has_value());
    }
    REQUIRE(store->layout_pages() == layout);
    auto grown = store->allocate_extent(4);
    REQUIRE(grown.has_value());
    REQUIRE(store->layout_pages() > layout);
    REQUIRE(grown->start >= layout);
    REQUIRE(grown->end - grown->start >= 16);
    // extend_extent continues a run only where the next pages are free.
    auto extended = store->extend_extent(grown->end, 4);
    REQUIRE(extended.has_value());
    REQUIRE(*extended > grown->end);
    REQUIRE(store->extend_extent(taken[1].index(), 4) == std::nullopt);
}
