// The vector operations of <ringdb/vector.hpp>: the reference engine's worked examples,
// dimension mismatches as errors, zero vectors, scalar quantisation (with the fix for a
// constant-range vector, docs/vectors.md Q-12), the little-endian f32 helpers, and the vector
// value types (<ringdb/vector_types.hpp>) stored in tables.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <ringdb/ringdb.hpp>

#include "sim_workload.hpp"
#include "io/file_fixture.hpp"

using ringdb::Errc;

TEST_CASE("vector: distances of small vectors", "[vector]") {
    const std::vector<float> a{1.0F, 2.0F, 3.0F};
    const std::vector<float> b{4.0F, -5.0F, 6.0F};
    CHECK(*ringdb::dot_product(a, b) == 4.0F - 10.0F + 18.0F);
    CHECK(*ringdb::euclidean_distance_sq(a, b) == 9.0F + 49.0F + 9.0F);
    CHECK(*ringdb::manhattan_distance(a, b) == 3.0F + 7.0F + 3.0F);
    const float cosine = 12.0F / (std::sqrt(14.0F) * std::sqrt(77.0F));
    CHECK(*ringdb::cosine_similarity(a, b) == Approx(cosine));
    CHECK(*ringdb::cosine_distance(a, b) == Approx(1.0F - cosine));
    CHECK(*ringdb::distance(ringdb::DistanceMetric::dot_product, a, b) == -12.0F);
    CHECK(*ringdb::distance(ringdb::DistanceMetric::euclidean_sq, a, b) == 67.0F);
    CHECK(*ringdb::distance(ringdb::DistanceMetric::manhattan, a, b) == 13.0F);
    CHECK(*ringdb::distance(ringdb::DistanceMetric::cosine, a, a) == Approx(0.0F).margin(1e-6));
    CHECK(ringdb::to_string(ringdb::DistanceMetric::cosine) == "cosine");
    CHECK(ringdb::to_string(ringdb::DistanceMetric::euclidean_sq) == "euclidean_sq");
    CHECK(ringdb::to_string(ringdb::DistanceMetric::dot_product) == "dot_product");
    CHECK(ringdb::to_string(ringdb::DistanceMetric::manhattan) == "manhattan");
}

TEST_CASE("vector: a dimension mismatch is invalid_argument, never an abort", "[vector]") {
    const std::vector<float> three(3, 1.0F);
    const std::vector<float> four(4, 1.0F);
    for (auto metric : {ringdb::DistanceMetric::cosine, ringdb::DistanceMetric::euclidean_sq,
                        ringdb::DistanceMetric::dot_product, ringdb::DistanceMetric::manhattan}) {
        auto d = ringdb::distance(metric, three, four);
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == Errc::invalid_argument);
        CHECK(d.error().detail == 4);
    }
    CHECK(ringdb::dot_product(three, four).error().code == Errc::invalid_argument);
    CHECK(ringdb::cosine_similarity(four, three).error().code == Errc::invalid_argument);
    const std::vector<std::uint8_t> one(1);
    const std::vector<std::uint8_t> two(2);
    CHECK(ringdb::hamming_distance(one, two).error().code == Errc::invalid_argument);
    auto quantised = ringdb::quantize_scalar(three);
    CHECK(ringdb::sq_euclidean_distance_sq(four, quantised).error().code == Errc::invalid_argument);
    CHECK(ringdb::sq_dot_product(four, quantised).error().code == Errc::invalid_argument);
}

TEST_CASE("vector: zero and empty vectors", "[vector]") {
    const std::vector<float> zero(5, 0.0F);
    const std::vector<float> ones(5, 1.0F);
    CHECK(*ringdb::cosine_similarity(zero, ones) == 0.0F);
    CHECK(*ringdb::cosine_distance(zero, ones) == 1.0F);
    CHECK(*ringdb::cosine_distance(zero, zero) == 1.0F);
    const std::vector<float> empty;
    CHECK(*ringdb::dot_product(empty, empty) == 0.0F);
    CHECK(*ringdb::cosine_distance(empty, empty) == 1.0F);
    CHECK(ringdb::l2_norm(empty) == 0.0F);
    std::vector<float> still_zero = zero;
    ringdb::l2_normalize(still_zero);
    CHECK(still_zero == zero);
    CHECK(ringdb::l2_normalized(zero) == zero);
    const std::vector<float> v{3.0F, 4.0F};
    CHECK(ringdb::l2_norm(v) == 5.0F);
    const std::vector<float> unit = ringdb::l2_normalized(v);
    CHECK(unit[0] == Approx(0.6F));
    CHECK(unit[1] == Approx(0.8F));
}

