// Sync failure (docs/testing.md G3), through the public API: when fsync/fdatasync fails, the
// commit that synced fails with the error, and the database refuses every later write
// (previous_io) until it is reopened: no later commit, and no close, is reported as a success.
// After a reopen, with or without a crash, the database holds the state before the failed
// commit or after it, never a mix. Both behaviours of a failed sync are simulated: the dirty
// pages stay dirty, or (as Linux does) they are marked clean while only the cache holds them.

#include <cerrno>
#include <map>

#include <catch2/catch.hpp>

#include "sim_workload.hpp"

using ringdb::Errc;
using ringdb::sync_wait;
using ringdb::io::CrashMode;
using ringdb::io::FaultMode;
using ringdb::io::OpKind;
using ringdb::io::SimDevice;

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kLog("log");
constexpr int kCommits = 8;
using Content = std::map<std::uint64_t, std::uint64_t>;

// The content after `commits` commits: commit c writes keys 10c..10c+9 and removes 10(c-1).
Content content_after(int commits) {
    Content content;
    for (int c = 0; c < commits; ++c) {
        auto base = static_cast<std::uint64_t>(c) * 10;
        for (std::uint64_t i = 0; i < 10; ++i) {
            content[base + i] = base * 1000 + i;
        }
        if (c > 0) {
            content.erase(base - 10);
        }
    }
    return content;
}

// Commit c (two-phase every third, quick repair every fourth).
ringdb::Status commit_number(ringdb::Database& db, int c) {
    auto txn = sync_wait(db.begin_write());
    if (!txn) {
        return txn.error();
    }
    auto table = sync_wait(txn->open_table(kLog));
    if (!table) {
        return table.error();
    }
    auto base = static_cast<std::uint64_t>(c) * 10;
    for (std::uint64_t i = 0; i < 10; ++i) {
        auto inserted = sync_wait(table->insert(base + i, base * 1000 + i));
        if (!inserted) {
            return inserted.error();
        }
    }
    if (c > 0) {
        auto removed = sync_wait(table->remove(base - 10));
        if (!removed) {
            return removed.error();
        }
    }
    txn->set_two_phase_commit(c % 3 == 1);
    txn->set_quick_repair(c % 4 == 3);
    return sync_wait(txn->commit());
}

ringdb::Result<Content> read_log(ringdb::Database& db) {
    auto txn = db.begin_read();
    if (!txn) {
        return txn.error();
    }
    auto table = sync_wait(txn->open_table(kLog));
    if (!table) {
        if (table.error().code == Errc::table_does_not_exist) {
            return Content{};
        }
        return table.error();
    }
    auto range = table->iter();
    if (!range) {
        return range.error();
    }
    Content content;
    for (std::uint64_t guard = 0; guard <= table->len(); ++guard) {
        auto entry = sync_wait(range->next());
        if (!entry) {
            return entry.error();
        }
        if (!*entry) {
            return content;
        }
        content[(*entry)->key.value().value()] = (*entry)->value.value().value();
    }
    return ringdb::Error{Errc::corrupted};
}

// Opens `sim`, verifies, and requires the content of `before` or `before + 1` commits.
void require_old_or_new(const std::shared_ptr<SimDevice>& sim, int before, const char* how) {
    INFO(how);
    auto db = ringdb::test::open_sim(sim, false);
    INFO((db ? "opened" : ringdb::to_string(db.error())));
    REQUIRE(db.has_value());
    auto report = sync_wait(db->verify_integrity(ringdb::VerifyLevel::full));
    REQUIRE(report.has_value());
    REQUIRE(report->valid);
    auto content = read_log(*db);
    REQUIRE(content.has_value());
    INFO("commits before the failure " << before << ", entries seen " << content->size());
    REQUIRE((*content == content_after(before) || *content == content_after(before + 1)));
    // The reopened database takes commits again.
    REQUIRE(commit_number(*db, kCommits + 1).has_value());
    REQUIRE(sync_wait(db->close()).has_value());
}

}  // namespace

