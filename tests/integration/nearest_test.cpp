// The searches of <ringdb/nearest.hpp> beyond the basic f32 search (vector_test.cpp): ranges
// with bounds and a consumed back end, binary vectors by Hamming distance, two-stage search
// with exact re-ranking, searches split over threads, and tables larger than the cache (the
// scan's readahead). Each is checked against a brute-force model.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <ringdb/ringdb.hpp>

#include "sim_workload.hpp"
#include "io/file_fixture.hpp"

using ringdb::Errc;

namespace {

using Bits = ringdb::BinaryQuantized<4>;  // 32 sign bits
using Floats = ringdb::FixedVec<32>;
constexpr ringdb::TableDefinition<std::uint64_t, Bits> kBits("bits");
constexpr ringdb::TableDefinition<std::uint64_t, Floats> kFloats("floats");
using Neighbors = std::vector<ringdb::Neighbor<std::uint64_t>>;

ringdb::Database create_db(const std::string& path, ringdb::DatabaseOptions options = {}) {
    auto db = ringdb::sync_wait(ringdb::Database::create(path, options));
    REQUIRE(db.has_value());
    return std::move(*db);
}

// Coarse elements, so many distances tie and the key order decides.
Floats random_floats(std::mt19937_64& rng) {
    std::uniform_int_distribution<int> coarse(-2, 2);
    Floats v;
    for (float& x : v.values) {
        x = static_cast<float>(coarse(rng));
    }
    return v;
}

Bits bits_of(const Floats& v) {
    Bits b;
    const std::vector<std::uint8_t> packed = ringdb::quantize_binary(v.span());
    std::copy(packed.begin(), packed.end(), b.bits.begin());
    return b;
}

// The k best of (key, distance) pairs by (distance, key).
Neighbors best_of(Neighbors all, std::size_t k) {
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        return a.distance != b.distance ? a.distance < b.distance : a.key < b.key;
    });
    all.resize(std::min(k, all.size()));
    return all;
}

Neighbors brute_floats(const std::map<std::uint64_t, Floats>& model,
                       std::span<const float> query, std::size_t k,
                       std::uint64_t lower = 0,
                       std::uint64_t upper = std::numeric_limits<std::uint64_t>::max()) {
    Neighbors all;
    for (const auto& [key, v] : model) {
        if (key >= lower && key < upper) {
            all.push_back({key, *ringdb::euclidean_distance_sq(query, v.span())});
        }
    }
    return best_of(std::move(all), k);
}

void check_same(const Neighbors& got, const Neighbors& expected) {
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("rank " << i);
        CHECK(got[i].key == expected[i].key);
        CHECK(got[i].distance == expected[i].distance);
    }
}

// Fills both tables with `count` rows (keys 0, 2, 4, ...) and returns the float model.
std::map<std::uint64_t, Floats> fill(ringdb::Database& db, std::mt19937_64& rng,
                                     std::uint64_t count) {
    std::map<std::uint64_t, Floats> model;
    auto txn = ringdb::sync_wait(db.begin_write());
    REQUIRE(txn.has_value());
    auto floats = ringdb::sync_wait(txn->open_table(kFloats));
    auto bits = ringdb::sync_wait(txn->open_table(kBits));
    REQUIRE(floats.has_value());
    REQUIRE(bits.has_value());
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t key = 2 * i;
        model[key] = random_floats(rng);
        REQUIRE(ringdb::sync_wait(floats->insert(key, model[key])).has_value());
        REQUIRE(ringdb::sync_wait(bits->insert(key, bits_of(model[key]))).has_value());
    }
    REQUIRE(ringdb::sync_wait(txn->commit()).has_value());
    return model;
}

}  // namespace

