// SimDevice: the BlockDevice contract, the durability and length model, the four crash modes,
// fault injection with poisoning, marked-clean pages after a failed sync, and seeded latency.
//
// Randomised checks run over seeds derived from one base seed, printed with every failure
// (RINGDB_SEED=<n> replays it). Crash images are checked against an independent oracle: the
// set of every image the mode's definition allows, enumerated from the logged writes.

#include "io/sim_device.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/sync_wait.hpp>
#include <ringdb/when_all.hpp>

#include "io/device_contract.hpp"

using ringdb::Errc;
using ringdb::Result;
using ringdb::Status;
using ringdb::sync_wait;
using ringdb::Task;
using ringdb::io::CrashMode;
using ringdb::io::FaultMode;
using ringdb::io::OpKind;
using ringdb::io::SimDevice;
using ringdb::io::SimWrite;
using ringdb::test::pattern;

namespace {

using Bytes = std::vector<std::byte>;

std::uint64_t base_seed() {
    static const std::uint64_t seed = SimDevice::seed_from_environment(
            (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}());
    return seed;
}

Status put(SimDevice& device, std::uint64_t offset, const Bytes& data) {
    return sync_wait(device.write(offset, data));
}

Result<Bytes> get(SimDevice& device, std::uint64_t offset, std::size_t size) {
    Bytes buffer(size);
    Status status = sync_wait(device.read(offset, buffer));
    if (!status) {
        return status.error();
    }
    return buffer;
}

Bytes with(Bytes image, std::uint64_t offset, const Bytes& data) {
    if (!data.empty() && offset + data.size() > image.size()) {
        image.resize(offset + data.size());
    }
    std::copy(data.begin(), data.end(), image.begin() + static_cast<std::ptrdiff_t>(offset));
    return image;
}

// The sector boundary at which a torn write of `data` at 300 was cut in `image` (300: none of
// it landed), or 0 when the image is not `base` with a prefix of `data` up to such a boundary.
std::uint64_t torn_cut_at_300(const Bytes& image, const Bytes& base, const Bytes& data) {
    std::uint64_t matched = 0;
    for (std::uint64_t cut : {300, 512, 1024, 1536}) {
        Bytes landed(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(cut - 300));
        if (image == with(base, 300, landed)) {
            matched = cut;
        }
    }
    return matched;
}

// Scenario: 8 synced sectors of base data, then five sector-aligned unsynced writes; w0/w1 and
// w2/w3 overlap by a sector, w4 extends the device past a one-sector gap.
constexpr std::uint64_t kBaseSize = 4096;
constexpr std::uint64_t kLiveSize = 5120;

Bytes scenario_base() {
    return pattern(kBaseSize, 1);
}

std::vector<SimWrite> scenario_writes() {
    return {SimWrite{0, pattern(1024, 10)}, SimWrite{512, pattern(1024, 11)},
            SimWrite{1536, pattern(1024, 12)}, SimWrite{2048, pattern(1536, 13)},
            SimWrite{4608, pattern(512, 14)}};
}

void run_scenario(SimDevice& device) {
    REQUIRE(put(device, 0, scenario_base()));
    REQUIRE(sync_wait(device.sync_all()));
    for (const SimWrite& w : scenario_writes()) {
        REQUIRE(put(device, w.offset, w.bytes));
    }
    REQUIRE(device.unsynced_write_count() == 5);
}

/// Adds `image` and its variant where the pending metadata (the live length) landed.
void add_image(std::set<Bytes>& images, Bytes image) {
    images.insert(image);
    image.resize(kLiveSize);
    images.insert(std::move(image));
}

Bytes apply_order(const std::vector<SimWrite>& writes, const std::vector<std::size_t>& order) {
    Bytes image = scenario_base();
    for (std::size_t i : order) {
        image = with(std::move(image), writes[i].offset, writes[i].bytes);
    }
    return image;
}

std::set<Bytes> allowed_random_subset(const std::vector<SimWrite>& writes) {
    std::set<Bytes> images;
    for (unsigned mask = 0; mask < (1u << writes.size()); ++mask) {
        std::vector<std::size_t> order;
        for (std::size_t i = 0; i < writes.size(); ++i) {
            if ((mask >> i) & 1u) {
                order.push_back(i);
            }
        }
        add_image(images, apply_order(writes, order));
    }
    return images;
}

std::set<Bytes> allowed_reordered(const std::vector<SimWrite>& writes) {
    std::set<Bytes> images;
    for (unsigned mask = 0; mask < (1u << writes.size()); ++mask) {
        std::vector<std::size_t> order;
        for (std::size_t i = 0; i < writes.size(); ++i) {
            if ((mask >> i) & 1u) {
                order.push_back(i);
            }
        }
        do {
            add_image(images, apply_order(writes, order));
        } while (std::next_permutation(order.begin(), order.end()));
    }
    return images;
}

/// Writes before `torn` whole, then a prefix of `torn` ending at a 512-byte device boundary.
std::set<Bytes> allowed_torn(const std::vector<SimWrite>& writes) {
    std::set<Bytes> images;
    for (std::size_t torn = 0; torn < writes.size(); ++torn) {
        std::vector<std::size_t> before(torn);
        for (std::size_t i = 0; i < torn; ++i) {
            before[i] = i;
        }
        Bytes prefix_image = apply_order(writes, before);
        const SimWrite& w = writes[torn];
        for (std::uint64_t cut = w.offset; cut < w.offset + w.bytes.size();
             cut = (cut / 512 + 1) * 512) {
            Bytes landed(w.bytes.begin(),
                         w.bytes.begin() + static_cast<std::ptrdiff_t>(cut - w.offset));
            add_image(images, with(prefix_image, w.offset, landed));
        }
    }
    return images;
}

/// Every 512-byte sector equals the durable sector (zeros past the durable end) or the
/// content one of the writes gave it.
bool every_sector_has_a_source(const Bytes& image, const std::vector<SimWrite>& writes) {
    Bytes base = scenario_base();
    for (std::uint64_t s = 0; s + 512 <= image.size(); s += 512) {
        auto sector = image.begin() + static_cast<std::ptrdiff_t>(s);
        Bytes durable(512);
        if (s < base.size()) {
            std::copy_n(base.begin() + static_cast<std::ptrdiff_t>(s), 512, durable.begin());
        }
        bool sourced = std::equal(durable.begin(), durable.end(), sector);
        for (const SimWrite& w : writes) {
            if (s >= w.offset && s + 512 <= w.offset + w.bytes.size()) {
                auto from = w.bytes.begin() + static_cast<std::ptrdiff_t>(s - w.offset);
                sourced = sourced || std::equal(from, from + 512, sector);
            }
        }
        if (!sourced) {
            return false;
        }
    }
    return image.size() % 512 == 0;
}

Bytes scenario_crash(std::uint64_t seed, CrashMode mode) {
    SimDevice device(seed);
    run_scenario(device);
    return device.crash(mode);
}

}  // namespace

