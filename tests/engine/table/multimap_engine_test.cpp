// Multimap collections in the engine: full repair and deletion account for every subtree page,
// and damage inside a subtree is found by recovery's verification.

#include <random>

#include <catch2/catch.hpp>

#include <ringdb/codec.hpp>
#include <ringdb/sync_wait.hpp>
#include <ringdb/table_definition.hpp>

#include "engine/btree/verify.hpp"
#include "engine/db/database_core.hpp"
#include "engine/db/verify_database.hpp"
#include "engine/table/multimap.hpp"
#include "engine/txn/read_txn.hpp"
#include "engine/txn/write_txn.hpp"
#include "io/sim_device.hpp"

using ringdb::Errc;
using ringdb::sync_wait;
using namespace ringdb::engine;  // NOLINT: test file

namespace {

constexpr ringdb::MultimapTableDefinition<std::uint64_t, std::uint64_t> kSets("sets");
constexpr KeyCompare kOrder = &ringdb::Codec<std::uint64_t>::compare;

std::uint64_t test_seed() {
    return ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
}

// These tests change multimap trees directly, below the handles that describe changes for the
// commit log: their databases have no log (every commit is a checkpoint).
std::shared_ptr<DatabaseCore> open_core(std::unique_ptr<ringdb::io::BlockDevice> device,
                                        ringdb::DatabaseOptions options = {}) {
    options.page_size = 512;
    options.log_size = 0;
    auto core = sync_wait(DatabaseCore::open_device(std::move(device), options));
    INFO((core ? "open ok" : ringdb::to_string(core.error())));
    REQUIRE(core.has_value());
    return *core;
}

std::shared_ptr<WriteTxn> begin_write(const std::shared_ptr<DatabaseCore>& core) {
    auto txn = sync_wait(WriteTxn::begin(core->transactions()));
    REQUIRE(txn.has_value());
    return *txn;
}

OpenTable* open_sets(WriteTxn& txn) {
    auto table = sync_wait(txn.open_table(kSets.schema(), kOrder));
    INFO((table ? "ok" : ringdb::to_string(table.error())));
    REQUIRE(table.has_value());
    return *table;
}

void add(OpenTable& table, std::uint64_t k, std::uint64_t v) {
    auto key = ringdb::encode(k);
    auto value = ringdb::encode(v);
    auto existed = sync_wait(multimap_insert(table.tree, kOrder, table.multimap, key, value));
    REQUIRE(existed.has_value());
}

void drop(OpenTable& table, std::uint64_t k, std::uint64_t v) {
    auto key = ringdb::encode(k);
    auto value = ringdb::encode(v);
    auto existed = sync_wait(multimap_remove(table.tree, kOrder, table.multimap, key, value));
    REQUIRE(existed.value());
}

// Several subtrees (300 values each at 512-byte pages) and an inline set.
void fill(const std::shared_ptr<DatabaseCore>& core) {
    auto txn = begin_write(core);
    OpenTable* table = open_sets(*txn);
    for (std::uint64_t k = 0; k < 5; ++k) {
        for (std::uint64_t v = 0; v < 300; ++v) {
            add(*table, k, v * 13 % 307);
        }
    }
    add(*table, 9, 1);
    add(*table, 9, 2);
    REQUIRE(table->multimap.pairs == 1502);
    REQUIRE(sync_wait(txn->commit({})).has_value());
}

std::uint64_t committed_pairs(const std::shared_ptr<DatabaseCore>& core) {
    auto reader = ReadTxn::begin(core->transactions());
    REQUIRE(reader.has_value());
    auto table = sync_wait((*reader)->open_table(kSets.schema(), kOrder));
    REQUIRE(table.has_value());
    return (*table)->multimap.pairs;
}

// Flips a byte of the allocator state the primary slot of `image` names.
void spoil_saved_allocator_state(std::vector<std::byte>& image) {
    auto header = DatabaseHeader::decode(std::span<const std::byte>(image).first(kHeaderSize));
    REQUIRE(header.has_value());
    const PageNumber state = header->primary().allocator_state;
    REQUIRE_FALSE(state.is_null());
    REQUIRE(state.byte_offset(512) + 40 <= image.size());
    image[state.byte_offset(512) + 32] ^= std::byte{0x01};
}

}  // namespace

