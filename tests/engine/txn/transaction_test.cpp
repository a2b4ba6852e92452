// Transactions over the page store: commits, snapshots, aborts, table management, page reuse
// and recovery after crashes of the simulated disk. These drive the engine directly; the
// public API has its own suite.

#include <map>
#include <random>

#include <catch2/catch.hpp>

#include <ringdb/codec.hpp>
#include <ringdb/sync_wait.hpp>
#include <ringdb/table_definition.hpp>

#include "engine/btree/cursor.hpp"
#include "engine/db/database_core.hpp"
#include "engine/txn/read_txn.hpp"
#include "engine/txn/write_txn.hpp"
#include "io/sim_device.hpp"

using ringdb::Errc;
using ringdb::sync_wait;
using namespace ringdb::engine;  // NOLINT: test file

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kNumbers("numbers");
constexpr ringdb::TableDefinition<std::uint64_t, std::string> kNames("names");
using Model = std::map<std::uint64_t, std::uint64_t>;

std::uint64_t test_seed() {
    return ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
}

ringdb::Bytes key_bytes(std::uint64_t v) { return ringdb::encode(v); }

std::shared_ptr<DatabaseCore> open_core(std::unique_ptr<ringdb::io::BlockDevice> device,
                                        ringdb::DatabaseOptions options = {}) {
    options.page_size = 512;  // small pages: deep trees from little data
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

OpenTable* open_numbers(WriteTxn& txn) {
    auto table = sync_wait(txn.open_table(kNumbers.schema(),
                                          &ringdb::Codec<std::uint64_t>::compare));
    INFO((table ? "ok" : ringdb::to_string(table.error())));
    REQUIRE(table.has_value());
    return *table;
}

void put(OpenTable& table, std::uint64_t k, std::uint64_t v) {
    auto key = key_bytes(k);
    auto value = key_bytes(v);
    REQUIRE(sync_wait(table.tree.insert(key, value)).has_value());
}

void erase(OpenTable& table, std::uint64_t k) {
    auto key = key_bytes(k);
    REQUIRE(sync_wait(table.tree.remove(key)).has_value());
}

ringdb::Task<ringdb::Result<Model>> read_all(const Btree& tree) {
    Model model;
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= tree.length() + 1; ++guard) {
        auto entry = co_await cursor.next();
        if (!entry) {
            co_return entry.error();
        }
        if (!*entry) {
            co_return model;
        }
        auto k = ringdb::decode<std::uint64_t>((*entry)->key);
        auto v = ringdb::decode<std::uint64_t>((*entry)->value);
        if (!k || !v) {
            co_return ringdb::Error{Errc::corrupted};
        }
        model[*k] = *v;
    }
    co_return ringdb::Error{Errc::corrupted};
}

// The committed content of table "numbers" as a new reader sees it (empty if absent).
Model snapshot(const std::shared_ptr<DatabaseCore>& core) {
    auto txn = ReadTxn::begin(core->transactions());
    REQUIRE(txn.has_value());
    auto table = sync_wait((*txn)->open_table(kNumbers.schema(),
                                              &ringdb::Codec<std::uint64_t>::compare));
    if (!table && table.error().code == Errc::table_does_not_exist) {
        return {};
    }
    REQUIRE(table.has_value());
    auto model = sync_wait(read_all((*table)->tree));
    REQUIRE(model.has_value());
    return *model;
}

}  // namespace

TEST_CASE("Committed data is visible to new readers and survives a clean reopen",
          "[engine][txn]") {
    auto seed = test_seed();
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_core(std::move(owned));
    Model model;
    {
        auto txn = begin_write(core);
        OpenTable* table = open_numbers(*txn);
        for (std::uint64_t i = 0; i < 2000; ++i) {
            put(*table, i * 7 % 2003, i);
            model[i * 7 % 2003] = i;
        }
        REQUIRE(sync_wait(txn->commit({})).has_value());
    }
    REQUIRE(snapshot(core) == model);
    REQUIRE(sync_wait(core->close()).has_value());
    auto image = sim->crash(ringdb::io::CrashMode::durable_only);

    int repairs = 0;
    ringdb::DatabaseOptions options;
    options.repair_callback = [&repairs](double) {
        ++repairs;
        return true;
    };
    auto reopened = open_core(ringdb::io::SimDevice::from_image(image, seed), options);
    REQUIRE(repairs == 0);  // clean close: the saved allocator state is used
    REQUIRE(snapshot(reopened) == model);
    auto allocated = reopened->store().allocated_pages();
    REQUIRE(allocated > 0);
}