TEST_CASE("Sim device meets the device contract", "[io][sim]") {
    std::uint64_t seed = base_seed();
    INFO("RINGDB_SEED=" << seed);
    ringdb::test::check_device_contract([seed] { return std::make_unique<SimDevice>(seed); });
}

TEST_CASE("Sim device with seeded latency meets the device contract", "[io][sim]") {
    std::uint64_t seed = base_seed();
    INFO("RINGDB_SEED=" << seed);
    ringdb::test::check_device_contract([seed] {
        auto device = std::make_unique<SimDevice>(seed);
        device->set_latency(8);
        return device;
    });
}

TEST_CASE("Sim device keeps live and durable bytes apart", "[io][sim]") {
    SimDevice device(base_seed());
    INFO("RINGDB_SEED=" << device.seed());
    Bytes a = pattern(4096, 1);
    Bytes b = pattern(4096, 2);
    REQUIRE(put(device, 0, a));
    REQUIRE(device.live_bytes() == a);
    REQUIRE(device.durable_bytes().empty());
    REQUIRE(device.crash(CrashMode::durable_only).empty());
    REQUIRE(*sync_wait(device.length()) == 0);

    REQUIRE(put(device, 0, a));
    REQUIRE(sync_wait(device.sync_data()));
    REQUIRE(put(device, 4096, b));
    REQUIRE(device.durable_bytes() == a);
    REQUIRE(device.unsynced_writes().size() == 1);
    REQUIRE(device.unsynced_writes()[0].offset == 4096);
    REQUIRE(device.crash(CrashMode::durable_only) == a);
    // After the crash the same object is a rebooted disk holding the image.
    REQUIRE(device.live_bytes() == a);
    REQUIRE(device.unsynced_write_count() == 0);
    REQUIRE(*get(device, 0, 4096) == a);
}