TEST_CASE("Full repair marks every multimap subtree page", "[engine][multimap]") {
    auto seed = test_seed();
    INFO("seed " << seed);
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_core(std::move(owned));
    fill(core);
    {
        // A second commit changes some subtrees (copy-on-write: freed pages are recorded).
        auto txn = begin_write(core);
        OpenTable* table = open_sets(*txn);
        for (std::uint64_t v = 0; v < 280; ++v) {
            drop(*table, 1, v * 13 % 307);
        }
        for (std::uint64_t v = 1000; v < 1100; ++v) {
            add(*table, 3, v);
        }
        REQUIRE(sync_wait(txn->commit({})).has_value());
    }
    const std::uint64_t allocated = core->store().allocated_pages();
    REQUIRE(committed_pairs(core) == 1502 - 280 + 100);
    auto image = sim->crash(ringdb::io::CrashMode::durable_only);  // no clean close
    core.reset();
    // Checkpoints save the allocator state; a damaged one makes recovery rebuild it.
    spoil_saved_allocator_state(image);

    int repairs = 0;
    ringdb::DatabaseOptions options;
    options.repair_callback = [&repairs](double) {
        ++repairs;
        return true;
    };
    auto reopened = open_core(ringdb::io::SimDevice::from_image(image, seed), options);
    REQUIRE(repairs > 0);
    REQUIRE(reopened->store().allocated_pages() == allocated);
    REQUIRE(committed_pairs(reopened) == 1502 - 280 + 100);
}

TEST_CASE("Deleting a multimap returns its subtree pages", "[engine][multimap]") {
    auto core = open_core(std::make_unique<ringdb::io::SimDevice>(test_seed()));
    std::vector<std::uint64_t> after_delete;
    for (int cycle = 0; cycle < 4; ++cycle) {
        fill(core);
        auto txn = begin_write(core);
        REQUIRE(sync_wait(txn->delete_table("sets", ringdb::TableKind::normal)).error().code ==
                Errc::table_is_multimap);
        REQUIRE(sync_wait(txn->delete_table("sets", ringdb::TableKind::multimap)).value());
        REQUIRE(sync_wait(txn->commit({})).has_value());
        // One more commit reclaims what the deletion freed.
        auto idle = begin_write(core);
        REQUIRE(sync_wait(idle->commit({})).has_value());
        after_delete.push_back(core->store().allocated_pages());
    }
    // Without the subtrees being freed, every cycle would leak about 40 pages.
    REQUIRE(after_delete[3] <= after_delete[1]);
}

// Verifies every subtree of the snapshot's multimap; returns the number of values in them.
std::uint64_t verified_subtree_values(OpenTable& table) {
    struct Check {
        TreePages* pages;
        std::uint64_t* values;
        ringdb::Task<ringdb::Status> operator()(const BtreeRoot& root) {
            auto report = co_await verify_tree(*pages, kOrder, root);
            if (!report) {
                co_return report.error();
            }
            if (!report->ok() || report->entries != root.length) {
                co_return ringdb::Error{Errc::corrupted};
            }
            *values += root.length;
            co_return ringdb::ok();
        }
    };
    std::uint64_t values = 0;
    Check check{&table.tree.pages(), &values};
    SubtreeVisitor visit = check;
    auto walked = sync_wait(for_each_subtree(table.tree.pages(), table.tree.root(), visit));
    INFO((walked ? "ok" : ringdb::to_string(walked.error())));
    REQUIRE(walked.has_value());
    return values;
}