TEST_CASE("vector: binary quantisation is MSB first and counts only positives", "[vector]") {
    const std::vector<float> mixed{1.0F, -0.5F, 0.3F, -0.1F, 0.0F, 0.7F, -0.2F, 0.9F};
    CHECK(ringdb::quantize_binary(mixed) == std::vector<std::uint8_t>{0xA5});
    const std::vector<float> five(5, 1.0F);
    CHECK(ringdb::quantize_binary(five) == std::vector<std::uint8_t>{0xF8});
    const std::vector<float> nine{std::numeric_limits<float>::quiet_NaN(), 0, 0, 0, 0, 0, 0, 0,
                                  2.0F};
    CHECK(ringdb::quantize_binary(nine) == std::vector<std::uint8_t>{0x00, 0x80});
    CHECK(ringdb::quantize_binary({}).empty());
    const auto x = ringdb::quantize_binary(mixed);
    const auto y = ringdb::quantize_binary(five);
    CHECK(*ringdb::hamming_distance(x, y) == 5U);  // 0xA5 ^ 0xF8 = 0x5D
}

TEST_CASE("vector: scalar quantisation rounds half up and dequantises", "[vector]") {
    const std::vector<float> v{0.0F, 0.5F, 1.0F, 0.25F};
    const ringdb::ScalarQuantizedVector q = ringdb::quantize_scalar(v);
    CHECK(q.min == 0.0F);
    CHECK(q.max == 1.0F);
    CHECK(q.codes == std::vector<std::uint8_t>{0, 128, 255, 64});
    const std::vector<float> back = ringdb::dequantize_scalar(q);
    for (std::size_t i = 0; i < v.size(); ++i) {
        CHECK(back[i] == Approx(v[i]).margin(1.0 / 255));
    }
    const float expected = 0.0F + 0.5F * 128.0F / 255.0F + 255.0F / 255.0F + 0.25F * 64.0F / 255.0F;
    const std::vector<float> query{1.0F, 1.0F, 1.0F, 1.0F};
    CHECK(*ringdb::sq_dot_product(query, q) ==
          Approx(0.0F + 128.0F / 255.0F + 1.0F + 64.0F / 255.0F));
    CHECK(*ringdb::sq_dot_product(v, q) == Approx(expected));
    CHECK(*ringdb::sq_euclidean_distance_sq(v, q) == Approx(0.0F).margin(1e-4));
    const std::vector<float> with_nan{std::numeric_limits<float>::quiet_NaN(), 1.0F, 3.0F};
    CHECK(ringdb::quantize_scalar(with_nan).codes == std::vector<std::uint8_t>{0, 0, 255});
}

TEST_CASE("vector: a constant vector quantises to one value and every query element counts",
          "[vector]") {
    const std::vector<float> constant{5.0F, 5.0F, 5.0F};
    const ringdb::ScalarQuantizedVector q = ringdb::quantize_scalar(constant);
    CHECK(q.min == 5.0F);
    CHECK(q.max == 5.0F);
    CHECK(q.codes == std::vector<std::uint8_t>{0, 0, 0});
    CHECK(ringdb::dequantize_scalar(q) == constant);
    const std::vector<float> query{1.0F, 2.0F, 3.0F};
    // The reference engine used only the first query element here ((1 - 5)^2 * 3 = 48).
    CHECK(*ringdb::sq_euclidean_distance_sq(query, q) == 16.0F + 9.0F + 4.0F);
    CHECK(*ringdb::sq_dot_product(query, q) == 30.0F);
}

