// Page store: header codec, buddy allocator, page cache and the commit protocol, on the
// simulated disk so that crashes can be taken at every step.

#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>

#include <ringdb/sync_wait.hpp>
#include <ringdb/when_all.hpp>

#include "engine/page_store/buddy_allocator.hpp"
#include "engine/page_store/header.hpp"
#include "engine/page_store/page_cache.hpp"
#include "engine/page_store/page_store.hpp"
#include "io/memory_device.hpp"
#include "io/sim_device.hpp"
#include "util/endian.hpp"

using ringdb::Errc;
using ringdb::sync_wait;
using namespace ringdb::engine;  // NOLINT: test file

namespace {

std::uint64_t test_seed() {
    return ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
}

CommitSlot sample_slot(std::uint64_t txn) {
    CommitSlot slot;
    slot.transaction_id = txn;
    slot.user_root.page = PageNumber::make(7, 0);
    slot.user_root.checksum = {0x1111, 0x2222};
    slot.user_root.length = 42;
    slot.system_root.page = PageNumber::make(8, 1);
    slot.layout_pages = 300;
    return slot;
}

std::unique_ptr<PageStore> open_store(std::unique_ptr<ringdb::io::BlockDevice> device,
                                      PageStoreOptions options = {}) {
    auto store = sync_wait(PageStore::open(std::move(device), options));
    INFO((store ? "open ok" : ringdb::to_string(store.error())));
    REQUIRE(store.has_value());
    return std::move(*store);
}

// Fills a fresh block with a recognisable pattern.
std::pair<PageNumber, PageRef> make_page(PageStore& store, unsigned order, std::uint8_t fill) {
    auto number = store.allocate(order);
    REQUIRE(number.has_value());
    auto buffer = PageBuffer::make(number->byte_length(store.page_size()));
    std::memset(buffer->data(), fill, buffer->size());
    return {*number, buffer};
}

// A commit of transaction 1 whose user root is one fresh page filled with `fill`.
CommitRequest one_page_commit(PageStore& store, std::uint8_t fill) {
    auto [page, buffer] = make_page(store, 0, fill);
    CommitRequest request;
    request.transaction_id = 1;
    request.user_root.page = page;
    request.user_root.length = 1;
    request.dirty_pages.push_back({page, buffer});
    return request;
}

}  // namespace

