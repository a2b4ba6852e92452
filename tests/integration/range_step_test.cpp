// Range steps through the public API (Range::next / next_back awaitables): the synchronous
// path over cached pages and the coroutine path that reads evicted pages, against a model, for
// every bound kind, both ends interleaved, short (inline) and long (heap) bound keys, and
// entries kept past later steps and evictions.

#include <map>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"
#include "io/sim_device.hpp"

using ringdb::Bound;
using ringdb::Database;
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

constexpr ringdb::TableDefinition<std::string, std::string> kWords("words");
using Model = std::map<std::string, std::string>;

// Keys of 6 to 101 bytes, in an order that interleaves short and long ones.
std::string key_for(std::uint32_t n, std::uint32_t tail) {
    std::string key = std::to_string(1000000 + n);
    key.append(tail, 'k');
    return key;
}

Database create_db(const std::string& path, std::uint64_t cache_size) {
    ringdb::DatabaseOptions options;
    options.cache_size = cache_size;
    auto db = sync_wait(Database::create(path, options));
    INFO((db ? "ok" : ringdb::to_string(db.error())));
    REQUIRE(db.has_value());
    return std::move(*db);
}

Model fill(Database& db, std::uint32_t count) {
    Model model;
    auto txn = sync_wait(db.begin_write());
    REQUIRE(txn.has_value());
    {
        auto table = sync_wait(txn->open_table(kWords));
        REQUIRE(table.has_value());
        for (std::uint32_t i = 0; i < count; ++i) {
            std::string key = key_for(2 * i, (i % 4 == 0) ? 40 + i % 61 : 0);
            std::string value(100 + i % 200, static_cast<char>('a' + i % 26));
            REQUIRE(sync_wait(table->insert(key, value)).has_value());
            model[key] = value;
        }
    }
    REQUIRE(sync_wait(txn->commit()).has_value());
    return model;
}

Bound<std::string> make_bound(int kind, const std::string& key) {
    if (kind == 0) {
        return Bound<std::string>::unbounded();
    }
    return kind == 1 ? Bound<std::string>::included(key) : Bound<std::string>::excluded(key);
}

bool admits_lower(int kind, const std::string& bound, const std::string& key) {
    return kind == 0 || (kind == 1 ? key >= bound : key > bound);
}

bool admits_upper(int kind, const std::string& bound, const std::string& key) {
    return kind == 0 || (kind == 1 ? key <= bound : key < bound);
}

// Walks one range with a random mix of ends against the model; keeps every entry returned and
// checks their bytes once the walk is over (they share pages that were evicted meanwhile).
template <class Table>
void walk(Table& table, const Model& model, std::mt19937_64& rng, int lower_kind,
          const std::string& lower, int upper_kind, const std::string& upper) {
    std::vector<std::pair<std::string, std::string>> expected;
    for (const auto& [k, v] : model) {
        if (admits_lower(lower_kind, lower, k) && admits_upper(upper_kind, upper, k)) {
            expected.emplace_back(k, v);
        }
    }
    auto lower_bound = make_bound(lower_kind, lower);
    auto upper_bound = make_bound(upper_kind, upper);
    auto range = table.range(lower_bound, upper_bound);
    REQUIRE(range.has_value());
    std::size_t front = 0;
    std::size_t back = expected.size();
    int mode = static_cast<int>(rng() % 3);  // 0 forward, 1 backward, 2 mixed
    std::vector<ringdb::Entry<std::string, std::string>> kept;
    std::vector<std::pair<std::string, std::string>> kept_expected;
    while (true) {
        bool forward = mode == 0 || (mode == 2 && rng() % 2 == 0);
        auto entry = forward ? sync_wait(range->next()) : sync_wait(range->next_back());
        REQUIRE(entry.has_value());
        if (!*entry) {
            CHECK(front == back);
            break;
        }
        REQUIRE(front < back);
        const auto& want = forward ? expected[front] : expected[back - 1];
        REQUIRE((*entry)->key.value().value() == want.first);
        REQUIRE((*entry)->value.value().value() == want.second);
        if (rng() % 4 == 0) {
            kept.push_back(std::move(**entry));
            kept_expected.push_back(want);
        }
        if (forward) {
            ++front;
        } else {
            --back;
        }
    }
    CHECK_FALSE(sync_wait(range->next()).value().has_value());
    CHECK_FALSE(sync_wait(range->next_back()).value().has_value());
    for (std::size_t i = 0; i < kept.size(); ++i) {
        CHECK(kept[i].key.value().value() == kept_expected[i].first);
        CHECK(kept[i].value.value().value() == kept_expected[i].second);
    }
}

}  // namespace