TEST_CASE("vector: little-endian f32 round trip and length checks", "[vector]") {
    const std::vector<float> values{1.5F, -2.0F, std::numeric_limits<float>::infinity()};
    std::vector<std::byte> bytes(12, std::byte{0x11});
    REQUIRE(ringdb::write_f32_le(bytes, values).has_value());
    CHECK(bytes[0] == std::byte{0x00});
    CHECK(bytes[3] == std::byte{0x3F});  // 1.5f = 0x3FC00000
    CHECK(*ringdb::read_f32_le(bytes) == values);
    std::vector<std::byte> short_target(11, std::byte{0x11});
    auto refused = ringdb::write_f32_le(short_target, values);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == Errc::invalid_argument);
    CHECK(short_target == std::vector<std::byte>(11, std::byte{0x11}));
    CHECK(ringdb::read_f32_le(std::span<const std::byte>(bytes).first(7)).error().code ==
          Errc::invalid_argument);
}

namespace {

ringdb::Database create_vector_db(const std::string& path) {
    auto db = ringdb::sync_wait(ringdb::Database::create(path));
    REQUIRE(db.has_value());
    return std::move(*db);
}

}  // namespace

TEST_CASE("vector types: stored in tables, read back after reopen", "[vector][integration]") {
    constexpr ringdb::TableDefinition<std::uint64_t, ringdb::FixedVec<4>> kFixed("fixed");
    constexpr ringdb::TableDefinition<std::uint64_t, ringdb::DynVec> kDyn("dyn");
    constexpr ringdb::TableDefinition<std::uint64_t, ringdb::BinaryQuantized<2>> kBits("bits");
    constexpr ringdb::TableDefinition<std::uint64_t, ringdb::ScalarQuantized<4>> kSq("sq");
    ringdb::test::TempDir dir;
    const std::string path = dir.file("db");
    const ringdb::FixedVec<4> fixed{{1.0F, -2.5F, 0.0F, 1e30F}};
    const ringdb::DynVec three{{0.5F, 0.25F, -8.0F}};
    const ringdb::BinaryQuantized<2> bits{{0xA5, 0x0F}};
    const ringdb::ScalarQuantized<4> sq{-1.0F, 1.0F, {0, 64, 128, 255}};
    {
        auto db = create_vector_db(path);
        auto txn = ringdb::sync_wait(db.begin_write());
        REQUIRE(txn.has_value());
        {
            auto t = ringdb::sync_wait(txn->open_table(kFixed));
            REQUIRE(ringdb::sync_wait(t->insert(1, fixed)).has_value());
            // insert_reserve fills a FixedVec in place.
            auto reserved = ringdb::sync_wait(t->insert_reserve(2, 16));
            REQUIRE(reserved.has_value());
            const float values[4] = {9.0F, 8.0F, 7.0F, 6.0F};
            REQUIRE(ringdb::write_f32_le(reserved->as_mut(), values).has_value());
            REQUIRE(ringdb::sync_wait(reserved->finish()).has_value());
            auto wrong = ringdb::sync_wait(t->insert_reserve(3, 12));
            REQUIRE_FALSE(wrong.has_value());
            CHECK(wrong.error().code == Errc::invalid_argument);
        }
        {
            auto t = ringdb::sync_wait(txn->open_table(kDyn));
            REQUIRE(ringdb::sync_wait(t->insert(1, three)).has_value());
            REQUIRE(ringdb::sync_wait(t->insert(2, ringdb::DynVec{})).has_value());
        }
        {
            auto t = ringdb::sync_wait(txn->open_table(kBits));
            REQUIRE(ringdb::sync_wait(t->insert(1, bits)).has_value());
        }
        {
            auto t = ringdb::sync_wait(txn->open_table(kSq));
            REQUIRE(ringdb::sync_wait(t->insert(1, sq)).has_value());
        }
        REQUIRE(ringdb::sync_wait(txn->commit()).has_value());
        REQUIRE(ringdb::sync_wait(db.close()).has_value());
    }
    auto db = ringdb::sync_wait(ringdb::Database::open(path));
    REQUIRE(db.has_value());
    auto read = db->begin_read();
    REQUIRE(read.has_value());
    auto f = ringdb::sync_wait(read->open_table(kFixed));
    REQUIRE(f.has_value());
    CHECK(ringdb::sync_wait(f->get(1)).value()->value().value() == fixed);
    const ringdb::FixedVec<4> reserved{{9.0F, 8.0F, 7.0F, 6.0F}};
    CHECK(ringdb::sync_wait(f->get(2)).value()->value().value() == reserved);
    auto d = ringdb::sync_wait(read->open_table(kDyn));
    CHECK(ringdb::sync_wait(d->get(1)).value()->value().value() == three);
    CHECK(ringdb::sync_wait(d->get(2)).value()->value().value().values.empty());
    auto b = ringdb::sync_wait(read->open_table(kBits));
    CHECK(ringdb::sync_wait(b->get(1)).value()->value().value() == bits);
    auto s = ringdb::sync_wait(read->open_table(kSq));
    const ringdb::ScalarQuantized<4> got = ringdb::sync_wait(s->get(1)).value()->value().value();
    CHECK(got == sq);
    CHECK(got.dequantize()[3] == 1.0F);
    // A table of one vector type does not open as another.
    constexpr ringdb::TableDefinition<std::uint64_t, ringdb::FixedVec<5>> kFive("fixed");
    auto mismatch = ringdb::sync_wait(read->open_table(kFive));
    REQUIRE_FALSE(mismatch.has_value());
    CHECK(mismatch.error().code == Errc::table_type_mismatch);
}