TEST_CASE("The header round-trips and rejects what is not a ringdb file", "[engine][store]") {
    DatabaseHeader header;
    header.page_size = 4096;
    header.slots[0] = sample_slot(5);
    header.slots[1] = sample_slot(6);
    header.swap_primary(true);
    header.set_recovery_required(true);
    std::vector<std::byte> bytes(kHeaderSize);
    header.encode(bytes);
    auto decoded = DatabaseHeader::decode(bytes);
    REQUIRE(decoded.has_value());
    REQUIRE(decoded->primary_index() == 1);
    REQUIRE(decoded->two_phase());
    REQUIRE(decoded->recovery_required());
    REQUIRE(decoded->slots[0] == header.slots[0]);
    REQUIRE(decoded->slots[1] == header.slots[1]);
    REQUIRE(decoded->slot_valid[0]);
    REQUIRE(decoded->slot_valid[1]);

    SECTION("the compression setting is checked against the slots' copies") {
        header.compression = ringdb::Compression{ringdb::CompressionAlgorithm::zstd, 5, 100};
        std::vector<std::byte> image(kHeaderSize);
        header.encode(image);
        auto with_zstd = DatabaseHeader::decode(image);
        REQUIRE(with_zstd.has_value());
        CHECK(with_zstd->compression == header.compression);
        CHECK(with_zstd->slots[0] == header.slots[0]);
        // Every single-bit flip of the header's copy (flag bit 0, algorithm, level, minimum
        // size) is refused, since an intact slot still records the real setting.
        for (std::size_t offset : {16U, 20U, 21U, 24U, 25U}) {
            for (int bit = 0; bit < 8; ++bit) {
                if (offset == 16 && bit != 0) {
                    continue;  // other flag bits are upgrade_required
                }
                auto damaged = image;
                damaged[offset] ^= static_cast<std::byte>(1U << bit);
                INFO("offset " << offset << " bit " << bit);
                CHECK(DatabaseHeader::decode(damaged).error().code == Errc::corrupted);
            }
        }
        // A damaged slot's copy does not count; the other slot's does.
        auto one_slot = image;
        one_slot[64 + 2] ^= std::byte{0x01};
        CHECK(DatabaseHeader::decode(one_slot).has_value());
    }

    SECTION("a damaged slot is reported, not trusted") {
        bytes[64 + 20] ^= std::byte{0x40};
        auto damaged = DatabaseHeader::decode(bytes);
        REQUIRE(damaged.has_value());
        REQUIRE_FALSE(damaged->slot_valid[0]);
        REQUIRE(damaged->slot_valid[1]);
    }
    SECTION("bad magic, version, flags and page size") {
        auto no_magic = bytes;
        no_magic[0] = std::byte{'x'};
        REQUIRE(DatabaseHeader::decode(no_magic).error().code == Errc::corrupted);
        auto newer = bytes;
        newer[8] = std::byte{3};
        auto refused = DatabaseHeader::decode(newer);
        REQUIRE(refused.error().code == Errc::upgrade_required);
        REQUIRE(refused.error().detail == 3);
        auto older = bytes;  // version 1: before the commit log
        older[8] = std::byte{1};
        REQUIRE(DatabaseHeader::decode(older).error().code == Errc::upgrade_required);
        auto flags = bytes;
        flags[16] = std::byte{2};
        REQUIRE(DatabaseHeader::decode(flags).error().code == Errc::upgrade_required);
        // Bit 0 is value compression: its algorithm byte must name lz4 or zstd.
        auto compressed = bytes;
        compressed[16] = std::byte{1};
        REQUIRE(DatabaseHeader::decode(compressed).error().code == Errc::corrupted);
        compressed[20] = std::byte{2};
        compressed[21] = std::byte{5};
        // A valid setting that the (intact) slots do not record: the header was damaged.
        REQUIRE(DatabaseHeader::decode(compressed).error().code == Errc::corrupted);
        compressed[20] = std::byte{3};
        REQUIRE(DatabaseHeader::decode(compressed).error().code == Errc::corrupted);
        auto odd_size = bytes;
        ringdb::util::store_le32(odd_size.data() + 12, 3000);
        REQUIRE(DatabaseHeader::decode(odd_size).error().code == Errc::corrupted);
        REQUIRE(DatabaseHeader::decode(std::span(bytes).first(100)).error().code ==
                Errc::corrupted);
    }
}

TEST_CASE("The buddy allocator never hands out a page twice and merges on free",
          "[engine][store]") {
    auto seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    BuddyAllocator allocator(1000);
    const auto initial_free = allocator.free_pages();
    REQUIRE(initial_free == 999);
    std::map<std::uint64_t, PageNumber> live;  // first page -> block
    auto overlaps = [&live](PageNumber b) {
        auto it = live.upper_bound(b.index());
        if (it != live.begin()) {
            auto prev = std::prev(it);
            if (prev->first + prev->second.pages() > b.index()) {
                return true;
            }
        }
        return it != live.end() && it->first < b.index() + b.pages();
    };
    for (int step = 0; step < 5000; ++step) {
        if (live.empty() || rng() % 3 != 0) {
            unsigned order = static_cast<unsigned>(rng() % 4);
            auto block = allocator.allocate(order);
            if (!block) {
                allocator.grow(allocator.layout_pages() + 64);
                continue;
            }
            REQUIRE(block->order() == order);
            REQUIRE(block->index() % block->pages() == 0);
            REQUIRE(block->index() >= 1);
            REQUIRE(block->index() + block->pages() <= allocator.layout_pages());
            REQUIRE_FALSE(overlaps(*block));
            live.emplace(block->index(), *block);
        } else {
            auto it = live.begin();
            std::advance(it, static_cast<long>(rng() % live.size()));
            allocator.free(it->second);
            live.erase(it);
        }
        std::uint64_t used = 0;
        for (auto& [index, block] : live) {
            used += block.pages();
        }
        REQUIRE(allocator.allocated_pages() == used);
    }
    SECTION("serialisation round-trips") {
        auto bytes = allocator.serialize();
        auto copy = BuddyAllocator::deserialize(bytes);
        REQUIRE(copy.has_value());
        REQUIRE(copy->free_blocks() == allocator.free_blocks());
        REQUIRE(copy->layout_pages() == allocator.layout_pages());
        auto damaged = bytes;
        if (allocator.free_blocks().size() >= 2) {
            // Make the second free block a copy of the first: an overlap.
            std::memcpy(damaged.data() + 32, damaged.data() + 24, 8);
            REQUIRE(BuddyAllocator::deserialize(damaged).error().code == Errc::corrupted);
        }
        damaged = bytes;
        damaged[0] = std::byte{'X'};
        REQUIRE(BuddyAllocator::deserialize(damaged).error().code == Errc::corrupted);
        REQUIRE(BuddyAllocator::deserialize(std::span(bytes).first(10)).error().code ==
                Errc::corrupted);
    }
    SECTION("freeing everything merges back to whole blocks") {
        for (auto& [index, block] : live) {
            allocator.free(block);
        }
        REQUIRE(allocator.allocated_pages() == 0);
        BuddyAllocator fresh(allocator.layout_pages());
        REQUIRE(allocator.free_blocks() == fresh.free_blocks());
        REQUIRE(allocator.trailing_free_start() == 1);
    }
    SECTION("mark_allocated rebuilds the same state and refuses double use") {
        BuddyAllocator rebuilt(allocator.layout_pages());
        for (auto& [index, block] : live) {
            REQUIRE(rebuilt.mark_allocated(block).has_value());
        }
        REQUIRE(rebuilt.allocated_pages() == allocator.allocated_pages());
        if (!live.empty()) {
            auto again = rebuilt.mark_allocated(live.begin()->second);
            REQUIRE(again.error().code == Errc::corrupted);
        }
        auto outside = rebuilt.mark_allocated(PageNumber::make(rebuilt.layout_pages() + 8, 0));
        REQUIRE(outside.error().code == Errc::corrupted);
    }
}

