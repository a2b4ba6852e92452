#pragma once
// Helpers shared by the savepoint and reclamation tests: a small-page database on a simulated
// disk, driven through the engine so that allocator counts are visible.

#include <map>
#include <memory>
#include <random>

#include <catch2/catch.hpp>

#include <ringdb/codec.hpp>
#include <ringdb/sync_wait.hpp>
#include <ringdb/table_definition.hpp>

#include "engine/btree/cursor.hpp"
#include "engine/db/database_core.hpp"
#include "engine/db/verify_database.hpp"
#include "engine/txn/read_txn.hpp"
#include "engine/txn/savepoint.hpp"
#include "engine/txn/write_txn.hpp"
#include "io/sim_device.hpp"

namespace ringdb::test {

using Model = std::map<std::uint64_t, std::uint64_t>;
inline constexpr TableDefinition<std::uint64_t, std::uint64_t> kSavepointNumbers("numbers");

inline std::uint64_t savepoint_test_seed() {
    return io::SimDevice::seed_from_environment(std::random_device{}());
}

// The engine tests of savepoints, bulk loads and reclamation check the allocator against full
// repair after crashes of checkpoints: their databases have no commit log (every durable
// commit is a checkpoint), unless a test asks for one.
inline ringdb::DatabaseOptions without_log() {
    ringdb::DatabaseOptions options;
    options.log_size = 0;
    return options;
}

inline std::shared_ptr<engine::DatabaseCore> open_small(std::unique_ptr<io::BlockDevice> device,
                                                        ringdb::DatabaseOptions options =
                                                                without_log()) {
    options.page_size = 512;
    auto core = sync_wait(engine::DatabaseCore::open_device(std::move(device), options));
    INFO((core ? "open ok" : to_string(core.error())));
    REQUIRE(core.has_value());
    return *core;
}

inline std::shared_ptr<engine::WriteTxn> writer(const std::shared_ptr<engine::DatabaseCore>& core) {
    auto txn = sync_wait(engine::WriteTxn::begin(core->transactions()));
    REQUIRE(txn.has_value());
    return *txn;
}

inline engine::OpenTable* numbers(engine::WriteTxn& txn) {
    auto table = sync_wait(txn.open_table(kSavepointNumbers.schema(),
                                          &Codec<std::uint64_t>::compare));
    INFO((table ? "ok" : to_string(table.error())));
    REQUIRE(table.has_value());
    return *table;
}

inline void store(engine::OpenTable& table, std::uint64_t k, std::uint64_t v) {
    auto key = encode(k);
    auto value = encode(v);
    REQUIRE(sync_wait(table.tree.insert(key, value)).has_value());
}

inline void drop(engine::OpenTable& table, std::uint64_t k) {
    auto key = encode(k);
    REQUIRE(sync_wait(table.tree.remove(key)).has_value());
}

inline void commit(engine::WriteTxn& txn,
                   engine::Durability durability = engine::Durability::immediate) {
    engine::CommitOptions options;
    options.durability = durability;
    auto status = sync_wait(txn.commit(options));
    INFO((status ? "ok" : to_string(status.error())));
    REQUIRE(status.has_value());
}

/// Applies `changes` (key -> value, or remove when value is 0) in one transaction.
inline void apply(const std::shared_ptr<engine::DatabaseCore>& core, Model& model,
                  const Model& changes,
                  engine::Durability durability = engine::Durability::immediate) {
    auto txn = writer(core);
    engine::OpenTable* table = numbers(*txn);
    for (const auto& [k, v] : changes) {
        if (v == 0) {
            drop(*table, k);
            model.erase(k);
        } else {
            store(*table, k, v);
            model[k] = v;
        }
    }
    txn->close_table(table);
    commit(*txn, durability);
}

inline Task<Result<Model>> read_tree(const engine::Btree& tree) {
    Model model;
    engine::Cursor cursor(tree, engine::Bound::unbounded(), engine::Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= tree.length() + 1; ++guard) {
        auto entry = co_await cursor.next();
        if (!entry) {
            co_return entry.error();
        }
        if (!*entry) {
            co_return model;
        }
        auto k = decode<std::uint64_t>((*entry)->key);
        auto v = decode<std::uint64_t>((*entry)->value);
        if (!k || !v) {
            co_return Error{Errc::corrupted};
        }
        model[*k] = *v;
    }
    co_return Error{Errc::corrupted};
}

/// The content of "numbers" in a read transaction (empty if the table does not exist).
inline Model read_model(engine::ReadTxn& txn) {
    auto table = sync_wait(txn.open_table(kSavepointNumbers.schema(),
                                          &Codec<std::uint64_t>::compare));
    if (!table && table.error().code == Errc::table_does_not_exist) {
        return {};
    }
    REQUIRE(table.has_value());
    auto model = sync_wait(read_tree((*table)->tree));
    REQUIRE(model.has_value());
    return *model;
}

inline Model current_model(const std::shared_ptr<engine::DatabaseCore>& core) {
    auto txn = engine::ReadTxn::begin(core->transactions());
    REQUIRE(txn.has_value());
    return read_model(**txn);
}

inline bool verifies(const std::shared_ptr<engine::DatabaseCore>& core) {
    auto report = sync_wait(engine::verify_database(core, VerifyLevel::full));
    REQUIRE(report.has_value());
    return report->valid;
}

/// Runs empty durable commits until reclamation has caught up, then returns the allocated
/// page count (the same at every call in a steady state).
inline std::uint64_t settled_pages(const std::shared_ptr<engine::DatabaseCore>& core) {
    for (int i = 0; i < 4; ++i) {
        auto txn = writer(core);
        commit(*txn);
    }
    return core->store().allocated_pages();
}

/// Crashes `sim` (the device under `core`, which is dropped) and returns the allocated page
/// count that a full repair computes for the last durable commit: every reachable or listed
/// page. Equal to the live count before the crash unless the allocator leaked.
inline std::uint64_t repaired_pages(std::shared_ptr<engine::DatabaseCore>& core,
                                    io::SimDevice& sim, std::uint64_t seed) {
    auto image = sim.crash(io::CrashMode::durable_only);
    core.reset();
    core = open_small(io::SimDevice::from_image(image, seed));
    REQUIRE(verifies(core));
    return core->store().allocated_pages();
}

}  // namespace ringdb::test