TEST_CASE("vector types: encodings, names and malformed bytes", "[vector]") {
    using ringdb::Codec;
    CHECK(Codec<ringdb::FixedVec<3>>::type_name() ==
          ringdb::TypeName::builtin("redb::vec::FixedVec<3>"));
    CHECK(Codec<ringdb::DynVec>::type_name() == ringdb::TypeName::builtin("redb::vec::DynVec"));
    CHECK(Codec<ringdb::BinaryQuantized<16>>::type_name() ==
          ringdb::TypeName::builtin("redb::vec::BinaryQuantized<16>"));
    CHECK(Codec<ringdb::ScalarQuantized<8>>::type_name() ==
          ringdb::TypeName::builtin("redb::vec::ScalarQuantized<8>"));
    CHECK(Codec<ringdb::FixedVec<3>>::fixed_width == 12U);
    CHECK(Codec<ringdb::ScalarQuantized<8>>::fixed_width == 16U);
    CHECK(Codec<ringdb::BinaryQuantized<16>>::fixed_width == 16U);
    CHECK_FALSE(Codec<ringdb::DynVec>::fixed_width.has_value());

    const ringdb::ScalarQuantized<2> sq{1.5F, -2.0F, {7, 9}};
    const ringdb::Bytes bytes = ringdb::encode(sq);
    const ringdb::Bytes expected{std::byte{0x00}, std::byte{0x00}, std::byte{0xC0},
                                 std::byte{0x3F}, std::byte{0x00}, std::byte{0x00},
                                 std::byte{0x00}, std::byte{0xC0}, std::byte{7},
                                 std::byte{9}};
    CHECK(bytes == expected);
    CHECK(ringdb::decode<ringdb::ScalarQuantized<2>>(bytes).value() == sq);

    const ringdb::Bytes seven(7);
    CHECK(ringdb::decode<ringdb::FixedVec<2>>(seven).error().code == Errc::corrupted);
    CHECK(ringdb::decode<ringdb::DynVec>(seven).error().code == Errc::corrupted);
    CHECK(ringdb::decode<ringdb::BinaryQuantized<8>>(seven).error().code == Errc::corrupted);
    CHECK(ringdb::decode<ringdb::ScalarQuantized<2>>(seven).error().code == Errc::corrupted);
    CHECK(ringdb::decode<ringdb::DynVec>(ringdb::Bytes{}).value().values.empty());
}

