// Maintenance at the engine level: the integrity check repairs an allocator that disagrees with
// the trees, and compaction relocates pages of user and system tables alike.

#include <catch2/catch.hpp>

#include <ringdb/codec.hpp>
#include <ringdb/sync_wait.hpp>
#include <ringdb/table_definition.hpp>

#include "engine/db/maintenance.hpp"
#include "engine/txn/write_txn.hpp"
#include "io/memory_device.hpp"

using ringdb::sync_wait;
using namespace ringdb::engine;  // NOLINT: test file

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kNumbers("numbers");

std::shared_ptr<DatabaseCore> open_memory_core() {
    ringdb::DatabaseOptions options;
    options.page_size = 512;
    options.log_size = 64 << 10;  // the log's pages are not part of what compaction packs
    auto core = sync_wait(DatabaseCore::open_device(
            std::make_unique<ringdb::io::MemoryDevice>(), options));
    REQUIRE(core.has_value());
    return *core;
}

OpenTable* open_numbers(WriteTxn& txn) {
    auto table =
            sync_wait(txn.open_table(kNumbers.schema(), &ringdb::Codec<std::uint64_t>::compare));
    REQUIRE(table.has_value());
    return *table;
}

/// Inserts `count` keys in one commit, then removes all but every `keep_every`-th in another, so
/// that the survivors stay spread over the file.
void fill(const std::shared_ptr<DatabaseCore>& core, std::uint64_t count,
          std::uint64_t keep_every) {
    for (int pass = 0; pass < 2; ++pass) {
        auto txn = sync_wait(WriteTxn::begin(core->transactions()));
        REQUIRE(txn.has_value());
        OpenTable* table = open_numbers(**txn);
        for (std::uint64_t k = 0; k < count; ++k) {
            auto key = ringdb::encode(k);
            if (pass == 0) {
                REQUIRE(sync_wait(table->tree.insert(key, key)).has_value());
            } else if (k % keep_every != 0) {
                REQUIRE(sync_wait(table->tree.remove(key)).has_value());
            }
        }
        (*txn)->close_table(table);
        REQUIRE(sync_wait((*txn)->commit(CommitOptions{})).has_value());
    }
}

}  // namespace

TEST_CASE("the integrity check gives back a leaked block", "[maintenance]") {
    auto core = open_memory_core();
    fill(core, 500, 1);
    auto clean = sync_wait(check_database_integrity(core));
    REQUIRE(clean.has_value());
    CHECK(*clean);
    const std::uint64_t allocated = core->store().allocated_pages();
    // A block allocated outside any transaction and never referenced: a leak.
    auto leaked = core->store().allocate(0);
    REQUIRE(leaked.has_value());
    CHECK(core->store().allocated_pages() == allocated + 1);
    auto repaired = sync_wait(check_database_integrity(core));
    REQUIRE(repaired.has_value());
    CHECK_FALSE(*repaired);
    auto again = sync_wait(check_database_integrity(core));
    REQUIRE(again.has_value());
    CHECK(*again);  // the allocator now agrees with the trees: the leak is gone
    REQUIRE(sync_wait(core->close()).has_value());
}

TEST_CASE("compaction packs every tree below the allocated page count", "[maintenance]") {
    auto core = open_memory_core();
    fill(core, 20000, 40);
    const std::uint64_t layout_before = core->store().layout_pages();
    auto moved = sync_wait(compact_database(core));
    REQUIRE(moved.has_value());
    CHECK(*moved);
    const std::uint64_t layout = core->store().layout_pages();
    const std::uint64_t allocated = core->store().allocated_pages();
    INFO("layout before " << layout_before << " after " << layout << " allocated " << allocated);
    const std::uint64_t log_pages = core->store().log_capacity() / 512;
    CHECK(layout - log_pages < (layout_before - log_pages) / 4);
    // Buddy alignment may leave a few holes, but the file ends close to its content.
    CHECK(layout <= allocated + 1 + allocated / 4 + 8);
    auto clean = sync_wait(check_database_integrity(core));
    REQUIRE(clean.has_value());
    CHECK(*clean);
    REQUIRE(sync_wait(core->close()).has_value());
}