TEST_CASE("Sim device crash images follow their mode's definition", "[io][sim]") {
    std::uint64_t seed = base_seed();
    INFO("RINGDB_SEED=" << seed);
    auto writes = scenario_writes();
    SECTION("durable_only") {
        REQUIRE(scenario_crash(seed, CrashMode::durable_only) == scenario_base());
    }
    SECTION("random_subset: a subset applied in order, each write whole") {
        auto allowed = allowed_random_subset(writes);
        std::set<Bytes> seen;
        for (std::uint64_t i = 0; i < 64; ++i) {
            Bytes image = scenario_crash(seed + i, CrashMode::random_subset);
            INFO("iteration " << i);
            REQUIRE(allowed.count(image) == 1);
            REQUIRE(every_sector_has_a_source(image, writes));
            seen.insert(image);
        }
        REQUIRE(seen.size() > 8);
    }
    SECTION("torn_write: earlier writes whole, one torn at a sector boundary, later dropped") {
        auto allowed = allowed_torn(writes);
        std::set<Bytes> seen;
        for (std::uint64_t i = 0; i < 64; ++i) {
            Bytes image = scenario_crash(seed + i, CrashMode::torn_write);
            INFO("iteration " << i);
            REQUIRE(allowed.count(image) == 1);
            seen.insert(image);
        }
        REQUIRE(seen.size() > 4);
    }
    SECTION("reordered: a subset in any order, and orders the log never had do occur") {
        auto allowed = allowed_reordered(writes);
        auto in_order = allowed_random_subset(writes);
        bool out_of_order_seen = false;
        for (std::uint64_t i = 0; i < 64; ++i) {
            Bytes image = scenario_crash(seed + i, CrashMode::reordered);
            INFO("iteration " << i);
            REQUIRE(allowed.count(image) == 1);
            REQUIRE(every_sector_has_a_source(image, writes));
            out_of_order_seen = out_of_order_seen || in_order.count(image) == 0;
        }
        REQUIRE(out_of_order_seen);
    }
}

TEST_CASE("Sim device tears writes at absolute 512-byte boundaries", "[io][sim]") {
    std::uint64_t seed = base_seed();
    INFO("RINGDB_SEED=" << seed);
    Bytes base = pattern(4096, 1);
    Bytes data = pattern(1500, 2);  // covers [300, 1800): boundaries 512, 1024, 1536 inside
    std::set<std::uint64_t> cuts_seen;
    for (std::uint64_t i = 0; i < 64; ++i) {
        SimDevice device(seed + i);
        REQUIRE(put(device, 0, base));
        REQUIRE(sync_wait(device.sync_data()));
        REQUIRE(put(device, 300, data));
        Bytes image = device.crash(CrashMode::torn_write);
        // New data up to a device sector boundary (or none of it), old data after it.
        std::uint64_t matched = torn_cut_at_300(image, base, data);
        INFO("iteration " << i);
        REQUIRE(matched != 0);
        cuts_seen.insert(matched);
    }
    REQUIRE(cuts_seen == std::set<std::uint64_t>{300, 512, 1024, 1536});
}