namespace {

using Embedding = ringdb::FixedVec<8>;
constexpr ringdb::TableDefinition<std::uint64_t, Embedding> kEmbeddings("embeddings");

std::vector<ringdb::Neighbor<std::uint64_t>> brute_force(
        const std::map<std::uint64_t, Embedding>& model, std::span<const float> query,
        std::size_t k, ringdb::DistanceMetric metric, bool even_only = false) {
    std::vector<ringdb::Neighbor<std::uint64_t>> all;
    for (const auto& [key, vector] : model) {
        if (!even_only || key % 2 == 0) {
            all.push_back({key, *ringdb::distance(metric, query, vector.span())});
        }
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        return a.distance != b.distance ? a.distance < b.distance : a.key < b.key;
    });
    all.resize(std::min(k, all.size()));
    return all;
}

void check_same(const std::vector<ringdb::Neighbor<std::uint64_t>>& got,
                const std::vector<ringdb::Neighbor<std::uint64_t>>& expected) {
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("rank " << i);
        CHECK(got[i].key == expected[i].key);
        CHECK(got[i].distance == expected[i].distance);
    }
}

Embedding random_embedding(std::mt19937_64& rng) {
    std::uniform_int_distribution<int> coarse(-3, 3);  // coarse values: many equal distances
    Embedding e;
    for (float& x : e.values) {
        x = static_cast<float>(coarse(rng)) * 0.5F;
    }
    return e;
}

}  // namespace

TEST_CASE("nearest_k: agrees with brute force, also after reopen and in an old snapshot",
          "[vector][integration]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    const std::string path = dir.file("db");
    std::map<std::uint64_t, Embedding> model;
    auto db = create_vector_db(path);
    {
        auto txn = ringdb::sync_wait(db.begin_write());
        auto table = ringdb::sync_wait(txn->open_table(kEmbeddings));
        for (std::uint64_t key = 0; key < 400; ++key) {
            model[key] = random_embedding(rng);
            REQUIRE(ringdb::sync_wait(table->insert(key, model[key])).has_value());
        }
        REQUIRE(ringdb::sync_wait(txn->commit()).has_value());
    }
    auto search = [&](ringdb::Database& on, ringdb::DistanceMetric metric,
                      std::span<const float> query, std::size_t k, bool even_only) {
        auto read = on.begin_read();
        REQUIRE(read.has_value());
        auto table = ringdb::sync_wait(read->open_table(kEmbeddings));
        REQUIRE(table.has_value());
        auto range = table->iter();
        REQUIRE(range.has_value());
        auto even = [even_only](const std::uint64_t& key, const Embedding&) {
            return !even_only || key % 2 == 0;
        };
        auto found = ringdb::sync_wait(ringdb::nearest_k_if(*range, query, k, metric, even));
        REQUIRE(found.has_value());
        return std::move(*found);
    };
    const ringdb::DistanceMetric metrics[] = {
            ringdb::DistanceMetric::cosine, ringdb::DistanceMetric::euclidean_sq,
            ringdb::DistanceMetric::dot_product, ringdb::DistanceMetric::manhattan};
    for (int round = 0; round < 8; ++round) {
        const Embedding query = random_embedding(rng);
        for (auto metric : metrics) {
            for (std::size_t k : {std::size_t{1}, std::size_t{10}, std::size_t{400},
                                  std::size_t{1000}}) {
                INFO("metric " << ringdb::to_string(metric) << ", k " << k);
                check_same(search(db, metric, query.span(), k, false),
                           brute_force(model, query.span(), k, metric));
                check_same(search(db, metric, query.span(), k, true),
                           brute_force(model, query.span(), k, metric, true));
            }
        }
    }
    // An old snapshot keeps its answer while a writer changes the table.
    const Embedding query = random_embedding(rng);
    const auto before = brute_force(model, query.span(), 20, ringdb::DistanceMetric::euclidean_sq);
    auto old = db.begin_read();
    REQUIRE(old.has_value());
    auto old_table = ringdb::sync_wait(old->open_table(kEmbeddings));
    {
        auto txn = ringdb::sync_wait(db.begin_write());
        auto table = ringdb::sync_wait(txn->open_table(kEmbeddings));
        for (const auto& neighbor : before) {
            REQUIRE(ringdb::sync_wait(table->remove(neighbor.key)).has_value());
            model.erase(neighbor.key);
        }
        REQUIRE(ringdb::sync_wait(txn->commit()).has_value());
    }
    auto old_range = old_table->iter();
    auto from_old = ringdb::sync_wait(
            ringdb::nearest_k(*old_range, query.span(), 20, ringdb::DistanceMetric::euclidean_sq));
    REQUIRE(from_old.has_value());
    check_same(*from_old, before);
    REQUIRE(ringdb::sync_wait(db.close()).has_value());
    auto reopened = ringdb::sync_wait(ringdb::Database::open(path));
    REQUIRE(reopened.has_value());
    check_same(search(*reopened, ringdb::DistanceMetric::euclidean_sq, query.span(), 20, false),
               brute_force(model, query.span(), 20, ringdb::DistanceMetric::euclidean_sq));
}

