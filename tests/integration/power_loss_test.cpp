// Power loss at every I/O (docs/testing.md G1), through the public API: a seeded workload
// (several tables, inserts, removes, range removes, commits of every durability, aborts,
// close and reopen; on a disk with latency, background checkpoints beside later commits) is
// run once to count its writes and syncs; then, for every index i of either kind, it is run
// again on a fresh simulated disk that fails from call i on (the power went out there), and
// the disk's crash image is built in each of the four ways. Every image
// must open, pass full verification, and hold a commit between the last acknowledged durable
// commit and the last one attempted; the recovered database must accept writes.
//
// CI runs two workloads; RINGDB_LONG=1 runs many more, each longer. RINGDB_SEED replays one.

#include <catch2/catch.hpp>

#include "sim_workload.hpp"

using ringdb::io::CrashMode;
using ringdb::io::FaultMode;
using ringdb::io::OpKind;
using ringdb::io::SimDevice;
using ringdb::test::WorkloadOptions;

namespace {

constexpr CrashMode kModes[] = {CrashMode::durable_only, CrashMode::random_subset,
                                CrashMode::torn_write, CrashMode::reordered};

// Crashes the workload of `options` at call `index` of `kind`; returns the crash points
// checked (four images) or fails the test.
int crash_at(const WorkloadOptions& options, OpKind kind, std::uint64_t index) {
    auto sim = std::make_shared<SimDevice>(options.seed);
    sim->fail_at(kind, index, FaultMode::persistent);
    auto result = ringdb::test::run_workload(sim, options, true);
    INFO("RINGDB_SEED=" << options.seed << " crash at " << ringdb::io::op_kind_name(kind)
                        << " #" << index);
    if (!result.violation.empty()) {
        FAIL(result.violation);
    }
    if (!result.first_error) {
        FAIL("the workload did not reach the crash point: it is not deterministic");
    }
    int checked = 0;
    for (CrashMode mode : kModes) {
        auto image = sim->crash_image(mode);
        auto target = std::shared_ptr<SimDevice>(
                SimDevice::from_image(std::move(image), options.seed + index));
        std::string failure = ringdb::test::check_recovered(target, result);
        if (!failure.empty()) {
            FAIL("image " << ringdb::io::crash_mode_name(mode) << ": " << failure);
        }
        ++checked;
    }
    return checked;
}

}  // namespace

TEST_CASE("Power loss at every write and every sync loses no acknowledged commit",
          "[integration][crash]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    // Three workloads: consecutive seeds create the database with each compression setting.
    const int workloads = ringdb::test::run_count(3, 40);
    for (int w = 0; w < workloads; ++w) {
        WorkloadOptions options;
        options.seed = seed + static_cast<std::uint64_t>(w);
        options.transactions = ringdb::test::long_runs() ? 40 : 16;
        // Every other workload runs on a disk with latency, so that background checkpoints
        // interleave with the commits that follow the one that started them.
        options.latency = w % 2 == 1 ? 6 : 0;
        // A background checkpoint once eight 512-byte pages are held: about every other
        // logged commit starts one.
        options.checkpoint_bytes = 4 * 1024;
        INFO("RINGDB_SEED=" << options.seed);
        auto counting = std::make_shared<SimDevice>(options.seed);
        auto full = ringdb::test::run_workload(counting, options, true);
        REQUIRE(full.violation.empty());
        REQUIRE(full.finished);
        const std::uint64_t writes = counting->calls(OpKind::write);
        const std::uint64_t syncs = counting->calls(OpKind::sync);
        // The whole run recovers too (it ended with a clean close).
        auto clean = std::shared_ptr<SimDevice>(
                SimDevice::from_image(counting->crash_image(CrashMode::durable_only), seed));
        REQUIRE(ringdb::test::check_recovered(clean, full).empty());
        int images = 0;
        for (std::uint64_t i = 0; i < writes; ++i) {
            images += crash_at(options, OpKind::write, i);
        }
        for (std::uint64_t i = 0; i < syncs; ++i) {
            images += crash_at(options, OpKind::sync, i);
        }
        INFO(writes << " writes, " << syncs << " syncs");
        REQUIRE(images == static_cast<int>(4 * (writes + syncs)));
        REQUIRE(syncs > 4);
    }
}
