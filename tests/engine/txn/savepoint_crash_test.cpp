// Power loss with savepoints and non-durable commits in the history (docs/testing.md G1): a
// random mix of durable and non-durable commits, persistent savepoint creation, deletion and
// restore; the device fails at a random write or sync, then crashes (every crash mode). The
// reopened database must verify and show the last acknowledged durable state (or the one the
// failing commit attempted), with exactly the persistent savepoints of that state, each of
// which restores its own content.

#include "savepoint_support.hpp"

using namespace ringdb::test;     // NOLINT: test file
using namespace ringdb::engine;   // NOLINT: test file
using ringdb::sync_wait;

namespace {

struct State {
    Model data;
    std::map<std::uint64_t, Model> savepoints;  // persistent id -> content it shows
};

}  // namespace

TEST_CASE("A crash with savepoints and non-durable commits returns to a durable state",
          "[engine][savepoint][nosync][crash]") {
    auto seed = savepoint_test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    for (int trial = 0; trial < 12; ++trial) {
        auto device_seed = seed + static_cast<std::uint64_t>(trial);
        auto owned = std::make_unique<ringdb::io::SimDevice>(device_seed);
        auto* sim = owned.get();
        auto core = open_small(std::move(owned));
        State live;          // what the database shows now
        State durable;       // the last acknowledged durable state
        State attempted;     // what the failing durable commit tried to make durable
        int steps = 4 + static_cast<int>(rng() % 10);
        int fail_at = static_cast<int>(rng() % static_cast<std::uint64_t>(steps));
        bool failed = false;
        for (int step = 0; step < steps && !failed; ++step) {
            auto txn = writer(core);
            State next = live;
            auto choice = rng() % 8;
            bool durable_commit = rng() % 2 == 0;
            if (choice == 0) {
                auto id = sync_wait(txn->persistent_savepoint(Durability::immediate));
                REQUIRE(id.has_value());
                next.savepoints[*id] = live.data;
                durable_commit = true;  // forced by the engine
            } else if (choice == 1 && !live.savepoints.empty()) {
                auto it = live.savepoints.begin();
                std::advance(it, static_cast<long>(rng() % live.savepoints.size()));
                auto savepoint = sync_wait(txn->get_persistent_savepoint(it->first));
                REQUIRE(savepoint.has_value());
                REQUIRE(sync_wait(txn->restore_savepoint(*savepoint)).has_value());
                next.data = it->second;
                next.savepoints.erase(next.savepoints.upper_bound(it->first),
                                      next.savepoints.end());
                // Deleting newer persistent savepoints makes the commit durable (the engine
                // forces it, as for any persistent savepoint change).
                if (next.savepoints.size() != live.savepoints.size()) {
                    durable_commit = true;
                }
            } else if (choice == 2 && !live.savepoints.empty()) {
                auto id = live.savepoints.begin()->first;
                REQUIRE(*sync_wait(txn->delete_persistent_savepoint(id, Durability::immediate)));
                next.savepoints.erase(id);
                durable_commit = true;
            } else {
                OpenTable* table = numbers(*txn);
                for (int op = 0; op < 60; ++op) {
                    std::uint64_t k = rng() % 300;
                    if (rng() % 4 == 0) {
                        drop(*table, k);
                        next.data.erase(k);
                    } else {
                        store(*table, k, k + static_cast<std::uint64_t>(step) + 1);
                        next.data[k] = k + static_cast<std::uint64_t>(step) + 1;
                    }
                }
                txn->close_table(table);
            }
            CommitOptions options;
            options.durability = durable_commit ? Durability::immediate : Durability::none;
            if (step == fail_at) {
                auto kind = rng() % 2 == 0 ? ringdb::io::OpKind::write : ringdb::io::OpKind::sync;
                sim->fail_at(kind, sim->calls(kind) + rng() % 3,
                             ringdb::io::FaultMode::persistent);
            }
            auto committed = sync_wait(txn->commit(options));
            if (committed) {
                live = next;
                if (durable_commit) {
                    durable = live;
                }
            } else {
                attempted = next;
                failed = true;
            }
        }
        auto image = sim->crash_any();
        INFO("trial " << trial << " mode " << ringdb::io::crash_mode_name(sim->last_crash_mode()));
        core.reset();
        auto reopened = open_small(ringdb::io::SimDevice::from_image(image, device_seed));
        REQUIRE(verifies(reopened));
        State seen;
        seen.data = current_model(reopened);
        auto txn = writer(reopened);
        auto ids = sync_wait(txn->list_persistent_savepoints());
        REQUIRE(ids.has_value());
        const State& expected =
                seen.data == durable.data && ids->size() == durable.savepoints.size() ? durable
                                                                                      : attempted;
        REQUIRE(seen.data == expected.data);
        REQUIRE(ids->size() == expected.savepoints.size());
        txn->abort();
        // Every listed savepoint restores the content it was taken of (newest first: a
        // restore invalidates and deletes the newer ones).
        for (auto it = expected.savepoints.rbegin(); it != expected.savepoints.rend(); ++it) {
            auto restore_txn = writer(reopened);
            auto savepoint = sync_wait(restore_txn->get_persistent_savepoint(it->first));
            REQUIRE(savepoint.has_value());
            REQUIRE(sync_wait(restore_txn->restore_savepoint(*savepoint)).has_value());
            commit(*restore_txn);
            REQUIRE(current_model(reopened) == it->second);
        }
        REQUIRE(verifies(reopened));
    }
}