TEST_CASE("nearest_k: bad input and edge cases", "[vector][integration]") {
    constexpr ringdb::TableDefinition<std::string, ringdb::DynVec> kRows("rows");
    ringdb::test::TempDir dir;
    auto db = create_vector_db(dir.file("db"));
    auto txn = ringdb::sync_wait(db.begin_write());
    auto table = ringdb::sync_wait(txn->open_table(kRows));
    REQUIRE(table.has_value());
    const std::vector<float> query{1.0F, 0.0F};
    {
        auto range = table->iter();
        auto empty = ringdb::sync_wait(
                ringdb::nearest_k(*range, query, 5, ringdb::DistanceMetric::cosine));
        REQUIRE(empty.has_value());
        CHECK(empty->empty());
    }
    REQUIRE(ringdb::sync_wait(table->insert("a", ringdb::DynVec{{1.0F, 0.0F}})).has_value());
    REQUIRE(ringdb::sync_wait(table->insert("b", ringdb::DynVec{{0.0F, 1.0F}})).has_value());
    {
        auto range = table->iter();
        auto none = ringdb::sync_wait(
                ringdb::nearest_k(*range, query, 0, ringdb::DistanceMetric::cosine));
        REQUIRE(none.has_value());
        CHECK(none->empty());
    }
    {
        auto range = table->iter();
        auto both = ringdb::sync_wait(
                ringdb::nearest_k(*range, query, 9, ringdb::DistanceMetric::cosine));
        REQUIRE(both.has_value());
        REQUIRE(both->size() == 2);
        CHECK((*both)[0].key == "a");
        CHECK((*both)[0].distance == 0.0F);
        CHECK((*both)[1].key == "b");
        CHECK((*both)[1].distance == 1.0F);
    }
    {
        const std::vector<float> nan_query{std::numeric_limits<float>::quiet_NaN(), 0.0F};
        auto range = table->iter();
        auto refused = ringdb::sync_wait(
                ringdb::nearest_k(*range, nan_query, 1, ringdb::DistanceMetric::cosine));
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == Errc::invalid_argument);
    }
    REQUIRE(ringdb::sync_wait(table->insert("c", ringdb::DynVec{{1.0F, 2.0F, 3.0F}})).has_value());
    {
        auto range = table->iter();
        auto mismatch = ringdb::sync_wait(
                ringdb::nearest_k(*range, query, 1, ringdb::DistanceMetric::euclidean_sq));
        REQUIRE_FALSE(mismatch.has_value());
        CHECK(mismatch.error().code == Errc::invalid_argument);
        CHECK(mismatch.error().detail == 3);
    }
    // A stored NaN ranks last.
    REQUIRE(ringdb::sync_wait(table->remove("c")).has_value());
    const float nan = std::numeric_limits<float>::quiet_NaN();
    REQUIRE(ringdb::sync_wait(table->insert("0", ringdb::DynVec{{nan, 0.0F}})).has_value());
    {
        auto range = table->iter();
        auto ranked = ringdb::sync_wait(
                ringdb::nearest_k(*range, query, 3, ringdb::DistanceMetric::euclidean_sq));
        REQUIRE(ranked.has_value());
        REQUIRE(ranked->size() == 3);
        CHECK((*ranked)[0].key == "a");
        CHECK((*ranked)[1].key == "b");
        CHECK((*ranked)[2].key == "0");
    }
}