TEST_CASE("range steps match the model with a cache far smaller than the table",
          "[integration][range]") {
    auto seed = ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    // 16 KiB: four pages, so nearly every seek and leaf crossing reads a page (the coroutine
    // path); 64 MiB: everything stays cached after the first touch (the synchronous path).
    std::uint64_t cache_size = GENERATE(std::uint64_t{16} << 10, std::uint64_t{64} << 20);
    INFO("cache_size=" << cache_size);
    auto db = create_db(dir.file("db"), cache_size);
    Model model = fill(db, 1500);  // about 100 leaves
    auto reader = db.begin_read();
    REQUIRE(reader.has_value());
    auto table = sync_wait(reader->open_table(kWords));
    REQUIRE(table.has_value());
    for (int round = 0; round < 150; ++round) {
        int lower_kind = static_cast<int>(rng() % 3);
        int upper_kind = static_cast<int>(rng() % 3);
        // Bound keys: stored keys and keys between them, 6 to 91 bytes (inline and heap).
        std::uint32_t a = static_cast<std::uint32_t>(rng() % 3100);
        std::uint32_t b = round % 10 == 0 ? a : static_cast<std::uint32_t>(rng() % 3100);
        std::string lower = key_for(a, rng() % 2 == 0 ? 0 : 70 + a % 16);
        std::string upper = key_for(b, rng() % 2 == 0 ? 0 : 70 + b % 16);
        if (round % 10 == 0) {
            upper = lower;  // equal bounds: one entry or nothing
        }
        walk(*table, model, rng, lower_kind, lower, upper_kind, upper);
    }
}

TEST_CASE("range steps in a write transaction see its own changes", "[integration][range]") {
    auto seed = ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"), std::uint64_t{16} << 10);
    Model model = fill(db, 800);
    auto txn = sync_wait(db.begin_write());
    REQUIRE(txn.has_value());
    auto table = sync_wait(txn->open_table(kWords));
    REQUIRE(table.has_value());
    // Dirty pages (always readable synchronously) mixed with committed, mostly evicted ones.
    for (std::uint32_t i = 0; i < 200; ++i) {
        std::string key = key_for(2 * static_cast<std::uint32_t>(rng() % 1600) + 1, i % 50);
        std::string value(50, 'w');
        REQUIRE(sync_wait(table->insert(key, value)).has_value());
        model[key] = value;
    }
    for (int round = 0; round < 60; ++round) {
        std::uint32_t a = static_cast<std::uint32_t>(rng() % 1700);
        std::uint32_t b = static_cast<std::uint32_t>(rng() % 1700);
        walk(*table, model, rng, static_cast<int>(rng() % 3), key_for(a, 0),
             static_cast<int>(rng() % 3), key_for(b, 80));
    }
}

TEST_CASE("a range step runs when awaited, not when created", "[integration][range]") {
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"), std::uint64_t{64} << 20);
    Model model = fill(db, 50);
    auto reader = db.begin_read();
    REQUIRE(reader.has_value());
    auto table = sync_wait(reader->open_table(kWords));
    REQUIRE(table.has_value());
    auto range = table->iter();
    REQUIRE(range.has_value());
    {
        auto dropped = range->next();       // created and dropped: consumes nothing
        auto dropped_back = range->next_back();
        (void)dropped;
        (void)dropped_back;
    }
    auto first = sync_wait(range->next());
    REQUIRE(first.has_value());
    REQUIRE(first->has_value());
    CHECK((*first)->key.value().value() == model.begin()->first);
    auto last = sync_wait(range->next_back());
    REQUIRE(last.has_value());
    REQUIRE(last->has_value());
    CHECK((*last)->key.value().value() == model.rbegin()->first);
}

TEST_CASE("a range of a finished write transaction reports transaction_finished",
          "[integration][range]") {
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"), std::uint64_t{64} << 20);
    fill(db, 50);
    auto txn = sync_wait(db.begin_write());
    REQUIRE(txn.has_value());
    auto table = sync_wait(txn->open_table(kWords));
    REQUIRE(table.has_value());
    auto range = table->iter();
    REQUIRE(range.has_value());
    auto first = sync_wait(range->next());  // positions both the cursor and its leaf
    REQUIRE(first.has_value());
    REQUIRE(first->has_value());
    REQUIRE(sync_wait(txn->commit()).has_value());
    auto after = sync_wait(range->next());
    REQUIRE_FALSE(after.has_value());
    CHECK(after.error().code == Errc::transaction_finished);
    auto after_back = sync_wait(range->next_back());
    REQUIRE_FALSE(after_back.has_value());
    CHECK(after_back.error().code == Errc::transaction_finished);
}