TEST_CASE("Readers keep their snapshot while later commits happen", "[engine][txn]") {
    auto core = open_core(std::make_unique<ringdb::io::SimDevice>(test_seed()));
    {
        auto txn = begin_write(core);
        put(*open_numbers(*txn), 1, 100);
        REQUIRE(sync_wait(txn->commit({})).has_value());
    }
    auto old_reader = ReadTxn::begin(core->transactions());
    REQUIRE(old_reader.has_value());
    auto old_table = sync_wait((*old_reader)->open_table(kNumbers.schema(),
                                                         &ringdb::Codec<std::uint64_t>::compare));
    REQUIRE(old_table.has_value());
    for (std::uint64_t round = 0; round < 20; ++round) {
        auto txn = begin_write(core);
        OpenTable* table = open_numbers(*txn);
        put(*table, 1, 200 + round);
        for (std::uint64_t i = 0; i < 50; ++i) {
            put(*table, 1000 + round * 50 + i, i);
        }
        REQUIRE(sync_wait(txn->commit({})).has_value());
    }
    auto seen = sync_wait(read_all((*old_table)->tree));
    REQUIRE(seen.has_value());
    REQUIRE(*seen == Model{{1, 100}});
    REQUIRE(snapshot(core).at(1) == 219);
}

TEST_CASE("Aborted and dropped transactions change nothing", "[engine][txn]") {
    auto core = open_core(std::make_unique<ringdb::io::SimDevice>(test_seed()));
    auto baseline = core->store().allocated_pages();
    {
        auto txn = begin_write(core);
        OpenTable* table = open_numbers(*txn);
        for (std::uint64_t i = 0; i < 500; ++i) {
            put(*table, i, i);
        }
        txn->abort();
        REQUIRE(sync_wait(txn->commit({})).error().code == Errc::transaction_finished);
    }
    {
        auto txn = begin_write(core);
        put(*open_numbers(*txn), 5, 5);
    }  // dropped without commit
    REQUIRE(snapshot(core).empty());
    REQUIRE(core->store().allocated_pages() == baseline);
}

TEST_CASE("Table management: type checks, open twice, rename, delete, list",
          "[engine][txn]") {
    auto core = open_core(std::make_unique<ringdb::io::SimDevice>(test_seed()));
    auto txn = begin_write(core);
    OpenTable* numbers = open_numbers(*txn);
    put(*numbers, 1, 1);
    auto again =
            sync_wait(txn->open_table(kNumbers.schema(), &ringdb::Codec<std::uint64_t>::compare));
    REQUIRE(again.error().code == Errc::table_already_open);
    auto mismatch = sync_wait(txn->open_table(
            ringdb::TableDefinition<std::uint32_t, std::uint32_t>("numbers").schema(),
            &ringdb::Codec<std::uint32_t>::compare));
    REQUIRE(mismatch.error().code == Errc::table_type_mismatch);
    REQUIRE(sync_wait(txn->rename_table("numbers", "other", ringdb::TableKind::normal))
                    .error()
                    .code == Errc::table_already_open);
    txn->close_table(numbers);
    auto names =
            sync_wait(txn->open_table(kNames.schema(), &ringdb::Codec<std::uint64_t>::compare));
    REQUIRE(names.has_value());
    txn->close_table(*names);
    auto listed = sync_wait(txn->list_tables(ringdb::TableKind::normal));
    REQUIRE(*listed == std::vector<std::string>{"names", "numbers"});
    REQUIRE(sync_wait(txn->rename_table("numbers", "names", ringdb::TableKind::normal))
                    .error()
                    .code == Errc::table_exists);
    REQUIRE(sync_wait(txn->rename_table("missing", "x", ringdb::TableKind::normal)).error().code ==
            Errc::table_does_not_exist);
    REQUIRE(sync_wait(txn->rename_table("numbers", "renamed", ringdb::TableKind::normal))
                    .has_value());
    REQUIRE(sync_wait(txn->delete_table("names", ringdb::TableKind::normal)).value());
    REQUIRE_FALSE(sync_wait(txn->delete_table("names", ringdb::TableKind::normal)).value());
    REQUIRE(sync_wait(txn->commit({})).has_value());

    auto reader = ReadTxn::begin(core->transactions());
    auto after = sync_wait((*reader)->list_tables(ringdb::TableKind::normal));
    REQUIRE(*after == std::vector<std::string>{"renamed"});
    auto missing = sync_wait(
            (*reader)->open_table(kNumbers.schema(), &ringdb::Codec<std::uint64_t>::compare));
    REQUIRE(missing.error().code == Errc::table_does_not_exist);
}