namespace {

// The values stored under `key`, in the multimap's order, as their encoded bytes.
template <class Table>
std::vector<ringdb::Bytes> multimap_values(Table& table, std::uint64_t key) {
    auto values = ringdb::sync_wait(table.get(key));
    REQUIRE(values.has_value());
    std::vector<ringdb::Bytes> out;
    while (true) {
        auto value = ringdb::sync_wait(values->next());
        REQUIRE(value.has_value());
        if (!*value) {
            break;
        }
        out.emplace_back((*value)->bytes().begin(), (*value)->bytes().end());
    }
    return out;
}

}  // namespace

TEST_CASE("vector types: multimap values, unique per key in byte order", "[vector][integration]") {
    constexpr ringdb::MultimapTableDefinition<std::uint64_t, ringdb::FixedVec<2>> kFixed("mf");
    constexpr ringdb::MultimapTableDefinition<std::uint64_t, ringdb::DynVec> kDyn("md");
    constexpr ringdb::MultimapTableDefinition<std::uint64_t, ringdb::BinaryQuantized<2>> kBits(
            "mb");
    ringdb::test::TempDir dir;
    const std::string path = dir.file("db");
    const std::vector<ringdb::FixedVec<2>> fixed{{{1.0F, 2.0F}}, {{-1.0F, 0.5F}}, {{0.0F, 0.0F}}};
    {
        auto db = create_vector_db(path);
        auto txn = ringdb::sync_wait(db.begin_write());
        auto f = ringdb::sync_wait(txn->open_multimap_table(kFixed));
        auto d = ringdb::sync_wait(txn->open_multimap_table(kDyn));
        auto b = ringdb::sync_wait(txn->open_multimap_table(kBits));
        REQUIRE((f.has_value() && d.has_value() && b.has_value()));
        for (const auto& v : fixed) {
            CHECK_FALSE(*ringdb::sync_wait(f->insert(7, v)));
        }
        CHECK(*ringdb::sync_wait(f->insert(7, fixed[1])));  // already there
        CHECK_FALSE(*ringdb::sync_wait(d->insert(1, ringdb::DynVec{{1.0F}})));
        CHECK_FALSE(*ringdb::sync_wait(d->insert(1, ringdb::DynVec{{1.0F, 2.0F, 3.0F}})));
        CHECK_FALSE(*ringdb::sync_wait(b->insert(2, ringdb::BinaryQuantized<2>{{0xFF, 0x00}})));
        CHECK_FALSE(*ringdb::sync_wait(b->insert(2, ringdb::BinaryQuantized<2>{{0x0F, 0x01}})));
        CHECK(*ringdb::sync_wait(f->remove(7, fixed[2])));
        REQUIRE(ringdb::sync_wait(txn->commit()).has_value());
        REQUIRE(ringdb::sync_wait(db.close()).has_value());
    }
    auto db = ringdb::sync_wait(ringdb::Database::open(path));
    REQUIRE(db.has_value());
    auto read = db->begin_read();
    auto f = ringdb::sync_wait(read->open_multimap_table(kFixed));
    auto d = ringdb::sync_wait(read->open_multimap_table(kDyn));
    auto b = ringdb::sync_wait(read->open_multimap_table(kBits));
    REQUIRE((f.has_value() && d.has_value() && b.has_value()));
    std::vector<ringdb::Bytes> expected{ringdb::encode(fixed[0]), ringdb::encode(fixed[1])};
    std::sort(expected.begin(), expected.end());  // byte order
    CHECK(multimap_values(*f, 7) == expected);
    const auto dyn = multimap_values(*d, 1);
    REQUIRE(dyn.size() == 2);
    CHECK(dyn[0].size() == 4);  // a prefix sorts first
    CHECK(dyn[1].size() == 12);
    const auto bits = multimap_values(*b, 2);
    REQUIRE(bits.size() == 2);
    CHECK(bits[0][0] == std::byte{0x0F});
    CHECK(bits[1][0] == std::byte{0xFF});
}
