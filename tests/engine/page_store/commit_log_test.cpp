// Commit log framing: round trips, wraps over laps behind checkpoints, stale laps, torn tails
// after a crash and flipped bits.

#include <algorithm>
#include <iterator>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/sync_wait.hpp>

#include "engine/page_store/commit_log.hpp"
#include "io/memory_device.hpp"
#include "io/sim_device.hpp"

using ringdb::Errc;
using ringdb::sync_wait;
using ringdb::io::CrashMode;
using ringdb::io::MemoryDevice;
using ringdb::io::SimDevice;
using namespace ringdb::engine;  // NOLINT: test file

namespace {

using Bytes = std::vector<std::byte>;

constexpr std::uint64_t kAt = 4096;      // region offset: the log is not at the device start
constexpr std::uint64_t kRegion = 8192;  // a small region, so that the log wraps often
constexpr LogPosition kFresh{0, 1, 1};

std::uint64_t test_seed() {
    return SimDevice::seed_from_environment(std::random_device{}());
}

std::uint64_t block_up(std::uint64_t value) {
    return (value + kLogBlock - 1) / kLogBlock * kLogBlock;
}

// The payload of `size` bytes the tests append as record `sequence`: distinct per record.
Bytes payload(std::uint64_t sequence, std::size_t size) {
    Bytes out(size);
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<std::byte>((sequence * 131 + i * 7 + (i >> 8)) & 0xFF);
    }
    return out;
}

// Appends the next record, `size` bytes (a copy goes to `appended`), and writes it, padded or
// not. Returns where the record ends in the region.
std::uint64_t put(CommitLog& log, std::vector<Bytes>& appended, std::size_t size, bool pad) {
    REQUIRE(log.fits(size));
    appended.push_back(payload(log.end().sequence, size));
    log.append(appended.back());
    const std::uint64_t end = log.end().offset;
    REQUIRE(sync_wait(log.write(pad)).has_value());
    return end;
}

ringdb::Result<LogScan> scan(ringdb::io::BlockDevice& device, LogPosition start,
                             std::uint64_t region = kRegion) {
    return sync_wait(scan_log(device, kAt, region, start));
}

LogScan scan_ok(ringdb::io::BlockDevice& device, LogPosition start,
                std::uint64_t region = kRegion) {
    auto found = scan(device, start, region);
    INFO((found ? "scan ok" : ringdb::to_string(found.error())));
    REQUIRE(found.has_value());
    return std::move(*found);
}

bool is_prefix(const std::vector<Bytes>& got, const std::vector<Bytes>& all) {
    return got.size() <= all.size() && std::equal(got.begin(), got.end(), all.begin());
}

}  // namespace

TEST_CASE("Commit log records round-trip in order", "[engine][commit_log]") {
    constexpr std::uint64_t kBig = 64 << 10;
    MemoryDevice device(Bytes(kAt + kBig));
    CommitLog log(device, kAt, kBig, kFresh, kFresh);
    // The last record (464 bytes: one whole block) starts and ends on a block boundary.
    const std::size_t sizes[] = {0, 1, 13, 8, 5000, 0, 300, 3000, 9000, 77, 464};
    const bool pads[] = {true, false, false, true, false, true, false, true, false, true, true};
    std::vector<Bytes> appended;
    std::vector<std::uint64_t> ends;
    for (std::size_t i = 0; i < std::size(sizes); ++i) {
        INFO("record " << i << " of " << sizes[i] << " bytes, pad " << pads[i]);
        ends.push_back(put(log, appended, sizes[i], pads[i]));
        // What is on the device: every record inside the blocks written so far.
        const std::uint64_t written = pads[i] ? kBig : ends.back() / kLogBlock * kLogBlock;
        const auto on_disk = std::count_if(ends.begin(), ends.end(),
                                           [&](std::uint64_t end) { return end <= written; });
        LogScan found = scan_ok(device, kFresh, kBig);
        CHECK(found.payloads.size() == static_cast<std::size_t>(on_disk));
        CHECK(is_prefix(found.payloads, appended));
        CHECK(found.last_lap == 1);
        if (pads[i]) {
            // The writer continues at the next block; the scan stops right after the record.
            CHECK(found.end == LogPosition{ends.back(), log.end().lap, log.end().sequence});
            CHECK(block_up(ends.back()) == log.end().offset);
        }
    }
    LogScan found = scan_ok(device, kFresh, kBig);
    CHECK(found.payloads == appended);
    CHECK(found.end == log.end());
    CHECK(log.last_sequence() == appended.size());
    CHECK(log.used_bytes() == log.end().offset);
}

