// I/O errors (RELIABILITY.md G2) through the public API.

#include <cerrno>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "sim_workload.hpp"

using ringdb::Errc;
using ringdb::io::FaultMode;
using ringdb::io::OpKind;
using ringdb::io::SimDevice;

// Regression: a commit that failed on a read after it had reclaimed blocks from `freed` left
// them free in the allocator while the committed `freed` table still listed them, so the next
// commit reclaimed them again and failed with `corrupted` (or freed a reused block).
TEST_CASE("A commit failing on a read after reclaiming freed pages leaves the allocator intact",
          "[integration][faults]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    auto sim = std::make_shared<SimDevice>(seed);
    auto db = ringdb::test::open_sim(sim, true);
    REQUIRE(db.has_value());
    std::map<std::uint64_t, std::string> model;
    int failed_commits = 0;
    for (std::uint64_t round = 0; round < 60; ++round) {
        auto txn = ringdb::sync_wait(db->begin_write());
        REQUIRE(txn.has_value());
        auto table = ringdb::sync_wait(txn->open_table(ringdb::test::kNumbersTable));
        REQUIRE(table.has_value());
        auto work = model;
        for (std::uint64_t i = 0; i < 30; ++i) {  // overwrites: every commit frees pages
            std::uint64_t key = (round * 7 + i * 13) % 200;
            std::string value(10 + (round + i) % 50, static_cast<char>('a' + round % 26));
            REQUIRE(ringdb::sync_wait(table->insert(key, value)).has_value());
            work[key] = value;
        }
        if (round >= 10 && round % 2 == 0) {
            // Fail one of the next reads: the commit reads the `freed` table and the trees.
            sim->fail_at(OpKind::read, sim->calls(OpKind::read) + round % 7, FaultMode::once);
        }
        auto committed = ringdb::sync_wait(txn->commit());
        sim->clear_faults();
        if (committed) {
            model = work;
        } else {
            INFO(ringdb::to_string(committed.error()));
            REQUIRE(committed.error().code == Errc::io);
            ++failed_commits;
        }
        auto state = ringdb::test::read_state(*db);
        REQUIRE(state.has_value());
        REQUIRE(state->numbers == model);
    }
    auto report = ringdb::sync_wait(db->verify_integrity(ringdb::VerifyLevel::full));
    REQUIRE(report.has_value());
    REQUIRE(report->valid);
    REQUIRE(failed_commits > 0);
    REQUIRE(ringdb::sync_wait(db->close()).has_value());
}
