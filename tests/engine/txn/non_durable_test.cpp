// Non-durable commits (docs/design.md sections 7 and 8): pages they free are reused before the
// next durable commit when no reader can see them, nothing reaches the file until a durable
// commit, and a crash returns to the last durable commit intact.

#include "savepoint_support.hpp"

using namespace ringdb::test;     // NOLINT: test file
using namespace ringdb::engine;   // NOLINT: test file
using ringdb::io::OpKind;
using ringdb::sync_wait;

namespace {

// One insert per non-durable commit, `count` times, keys from `first`.
void one_insert_commits(const std::shared_ptr<DatabaseCore>& core, Model& model,
                        std::uint64_t first, std::uint64_t count, std::uint64_t value) {
    for (std::uint64_t i = first; i < first + count; ++i) {
        Model change;
        change[i % 997] = value + i;
        apply(core, model, change, Durability::none);
    }
}

}  // namespace

TEST_CASE("Non-durable commits reuse their own pages and write nothing",
          "[engine][nosync]") {
    auto owned = std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed());
    auto* sim = owned.get();
    auto core = open_small(std::move(owned));
    Model model;
    Model initial;
    for (std::uint64_t i = 0; i < 997; i += 2) {
        initial[i] = i + 1;
    }
    apply(core, model, initial);
    std::uint64_t before = core->store().allocated_pages();
    std::uint64_t layout = core->store().layout_pages();
    std::uint64_t writes = sim->calls(OpKind::write);
    std::uint64_t syncs = sim->calls(OpKind::sync);

    one_insert_commits(core, model, 0, 3000, 7);
    REQUIRE(current_model(core) == model);
    // 3000 commits each copy a leaf path and the system trees; without reuse that is several
    // pages per commit. With reuse only the data itself grows the database.
    std::uint64_t after = core->store().allocated_pages();
    INFO("allocated before " << before << " after " << after);
    REQUIRE(after < 2 * before + 100);
    REQUIRE(core->store().layout_pages() <= layout + 256);
    REQUIRE(sim->calls(OpKind::write) == writes);
    REQUIRE(sim->calls(OpKind::sync) == syncs);
    REQUIRE(core->store().unwritten_pages() > 0);
    REQUIRE(verifies(core));

    // A durable commit writes what is still held and makes everything durable.
    apply(core, model, Model{{5000, 1}});
    REQUIRE(core->store().unwritten_pages() == 0);
    REQUIRE(sim->calls(OpKind::write) > writes);
    REQUIRE(current_model(core) == model);
}

TEST_CASE("A crash after non-durable commits returns to the last durable commit",
          "[engine][nosync][crash]") {
    auto seed = savepoint_test_seed();
    INFO("seed " << seed);
    for (int trial = 0; trial < 6; ++trial) {
        auto owned =
                std::make_unique<ringdb::io::SimDevice>(seed + static_cast<std::uint64_t>(trial));
        auto* sim = owned.get();
        ringdb::DatabaseOptions options = without_log();
        options.cache_size = 64 << 10;  // small: held pages spill to the file early
        auto core = open_small(std::move(owned), options);
        Model model;
        apply(core, model, [] {
            Model m;
            for (std::uint64_t i = 0; i < 600; ++i) {
                m[i] = i + 1;
            }
            return m;
        }());
        one_insert_commits(core, model, 0, 400, 11);
        apply(core, model, Model{{1, 2}, {3, 0}});  // durable: the state a crash returns to
        Model durable = model;
        // Enough non-durable commits that freed unpersisted pages are reused and some held
        // pages are written early (the early writes land over blocks the durable commit does
        // not reference).
        for (std::uint64_t round = 0; round < 3; ++round) {
            Model big;
            for (std::uint64_t i = 0; i < 600; i += 1 + round) {
                big[i] = 100000 + i + round;
            }
            apply(core, model, big, Durability::none);
            one_insert_commits(core, model, 700, 300, round * 1000);
        }
        REQUIRE(current_model(core) == model);
        auto image = trial % 2 == 0 ? sim->crash_any()
                                    : sim->crash(ringdb::io::CrashMode::random_subset);
        // The device belongs to the core: read its crash mode before the core is destroyed.
        const char* mode = ringdb::io::crash_mode_name(sim->last_crash_mode());
        core.reset();
        INFO("trial " << trial << " mode " << mode);
        auto reopened = open_small(ringdb::io::SimDevice::from_image(image, seed), options);
        REQUIRE(current_model(reopened) == durable);
        REQUIRE(verifies(reopened));
        // And it keeps working: commits after the recovery.
        Model after = durable;
        apply(reopened, after, Model{{9, 9}});
        one_insert_commits(reopened, after, 0, 50, 3);
        REQUIRE(current_model(reopened) == after);
    }
}

