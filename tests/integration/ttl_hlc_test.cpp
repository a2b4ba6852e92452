// TTL tables (<ringdb/ttl_table.hpp>) against a model clock, and hybrid logical clock
// timestamps (<ringdb/hlc.hpp>) against the reference's arithmetic.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"
#include "sim_workload.hpp"

using ringdb::Errc;
using ringdb::HybridLogicalClock;
using ringdb::sync_wait;
using std::chrono::milliseconds;

namespace {

constexpr ringdb::TtlTableDefinition<std::string_view, std::uint64_t> kSessions("sessions");
constexpr ringdb::TtlTableDefinition<std::uint64_t, std::string_view> kNotes("notes");

/// A clock the test moves by hand.
struct ModelClock {
    std::shared_ptr<std::atomic<std::int64_t>> now =
            std::make_shared<std::atomic<std::int64_t>>(1'000'000);
    ringdb::WallClock clock() const {
        return [now = now] { return now->load(); };
    }
    void advance(std::int64_t ms) const { now->fetch_add(ms); }
};

ringdb::DatabaseOptions with_clock(const ModelClock& clock) {
    ringdb::DatabaseOptions options;
    options.clock = clock.clock();
    return options;
}

template <class Range>
std::vector<std::string> live_keys(Range& range) {
    std::vector<std::string> keys;
    for (;;) {
        auto entry = sync_wait(range.next());
        REQUIRE(entry.has_value());
        if (!*entry) {
            return keys;
        }
        keys.emplace_back(*(*entry)->key.value());
    }
}

}  // namespace