TEST_CASE("A reader keeps a removed key's subtree across later commits", "[engine][multimap]") {
    auto core = open_core(std::make_unique<ringdb::io::SimDevice>(test_seed()));
    fill(core);
    auto reader = ReadTxn::begin(core->transactions());
    REQUIRE(reader.has_value());
    auto snapshot = sync_wait((*reader)->open_table(kSets.schema(), kOrder));
    REQUIRE(snapshot.has_value());
    for (std::uint64_t round = 0; round < 4; ++round) {
        auto txn = begin_write(core);
        OpenTable* table = open_sets(*txn);
        auto key = ringdb::encode(round);
        auto removed = sync_wait(multimap_remove_all(table->tree, kOrder, table->multimap, key));
        REQUIRE(removed.value().has_value());
        REQUIRE((*removed)->ends.size() == 300);
        // New subtrees allocate pages: none may be one the reader still sees.
        for (std::uint64_t v = 0; v < 400; ++v) {
            add(*table, 100 + round, v);
        }
        REQUIRE(sync_wait(txn->commit({})).has_value());
    }
    REQUIRE(verified_subtree_values(**snapshot) == 1500);
    snapshot->reset();
    reader->reset();
    auto now = ReadTxn::begin(core->transactions());
    auto current = sync_wait((*now)->open_table(kSets.schema(), kOrder));
    REQUIRE(verified_subtree_values(**current) == 300 + 4 * 400);
    REQUIRE((*current)->multimap.pairs == 302 + 4 * 400);
}

TEST_CASE("After a crash, verification finds a damaged subtree page", "[engine][multimap]") {
    auto seed = test_seed();
    INFO("seed " << seed);
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_core(std::move(owned));
    fill(core);
    // Find a subtree page, then damage it in the durable image.
    PageNumber victim;
    {
        auto reader = ReadTxn::begin(core->transactions());
        auto table = sync_wait((*reader)->open_table(kSets.schema(), kOrder));
        REQUIRE(table.has_value());
        struct Pick {
            PageNumber* out;
            ringdb::Task<ringdb::Status> operator()(const BtreeRoot& root) {
                *out = root.page;
                co_return ringdb::ok();
            }
        } pick{&victim};
        SubtreeVisitor visit = pick;
        REQUIRE(sync_wait(for_each_subtree((*table)->tree.pages(), (*table)->tree.root(), visit))
                        .has_value());
    }
    REQUIRE_FALSE(victim.is_null());
    auto image = sim->crash(ringdb::io::CrashMode::durable_only);
    core.reset();
    INFO("victim page " << victim.index() << ", image pages " << image.size() / 512);
    REQUIRE(victim.index() * 512 + 512 <= image.size());
    image[victim.index() * 512 + 20] ^= std::byte{0x40};
    // Recovery trusts the checkpoint (synced before its slot became primary) without walking
    // its trees: the open succeeds, and verification finds the damage.
    auto reopened = open_core(ringdb::io::SimDevice::from_image(image, seed));
    auto report = sync_wait(verify_database(reopened, ringdb::VerifyLevel::full));
    REQUIRE(report.has_value());
    REQUIRE_FALSE(report->valid);
}

TEST_CASE("verify_integrity reports a damaged subtree page of a cleanly closed file",
          "[engine][multimap]") {
    auto seed = test_seed();
    INFO("seed " << seed);
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_core(std::move(owned));
    fill(core);
    PageNumber victim;
    {
        auto reader = ReadTxn::begin(core->transactions());
        auto table = sync_wait((*reader)->open_table(kSets.schema(), kOrder));
        REQUIRE(table.has_value());
        struct Pick {
            PageNumber* out;
            ringdb::Task<ringdb::Status> operator()(const BtreeRoot& root) {
                *out = root.page;
                co_return ringdb::ok();
            }
        } pick{&victim};
        SubtreeVisitor visit = pick;
        REQUIRE(sync_wait(for_each_subtree((*table)->tree.pages(), (*table)->tree.root(), visit))
                        .has_value());
    }
    REQUIRE(sync_wait(core->close()).has_value());
    auto image = sim->crash(ringdb::io::CrashMode::durable_only);
    core.reset();  // owns the device
    INFO("victim page " << victim.index() << ", image pages " << image.size() / 512);
    REQUIRE(victim.index() * 512 + 512 <= image.size());
    image[victim.index() * 512 + 20] ^= std::byte{0x40};
    auto reopened = open_core(ringdb::io::SimDevice::from_image(image, seed));
    auto report = sync_wait(verify_database(reopened, ringdb::VerifyLevel::full));
    REQUIRE(report.has_value());
    REQUIRE_FALSE(report->valid);
    bool named = false;
    for (const auto& detail : report->details) {
        named = named || detail.table == "sets";
    }
    REQUIRE(named);
}