TEST_CASE("Sim device logs a vectored write as one write that a crash tears or drops",
          "[io][sim]") {
    std::uint64_t seed = base_seed();
    INFO("RINGDB_SEED=" << seed);
    Bytes base = pattern(4096, 1);
    Bytes first = pattern(700, 2);  // [300, 1000) and [1000, 1800): cuts 512, 1024, 1536
    Bytes second = pattern(800, 3);
    Bytes joined = first;
    joined.insert(joined.end(), second.begin(), second.end());
    std::set<std::uint64_t> cuts_seen;
    for (std::uint64_t i = 0; i < 64; ++i) {
        SimDevice device(seed + i);
        REQUIRE(put(device, 0, base));
        REQUIRE(sync_wait(device.sync_data()));
        std::uint64_t writes = device.calls(OpKind::write);
        std::vector<std::span<const std::byte>> parts{first, second};
        REQUIRE(sync_wait(device.write_vectored(300, parts, true)));
        REQUIRE(device.calls(OpKind::write) == writes + 1);
        REQUIRE(device.unsynced_write_count() == 1);
        REQUIRE(device.live_bytes() == with(base, 300, joined));
        // A fault armed for the next write fails the whole vector and changes nothing.
        SimDevice faulty(seed + i);
        REQUIRE(put(faulty, 0, base));
        faulty.fail_at(OpKind::write, faulty.calls(OpKind::write));
        REQUIRE(sync_wait(faulty.write_vectored(300, parts, false)).error().code == Errc::io);
        REQUIRE(faulty.live_bytes() == base);
        // Torn: the concatenation lands up to one sector boundary, never a part out of order.
        Bytes image = device.crash(CrashMode::torn_write);
        std::uint64_t matched = torn_cut_at_300(image, base, joined);
        INFO("iteration " << i);
        REQUIRE(matched != 0);
        cuts_seen.insert(matched);
    }
    REQUIRE(cuts_seen == std::set<std::uint64_t>{300, 512, 1024, 1536});
}

TEST_CASE("Sim device crash images are a function of the seed", "[io][sim]") {
    std::uint64_t seed = base_seed();
    INFO("RINGDB_SEED=" << seed);
    for (CrashMode mode : {CrashMode::random_subset, CrashMode::torn_write, CrashMode::reordered}) {
        INFO(ringdb::io::crash_mode_name(mode));
        Bytes first = scenario_crash(seed, mode);
        REQUIRE(scenario_crash(seed, mode) == first);
        bool differs = false;
        for (std::uint64_t i = 1; i <= 16 && !differs; ++i) {
            differs = scenario_crash(seed + i, mode) != first;
        }
        REQUIRE(differs);
    }
    SimDevice a(seed);
    SimDevice b(seed);
    run_scenario(a);
    run_scenario(b);
    REQUIRE(a.crash_any() == b.crash_any());
    REQUIRE(a.last_crash_mode() == b.last_crash_mode());
}

TEST_CASE("Sim device fails the k-th read, once or persistently", "[io][sim]") {
    SimDevice device(base_seed());
    REQUIRE(put(device, 0, pattern(4 * 4096, 1)));
    for (FaultMode mode : {FaultMode::once, FaultMode::persistent}) {
        for (std::uint64_t k = 0; k < 4; ++k) {
            INFO("k " << k << " persistent " << (mode == FaultMode::persistent));
            device.fail_at(OpKind::read, device.calls(OpKind::read) + k, mode);
            for (std::uint64_t j = 0; j < 4; ++j) {
                auto r = get(device, j * 4096, 4096);
                bool should_fail = j == k || (mode == FaultMode::persistent && j > k);
                REQUIRE(r.has_value() == !should_fail);
                if (should_fail) {
                    REQUIRE(r.error().code == Errc::io);
                    REQUIRE(r.error().sys_errno == EIO);
                }
            }
            device.clear_faults();
            REQUIRE_FALSE(device.poisoned());  // a failed read does not poison
            REQUIRE(put(device, 0, pattern(4096, 1)));
        }
    }
}

