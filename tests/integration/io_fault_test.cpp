// I/O errors (docs/testing.md G2), through the public API: the seeded workload of
// sim_workload.hpp runs on a simulated disk that fails the k-th read, write, sync or
// set_length, for every k the workload reaches, once and from then on. Every failure must come
// back as a typed error (the injected io / no_space error first, previous_io after it), never
// as a crash or a reported success after the device failed. After the faults stop (the file is
// closed and opened again, its page cache intact), the database must open, pass full
// verification, hold a commit between the last acknowledged durable one and the last one
// attempted, and accept writes.
//
// A failed read does not poison the device: the workload then keeps going, and the database
// must stay usable (a failed commit leaves exactly the old or the new state).
//
// CI runs one workload per kind and mode; RINGDB_LONG=1 runs more. RINGDB_SEED replays one.

#include <cerrno>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "sim_workload.hpp"

using ringdb::Errc;
using ringdb::io::FaultMode;
using ringdb::io::OpKind;
using ringdb::io::SimDevice;
using ringdb::test::WorkloadOptions;

namespace {

void fault_at(const WorkloadOptions& options, OpKind kind, std::uint64_t k, FaultMode mode) {
    const int err = k % 3 == 2 ? ENOSPC : EIO;
    auto sim = std::make_shared<SimDevice>(options.seed);
    sim->fail_at(kind, k, mode, err);
    auto result = ringdb::test::run_workload(sim, options, true);
    INFO("RINGDB_SEED=" << options.seed << " fail " << ringdb::io::op_kind_name(kind) << " #"
                        << k << (mode == FaultMode::once ? " once" : " persistently")
                        << " errno " << err);
    if (!result.violation.empty()) {
        FAIL(result.violation);
    }
    if (!result.first_error) {
        FAIL("the workload did not reach the fault: it is not deterministic");
    }
    // The first error the API reports is the injected one, not a later consequence of it.
    const Errc expected = err == ENOSPC ? Errc::no_space : Errc::io;
    if (result.first_error->code != expected || result.first_error->sys_errno != err) {
        FAIL("first error " << ringdb::to_string(*result.first_error));
    }
    // The faults stop; the file is closed and opened again (no crash: the page cache keeps
    // whatever reached it).
    sim->clear_faults();
    sim->reopen();
    std::string failure = ringdb::test::check_recovered(sim, result);
    if (!failure.empty()) {
        FAIL(failure);
    }
}

void every_fault(OpKind kind) {
    const std::uint64_t seed = ringdb::test::base_seed();
    const int workloads = ringdb::test::run_count(1, 12);
    for (int w = 0; w < workloads; ++w) {
        WorkloadOptions options;
        options.seed = seed + static_cast<std::uint64_t>(w);
        options.transactions = ringdb::test::long_runs() ? 30 : 12;
        options.keep_going = true;
        INFO("RINGDB_SEED=" << options.seed);
        auto counting = std::make_shared<SimDevice>(options.seed);
        auto full = ringdb::test::run_workload(counting, options, true);
        REQUIRE(full.violation.empty());
        REQUIRE(full.finished);
        const std::uint64_t calls = counting->calls(kind);
        REQUIRE(calls > 0);
        for (FaultMode mode : {FaultMode::once, FaultMode::persistent}) {
            for (std::uint64_t k = 0; k < calls; ++k) {
                fault_at(options, kind, k, mode);
            }
        }
        INFO(calls << " calls");
        REQUIRE(full.last_durable == full.commits.size() - 1);
    }
}

}  // namespace

TEST_CASE("A failed read at any point is a typed error and the database stays usable",
          "[integration][faults]") {
    every_fault(OpKind::read);
}

TEST_CASE("A failed write at any point is a typed error and loses no committed data",
          "[integration][faults]") {
    every_fault(OpKind::write);
}

TEST_CASE("A failed sync at any point is a typed error and loses no committed data",
          "[integration][faults]") {
    every_fault(OpKind::sync);
}

TEST_CASE("A failed set_length at any point is a typed error and loses no committed data",
          "[integration][faults]") {
    every_fault(OpKind::set_length);
}

// Regression: a commit that failed on a read after it had reclaimed blocks from `freed` left
// them free in the allocator while the committed `freed` table still listed them, so the next
// commit reclaimed them again and failed with `corrupted` (or freed a reused block).
TEST_CASE("A commit failing on a read after reclaiming freed pages leaves the allocator intact",
          "[integration][faults]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    auto sim = std::make_shared<SimDevice>(seed);
    // Without a log every commit writes its pages, so the next one reads the trees and the
    // freed table from the disk (a logged commit would find them held in memory).
    ringdb::DatabaseOptions options = ringdb::test::sim_options();
    options.log_size = 0;
    auto db = ringdb::test::open_sim_with(sim, true, options);
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
