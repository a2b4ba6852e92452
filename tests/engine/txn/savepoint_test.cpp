// Savepoints in the engine (docs/api.md, "Savepoints"): restore, invalidation, persistent
// savepoints across reopen, and exact page accounting after restores.

#include "savepoint_support.hpp"

using namespace ringdb::test;     // NOLINT: test file
using namespace ringdb::engine;   // NOLINT: test file
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

// Pages by which two steady states of the system trees may differ (see the first test).
constexpr std::uint64_t kSystemWobble = 8;

Model numbered(std::uint64_t first, std::uint64_t count, std::uint64_t value) {
    Model changes;
    for (std::uint64_t i = first; i < first + count; ++i) {
        changes[i] = value + i;
    }
    return changes;
}

std::shared_ptr<SavepointHandle> take_savepoint(const std::shared_ptr<DatabaseCore>& core) {
    auto txn = writer(core);
    auto savepoint = sync_wait(txn->ephemeral_savepoint());
    REQUIRE(savepoint.has_value());
    commit(*txn);
    return *savepoint;
}

void restore(const std::shared_ptr<DatabaseCore>& core,
             const std::shared_ptr<SavepointHandle>& savepoint) {
    auto txn = writer(core);
    auto restored = sync_wait(txn->restore_savepoint(savepoint));
    INFO((restored ? "ok" : ringdb::to_string(restored.error())));
    REQUIRE(restored.has_value());
    commit(*txn);
}

}  // namespace

TEST_CASE("Restoring a savepoint brings the tables back and leaks no page",
          "[engine][savepoint]") {
    auto seed = savepoint_test_seed();
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_small(std::move(owned));
    Model model;
    apply(core, model, numbered(0, 300, 1000));
    std::uint64_t baseline = settled_pages(core);
    Model at_savepoint = model;
    auto savepoint = take_savepoint(core);

    // Several commits after the savepoint: removals, updates, new keys, a new table.
    Model removals;
    for (std::uint64_t i = 0; i < 300; i += 3) {
        removals[i] = 0;
    }
    apply(core, model, removals);
    apply(core, model, numbered(100, 150, 5000));
    apply(core, model, numbered(1000, 400, 7));
    {
        auto txn = writer(core);
        constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kOther("other");
        auto other = sync_wait(txn->open_table(kOther.schema(),
                                               &ringdb::Codec<std::uint64_t>::compare));
        REQUIRE(other.has_value());
        store(**other, 1, 1);
        commit(*txn);
    }
    REQUIRE(current_model(core) == model);

    restore(core, savepoint);
    REQUIRE(current_model(core) == at_savepoint);
    REQUIRE(verifies(core));
    savepoint.reset();
    std::uint64_t live = settled_pages(core);
    // The user trees are back to the very pages of the savepoint; the system trees may settle
    // into another steady state (a few pages of `system_freed` that each commit recycles).
    REQUIRE(live <= baseline + kSystemWobble);
    REQUIRE(repaired_pages(core, *sim, seed) == live);
}

TEST_CASE("A savepoint restores twice; an older restore invalidates newer savepoints",
          "[engine][savepoint]") {
    auto core = open_small(std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed()));
    Model model;
    apply(core, model, numbered(0, 50, 1));
    Model first_state = model;
    auto first = take_savepoint(core);
    apply(core, model, numbered(50, 50, 2));
    Model second_state = model;
    auto second = take_savepoint(core);
    apply(core, model, numbered(0, 100, 3));

    restore(core, second);
    REQUIRE(current_model(core) == second_state);
    apply(core, model, numbered(200, 10, 4));
    restore(core, second);  // again
    REQUIRE(current_model(core) == second_state);

    restore(core, first);
    REQUIRE(current_model(core) == first_state);
    auto txn = writer(core);
    auto refused = sync_wait(txn->restore_savepoint(second));
    REQUIRE_FALSE(refused.has_value());
    REQUIRE(refused.error().code == Errc::invalid_savepoint);
    txn->abort();
    restore(core, first);
    REQUIRE(current_model(core) == first_state);
}