TEST_CASE("A failed sync fails its commit, poisons the database, and loses nothing acknowledged",
          "[integration][faults][sync]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    // Count the syncs of the whole run (creation, commits, close).
    std::uint64_t syncs = 0;
    {
        auto sim = std::make_shared<SimDevice>(seed);
        auto db = ringdb::test::open_sim(sim, true);
        REQUIRE(db.has_value());
        for (int c = 0; c < kCommits; ++c) {
            REQUIRE(commit_number(*db, c).has_value());
        }
        REQUIRE(sync_wait(db->close()).has_value());
        syncs = sim->calls(OpKind::sync);
    }
    for (bool marked_clean : {false, true}) {
        for (std::uint64_t k = 0; k < syncs; ++k) {
            INFO("sync #" << k << (marked_clean ? ", failed pages marked clean" : ""));
            auto sim = std::make_shared<SimDevice>(seed + k);
            sim->set_failed_pages_marked_clean(marked_clean);
            sim->fail_at(OpKind::sync, k, FaultMode::once, EIO);
            auto db = ringdb::test::open_sim(sim, true);
            if (!db) {
                REQUIRE(db.error().code == Errc::io);
                REQUIRE(db.error().sys_errno == EIO);
                continue;  // creation failed: there is nothing to keep
            }
            int acknowledged = 0;
            ringdb::Status failed = ringdb::ok();
            for (int c = 0; c < kCommits && failed; ++c) {
                failed = commit_number(*db, c);
                acknowledged += failed ? 1 : 0;
            }
            if (failed) {
                // The failing sync was the close's: every commit is durable.
                ringdb::Status closed = sync_wait(db->close());
                REQUIRE(acknowledged == kCommits);
                REQUIRE_FALSE(closed.has_value());
                REQUIRE(closed.error().code == Errc::io);
            } else {
                // The commit gets the sync's error; every later attempt gets previous_io.
                REQUIRE(failed.error().code == Errc::io);
                REQUIRE(failed.error().sys_errno == EIO);
                for (int again = 0; again < 3; ++again) {
                    auto later = commit_number(*db, kCommits);
                    REQUIRE_FALSE(later.has_value());
                    REQUIRE(later.error().code == Errc::previous_io);
                }
                ringdb::Status closed = sync_wait(db->close());
                REQUIRE_FALSE(closed.has_value());
                REQUIRE(closed.error().code == Errc::previous_io);
            }
            db = ringdb::Error{Errc::database_closed};  // drop the handle
            // Old or new, both after a crash (every way of building the image) and after a
            // plain reopen of the file.
            for (CrashMode mode : {CrashMode::durable_only, CrashMode::random_subset,
                                   CrashMode::torn_write, CrashMode::reordered}) {
                auto image = sim->crash_image(mode);
                auto target = std::shared_ptr<SimDevice>(SimDevice::from_image(image, seed));
                require_old_or_new(target, acknowledged, ringdb::io::crash_mode_name(mode));
            }
            sim->clear_faults();
            sim->reopen();
            require_old_or_new(sim, acknowledged, "reopened without a crash");
            // Then the power fails. Every commit since the reopen and the close were synced,
            // so the file must verify: recovery after the reopen must not have kept a failed
            // commit that only the page cache held (marked clean).
            auto image = sim->crash_image(CrashMode::durable_only);
            auto later = std::shared_ptr<SimDevice>(SimDevice::from_image(image, seed));
            auto reopened = ringdb::test::open_sim(later, false);
            INFO("power loss after the reopen: "
                 << (reopened ? "opened" : ringdb::to_string(reopened.error())));
            REQUIRE(reopened.has_value());
            auto report = sync_wait(reopened->verify_integrity(ringdb::VerifyLevel::full));
            REQUIRE(report.has_value());
            REQUIRE(report->valid);
        }
    }
}