TEST_CASE("Sim device fails the k-th write and poisons itself", "[io][sim]") {
    for (FaultMode mode : {FaultMode::once, FaultMode::persistent}) {
        for (std::uint64_t k = 0; k < 4; ++k) {
            INFO("k " << k << " persistent " << (mode == FaultMode::persistent));
            SimDevice device(base_seed());
            REQUIRE(put(device, 0, pattern(4 * 4096, 1)));
            REQUIRE(sync_wait(device.sync_all()));
            device.fail_at(OpKind::write, device.calls(OpKind::write) + k, mode);
            for (std::uint64_t j = 0; j < k; ++j) {
                REQUIRE(put(device, j * 4096, pattern(4096, 100 + static_cast<unsigned>(j))));
            }
            Bytes before = device.live_bytes();
            std::uint64_t counted = device.calls(OpKind::write);
            Status failed = put(device, k * 4096, pattern(4096, 200));
            REQUIRE(failed.error().code == Errc::io);
            REQUIRE(failed.error().sys_errno == EIO);
            REQUIRE(failed.error().detail == k * 4096);
            REQUIRE(device.live_bytes() == before);  // a failed write changes nothing
            REQUIRE(device.poisoned());
            Bytes buf(16);
            REQUIRE(sync_wait(device.read(0, buf)).error().code == Errc::previous_io);
            REQUIRE(put(device, 0, buf).error().code == Errc::previous_io);
            REQUIRE(sync_wait(device.sync_data()).error().code == Errc::previous_io);
            REQUIRE(sync_wait(device.sync_all()).error().code == Errc::previous_io);
            REQUIRE(sync_wait(device.set_length(0)).error().code == Errc::previous_io);
            REQUIRE(sync_wait(device.length()).error().code == Errc::previous_io);
            REQUIRE(device.calls(OpKind::write) == counted + 1);  // refused calls not counted
            // Reopening keeps the disk, and a persistent fault with it.
            device.reopen();
            Status again = put(device, 0, buf);
            REQUIRE(again.has_value() == (mode == FaultMode::once));
            // A crash reboots a healthy disk: no fault, no latch, the failed write absent.
            Bytes image = device.crash(CrashMode::durable_only);
            REQUIRE(image == pattern(4 * 4096, 1));
            REQUIRE(put(device, 0, buf));
            REQUIRE(sync_wait(device.close()));
        }
    }
}

TEST_CASE("Sim device fails the k-th sync or set_length and poisons itself", "[io][sim]") {
    for (OpKind kind : {OpKind::sync, OpKind::set_length}) {
        for (std::uint64_t k = 0; k < 3; ++k) {
            INFO(ringdb::io::op_kind_name(kind) << " k " << k);
            SimDevice device(base_seed());
            device.fail_at(kind, k, FaultMode::once, ENOSPC);
            std::uint64_t step = 0;
            Status failed;
            for (; step < 3 && failed; ++step) {
                REQUIRE(put(device, step * 4096, pattern(4096, static_cast<unsigned>(step))));
                failed = kind == OpKind::sync ? sync_wait(device.sync_all())
                                              : sync_wait(device.set_length((step + 2) * 4096));
            }
            REQUIRE(step == k + 1);
            REQUIRE(failed.error().code == Errc::no_space);
            REQUIRE(failed.error().sys_errno == ENOSPC);
            REQUIRE(sync_wait(device.sync_data()).error().code == Errc::previous_io);
            REQUIRE(sync_wait(device.close()).error().code == Errc::previous_io);
            if (kind == OpKind::sync) {
                // Without marked-clean pages a failed sync leaves its writes dirty.
                REQUIRE(device.unsynced_write_count() == 1);
                REQUIRE(device.durable_bytes().size() == k * 4096);
            } else {
                REQUIRE(device.live_bytes().size() == (k + 1) * 4096);
            }
        }
    }
}

TEST_CASE("Sim device with pages marked clean loses data after a failed sync", "[io][sim]") {
    for (bool marked_clean : {true, false}) {
        INFO("marked clean " << marked_clean);
        SimDevice device(base_seed());
        device.set_failed_pages_marked_clean(marked_clean);
        Bytes a = pattern(4096, 1);
        Bytes b = pattern(4096, 2);
        REQUIRE(put(device, 0, a));
        REQUIRE(sync_wait(device.sync_all()));
        REQUIRE(put(device, 0, b));
        device.fail_at(OpKind::sync, device.calls(OpKind::sync));
        REQUIRE(sync_wait(device.sync_data()).error().code == Errc::io);
        REQUIRE(device.live_bytes() == b);
        REQUIRE(device.durable_bytes() == a);
        REQUIRE(device.unsynced_write_count() == (marked_clean ? 0u : 1u));
        // A process that reopens the file reads B from the page cache and syncs "successfully";
        // a read past the page cache shows what the disk holds.
        device.reopen();
        REQUIRE(*get(device, 0, 4096) == b);
        Bytes uncached(4096);
        REQUIRE(sync_wait(device.read_uncached(0, uncached)));
        REQUIRE(uncached == (marked_clean ? a : b));
        // Bytes written again are the disk's once more.
        Bytes c = pattern(512, 3);
        REQUIRE(put(device, 512, c));
        REQUIRE(sync_wait(device.read_uncached(0, uncached)));
        Bytes expected = marked_clean ? a : b;
        std::copy(c.begin(), c.end(), expected.begin() + 512);
        REQUIRE(uncached == expected);
        REQUIRE(sync_wait(device.sync_all()));
        Bytes after = marked_clean ? a : b;
        std::copy(c.begin(), c.end(), after.begin() + 512);
        REQUIRE(device.crash(CrashMode::durable_only) == after);
        REQUIRE(sync_wait(device.read_uncached(0, uncached)));
        REQUIRE(uncached == after);  // a reboot forgets the lost bytes with the page cache
    }
}