TEST_CASE("Commit log wraps over laps behind checkpoints", "[engine][commit_log]") {
    const std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 random(seed);
    // The bytes around the region must never change.
    MemoryDevice device(Bytes(kAt + kRegion + kAt, std::byte{0x5A}));
    CommitLog log(device, kAt, kRegion, kFresh, kFresh);
    CHECK_FALSE(log.fits(kRegion));
    CHECK_FALSE(log.fits(kRegion - kLogRecordHeader + 1));
    CHECK(log.fits(kRegion - kLogRecordHeader));  // exactly the region
    std::size_t size = 0;
    for (int round = 0; round < 16; ++round) {
        INFO("round " << round);
        // A checkpoint releases everything: the record refused last round fits now.
        log.set_start(log.end());
        CHECK(log.used_bytes() == 0);
        CHECK(log.fits(size));
        std::vector<Bytes> since;
        if (random() % 2 == 0) {  // a checkpoint inside a block, after an unpadded record
            put(log, since, random() % 300, false);
            log.set_start(log.end());
            since.clear();
        }
        const LogPosition checkpoint = log.start();
        for (size = random() % 1500; log.fits(size); size = random() % 1500) {
            REQUIRE(since.size() < 256);
            put(log, since, size, random() % 4 != 0);
        }
        // Refused only when the log is nearly full.
        const std::uint64_t blocks = block_up(CommitLog::record_bytes(size));
        CHECK(log.used_bytes() + 2 * blocks + kLogBlock > kRegion);
        REQUIRE(sync_wait(log.write(true)).has_value());
        const LogScan found = scan_ok(device, checkpoint);
        CHECK(found.payloads == since);
        CHECK(found.end.sequence == log.end().sequence);
        CHECK(found.last_lap == log.end().lap);
    }
    CHECK(log.end().lap >= 8);
    const Bytes image = device.snapshot();
    const Bytes outside(kAt, std::byte{0x5A});
    CHECK(std::equal(outside.begin(), outside.end(), image.begin()));
    CHECK(std::equal(outside.begin(), outside.end(), image.begin() + kAt + kRegion));
}

TEST_CASE("Commit log replay ignores records of earlier laps", "[engine][commit_log]") {
    MemoryDevice device(Bytes(kAt + kRegion));
    CommitLog log(device, kAt, kRegion, kFresh, kFresh);
    // 1000-byte payloads take three blocks each: five fill lap 1 up to 7680.
    std::vector<Bytes> lap1;
    for (int i = 0; i < 5; ++i) {
        put(log, lap1, 1000, true);
    }
    CHECK(log.end() == LogPosition{7680, 1, 6});
    CHECK(log.fits(400));         // still room before the region end
    CHECK_FALSE(log.fits(1000));  // would wrap onto record 1, which replay from 0 needs
    log.set_start(log.end());
    CHECK(log.fits(1000));
    std::vector<Bytes> lap2;
    put(log, lap2, 1000, true);
    put(log, lap2, 1000, true);
    CHECK(log.end() == LogPosition{3072, 2, 8});
    // Record 3 of lap 1 sits at 3072, where record 8 would go: it is not taken for it.
    LogScan found = scan_ok(device, log.start());
    CHECK(found.payloads == lap2);
    CHECK(found.end == LogPosition{1536 + CommitLog::record_bytes(1000), 2, 8});
    CHECK(found.last_lap == 2);
    while (log.fits(1000)) {
        REQUIRE(lap2.size() < 8);
        put(log, lap2, 1000, true);
    }
    CHECK(log.end() == LogPosition{7680, 2, 11});  // stops short of the start, at 7680
    CHECK(scan_ok(device, log.start()).payloads == lap2);

    // Restarted two laps on: nothing until records of the new lap are written.
    const std::uint64_t lap = log.end().lap;
    log.restart(LogPosition{0, lap + 2, log.end().sequence});
    const LogPosition restarted = log.start();
    CHECK(restarted == LogPosition{0, lap + 2, 11});
    CHECK(log.end() == restarted);
    found = scan_ok(device, restarted);
    CHECK(found.payloads.empty());
    CHECK(found.end == restarted);
    std::vector<Bytes> fresh{payload(11, 200)};
    log.append(fresh.back());  // appended, not written
    CHECK(scan_ok(device, restarted).payloads.empty());
    REQUIRE(sync_wait(log.write(true)).has_value());
    put(log, fresh, 700, false);
    put(log, fresh, 50, true);
    CHECK(scan_ok(device, restarted).payloads == fresh);
    // Sequence numbers reused (as if replay had lost record 6 and all after it): record 7 of
    // lap 2 is at 1536, where the new record 7 would go; only its lap tells it apart.
    log.restart(LogPosition{0, lap + 4, 6});
    fresh.clear();
    put(log, fresh, 1000, true);
    CHECK(scan_ok(device, log.start()).payloads == fresh);
}