TEST_CASE("Freed pages are reused once no reader needs them", "[engine][txn]") {
    auto core = open_core(std::make_unique<ringdb::io::SimDevice>(test_seed()));
    auto cycle = [&core] {
        {
            auto txn = begin_write(core);
            OpenTable* table = open_numbers(*txn);
            for (std::uint64_t i = 0; i < 800; ++i) {
                put(*table, i, i * 3);
            }
            REQUIRE(sync_wait(txn->commit({})).has_value());
        }
        auto txn = begin_write(core);
        OpenTable* table = open_numbers(*txn);
        for (std::uint64_t i = 0; i < 800; ++i) {
            erase(*table, i);
        }
        REQUIRE(sync_wait(txn->commit({})).has_value());
    };
    cycle();
    cycle();
    auto after_two = core->store().layout_pages();
    for (int i = 0; i < 5; ++i) {
        cycle();
    }
    INFO("layout after two cycles " << after_two << ", after seven "
                                    << core->store().layout_pages());
    REQUIRE(core->store().layout_pages() <= after_two + after_two / 10);
}

TEST_CASE("After a crash at any point the database reopens at an acknowledged commit",
          "[engine][txn][crash]") {
    auto seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    for (int trial = 0; trial < 30; ++trial) {
        auto owned =
                std::make_unique<ringdb::io::SimDevice>(seed + static_cast<std::uint64_t>(trial));
        auto* sim = owned.get();
        auto core = open_core(std::move(owned));
        Model acknowledged;
        Model attempted;
        int commits = 1 + static_cast<int>(rng() % 6);
        int crash_at = static_cast<int>(rng() % static_cast<std::uint64_t>(commits));
        for (int c = 0; c < commits; ++c) {
            auto txn = begin_write(core);
            OpenTable* table = open_numbers(*txn);
            attempted = acknowledged;
            for (int op = 0; op < 150; ++op) {
                std::uint64_t k = rng() % 400;
                if (rng() % 4 == 0) {
                    erase(*table, k);
                    attempted.erase(k);
                } else {
                    put(*table, k, rng());
                    put(*table, k, k + static_cast<std::uint64_t>(c));
                    attempted[k] = k + static_cast<std::uint64_t>(c);
                }
            }
            CommitOptions options;
            options.two_phase = rng() % 3 == 0;
            if (c == crash_at) {
                // Fail the device at a random write or sync of this commit, then crash.
                auto kind = rng() % 2 == 0 ? ringdb::io::OpKind::write : ringdb::io::OpKind::sync;
                sim->fail_at(kind, sim->calls(kind) + rng() % 3, ringdb::io::FaultMode::persistent);
            }
            auto committed = sync_wait(txn->commit(options));
            if (committed) {
                acknowledged = attempted;
            }
            if (c == crash_at) {
                break;
            }
        }
        auto image = sim->crash_any();
        INFO("trial " << trial << " mode " << ringdb::io::crash_mode_name(sim->last_crash_mode()));
        auto reopened = open_core(ringdb::io::SimDevice::from_image(image, seed));
        Model seen = snapshot(reopened);
        REQUIRE((seen == acknowledged || seen == attempted));
        // The recovered database accepts writes.
        auto txn = begin_write(reopened);
        put(*open_numbers(*txn), 9999, 1);
        REQUIRE(sync_wait(txn->commit({})).has_value());
    }
}