TEST_CASE("ttl: insert, expiry, get, remove, len", "[ttl][integration]") {
    ModelClock clock;
    ringdb::test::TempDir dir;
    auto db = sync_wait(ringdb::Database::create(dir.file("db"), with_clock(clock)));
    REQUIRE(db.has_value());
    auto txn = sync_wait(db->begin_write());
    auto t = sync_wait(txn->open_ttl_table(kSessions));
    REQUIRE(t.has_value());
    CHECK(t->now_ms() == 1'000'000);
    REQUIRE(sync_wait(t->insert_with_ttl("a", 1, milliseconds(60'000))).has_value());
    REQUIRE(sync_wait(t->insert("forever", 2)).has_value());
    REQUIRE(sync_wait(t->insert_with_ttl("b", 3, milliseconds(10))).has_value());
    auto a = sync_wait(t->get("a")).value();
    REQUIRE(a.has_value());
    CHECK(*a->value() == 1);
    CHECK(a->expires_at_ms() == 1'060'000);
    CHECK(sync_wait(t->get("forever")).value()->expires_at_ms() == 0);
    CHECK(sync_wait(t->get("b")).value().has_value());
    clock.advance(10);  // expiry exactly now counts as expired
    CHECK_FALSE(sync_wait(t->get("b")).value().has_value());
    CHECK(t->len() == 3);
    CHECK(t->len_with_expired() == 3);
    // Overwriting returns the previous entry even when it expired.
    auto previous = sync_wait(t->insert("b", 4)).value();
    REQUIRE(previous.has_value());
    CHECK(*previous->value() == 3);
    CHECK(*sync_wait(t->get("b")).value()->value() == 4);
    // Zero and negative durations store an entry that is expired at once.
    REQUIRE(sync_wait(t->insert_with_ttl("zero", 5, milliseconds(0))).has_value());
    REQUIRE(sync_wait(t->insert_with_ttl("neg", 5, milliseconds(-5))).has_value());
    CHECK_FALSE(sync_wait(t->get("zero")).value().has_value());
    CHECK_FALSE(sync_wait(t->get("neg")).value().has_value());
    // The largest duration does not wrap into the past.
    REQUIRE(sync_wait(t->insert_with_ttl("huge", 6, milliseconds::max())).has_value());
    CHECK(sync_wait(t->get("huge")).value()->expires_at_ms() ==
          1'000'010 + static_cast<std::uint64_t>(milliseconds::max().count()));
    // The deadline arithmetic saturates and is never 0 ("never").
    CHECK(ringdb::detail::ttl_deadline(std::numeric_limits<std::uint64_t>::max() - 3,
                                       milliseconds(10)) ==
          std::numeric_limits<std::uint64_t>::max());
    CHECK(ringdb::detail::ttl_deadline(0, milliseconds(0)) == 1);
    auto removed = sync_wait(t->remove("zero")).value();
    REQUIRE(removed.has_value());
    CHECK(*removed->value() == 5);
    CHECK_FALSE(sync_wait(t->remove("zero")).value().has_value());
    REQUIRE(sync_wait(txn->commit()).has_value());

    // A read transaction sees entries expire as the clock moves (expiry is read-time).
    auto read = db->begin_read();
    auto r = sync_wait(read->open_ttl_table(kSessions));
    REQUIRE(r.has_value());
    CHECK(sync_wait(r->get("a")).value().has_value());
    clock.advance(60'000);
    CHECK_FALSE(sync_wait(r->get("a")).value().has_value());
    auto range = r->iter();
    REQUIRE(range.has_value());
    CHECK(live_keys(*range) == std::vector<std::string>{"b", "forever", "huge"});
    // Plain and TTL definitions of one name do not mix.
    constexpr ringdb::TableDefinition<std::string_view, std::uint64_t> kPlain("sessions");
    CHECK(sync_wait(read->open_table(kPlain)).error().code == Errc::table_type_mismatch);
}

TEST_CASE("ttl: ranges skip expired entries from both ends; purge counts", "[ttl][integration]") {
    ModelClock clock;
    ringdb::test::TempDir dir;
    auto db = sync_wait(ringdb::Database::create(dir.file("db"), with_clock(clock)));
    auto txn = sync_wait(db->begin_write());
    auto t = sync_wait(txn->open_ttl_table(kNotes));
    for (std::uint64_t k = 0; k < 8; ++k) {
        if (k % 2 == 0) {
            REQUIRE(sync_wait(t->insert_with_ttl(k, "soon", milliseconds(5))).has_value());
        } else {
            REQUIRE(sync_wait(t->insert(k, "kept")).has_value());
        }
    }
    clock.advance(5);
    auto range = t->range(ringdb::Bound<std::uint64_t>::included(0),
                          ringdb::Bound<std::uint64_t>::included(7));
    std::vector<std::uint64_t> from_back;
    for (;;) {
        auto entry = sync_wait(range->next_back());
        REQUIRE(entry.has_value());
        if (!*entry) {
            break;
        }
        from_back.push_back(*(*entry)->key.value());
        CHECK(*(*entry)->value.value() == "kept");
    }
    CHECK(from_back == std::vector<std::uint64_t>{7, 5, 3, 1});
    CHECK(sync_wait(t->purge_expired()).value() == 4);
    CHECK(t->len() == 4);
    CHECK(sync_wait(t->purge_expired()).value() == 0);
    REQUIRE(sync_wait(txn->commit()).has_value());
}

TEST_CASE("ttl: seeded model against a model clock, across reopen", "[ttl][integration][model]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ModelClock clock;
    ringdb::test::TempDir dir;
    const std::string path = dir.file("db");
    std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> model;  // value, expiry
    auto db = sync_wait(ringdb::Database::create(path, with_clock(clock)));
    REQUIRE(db.has_value());
    for (int round = 0; round < 10; ++round) {
        auto txn = sync_wait(db->begin_write());
        auto t = sync_wait(txn->open_ttl_table(kNotes));
        for (int i = 0; i < 200; ++i) {
            const std::uint64_t key = rng() % 100;
            const std::string value = std::to_string(rng() % 1000);
            const std::uint64_t now = t->now_ms();
            switch (rng() % 4) {
            case 0:
                REQUIRE(sync_wait(t->insert(key, value)).has_value());
                model[key] = {value, 0};
                break;
            case 1: {
                const auto ttl = static_cast<std::int64_t>(rng() % 50);
                REQUIRE(sync_wait(t->insert_with_ttl(key, value, milliseconds(ttl))).has_value());
                model[key] = {value, now + static_cast<std::uint64_t>(ttl)};
                break;
            }
            case 2:
                REQUIRE(sync_wait(t->remove(key)).has_value());
                model.erase(key);
                break;
            default:
                clock.advance(static_cast<std::int64_t>(rng() % 7));
            }
        }
        if (round % 3 == 2) {
            const std::uint64_t now = t->now_ms();
            std::uint64_t expected = 0;
            for (auto it = model.begin(); it != model.end();) {
                if (it->second.second != 0 && it->second.second <= now) {
                    it = model.erase(it);
                    ++expected;
                } else {
                    ++it;
                }
            }
            CHECK(sync_wait(t->purge_expired()).value() == expected);
        }
        CHECK(t->len_with_expired() == model.size());
        REQUIRE(sync_wait(txn->commit()).has_value());
        if (round % 4 == 3) {
            REQUIRE(sync_wait(db->close()).has_value());
            db = sync_wait(ringdb::Database::open(path, with_clock(clock)));
            REQUIRE(db.has_value());
        }
    }
    auto read = db->begin_read();
    auto t = sync_wait(read->open_ttl_table(kNotes));
    const std::uint64_t now = t->now_ms();
    std::vector<std::string> expected_live;
    for (const auto& [key, entry] : model) {
        const bool live = entry.second == 0 || entry.second > now;
        auto got = sync_wait(t->get(key));
        REQUIRE(got.has_value());
        CHECK(got->has_value() == live);
        if (live) {
            CHECK(*(*got)->value() == entry.first);
            CHECK((*got)->expires_at_ms() == entry.second);
            expected_live.push_back(std::to_string(key));
        }
    }
    auto range = t->iter();
    std::vector<std::string> seen;
    for (;;) {
        auto entry = sync_wait(range->next());
        REQUIRE(entry.has_value());
        if (!*entry) {
            break;
        }
        seen.push_back(std::to_string(*(*entry)->key.value()));
    }
    CHECK(seen == expected_live);
}

TEST_CASE("ttl: a clock before the epoch counts as 0", "[ttl][integration]") {
    ringdb::test::TempDir dir;
    ringdb::DatabaseOptions options;
    options.clock = [] { return std::int64_t{-5000}; };
    auto db = sync_wait(ringdb::Database::create(dir.file("db"), options));
    auto txn = sync_wait(db->begin_write());
    auto t = sync_wait(txn->open_ttl_table(kNotes));
    CHECK(t->now_ms() == 0);
    REQUIRE(sync_wait(t->insert_with_ttl(1, "x", milliseconds(0))).has_value());
    REQUIRE(sync_wait(t->insert_with_ttl(2, "y", milliseconds(100))).has_value());
    // At the epoch a zero duration gives expiry 1 ms (0 would mean "never").
    CHECK(sync_wait(t->get(1)).value()->expires_at_ms() == 1);
    CHECK(sync_wait(t->get(2)).value()->expires_at_ms() == 100);
    REQUIRE(sync_wait(txn->commit()).has_value());
}

TEST_CASE("hlc: parts, tick, ordering and conversions", "[hlc]") {
    const auto t = HybridLogicalClock::from_parts(1000, 5);
    CHECK(t.physical_ms() == 1000);
    CHECK(t.logical() == 5);
    CHECK(t.raw() == ((1000ULL << 16) | 5));
    CHECK(HybridLogicalClock::from_raw(t.raw()) == t);
    CHECK(t.tick() == HybridLogicalClock::from_parts(1000, 6));
    const auto full = HybridLogicalClock::from_parts(1000, 65535);
    CHECK(full.tick() == HybridLogicalClock::from_parts(1001, 0));
    CHECK(HybridLogicalClock::from_parts(999, 65535) < HybridLogicalClock::from_parts(1000, 0));
    CHECK(HybridLogicalClock::from_wall_ns(1'234'567'890) ==
          HybridLogicalClock::from_parts(1234, 0));
    CHECK(HybridLogicalClock::zero().raw() == 0);
    CHECK(HybridLogicalClock::min() == HybridLogicalClock::zero());
    CHECK(HybridLogicalClock::max().raw() == ~0ULL);
    CHECK(t.to_string() == "1000:5");
    // Bits of the physical part above 48 are shifted out.
    CHECK(HybridLogicalClock::from_parts((1ULL << 48) + 7, 1).physical_ms() == 7);
    // As a key: raw u64 little-endian, numeric order.
    const auto bytes = ringdb::encode(t);
    CHECK(bytes.size() == 8);
    CHECK(*ringdb::decode<HybridLogicalClock>(bytes) == t);
    CHECK(ringdb::decode<HybridLogicalClock>(ringdb::ByteView(bytes).first(7)).error().code ==
          Errc::corrupted);
    const auto later = ringdb::encode(HybridLogicalClock::from_parts(1000, 256));
    CHECK(ringdb::compare_keys<HybridLogicalClock>(bytes, later) < 0);
    CHECK(ringdb::Codec<HybridLogicalClock>::type_name().name() == "ringdb::HLC");
}

TEST_CASE("hlc: advance and merge follow the reference's branches", "[hlc]") {
    const auto t = HybridLogicalClock::from_parts(1000, 3);
    // advance: wall ahead -> wall, logical 0; otherwise tick.
    CHECK(t.advance(2000) == HybridLogicalClock::from_parts(2000, 0));
    CHECK(t.advance(1000) == HybridLogicalClock::from_parts(1000, 4));
    CHECK(t.advance(10) == HybridLogicalClock::from_parts(1000, 4));
    // merge (1): wall ahead of both.
    const auto other = HybridLogicalClock::from_parts(1500, 9);
    CHECK(t.merge(other, 3000) == HybridLogicalClock::now(3000));
    // (2): equal physical parts, wall behind: max logical + 1, overflow to the next ms.
    const auto same = HybridLogicalClock::from_parts(1000, 7);
    CHECK(t.merge(same, 5) == HybridLogicalClock::from_parts(1000, 8));
    const auto full = HybridLogicalClock::from_parts(1000, 65535);
    CHECK(t.merge(full, 5) == HybridLogicalClock::from_parts(1001, 0));
    // (3) self ahead; (4) other ahead (also when the wall is between them).
    CHECK(other.merge(t, 5) == other.tick());
    CHECK(t.merge(other, 5) == other.tick());
    CHECK(t.merge(other, 1200) == other.tick());
    // Always greater than both inputs.
    std::mt19937_64 rng(ringdb::test::base_seed());
    for (int i = 0; i < 1000; ++i) {
        const auto a = HybridLogicalClock::from_parts(rng() % 50, static_cast<std::uint16_t>(
                                                                          rng() % 65536));
        const auto b = HybridLogicalClock::from_parts(rng() % 50, static_cast<std::uint16_t>(
                                                                          rng() % 65536));
        const auto m = a.merge(b, rng() % 60);
        CHECK(m > a);
        CHECK(m > b);
        CHECK(a.advance(rng() % 60) > a);
    }
    // The system-clock forms are monotonic.
    const auto first = HybridLogicalClock::now();
    CHECK(first.advance() > first);
    CHECK(first.merge(first) > first);
}

TEST_CASE("hlc: the database clock never goes back, across reopen and crash",
          "[hlc][integration]") {
    ModelClock clock;
    ringdb::test::TempDir dir;
    const std::string path = dir.file("db");
    const std::string crashed = dir.file("crashed");
    HybridLogicalClock last;
    {
        auto db = sync_wait(ringdb::Database::create(path, with_clock(clock)));
        REQUIRE(db.has_value());
        HybridLogicalClock previous;
        for (int i = 0; i < 100; ++i) {
            const auto t = *db->hlc_now();
            CHECK(t > previous);
            previous = t;
        }
        CHECK(previous.physical_ms() == 1'000'000);
        CHECK(previous.logical() == 99);
        clock.advance(5);
        last = *db->hlc_now();
        CHECK(last == HybridLogicalClock::from_parts(1'000'005, 0));
        auto txn = sync_wait(db->begin_write());
        REQUIRE(sync_wait(txn->commit()).has_value());
        // The file as a crash right now would leave it (the commit above is durable).
        std::filesystem::copy_file(path, crashed);
        for (int i = 0; i < 10; ++i) {
            last = *db->hlc_now();
        }
        REQUIRE(sync_wait(db->close()).has_value());
    }
    // The wall clock went back by a minute: timestamps still increase.
    clock.advance(-60'000);
    {
        auto db = sync_wait(ringdb::Database::open(path, with_clock(clock)));
        REQUIRE(db.has_value());
        const auto t = *db->hlc_now();
        CHECK(t > last);
        CHECK(t.physical_ms() == 1'000'005);
        // A timestamp from a peer far ahead moves the clock past it.
        const auto remote = HybridLogicalClock::from_parts(5'000'000, 7);
        const auto after = *db->hlc_update(remote);
        CHECK(after == HybridLogicalClock::from_parts(5'000'000, 8));
        CHECK(*db->hlc_now() > after);
        CHECK(*db->hlc_update(HybridLogicalClock::zero()) > after);
    }
    {
        auto db = sync_wait(ringdb::Database::open(crashed, with_clock(clock)));
        REQUIRE(db.has_value());
        CHECK(*db->hlc_now() > HybridLogicalClock::from_parts(1'000'005, 0));
        ringdb::Database moved = std::move(*db);
        CHECK(db->hlc_now().error().code == Errc::database_closed);  // NOLINT: moved from
        CHECK(db->compression().algorithm == ringdb::CompressionAlgorithm::none);
    }
}

namespace {

void fill_notes(ringdb::Database& db, std::uint64_t expired, std::uint64_t live) {
    auto txn = sync_wait(db.begin_write());
    REQUIRE(txn.has_value());
    auto t = sync_wait(txn->open_ttl_table(kNotes));
    for (std::uint64_t k = 0; k < expired + live; ++k) {
        if (k < expired) {
            REQUIRE(sync_wait(t->insert_with_ttl(k, "gone", milliseconds(1))).has_value());
        } else {
            REQUIRE(sync_wait(t->insert(k, "live")).has_value());
        }
    }
    REQUIRE(sync_wait(txn->commit()).has_value());
}

std::uint64_t stored_notes(ringdb::Database& db) {
    auto read = db.begin_read();
    return sync_wait(read->open_ttl_table(kNotes))->len_with_expired();
}

}  // namespace

TEST_CASE("ttl: purging in bounded batches", "[ttl][integration]") {
    ModelClock clock;
    ringdb::test::TempDir dir;
    auto db = sync_wait(ringdb::Database::create(dir.file("db"), with_clock(clock)));
    REQUIRE(db.has_value());
    fill_notes(*db, 2500, 10);
    clock.advance(1);
    {
        auto txn = sync_wait(db->begin_write());
        auto t = sync_wait(txn->open_ttl_table(kNotes));
        CHECK(sync_wait(t->purge_expired(3)).value() == 3);
        CHECK(t->len() == 2507);
        txn->abort();
    }
    ringdb::TtlPurgeOptions options;
    options.batch = 1000;
    auto total = sync_wait(ringdb::purge_expired_in_batches(*db, kNotes, options));
    REQUIRE(total.has_value());
    CHECK(*total == 2500);
    CHECK(stored_notes(*db) == 10);
    // Nothing left: one batch that finds nothing, and commits nothing.
    const std::uint64_t before = db->begin_read()->id();
    CHECK(sync_wait(ringdb::purge_expired_in_batches(*db, kNotes, options)).value() == 0);
    CHECK(db->begin_read()->id() == before);
}

TEST_CASE("ttl: the background purger removes expired entries while writers go on",
          "[ttl][integration][threads]") {
    ModelClock clock;
    ringdb::test::TempDir dir;
    auto db = sync_wait(ringdb::Database::create(dir.file("db"), with_clock(clock)));
    REQUIRE(db.has_value());
    fill_notes(*db, 3000, 5);
    clock.advance(1);
    ringdb::coro::WorkerThread worker;
    ringdb::TtlPurgeOptions options;
    options.batch = 256;
    options.interval = milliseconds(5);
    options.durability = ringdb::Durability::none;
    auto purger = ringdb::TtlPurger::start(*db, kNotes, options, worker.context());
    // A writer keeps committing meanwhile; it gets the writer between batches.
    constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kOther("other");
    for (std::uint64_t i = 0; i < 20; ++i) {
        auto txn = sync_wait(db->begin_write());
        REQUIRE(txn.has_value());
        REQUIRE(sync_wait(sync_wait(txn->open_table(kOther))->insert(i, i)).has_value());
        REQUIRE(sync_wait(txn->commit()).has_value());
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (purger->purged() < 3000 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(5));
    }
    CHECK(purger->purged() == 3000);
    // Entries that expire later are purged by a later pass.
    fill_notes(*db, 40, 0);
    clock.advance(1);
    while (purger->purged() < 3040 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(5));
    }
    purger->stop();
    CHECK(purger->purged() == 3040);
    CHECK(purger->failures() == 0);
    CHECK(purger->passes() >= 2);
    CHECK(stored_notes(*db) == 5);
    purger->stop();  // idempotent
}

TEST_CASE("hlc: concurrent callers get distinct, increasing timestamps",
          "[hlc][integration][threads]") {
    ringdb::test::TempDir dir;
    auto db = sync_wait(ringdb::Database::create(dir.file("db")));
    REQUIRE(db.has_value());
    constexpr int kThreads = 4;
    constexpr int kEach = 20000;
    std::vector<std::vector<std::uint64_t>> issued(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&db, &issued, t] {
            for (int i = 0; i < kEach; ++i) {
                issued[static_cast<std::size_t>(t)].push_back(db->hlc_now()->raw());
                if (i % 1000 == 0) {
                    (void)db->hlc_update(HybridLogicalClock::now());
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    std::vector<std::uint64_t> all;
    for (const auto& mine : issued) {
        CHECK(std::is_sorted(mine.begin(), mine.end()));
        CHECK(std::adjacent_find(mine.begin(), mine.end()) == mine.end());
        all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end());
    CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
}