TEST_CASE("The commit log never pads over the block of its start", "[engine][commit_log]") {
    MemoryDevice device(Bytes(kAt + kRegion));
    CommitLog log(device, kAt, kRegion, kFresh, kFresh);
    std::vector<Bytes> before;
    for (int i = 0; i < 4; ++i) {
        put(log, before, 1000, true);
    }
    put(log, before, 100, false);  // record 5 at 6144, kept in memory
    log.set_start(log.end());      // a checkpoint inside the block at 6144
    REQUIRE(log.start() == LogPosition{6144 + CommitLog::record_bytes(100), 1, 6});
    std::vector<Bytes> since;
    for (int i = 0; i < 5; ++i) {
        put(log, since, 1000, true);  // one at 6296, then lap 2 at 0 .. 6144
    }
    CHECK(log.end() == LogPosition{6144, 2, 11});
    // A record ending before 6296 would still pad over record 6 at the write.
    CHECK_FALSE(log.fits(0));
    CHECK_FALSE(log.fits(100));
    CHECK(scan_ok(device, log.start()).payloads == since);
}

namespace {

struct TornRun {
    LogPosition start;            // the checkpoint replay starts from
    std::vector<Bytes> appended;  // every record from start on, in order
    std::size_t durable = 0;      // how many of them were synced
};

// Durable records (padded, synced), a checkpoint, two more durable records, then records
// that are not synced, some written unpadded, wrapping into lap 2.
TornRun write_torn_run(SimDevice& sim, std::mt19937_64& random) {
    REQUIRE(sync_wait(sim.write(0, Bytes(kAt + kRegion))).has_value());
    REQUIRE(sync_wait(sim.sync_all()).has_value());
    CommitLog log(sim, kAt, kRegion, kFresh, kFresh);
    const auto durable_put = [&](std::vector<Bytes>& into) {
        put(log, into, random() % 1100, true);
        REQUIRE(sync_wait(sim.sync_data()).has_value());
        log.mark_durable(log.last_sequence());
    };
    std::vector<Bytes> before;
    while (log.end().offset < kRegion / 2) {
        durable_put(before);
    }
    TornRun run;
    log.set_start(log.end());
    run.start = log.start();
    durable_put(run.appended);
    durable_put(run.appended);
    run.durable = run.appended.size();
    for (std::size_t size = random() % 1100; log.fits(size); size = random() % 1100) {
        REQUIRE(run.appended.size() < 256);
        put(log, run.appended, size, random() % 2 == 0);
    }
    REQUIRE(sync_wait(log.write(true)).has_value());
    CHECK(log.end().lap == 2);
    return run;
}

}  // namespace