TEST_CASE("Sim device length model: writes are data, set_length is metadata", "[io][sim]") {
    std::uint64_t seed = base_seed();
    INFO("RINGDB_SEED=" << seed);
    SimDevice device(seed);
    Bytes base = pattern(8192, 1);
    REQUIRE(put(device, 0, base));
    // sync_data persists the length a write implies.
    REQUIRE(sync_wait(device.sync_data()));
    REQUIRE(device.durable_bytes() == base);
    REQUIRE(sync_wait(device.sync_all()));
    SECTION("growth by set_length needs sync_all") {
        REQUIRE(sync_wait(device.set_length(16384)));
        REQUIRE(sync_wait(device.sync_data()));
        REQUIRE(device.durable_bytes() == base);
        REQUIRE(sync_wait(device.sync_all()));
        REQUIRE(device.crash(CrashMode::durable_only) == with(base, 8192, Bytes(8192)));
    }
    SECTION("a shrink needs sync_all; until then the old bytes survive") {
        REQUIRE(sync_wait(device.set_length(4096)));
        REQUIRE(sync_wait(device.sync_data()));
        REQUIRE(device.crash(CrashMode::durable_only) == base);
        REQUIRE(sync_wait(device.set_length(4096)));
        REQUIRE(sync_wait(device.sync_all()));
        REQUIRE(device.crash(CrashMode::durable_only) == Bytes(base.begin(), base.begin() + 4096));
    }
    SECTION("bytes cut by a shrink read as zero after regrowth, live and durable") {
        REQUIRE(sync_wait(device.set_length(1000)));
        REQUIRE(sync_wait(device.set_length(8192)));
        Bytes expected = with(base, 1000, Bytes(8192 - 1000));
        REQUIRE(device.live_bytes() == expected);
        REQUIRE(sync_wait(device.sync_all()));
        REQUIRE(device.crash(CrashMode::durable_only) == expected);
    }
    SECTION("a write after a shrink, synced by sync_data, survives the later sync_all") {
        REQUIRE(sync_wait(device.set_length(100)));
        REQUIRE(put(device, 500, pattern(100, 7)));
        REQUIRE(sync_wait(device.sync_data()));
        REQUIRE(sync_wait(device.sync_all()));
        Bytes expected = with(Bytes(base.begin(), base.begin() + 100), 500, pattern(100, 7));
        REQUIRE(device.live_bytes() == expected);
        REQUIRE(device.crash(CrashMode::durable_only) == expected);
    }
    SECTION("a shrink discards unsynced writes past the new end") {
        REQUIRE(put(device, 4096, pattern(4096, 9)));
        REQUIRE(sync_wait(device.set_length(4096)));
        REQUIRE(device.unsynced_write_count() == 0);
        REQUIRE(sync_wait(device.set_length(8192)));
        Bytes expected = with(base, 4096, Bytes(4096));
        REQUIRE(device.live_bytes() == expected);
        REQUIRE(sync_wait(device.sync_all()));
        REQUIRE(device.crash(CrashMode::random_subset) == expected);
    }
    SECTION("pending metadata may or may not land in a crash") {
        std::set<std::size_t> sizes;
        for (std::uint64_t i = 0; i < 32; ++i) {
            SimDevice d(seed + i);
            REQUIRE(put(d, 0, base));
            REQUIRE(sync_wait(d.sync_all()));
            REQUIRE(sync_wait(d.set_length(16384)));
            REQUIRE(sync_wait(d.sync_data()));
            Bytes image = d.crash(CrashMode::random_subset);
            REQUIRE(std::equal(base.begin(), base.end(), image.begin()));
            sizes.insert(image.size());
        }
        REQUIRE(sizes == std::set<std::size_t>{8192, 16384});
    }
}