TEST_CASE("Shrinking keeps allocated pages and drops the free tail", "[engine][store]") {
    BuddyAllocator allocator(1);
    allocator.grow(512);
    auto a = allocator.allocate(0);
    auto b = allocator.allocate(3);
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    std::uint64_t end = allocator.trailing_free_start();
    REQUIRE(end == b->index() + b->pages());
    allocator.shrink(end);
    REQUIRE(allocator.layout_pages() == end);
    REQUIRE(allocator.trailing_free_start() == end);
    allocator.free(*b);
    allocator.free(*a);
    REQUIRE(allocator.trailing_free_start() == 1);
}

TEST_CASE("The page cache coalesces concurrent misses and stays within its budget",
          "[engine][store]") {
    ringdb::io::MemoryDevice device;
    std::vector<std::byte> image(64 * 4096);
    for (std::size_t i = 0; i < image.size(); ++i) {
        image[i] = static_cast<std::byte>(i / 4096);
    }
    REQUIRE(sync_wait(device.write(0, image)).has_value());
    PageCache cache(16 * 4096);  // one page per shard
    std::vector<ringdb::Task<ringdb::Result<PageRef>>> reads;
    for (int i = 0; i < 8; ++i) {
        reads.push_back(cache.read(device, 4096, PageNumber::make(3, 0)));
    }
    auto pages = sync_wait(ringdb::when_all(std::move(reads)));
    for (auto& page : pages) {
        REQUIRE(page.has_value());
        REQUIRE((*page)->data()[0] == std::byte{3});
        REQUIRE(page->get() == pages[0]->get());
    }
    auto stats = cache.stats();
    REQUIRE(stats.misses + stats.coalesced + stats.hits == 8);
    REQUIRE(stats.misses == 1);

    for (std::uint64_t p = 1; p < 64; ++p) {
        auto page = sync_wait(cache.read(device, 4096, PageNumber::make(p, 0)));
        REQUIRE(page.has_value());
        REQUIRE((*page)->data()[100] == static_cast<std::byte>(p));
    }
    stats = cache.stats();
    REQUIRE(stats.used_bytes <= stats.capacity_bytes);
    REQUIRE(stats.evictions > 0);
    cache.erase(PageNumber::make(63, 0));
    REQUIRE(cache.lookup(PageNumber::make(63, 0)) == nullptr);
}