TEST_CASE("nearest_k: a bounded range, also with its back end partly consumed",
          "[vector][integration]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    const auto model = fill(db, rng, 1200);
    auto read = db.begin_read();
    REQUIRE(read.has_value());
    auto table = ringdb::sync_wait(read->open_table(kFloats));
    REQUIRE(table.has_value());
    for (int round = 0; round < 40; ++round) {
        std::uint64_t lower = rng() % 2600;
        std::uint64_t upper = rng() % 2600;
        if (lower > upper) {
            std::swap(lower, upper);
        }
        auto range = table->range(ringdb::Bound<std::uint64_t>::included(lower),
                                  ringdb::Bound<std::uint64_t>::excluded(upper));
        REQUIRE(range.has_value());
        // Take some entries from the back: the search must stop where they begin.
        for (std::uint64_t n = rng() % 60; n > 0; --n) {
            auto entry = ringdb::sync_wait(range->next_back());
            REQUIRE(entry.has_value());
            if (!*entry) {
                break;
            }
            upper = *(*entry)->key.value();
        }
        const Floats query = random_floats(rng);
        const std::size_t k = 1 + rng() % 30;
        auto found = ringdb::sync_wait(
                ringdb::nearest_k(*range, query.span(), k, ringdb::DistanceMetric::euclidean_sq));
        REQUIRE(found.has_value());
        check_same(*found, brute_floats(model, query.span(), k, lower, upper));
    }
}

TEST_CASE("nearest_k: binary vectors by Hamming distance", "[vector][integration]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    const auto model = fill(db, rng, 900);
    auto read = db.begin_read();
    REQUIRE(read.has_value());
    auto table = ringdb::sync_wait(read->open_table(kBits));
    REQUIRE(table.has_value());
    for (int round = 0; round < 20; ++round) {
        const Bits query = bits_of(random_floats(rng));
        const std::size_t k = 1 + rng() % 50;
        Neighbors all;
        for (const auto& [key, v] : model) {
            const Bits stored = bits_of(v);
            all.push_back({key, static_cast<float>(*ringdb::hamming_distance(
                                        query.bits, stored.bits))});
        }
        auto range = table->iter();
        auto found = ringdb::sync_wait(ringdb::nearest_k(*range, query.bits, k));
        REQUIRE(found.has_value());
        check_same(*found, best_of(std::move(all), k));
    }
    auto range = table->iter();
    const std::vector<std::uint8_t> short_query(3);
    auto refused = ringdb::sync_wait(ringdb::nearest_k(*range, short_query, 5));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == Errc::invalid_argument);
    CHECK(refused.error().detail == 4);
}

TEST_CASE("nearest_k_reranked: Hamming candidates re-ranked by exact distance",
          "[vector][integration]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    auto model = fill(db, rng, 700);
    {
        // Rows whose float vector is gone do not compete.
        auto txn = ringdb::sync_wait(db.begin_write());
        auto floats = ringdb::sync_wait(txn->open_table(kFloats));
        for (std::uint64_t key = 0; key < 1400; key += 14) {
            REQUIRE(ringdb::sync_wait(floats->remove(key)).has_value());
            model.erase(key);
        }
        REQUIRE(ringdb::sync_wait(txn->commit()).has_value());
    }
    auto read = db.begin_read();
    REQUIRE(read.has_value());
    auto bits = ringdb::sync_wait(read->open_table(kBits));
    auto floats = ringdb::sync_wait(read->open_table(kFloats));
    REQUIRE(bits.has_value());
    REQUIRE(floats.has_value());
    const auto metric = ringdb::DistanceMetric::euclidean_sq;
    for (int round = 0; round < 10; ++round) {
        const Floats query = random_floats(rng);
        // Every row a candidate: the exact answer.
        auto all_range = bits->iter();
        auto exact = ringdb::sync_wait(
                ringdb::nearest_k_reranked(*all_range, *floats, query.span(), 10, metric, 5000));
        REQUIRE(exact.has_value());
        check_same(*exact, brute_floats(model, query.span(), 10));
        // Few candidates: exact distances, best first, only rows that have a float vector.
        auto few_range = bits->iter();
        auto few = ringdb::sync_wait(
                ringdb::nearest_k_reranked(*few_range, *floats, query.span(), 10, metric, 20));
        REQUIRE(few.has_value());
        CHECK(few->size() <= 10);
        for (std::size_t i = 0; i < few->size(); ++i) {
            const auto& n = (*few)[i];
            REQUIRE(model.count(n.key) == 1);
            CHECK(n.distance == *ringdb::euclidean_distance_sq(query.span(), model[n.key].span()));
            if (i > 0) {
                CHECK((*few)[i - 1].distance <= n.distance);
            }
        }
    }
    const std::vector<float> wrong(8, 1.0F);
    auto range = bits->iter();
    auto refused = ringdb::sync_wait(
            ringdb::nearest_k_reranked(*range, *floats, wrong, 10, metric, 20));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == Errc::invalid_argument);
    CHECK(refused.error().detail == 32);
}