TEST_CASE("Sim device rejects bad arguments and works after close and crash", "[io][sim]") {
    SimDevice device(base_seed());
    REQUIRE(put(device, 0, pattern(4096, 1)));
    Bytes buf(4096);
    auto past = sync_wait(device.read(2048, buf));
    REQUIRE(past.error().code == Errc::out_of_range);
    REQUIRE(past.error().detail == 4096);
    std::uint64_t huge = std::uint64_t{2} << 40;
    REQUIRE(sync_wait(device.write(huge, buf)).error().code == Errc::invalid_argument);
    REQUIRE(sync_wait(device.set_length(huge)).error().code == Errc::invalid_argument);
    REQUIRE_FALSE(device.poisoned());
    REQUIRE(device.calls(OpKind::write) == 1);
    REQUIRE(sync_wait(device.close()));
    REQUIRE(sync_wait(device.read(0, buf)).error().code == Errc::device_closed);
    REQUIRE(sync_wait(device.sync_all()).error().code == Errc::device_closed);
    Bytes image = device.crash(CrashMode::durable_only);
    REQUIRE(image.empty());
    REQUIRE(put(device, 0, buf));
}

TEST_CASE("Sim device crash images open as new devices", "[io][sim]") {
    SimDevice device(base_seed());
    run_scenario(device);
    Bytes image = device.crash_any();
    INFO(ringdb::io::crash_mode_name(device.last_crash_mode()));
    auto sim = SimDevice::from_image(image, device.seed());
    REQUIRE(sim->durable_bytes() == image);
    REQUIRE(*get(*sim, 0, image.size()) == image);
    auto memory = SimDevice::memory_from_image(image);
    Bytes back(image.size());
    REQUIRE(sync_wait(memory->read(0, back)));
    REQUIRE(back == image);
}

namespace {

std::vector<std::uint64_t> completion_order(std::uint64_t seed) {
    SimDevice device(seed);
    device.set_latency(16);
    std::vector<Bytes> blocks;
    for (unsigned i = 0; i < 16; ++i) {
        blocks.push_back(pattern(512, i));
    }
    std::vector<Task<Status>> tasks;
    for (unsigned i = 0; i < 16; ++i) {
        tasks.push_back(device.write(i * 512, blocks[i]));
    }
    auto results = sync_wait(ringdb::when_all(std::move(tasks)));
    std::vector<std::uint64_t> order;
    for (std::size_t i = 0; i < results.size(); ++i) {
        REQUIRE(results[i]);
        order.push_back(device.unsynced_writes()[i].offset);
    }
    return order;
}

}  // namespace

TEST_CASE("Sim device latency completes operations out of order, by seed", "[io][sim]") {
    std::uint64_t seed = base_seed();
    INFO("RINGDB_SEED=" << seed);
    auto order = completion_order(seed);
    REQUIRE(completion_order(seed) == order);
    REQUIRE_FALSE(std::is_sorted(order.begin(), order.end()));
    for (std::uint64_t i = 0; i < 8; ++i) {
        // A sync covers only the writes completed before it was issued.
        SimDevice device(seed + i);
        device.set_latency(4);
        Bytes data = pattern(4096, 3);
        std::vector<Task<Status>> tasks;
        tasks.push_back(device.write(0, data));
        tasks.push_back(device.sync_data());
        auto results = sync_wait(ringdb::when_all(std::move(tasks)));
        REQUIRE(results[0]);
        REQUIRE(results[1]);
        bool logged = device.unsynced_write_count() == 1;
        REQUIRE(device.durable_bytes() == (logged ? Bytes{} : data));
    }
}

TEST_CASE("Sim device serves several threads", "[io][sim]") {
    SimDevice device(base_seed());
    device.set_latency(2);
    std::vector<Status> outcomes(2 * 64);
    auto worker = [&device, &outcomes](unsigned t) {
        for (unsigned i = 0; i < 64; ++i) {
            unsigned block = i * 2 + t;
            outcomes[block] = sync_wait(device.write(block * 512, pattern(512, block)));
        }
    };
    std::thread first(worker, 0u);
    std::thread second(worker, 1u);
    first.join();
    second.join();
    Bytes expected;
    for (unsigned block = 0; block < 128; ++block) {
        REQUIRE(outcomes[block]);
        expected = with(std::move(expected), block * 512, pattern(512, block));
    }
    REQUIRE(device.live_bytes() == expected);
}