TEST_CASE("Invalidation by a restore survives the abort of that restore",
          "[engine][savepoint]") {
    auto core = open_small(std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed()));
    Model model;
    apply(core, model, numbered(0, 20, 1));
    auto older = take_savepoint(core);
    apply(core, model, numbered(20, 20, 1));
    auto newer = take_savepoint(core);
    Model latest = model;
    {
        auto txn = writer(core);
        REQUIRE(sync_wait(txn->restore_savepoint(older)).has_value());
        txn->abort();
    }
    REQUIRE(current_model(core) == latest);  // the restore itself was rolled back
    auto txn = writer(core);
    auto refused = sync_wait(txn->restore_savepoint(newer));
    REQUIRE_FALSE(refused.has_value());
    REQUIRE(refused.error().code == Errc::invalid_savepoint);
    REQUIRE(sync_wait(txn->restore_savepoint(older)).has_value());
    commit(*txn);
}

TEST_CASE("Restore discards the transaction's own earlier changes without leaking",
          "[engine][savepoint]") {
    auto seed = savepoint_test_seed();
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_small(std::move(owned));
    Model model;
    apply(core, model, numbered(0, 200, 1));
    std::uint64_t baseline = settled_pages(core);
    Model at_savepoint = model;
    auto savepoint = take_savepoint(core);
    apply(core, model, numbered(150, 200, 9));
    {
        auto txn = writer(core);
        OpenTable* table = numbers(*txn);
        for (std::uint64_t i = 0; i < 100; ++i) {
            drop(*table, i);
            store(*table, 5000 + i, i + 1);
        }
        // A handle still open refuses the restore.
        auto refused = sync_wait(txn->restore_savepoint(savepoint));
        REQUIRE_FALSE(refused.has_value());
        REQUIRE(refused.error().code == Errc::table_already_open);
        txn->close_table(table);
        REQUIRE(sync_wait(txn->restore_savepoint(savepoint)).has_value());
        OpenTable* again = numbers(*txn);
        store(*again, 42, 4242);
        txn->close_table(again);
        commit(*txn);
    }
    at_savepoint[42] = 4242;
    REQUIRE(current_model(core) == at_savepoint);
    REQUIRE(verifies(core));
    savepoint.reset();
    Model undo;
    undo[42] = 43;
    apply(core, at_savepoint, undo);
    std::uint64_t live = settled_pages(core);
    REQUIRE(live <= baseline + kSystemWobble);
    REQUIRE(repaired_pages(core, *sim, seed) == live);
}

TEST_CASE("Only a clean transaction creates savepoints", "[engine][savepoint]") {
    auto core = open_small(std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed()));
    {
        auto txn = writer(core);
        numbers(*txn);
        auto refused = sync_wait(txn->ephemeral_savepoint());
        REQUIRE_FALSE(refused.has_value());
        REQUIRE(refused.error().code == Errc::invalid_savepoint);
    }
    {
        auto txn = writer(core);
        REQUIRE(sync_wait(txn->list_persistent_savepoints()).has_value());
        auto refused = sync_wait(txn->persistent_savepoint(Durability::immediate));
        REQUIRE(refused.error().code == Errc::invalid_savepoint);
    }
    {
        auto txn = writer(core);
        auto refused = sync_wait(txn->persistent_savepoint(Durability::none));
        REQUIRE(refused.error().code == Errc::invalid_savepoint);
        auto deleted = sync_wait(txn->delete_persistent_savepoint(1, Durability::none));
        REQUIRE(deleted.error().code == Errc::invalid_savepoint);
        auto missing = sync_wait(txn->get_persistent_savepoint(77));
        REQUIRE(missing.error().code == Errc::invalid_savepoint);
    }
    // One savepoint per transaction: the first makes it dirty.
    auto txn = writer(core);
    REQUIRE(sync_wait(txn->persistent_savepoint(Durability::immediate)).has_value());
    REQUIRE(sync_wait(txn->ephemeral_savepoint()).error().code == Errc::invalid_savepoint);
}