TEST_CASE("A new store commits durably and reopens at its last commit", "[engine][store]") {
    auto seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto store = open_store(std::move(owned));
    REQUIRE(store->was_created());
    REQUIRE(sync_wait(store->mark_open()).has_value());

    CommitRequest request = one_page_commit(*store, 0xAB);
    const PageNumber page = request.user_root.page;
    REQUIRE(sync_wait(store->commit(std::move(request))).has_value());
    REQUIRE(store->durable().transaction_id == 1);

    SECTION("a crash keeps the durable commit and its page") {
        auto image = sim->crash(ringdb::io::CrashMode::durable_only);
        auto reopened = open_store(ringdb::io::SimDevice::from_image(image, seed));
        REQUIRE(reopened->recovery_required());
        REQUIRE(reopened->durable().transaction_id == 1);
        REQUIRE(reopened->durable().user_root.page == page);
        REQUIRE_FALSE(sync_wait(reopened->load_saved_allocator()).value());
        reopened->install_allocator(reopened->empty_allocator().value());
        auto read = sync_wait(reopened->read(page));
        REQUIRE(read.has_value());
        REQUIRE((*read)->data()[17] == std::byte{0xAB});
    }
    SECTION("a non-durable commit is visible now and gone after a crash") {
        auto [page2, buffer2] = make_page(*store, 0, 0xCD);
        CommitRequest later;
        later.transaction_id = 2;
        later.user_root.page = page2;
        later.durability = Durability::none;
        later.dirty_pages.push_back({page2, buffer2});
        REQUIRE(sync_wait(store->commit(std::move(later))).has_value());
        REQUIRE(store->current().transaction_id == 2);
        REQUIRE(store->durable().transaction_id == 1);
        auto image = sim->crash(ringdb::io::CrashMode::random_subset);
        auto reopened = open_store(ringdb::io::SimDevice::from_image(image, seed));
        REQUIRE(reopened->durable().transaction_id == 1);
    }
    SECTION("a quick-repair commit saves the allocator, a clean close clears recovery") {
        auto [page2, buffer2] = make_page(*store, 2, 0xEE);
        CommitRequest later;
        later.transaction_id = 2;
        later.user_root.page = page2;
        later.save_allocator_state = true;
        later.dirty_pages.push_back({page2, buffer2});
        REQUIRE(sync_wait(store->commit(std::move(later))).has_value());
        REQUIRE(store->disk_header().two_phase());
        auto allocated = store->allocated_pages();
        REQUIRE(sync_wait(store->close()).has_value());
        auto image = sim->crash(ringdb::io::CrashMode::durable_only);
        auto reopened = open_store(ringdb::io::SimDevice::from_image(image, seed));
        REQUIRE_FALSE(reopened->recovery_required());
        REQUIRE(sync_wait(reopened->load_saved_allocator()).value());
        REQUIRE(reopened->allocated_pages() == allocated);
    }
    SECTION("a failed sync poisons the store") {
        sim->fail_at(ringdb::io::OpKind::sync, sim->calls(ringdb::io::OpKind::sync));
        auto [page2, buffer2] = make_page(*store, 0, 0x11);
        CommitRequest later;
        later.transaction_id = 2;
        later.dirty_pages.push_back({page2, buffer2});
        auto failed = sync_wait(store->commit(std::move(later)));
        REQUIRE(failed.error().code == Errc::io);
        REQUIRE(store->poisoned());
        REQUIRE(store->allocate(0).error().code == Errc::previous_io);
        CommitRequest after;
        after.transaction_id = 3;
        REQUIRE(sync_wait(store->commit(std::move(after))).error().code == Errc::previous_io);
        // The header on disk still names transaction 1 or 2, never a mix, and needs recovery.
        auto image = sim->crash(ringdb::io::CrashMode::random_subset);
        auto reopened = open_store(ringdb::io::SimDevice::from_image(image, seed));
        REQUIRE(reopened->recovery_required());
        REQUIRE(reopened->durable().transaction_id <= 2);
    }
}

TEST_CASE("Opening refuses empty and foreign files", "[engine][store]") {
    PageStoreOptions no_create;
    no_create.create = false;
    auto empty =
            sync_wait(PageStore::open(std::make_unique<ringdb::io::MemoryDevice>(), no_create));
    REQUIRE(empty.error().code == Errc::corrupted);
    std::vector<std::byte> text(4096, std::byte{'h'});
    auto foreign = sync_wait(PageStore::open(std::make_unique<ringdb::io::MemoryDevice>(text), {}));
    REQUIRE(foreign.error().code == Errc::corrupted);
    std::vector<std::byte> tiny(3, std::byte{'h'});
    auto short_file =
            sync_wait(PageStore::open(std::make_unique<ringdb::io::MemoryDevice>(tiny), {}));
    REQUIRE(short_file.error().code == Errc::corrupted);
}