TEST_CASE("nearest_k_parallel: the same answer from one, two and four threads",
          "[vector][integration]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    ringdb::coro::WorkerThread first;
    ringdb::coro::WorkerThread second;
    ringdb::coro::WorkerThread third;
    std::vector<ringdb::coro::ThreadContext*> helpers{&first.context(), &second.context(),
                                                      &third.context()};
    auto search = [&](std::span<const float> query, std::size_t k, std::size_t helper_count) {
        auto read = db.begin_read();
        REQUIRE(read.has_value());
        auto table = ringdb::sync_wait(read->open_table(kFloats));
        REQUIRE(table.has_value());
        auto found = ringdb::sync_wait(ringdb::nearest_k_parallel(
                *table, query, k, ringdb::DistanceMetric::euclidean_sq,
                std::span(helpers).first(helper_count)));
        REQUIRE(found.has_value());
        return std::move(*found);
    };
    const Floats query = random_floats(rng);
    {
        // An empty table.
        auto txn = ringdb::sync_wait(db.begin_write());
        REQUIRE(ringdb::sync_wait(txn->open_table(kFloats)).has_value());
        REQUIRE(ringdb::sync_wait(txn->commit()).has_value());
        CHECK(search(query.span(), 5, 3).empty());
    }
    std::map<std::uint64_t, Floats> model;
    for (std::uint64_t rows : {5, 3000}) {  // one leaf, then a tree with branches
        model = fill(db, rng, rows);
        for (int round = 0; round < 5; ++round) {
            const Floats q = random_floats(rng);
            const std::size_t k = 1 + rng() % 40;
            const Neighbors expected = brute_floats(model, q.span(), k);
            for (std::size_t threads : {0, 1, 3}) {
                INFO("rows " << rows << ", helpers " << threads);
                check_same(search(q.span(), k, threads), expected);
            }
        }
    }
    CHECK(search(query.span(), 0, 1).empty());
    auto read = db.begin_read();
    auto table = ringdb::sync_wait(read->open_table(kFloats));
    std::vector<float> nan_query(32, 0.0F);
    nan_query[3] = std::numeric_limits<float>::quiet_NaN();
    auto refused = ringdb::sync_wait(ringdb::nearest_k_parallel(
            *table, nan_query, 3, ringdb::DistanceMetric::cosine, std::span(helpers)));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == Errc::invalid_argument);
}

TEST_CASE("nearest_k: a table many times the cache, read cold", "[vector][integration]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    const std::string path = dir.file("db");
    ringdb::DatabaseOptions small;
    small.cache_size = 128 << 10;  // the float table is about 1 MiB
    std::map<std::uint64_t, Floats> model;
    {
        auto db = create_db(path, small);
        model = fill(db, rng, 7000);
        REQUIRE(ringdb::sync_wait(db.close()).has_value());
    }
    auto db = ringdb::sync_wait(ringdb::Database::open(path, small));
    REQUIRE(db.has_value());
    ringdb::coro::WorkerThread helper;
    std::vector<ringdb::coro::ThreadContext*> helpers{&helper.context()};
    for (int round = 0; round < 3; ++round) {
        const Floats query = random_floats(rng);
        const Neighbors expected = brute_floats(model, query.span(), 25);
        auto read = db->begin_read();
        REQUIRE(read.has_value());
        auto table = ringdb::sync_wait(read->open_table(kFloats));
        REQUIRE(table.has_value());
        auto range = table->iter();
        auto found = ringdb::sync_wait(ringdb::nearest_k(*range, query.span(), 25,
                                                         ringdb::DistanceMetric::euclidean_sq));
        REQUIRE(found.has_value());
        check_same(*found, expected);
        auto split = ringdb::sync_wait(ringdb::nearest_k_parallel(
                *table, query.span(), 25, ringdb::DistanceMetric::euclidean_sq,
                std::span(helpers)));
        REQUIRE(split.has_value());
        check_same(*split, expected);
    }
}