TEST_CASE("Persistent savepoints survive reopen, pin their pages and restore",
          "[engine][savepoint][crash]") {
    auto seed = savepoint_test_seed();
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_small(std::move(owned));
    Model model;
    apply(core, model, numbered(0, 300, 1));
    Model at_savepoint = model;
    std::uint64_t id = 0;
    {
        auto txn = writer(core);
        auto created = sync_wait(txn->persistent_savepoint(Durability::immediate));
        REQUIRE(created.has_value());
        id = *created;
        REQUIRE(txn->persistent_savepoints_modified());
        // The commit is durable even when asked otherwise.
        commit(*txn, Durability::none);
    }
    Model removals;
    for (std::uint64_t i = 0; i < 300; i += 2) {
        removals[i] = 0;
    }
    apply(core, model, removals);
    apply(core, model, numbered(500, 300, 8));
    // A crash (nothing after the last durable commit is lost here: all were durable).
    auto image = sim->crash(ringdb::io::CrashMode::durable_only);
    core.reset();
    core = open_small(ringdb::io::SimDevice::from_image(image, seed));
    REQUIRE(current_model(core) == model);
    // Reclamation must not have touched the savepoint's pages across the reopen.
    apply(core, model, numbered(0, 100, 3));
    settled_pages(core);
    {
        auto txn = writer(core);
        auto ids = sync_wait(txn->list_persistent_savepoints());
        REQUIRE(ids.has_value());
        REQUIRE(*ids == std::vector<std::uint64_t>{id});
        auto savepoint = sync_wait(txn->get_persistent_savepoint(id));
        REQUIRE(savepoint.has_value());
        REQUIRE(sync_wait(txn->restore_savepoint(*savepoint)).has_value());
        commit(*txn);
    }
    REQUIRE(current_model(core) == at_savepoint);
    REQUIRE(verifies(core));
    // New ids keep increasing after the reopen; deleting frees the pin.
    {
        auto txn = writer(core);
        auto next = sync_wait(txn->persistent_savepoint(Durability::immediate));
        REQUIRE(next.has_value());
        REQUIRE(*next > id);
        commit(*txn);
    }
    auto txn = writer(core);
    REQUIRE(*sync_wait(txn->delete_persistent_savepoint(id, Durability::immediate)));
    REQUIRE_FALSE(*sync_wait(txn->delete_persistent_savepoint(id, Durability::immediate)));
    commit(*txn);
    auto check = writer(core);
    auto ids = sync_wait(check->list_persistent_savepoints());
    REQUIRE(ids->size() == 1);
}

TEST_CASE("An aborted transaction keeps the persistent savepoints as they were",
          "[engine][savepoint]") {
    auto core = open_small(std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed()));
    std::uint64_t kept = 0;
    {
        auto txn = writer(core);
        kept = *sync_wait(txn->persistent_savepoint(Durability::immediate));
        commit(*txn);
    }
    {
        auto txn = writer(core);
        REQUIRE(sync_wait(txn->persistent_savepoint(Durability::immediate)).has_value());
        txn->abort();
    }
    {
        auto txn = writer(core);
        REQUIRE(*sync_wait(txn->delete_persistent_savepoint(kept, Durability::immediate)));
        txn->abort();
    }
    auto txn = writer(core);
    auto ids = sync_wait(txn->list_persistent_savepoints());
    REQUIRE(*ids == std::vector<std::uint64_t>{kept});
    // Only the kept savepoint pins a snapshot now.
    REQUIRE(core->transactions()->tracker().live_readers() == 1);
}

TEST_CASE("Restoring an older savepoint does not resurrect a deleted persistent one",
          "[engine][savepoint]") {
    auto core = open_small(std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed()));
    auto older = take_savepoint(core);
    std::uint64_t persistent = 0;
    {
        auto txn = writer(core);
        persistent = *sync_wait(txn->persistent_savepoint(Durability::immediate));
        commit(*txn);
    }
    {
        auto txn = writer(core);
        REQUIRE(*sync_wait(txn->delete_persistent_savepoint(persistent, Durability::immediate)));
        commit(*txn);
    }
    auto txn = writer(core);
    REQUIRE(sync_wait(txn->restore_savepoint(older)).has_value());
    REQUIRE_FALSE(*sync_wait(txn->delete_persistent_savepoint(persistent, Durability::immediate)));
    commit(*txn);
    auto check = writer(core);
    REQUIRE(sync_wait(check->list_persistent_savepoints())->empty());
}

