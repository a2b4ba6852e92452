// Fuzz target: arbitrary bytes as a database file (docs/testing.md G5). The first byte picks
// the image: even, the rest of the input is the whole file; odd, a valid database (built once
// by the seeded workload, closed cleanly) damaged by the rest of the input, read as records of
// (offset 2 bytes, scaled to the image; xor byte). The database is opened, verified, read and
// written to; every outcome is allowed except a crash, a hang or a sanitizer report.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "fuzz_input.hpp"
#include "sim_workload.hpp"

namespace {

const std::vector<std::byte>& valid_image() {
    static const std::vector<std::byte> image = [] {
        auto sim = std::make_shared<ringdb::io::SimDevice>(7);
        ringdb::test::WorkloadOptions options;
        options.seed = 7;
        options.transactions = 8;
        auto result = ringdb::test::run_workload(sim, options, true);
        if (!result.finished || !result.violation.empty()) {
            std::fprintf(stderr, "open_file fuzz: the seed workload failed\n");
            std::abort();
        }
        return sim->crash_image(ringdb::io::CrashMode::durable_only);
    }();
    return image;
}

void exercise(ringdb::Database& db) {
    auto report = ringdb::sync_wait(db.verify_integrity(ringdb::VerifyLevel::full));
    (void)report;
    auto state = ringdb::test::read_state(db);
    (void)state;
    auto txn = ringdb::sync_wait(db.begin_write());
    if (txn) {
        auto table = ringdb::sync_wait(txn->open_table(ringdb::test::kNumbersTable));
        if (table) {
            for (std::uint64_t key = 0; key < 20; ++key) {
                auto inserted = ringdb::sync_wait(table->insert(key * 3, "fuzz"));
                if (!inserted) {
                    break;
                }
            }
            auto removed = ringdb::sync_wait(table->remove(9));
            (void)removed;
        }
        auto committed = ringdb::sync_wait(txn->commit());
        (void)committed;
    }
    auto closed = ringdb::sync_wait(db.close());
    (void)closed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ringdb::fuzz::FuzzInput input(data, size);
    std::vector<std::byte> image;
    if ((input.byte() & 1) == 0) {
        for (std::size_t i = 1; i < size; ++i) {
            image.push_back(static_cast<std::byte>(data[i]));
        }
    } else {
        image = valid_image();
        while (input.remaining() >= 3) {
            std::size_t offset = (input.u16() * image.size()) >> 16;
            image[offset] ^= static_cast<std::byte>(input.byte());
        }
    }
    auto sim = std::make_shared<ringdb::io::SimDevice>(1, std::move(image));
    auto db = ringdb::test::open_sim(sim, false);
    if (db) {
        exercise(*db);
    }
    return 0;
}
