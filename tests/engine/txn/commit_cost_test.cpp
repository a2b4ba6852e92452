// What one small durable commit costs on the device: page writes and syncs (the design is one
// sync per commit, docs/design.md section 8; docs/design.md "Performance notes" records the
// figures this test prints).

#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>

#include <catch2/catch.hpp>

#include <ringdb/codec.hpp>
#include <ringdb/sync_wait.hpp>
#include <ringdb/table_definition.hpp>

#include "engine/db/database_core.hpp"
#include "engine/txn/read_txn.hpp"
#include "engine/txn/write_txn.hpp"
#include "io/sim_device.hpp"

using ringdb::sync_wait;
using ringdb::io::OpKind;
using namespace ringdb::engine;  // NOLINT: test file

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kNumbers("numbers");

void insert_one(const std::shared_ptr<DatabaseCore>& core, std::uint64_t key) {
    auto txn = sync_wait(WriteTxn::begin(core->transactions()));
    REQUIRE(txn.has_value());
    auto table = sync_wait((*txn)->open_table(kNumbers.schema(),
                                              &ringdb::Codec<std::uint64_t>::compare));
    REQUIRE(table.has_value());
    auto k = ringdb::encode(key);
    REQUIRE(sync_wait((*table)->tree.insert(k, k)).has_value());
    REQUIRE(sync_wait((*txn)->commit({})).has_value());
}

// A table deep enough to have branches (4 KiB pages): the even numbers 0 to 39,998.
void fill_even_numbers(const std::shared_ptr<DatabaseCore>& core) {
    auto txn = sync_wait(WriteTxn::begin(core->transactions()));
    REQUIRE(txn.has_value());
    auto table = sync_wait((*txn)->open_table(kNumbers.schema(),
                                              &ringdb::Codec<std::uint64_t>::compare));
    REQUIRE(table.has_value());
    // Descending, so leaves split in halves and keep room: the odd keys inserted later then
    // rarely split a leaf (ascending inserts would pack every leaf full).
    for (std::uint64_t i = 20000; i-- > 0;) {
        auto k = ringdb::encode(i * 2);
        REQUIRE(sync_wait((*table)->tree.insert(k, k)).has_value());
    }
    REQUIRE(sync_wait((*txn)->commit({})).has_value());
}

}  // namespace

TEST_CASE("A one-insert durable commit syncs once and writes few pages", "[engine][txn]") {
    std::uint64_t seed = ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
    INFO("RINGDB_SEED=" << seed);
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto opened =
            sync_wait(DatabaseCore::open_device(std::move(owned), ringdb::DatabaseOptions{}));
    REQUIRE(opened.has_value());
    auto core = *opened;
    fill_even_numbers(core);
    // Warm up (the freed-page table reaches its steady size), then measure.
    for (std::uint64_t i = 0; i < 20; ++i) {
        insert_one(core, 2 * i + 1);
    }
    constexpr std::uint64_t kCommits = 100;
    std::uint64_t writes_before = sim->calls(OpKind::write);
    std::uint64_t syncs_before = sim->calls(OpKind::sync);
    std::mt19937_64 rng(seed);
    for (std::uint64_t i = 0; i < kCommits; ++i) {
        insert_one(core, 2 * (rng() % 20000) + 1);
    }
    double writes = static_cast<double>(sim->calls(OpKind::write) - writes_before) / kCommits;
    double syncs = static_cast<double>(sim->calls(OpKind::sync) - syncs_before) / kCommits;
    std::printf("one-insert durable commit: %.2f writes (pages + header), %.2f syncs\n", writes,
                syncs);
    CHECK(syncs == 1.0);
    // The user tree's path (3 levels), the table tree, the system tree and freed-page table
    // paths, and the header: anything much above that is a regression.
    CHECK(writes <= 10.0);  // 7 when this test was written
    REQUIRE(sync_wait(core->close()).has_value());
}

TEST_CASE("Reclaimed blocks leave the page cache, so stale images do not pile up",
          "[engine][txn][cache]") {
    std::uint64_t seed = ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
    INFO("RINGDB_SEED=" << seed);
    auto opened = sync_wait(DatabaseCore::open_device(
            std::make_unique<ringdb::io::SimDevice>(seed), ringdb::DatabaseOptions{}));
    REQUIRE(opened.has_value());
    auto core = *opened;
    fill_even_numbers(core);
    std::mt19937_64 rng(seed);
    auto commit_some = [&](int commits) {
        for (int i = 0; i < commits; ++i) {
            insert_one(core, 2 * (rng() % 20000) + 1);
        }
    };
    commit_some(20);
    const std::uint64_t before = core->store().cache_stats().entries;
    // A reader pins its snapshot: the copies that 200 commits replace stay reachable from it,
    // so they are neither reclaimed nor dropped, and their images stay cached.
    auto reader = ReadTxn::begin(core->transactions());
    REQUIRE(reader.has_value());
    commit_some(200);
    const std::uint64_t pinned = core->store().cache_stats().entries;
    // Once the reader is gone, the next few commits reclaim all of those blocks. Most are
    // not handed out again soon (the file has room), so unless reclamation drops their images
    // they would keep their cache room until CLOCK evicts them (docs/design.md section 7).
    (*reader).reset();
    commit_some(8);
    const std::uint64_t after = core->store().cache_stats().entries;
    INFO("cached: " << before << " before the reader, " << pinned << " while it was open, "
                    << after << " after it closed");
    REQUIRE(pinned > before + 200);
    CHECK(after <= before + 32);
    REQUIRE(sync_wait(core->close()).has_value());
}