TEST_CASE("A crash keeps the durable commit log records and a prefix", "[engine][commit_log]") {
    const std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    constexpr CrashMode kModes[] = {CrashMode::durable_only, CrashMode::random_subset,
                                    CrashMode::torn_write, CrashMode::reordered};
    for (std::uint64_t run_index = 0; run_index < 6; ++run_index) {
        INFO("run " << run_index);
        std::mt19937_64 random(seed + run_index);
        SimDevice sim(seed + run_index);
        const TornRun run = write_torn_run(sim, random);
        REQUIRE(run.appended.size() > run.durable);
        REQUIRE(sim.unsynced_write_count() > 0);
        for (CrashMode mode : kModes) {
            for (int image = 0; image < 4; ++image) {
                INFO("mode " << ringdb::io::crash_mode_name(mode) << ", image " << image);
                auto crashed = SimDevice::from_image(sim.crash_image(mode), seed + run_index);
                const LogScan found = scan_ok(*crashed, run.start);
                CHECK(found.payloads.size() >= run.durable);
                CHECK(is_prefix(found.payloads, run.appended));
                if (mode == CrashMode::durable_only) {
                    CHECK(found.payloads.size() == run.durable);
                }
            }
        }
        CHECK(scan_ok(sim, run.start).payloads == run.appended);
    }
}

namespace {

// A log of durable records for the bit flip test, and where they are.
struct FlipLog {
    LogPosition start;
    std::vector<Bytes> appended;
    std::vector<std::uint64_t> offsets;  // of each record in the region
    Bytes image;                         // the device
};

// Flips `bit` of byte `at` of record `record` in a copy of the device, then scans.
void check_flip(const FlipLog& log, std::size_t record, std::size_t at, unsigned bit) {
    INFO("record " << record << ", byte " << at << ", bit " << bit);
    Bytes flipped = log.image;
    flipped[kAt + log.offsets[record] + at] ^= static_cast<std::byte>(1U << bit);
    MemoryDevice damaged(std::move(flipped));
    const auto found = scan(damaged, log.start);
    if (at >= kLogRecordHeader + log.appended[record].size()) {
        // Alignment padding: outside the record's checksum, and unused.
        REQUIRE(found.has_value());
        CHECK(found->payloads == log.appended);
    } else if (record + 1 < log.appended.size()) {
        // The next record says this one was durable: damage, not a torn tail.
        REQUIRE_FALSE(found.has_value());
        CHECK(found.error().code == Errc::corrupted);
        CHECK(found.error().detail == log.start.sequence + record);
    } else {
        // Nothing proves the last record durable: replay ends before it.
        REQUIRE(found.has_value());
        CHECK(found->payloads ==
              std::vector<Bytes>(log.appended.begin(), log.appended.begin() + record));
    }
}

}  // namespace

TEST_CASE("A flipped bit in a commit log record never passes", "[engine][commit_log]") {
    MemoryDevice device(Bytes(kAt + kRegion));
    // Two blocks before the region end: the second record proves the first durable from the
    // next block, the third the second from the next lap.
    FlipLog flip{LogPosition{kRegion - 2 * kLogBlock, 1, 1}, {}, {}, {}};
    FlipLog pair;
    CommitLog log(device, kAt, kRegion, flip.start, flip.start);
    // The first record fills its block, so an unpadded write writes it whole. Each record is
    // durable before the next one is appended.
    const std::size_t sizes[] = {kLogBlock - kLogRecordHeader, 100, 140, 180};
    for (std::size_t size : sizes) {
        const std::uint64_t end = put(log, flip.appended, size, size != sizes[0]);
        flip.offsets.push_back(end - CommitLog::record_bytes(size));
        log.mark_durable(log.last_sequence());
        if (flip.appended.size() == 2) {
            pair = flip;  // the first record is proved durable by the second alone
            pair.image = device.snapshot();
        }
    }
    CHECK(flip.offsets == std::vector<std::uint64_t>{kRegion - 1024, kRegion - 512, 0, 512});
    flip.image = device.snapshot();
    REQUIRE(scan_ok(device, flip.start).payloads == flip.appended);
    for (std::size_t record = 0; record < std::size(sizes); ++record) {
        const std::uint64_t bytes = CommitLog::record_bytes(sizes[record]);
        for (std::size_t at = 0; at < bytes; ++at) {
            // Every bit of the first record's header, one bit of every other byte.
            const bool every_bit = record == 0 && at < kLogRecordHeader;
            for (unsigned bit = 0; bit < 8; ++bit) {
                if (every_bit || bit == at % 8) {
                    check_flip(flip, record, at, bit);
                }
            }
            if (record == 0) {
                check_flip(pair, record, at, static_cast<unsigned>(at % 8));
            }
        }
    }
}