TEST_CASE("A savepoint of another database is refused", "[engine][savepoint]") {
    auto first = open_small(std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed()));
    auto second = open_small(std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed()));
    auto foreign = take_savepoint(first);
    auto txn = writer(second);
    auto refused = sync_wait(txn->restore_savepoint(foreign));
    REQUIRE(refused.error().code == Errc::invalid_savepoint);
    auto none = sync_wait(txn->restore_savepoint(nullptr));
    REQUIRE(none.error().code == Errc::invalid_savepoint);
}

TEST_CASE("Random savepoint histories match a model and leak nothing",
          "[engine][savepoint][slow]") {
    auto seed = savepoint_test_seed();
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_small(std::move(owned));
    Model model;
    apply(core, model, numbered(0, 100, 1));
    std::vector<std::pair<std::shared_ptr<SavepointHandle>, Model>> savepoints;
    for (int step = 0; step < 120; ++step) {
        auto choice = rng() % 10;
        if (choice < 2 && savepoints.size() < 4) {
            savepoints.emplace_back(take_savepoint(core), model);
        } else if (choice < 4 && !savepoints.empty()) {
            std::size_t pick = rng() % savepoints.size();
            restore(core, savepoints[pick].first);
            model = savepoints[pick].second;
            savepoints.resize(pick + 1);  // newer ones are invalid now
        } else if (choice < 5 && !savepoints.empty()) {
            savepoints.erase(savepoints.begin() + static_cast<long>(rng() % savepoints.size()));
        } else {
            Model changes;
            for (int i = 0; i < 20; ++i) {
                std::uint64_t k = rng() % 400;
                changes[k] = rng() % 3 == 0 ? 0 : rng() % 1000 + 1;
            }
            auto durability = rng() % 2 == 0 ? Durability::none : Durability::immediate;
            apply(core, model, changes, durability);
        }
        REQUIRE(current_model(core) == model);
    }
    REQUIRE(verifies(core));
    savepoints.clear();
    // A full repair counts every page reachable or listed as freed: a leaked page would make
    // the live allocator count higher.
    std::uint64_t live = settled_pages(core);
    REQUIRE(repaired_pages(core, *sim, seed) == live);
}

TEST_CASE("Pages held only by an ended reader return to the allocator",
          "[engine][savepoint][regression]") {
    auto seed = savepoint_test_seed();
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_small(std::move(owned));
    Model model;
    apply(core, model, numbered(0, 200, 1));
    std::uint64_t baseline = settled_pages(core);
    auto reader = ReadTxn::begin(core->transactions());
    REQUIRE(reader.has_value());
    Model seen = model;
    for (std::uint64_t round = 0; round < 5; ++round) {
        apply(core, model, numbered(0, 200, 10 * round + 2),
              round % 2 == 0 ? Durability::none : Durability::immediate);
    }
    REQUIRE(read_model(**reader) == seen);
    REQUIRE(core->store().allocated_pages() > baseline);
    reader->reset();
    std::uint64_t live = settled_pages(core);
    REQUIRE(live <= baseline + kSystemWobble);
    REQUIRE(repaired_pages(core, *sim, seed) == live);
}

TEST_CASE("Deleting tables after touching the savepoint tables leaks nothing",
          "[engine][savepoint][regression]") {
    auto seed = savepoint_test_seed();
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_small(std::move(owned));
    std::uint64_t baseline = settled_pages(core);
    {
        auto txn = writer(core);
        REQUIRE(sync_wait(txn->list_persistent_savepoints())->empty());
        commit(*txn);
    }
    Model model;
    apply(core, model, numbered(0, 300, 5));
    {
        auto txn = writer(core);
        REQUIRE(sync_wait(txn->list_persistent_savepoints())->empty());
        REQUIRE(*sync_wait(txn->delete_table(std::string(kSavepointNumbers.schema().name),
                                             ringdb::TableKind::normal)));
        commit(*txn);
    }
    REQUIRE(current_model(core).empty());
    std::uint64_t live = settled_pages(core);
    REQUIRE(live <= baseline + kSystemWobble);
    REQUIRE(repaired_pages(core, *sim, seed) == live);
}