TEST_CASE("A reader keeps its snapshot while non-durable commits reuse pages",
          "[engine][nosync]") {
    auto core = open_small(std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed()));
    Model model;
    apply(core, model, Model{{1, 1}, {2, 2}});
    // A first reader pins an early non-durable commit, so nothing freed after it is reused.
    one_insert_commits(core, model, 0, 50, 1);
    std::uint64_t start = core->store().allocated_pages();
    auto early = ReadTxn::begin(core->transactions());
    REQUIRE(early.has_value());
    Model early_model = model;
    one_insert_commits(core, model, 0, 500, 2);
    std::uint64_t pinned = core->store().allocated_pages();
    // A second reader, then the first goes: what was freed before the second reader is
    // reused while it lives.
    auto late = ReadTxn::begin(core->transactions());
    REQUIRE(late.has_value());
    Model late_model = model;
    REQUIRE(read_model(**early) == early_model);
    early->reset();
    one_insert_commits(core, model, 0, 500, 3);
    std::uint64_t reused = core->store().allocated_pages();
    INFO("start " << start << " pinned " << pinned << " after " << reused);
    REQUIRE(reused - pinned < (pinned - start) / 2);
    REQUIRE(read_model(**late) == late_model);
    REQUIRE(current_model(core) == model);
    late->reset();
    one_insert_commits(core, model, 0, 10, 4);
    REQUIRE(verifies(core));
}

TEST_CASE("Delete and reinsert cycles keep the file size stable", "[engine][nosync]") {
    auto core = open_small(std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed()));
    Model model;
    auto cycle = [&](Durability durability) {
        Model removals;
        for (std::uint64_t i = 0; i < 400; ++i) {
            removals[i] = 0;
        }
        Model inserts;
        for (std::uint64_t i = 0; i < 400; ++i) {
            inserts[i] = i * 3 + 1;
        }
        apply(core, model, inserts, durability);
        apply(core, model, removals, durability);
        apply(core, model, inserts, durability);
        apply(core, model, Model{}, Durability::immediate);
    };
    cycle(Durability::immediate);
    cycle(Durability::immediate);
    std::uint64_t durable_layout = core->store().layout_pages();
    cycle(Durability::immediate);
    REQUIRE(core->store().layout_pages() <= durable_layout + durable_layout / 10);
    cycle(Durability::none);
    std::uint64_t mixed_layout = core->store().layout_pages();
    cycle(Durability::none);
    cycle(Durability::none);
    REQUIRE(core->store().layout_pages() <= mixed_layout + mixed_layout / 10);
    REQUIRE(current_model(core) == model);
}

TEST_CASE("A savepoint holds back non-durable reuse; restore after non-durable commits",
          "[engine][nosync][savepoint]") {
    auto owned = std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed());
    auto* sim = owned.get();
    auto seed = sim->seed();
    auto core = open_small(std::move(owned));
    Model model;
    apply(core, model, Model{{1, 1}, {2, 2}, {3, 3}});
    Model at_savepoint = model;
    std::shared_ptr<SavepointHandle> savepoint;
    {
        auto txn = writer(core);
        auto created = sync_wait(txn->ephemeral_savepoint());
        REQUIRE(created.has_value());
        savepoint = *created;
        commit(*txn, Durability::none);
    }
    one_insert_commits(core, model, 0, 200, 5);
    {
        auto txn = writer(core);
        REQUIRE(sync_wait(txn->restore_savepoint(savepoint)).has_value());
        commit(*txn, Durability::none);
    }
    REQUIRE(current_model(core) == at_savepoint);
    one_insert_commits(core, at_savepoint, 0, 100, 6);
    savepoint.reset();
    one_insert_commits(core, at_savepoint, 0, 100, 7);
    REQUIRE(verifies(core));
    std::uint64_t live = settled_pages(core);
    REQUIRE(repaired_pages(core, *sim, seed) == live);
}