TEST_CASE("A commit crashed at any write or sync leaves the old or the new commit",
          "[engine][store][crash]") {
    auto seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    for (int crash_after = 0; crash_after < 12; ++crash_after) {
        auto owned = std::make_unique<ringdb::io::SimDevice>(
                seed + static_cast<std::uint64_t>(crash_after));
        auto* sim = owned.get();
        auto store = open_store(std::move(owned));
        REQUIRE(sync_wait(store->mark_open()).has_value());
        std::vector<std::byte> image;
        bool crashed = false;
        for (std::uint64_t txn = 1; txn <= 4 && !crashed; ++txn) {
            auto [page, buffer] = make_page(*store, 0, static_cast<std::uint8_t>(txn));
            CommitRequest request;
            request.transaction_id = txn;
            request.user_root.page = page;
            request.two_phase = txn % 2 == 0;
            request.dirty_pages.push_back({page, buffer});
            if (static_cast<int>(txn) * 3 > crash_after) {
                // Fail the device at the next write or sync from here on, then crash.
                sim->fail_at(crash_after % 2 == 0 ? ringdb::io::OpKind::write
                                                  : ringdb::io::OpKind::sync,
                             sim->calls(crash_after % 2 == 0 ? ringdb::io::OpKind::write
                                                             : ringdb::io::OpKind::sync),
                             ringdb::io::FaultMode::persistent);
                auto status = sync_wait(store->commit(std::move(request)));
                REQUIRE_FALSE(status.has_value());
                image = sim->crash_any();
                crashed = true;
                auto reopened = open_store(ringdb::io::SimDevice::from_image(image, seed));
                auto id = reopened->durable().transaction_id;
                INFO("crash_after " << crash_after << " txn " << txn << " reopened at " << id);
                REQUIRE((id == txn - 1 || id == txn));
            } else {
                REQUIRE(sync_wait(store->commit(std::move(request))).has_value());
            }
        }
    }
}

TEST_CASE("A slot naming an absurd layout is refused as corrupted, not allocated for",
          "[engine][store]") {
    // The allocator keeps bits per page of layout; a slot whose checksum matches but whose
    // layout is far beyond the file (a crafted or damaged header) must not make it allocate.
    std::vector<std::byte> image;
    {
        auto owned = std::make_unique<ringdb::io::MemoryDevice>();
        auto* memory = owned.get();
        auto store = open_store(std::move(owned));
        REQUIRE(sync_wait(store->mark_open()).has_value());
        CommitRequest request = one_page_commit(*store, 0x5A);
        request.save_allocator_state = true;
        REQUIRE(sync_wait(store->commit(std::move(request))).has_value());
        REQUIRE(sync_wait(store->close()).has_value());
        image = memory->snapshot();  // the store owns the device
    }
    auto header = DatabaseHeader::decode(std::span<const std::byte>(image).first(kHeaderSize));
    REQUIRE(header.has_value());
    const std::uint64_t file_pages = image.size() / header->page_size;

    SECTION("a layout within one growth step of the file still opens") {
        auto reopened = open_store(std::make_unique<ringdb::io::MemoryDevice>(image));
        REQUIRE(sync_wait(reopened->load_saved_allocator()).value());
        REQUIRE(reopened->empty_allocator().has_value());
    }
    SECTION("an absurd layout fails with corrupted") {
        for (auto& slot : header->slots) {
            slot.layout_pages = std::uint64_t{1} << 45;
        }
        header->encode(std::span<std::byte>(image).first(kHeaderSize), true);
        auto check = DatabaseHeader::decode(std::span<const std::byte>(image).first(kHeaderSize));
        REQUIRE(check.has_value());
        REQUIRE(check->slot_valid[check->primary_index()]);
        INFO("file pages " << file_pages);
        auto reopened = open_store(std::make_unique<ringdb::io::MemoryDevice>(image));
        REQUIRE_FALSE(sync_wait(reopened->load_saved_allocator()).value());
        auto refused = reopened->empty_allocator();
        REQUIRE_FALSE(refused.has_value());
        REQUIRE(refused.error().code == Errc::corrupted);
        REQUIRE(refused.error().detail == (std::uint64_t{1} << 45));
    }
}
