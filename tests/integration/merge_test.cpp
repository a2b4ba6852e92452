// Merge operators (<ringdb/merge.hpp>): the built-ins' byte semantics, user operators, errors
// that leave the table unchanged, an operator that throws, merges inside group-commit batches,
// and a seeded model test of every built-in against a std::map.

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"
#include "sim_workload.hpp"

using ringdb::Errc;
using ringdb::MergeOperator;
using ringdb::sync_wait;

namespace {

constexpr ringdb::TableDefinition<std::string_view, std::uint64_t> kCounters("counters");
constexpr ringdb::TableDefinition<std::uint64_t, std::uint8_t> kSmall("small");
constexpr ringdb::TableDefinition<std::uint64_t, std::uint16_t> kMid("mid");
constexpr ringdb::TableDefinition<std::uint64_t, std::string_view> kText("text");
constexpr ringdb::TableDefinition<std::uint64_t, ringdb::ByteView> kRaw("raw");

ringdb::Database make_db(const std::string& path) {
    auto db = sync_wait(ringdb::Database::create(path));
    REQUIRE(db.has_value());
    return std::move(*db);
}

template <class T>
ringdb::Bytes le(T value) {
    return ringdb::encode(value);
}

ringdb::Bytes text(std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return ringdb::Bytes(p, p + s.size());
}

}  // namespace

TEST_CASE("merge: the built-in operators", "[merge][integration]") {
    ringdb::test::TempDir dir;
    auto db = make_db(dir.file("db"));
    auto txn = sync_wait(db.begin_write());
    REQUIRE(txn.has_value());
    auto t = sync_wait(txn->open_table(kCounters));
    REQUIRE(t.has_value());
    const auto add = MergeOperator::numeric_add();
    // No existing value: the operand is stored.
    REQUIRE(sync_wait(t->merge("a", le<std::uint64_t>(100), add)).has_value());
    CHECK(*sync_wait(t->get("a")).value()->value() == 100);
    REQUIRE(sync_wait(t->merge_in("a", 25, add)).has_value());
    CHECK(*sync_wait(t->get("a")).value()->value() == 125);
    // Wrapping add.
    REQUIRE(sync_wait(t->merge_in("a", ~std::uint64_t{0}, add)).has_value());
    CHECK(*sync_wait(t->get("a")).value()->value() == 124);
    // Max keeps 30 against 10 and becomes 50; min the other way round.
    REQUIRE(sync_wait(t->insert("m", 30)).has_value());
    REQUIRE(sync_wait(t->merge_in("m", 10, MergeOperator::numeric_max())).has_value());
    CHECK(*sync_wait(t->get("m")).value()->value() == 30);
    REQUIRE(sync_wait(t->merge_in("m", 50, MergeOperator::numeric_max())).has_value());
    CHECK(*sync_wait(t->get("m")).value()->value() == 50);
    REQUIRE(sync_wait(t->merge_in("m", 70, MergeOperator::numeric_min())).has_value());
    CHECK(*sync_wait(t->get("m")).value()->value() == 50);
    REQUIRE(sync_wait(t->merge_in("m", 10, MergeOperator::numeric_min())).has_value());
    CHECK(*sync_wait(t->get("m")).value()->value() == 10);
    // Sum 1..10 from nothing.
    for (std::uint64_t i = 1; i <= 10; ++i) {
        REQUIRE(sync_wait(t->merge_in("sum", i, add)).has_value());
    }
    CHECK(*sync_wait(t->get("sum")).value()->value() == 55);
    // Other keys are untouched.
    CHECK(t->len() == 3);
    {
        auto small = sync_wait(txn->open_table(kSmall));
        REQUIRE(sync_wait(small->merge_in(1, 200, add)).has_value());
        REQUIRE(sync_wait(small->merge_in(1, 100, add)).has_value());
        CHECK(*sync_wait(small->get(1)).value()->value() == 44);  // (200 + 100) mod 256
        auto mid = sync_wait(txn->open_table(kMid));
        REQUIRE(sync_wait(mid->merge_in(1, 0x0a0a, MergeOperator::bitwise_or())).has_value());
        REQUIRE(sync_wait(mid->merge_in(1, 0x0505, MergeOperator::bitwise_or())).has_value());
        CHECK(*sync_wait(mid->get(1)).value()->value() == 0x0f0f);
        auto s = sync_wait(txn->open_table(kText));
        REQUIRE(sync_wait(s->merge_in(1, "hello", MergeOperator::bytes_append())).has_value());
        REQUIRE(sync_wait(s->merge_in(1, " world", MergeOperator::bytes_append())).has_value());
        CHECK(*sync_wait(s->get(1)).value()->value() == "hello world");
    }
    REQUIRE(sync_wait(txn->commit()).has_value());
    auto read = db.begin_read();
    auto r = sync_wait(read->open_table(kCounters));
    CHECK(*sync_wait(r->get("sum")).value()->value() == 55);
}

TEST_CASE("merge: user operators, removal and errors", "[merge][integration]") {
    ringdb::test::TempDir dir;
    auto db = make_db(dir.file("db"));
    auto txn = sync_wait(db.begin_write());
    auto t = sync_wait(txn->open_table(kCounters));
    const auto multiply = MergeOperator::from_fn(
            [](ringdb::ByteView, std::optional<ringdb::ByteView> existing,
               ringdb::ByteView operand) -> std::optional<ringdb::Bytes> {
                const std::uint64_t a = existing ? *ringdb::decode<std::uint64_t>(*existing) : 1;
                return ringdb::encode<std::uint64_t>(a * *ringdb::decode<std::uint64_t>(operand));
            });
    REQUIRE(sync_wait(t->insert("x", 6)).has_value());
    REQUIRE(sync_wait(t->merge_in("x", 7, multiply)).has_value());
    CHECK(*sync_wait(t->get("x")).value()->value() == 42);
    // The operator sees the key.
    std::string seen;
    const auto record = MergeOperator::from_fn(
            [&seen](ringdb::ByteView key, std::optional<ringdb::ByteView>,
                    ringdb::ByteView operand) -> ringdb::MergeResult {
                seen.assign(reinterpret_cast<const char*>(key.data()), key.size());
                return std::optional<ringdb::Bytes>(ringdb::Bytes(operand.begin(), operand.end()));
            });
    REQUIRE(sync_wait(t->merge_in("key!", 1, record)).has_value());
    CHECK(seen == "key!");
    // Returning none removes the key; on a missing key it does nothing.
    const auto erase = MergeOperator::from_fn(
            [](ringdb::ByteView, std::optional<ringdb::ByteView>,
               ringdb::ByteView) -> std::optional<ringdb::Bytes> { return std::nullopt; });
    REQUIRE(sync_wait(t->merge_in("x", 0, erase)).has_value());
    CHECK_FALSE(sync_wait(t->get("x")).value().has_value());
    REQUIRE(sync_wait(t->merge_in("never", 0, erase)).has_value());
    CHECK(t->len() == 1);

    const auto add = MergeOperator::numeric_add();
    REQUIRE(sync_wait(t->insert("c", 5)).has_value());
    // Width mismatch: invalid_argument, value unchanged.
    auto mismatch = sync_wait(t->merge("c", le<std::uint32_t>(1), add));
    REQUIRE_FALSE(mismatch.has_value());
    CHECK(mismatch.error().code == Errc::invalid_argument);
    CHECK(mismatch.error().detail == ringdb::kMergeWidthMismatch);
    CHECK(*sync_wait(t->get("c")).value()->value() == 5);
    // A result that is not a u64 (3 bytes stored on a missing key).
    auto bad_result = sync_wait(t->merge("d", text("abc"), add));
    REQUIRE_FALSE(bad_result.has_value());
    CHECK(bad_result.error().detail == ringdb::kMergeResultInvalid);
    CHECK_FALSE(sync_wait(t->get("d")).value().has_value());
    {
        // Unsupported width (3 bytes on both sides) on an untyped byte table.
        auto raw = sync_wait(txn->open_table(kRaw));
        const ringdb::Bytes three = text("xyz");
        REQUIRE(sync_wait(raw->insert(1, three)).has_value());
        auto unsupported = sync_wait(raw->merge(1, three, add));
        REQUIRE_FALSE(unsupported.has_value());
        CHECK(unsupported.error().detail == ringdb::kMergeUnsupportedWidth);
        auto or_mismatch = sync_wait(raw->merge(1, text("ab"), MergeOperator::bitwise_or()));
        CHECK(or_mismatch.error().detail == ringdb::kMergeWidthMismatch);
        CHECK(sync_wait(raw->get(1)).value()->bytes().size() == 3);
    }
    // An operator's own error and an exception: the table is unchanged, the transaction goes on.
    const auto refuse = MergeOperator::from_fn(
            [](ringdb::ByteView, std::optional<ringdb::ByteView>,
               ringdb::ByteView) -> ringdb::MergeResult {
                return ringdb::Error{Errc::cancelled};
            });
    CHECK(sync_wait(t->merge_in("c", 1, refuse)).error().code == Errc::cancelled);
    const auto thrower = MergeOperator::from_fn(
            [](ringdb::ByteView, std::optional<ringdb::ByteView>,
               ringdb::ByteView) -> std::optional<ringdb::Bytes> {
                throw std::runtime_error("merge closure failed");
            });
    CHECK_THROWS_WITH(sync_wait(t->merge_in("c", 1, thrower)), "merge closure failed");
    CHECK(*sync_wait(t->get("c")).value()->value() == 5);
    REQUIRE(sync_wait(t->merge_in("c", 1, add)).has_value());
    REQUIRE(sync_wait(txn->commit()).has_value());
    auto read = db.begin_read();
    auto r = sync_wait(read->open_table(kCounters));
    CHECK(*sync_wait(r->get("c")).value()->value() == 6);
    CHECK(r->len() == 2);
}

TEST_CASE("merge: inside group-commit batches", "[merge][integration]") {
    ringdb::test::TempDir dir;
    auto db = make_db(dir.file("db"));
    constexpr int kBatches = 20;
    std::vector<ringdb::Task<ringdb::Status>> pending;
    for (int i = 0; i < kBatches; ++i) {
        pending.push_back(db.submit_write_batch(
                [](ringdb::WriteTransaction& txn) -> ringdb::Task<ringdb::Status> {
                    auto t = co_await txn.open_table(kCounters);
                    if (!t) {
                        co_return t.error();
                    }
                    // Hoisted: no temporary with members inside co_await (docs/coroutines.md).
                    const MergeOperator add = MergeOperator::numeric_add();
                    auto merged = co_await t->merge_in("hits", 1, add);
                    co_return merged;
                }));
    }
    for (auto& task : pending) {
        REQUIRE(sync_wait(std::move(task)).has_value());
    }
    auto read = db.begin_read();
    auto r = sync_wait(read->open_table(kCounters));
    CHECK(*sync_wait(r->get("hits")).value()->value() == kBatches);
}

TEST_CASE("merge: seeded model of every built-in, across commits and reopen",
          "[merge][integration][model]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    const std::string path = dir.file("db");
    constexpr ringdb::TableDefinition<std::uint64_t, std::uint32_t> kNumbers("numbers");
    const MergeOperator ops[] = {MergeOperator::numeric_add(), MergeOperator::numeric_max(),
                                 MergeOperator::numeric_min(), MergeOperator::bitwise_or()};
    std::map<std::uint64_t, std::uint32_t> numbers;
    std::map<std::uint64_t, std::string> texts;
    auto db = make_db(path);
    for (int round = 0; round < 12; ++round) {
        auto txn = sync_wait(db.begin_write());
        REQUIRE(txn.has_value());
        {
            auto n = sync_wait(txn->open_table(kNumbers));
            auto s = sync_wait(txn->open_table(kText));
            for (int i = 0; i < 300; ++i) {
                const std::uint64_t key = rng() % 64;
                const auto operand = static_cast<std::uint32_t>(rng());
                const std::size_t which = rng() % 4;
                REQUIRE(sync_wait(n->merge_in(key, operand, ops[which])).has_value());
                auto found = numbers.find(key);
                if (found == numbers.end()) {
                    numbers[key] = operand;
                } else if (which == 0) {
                    found->second += operand;
                } else if (which == 1) {
                    found->second = std::max(found->second, operand);
                } else if (which == 2) {
                    found->second = std::min(found->second, operand);
                } else {
                    found->second |= operand;
                }
                const std::string piece(1 + rng() % 5, static_cast<char>('a' + rng() % 26));
                REQUIRE(sync_wait(s->merge_in(key, piece, MergeOperator::bytes_append()))
                                .has_value());
                texts[key] += piece;
            }
        }
        REQUIRE(sync_wait(txn->commit()).has_value());
        if (round % 4 == 3) {
            REQUIRE(sync_wait(db.close()).has_value());
            auto reopened = sync_wait(ringdb::Database::open(path));
            REQUIRE(reopened.has_value());
            db = std::move(*reopened);
        }
    }
    auto read = db.begin_read();
    auto n = sync_wait(read->open_table(kNumbers));
    auto s = sync_wait(read->open_table(kText));
    CHECK(n->len() == numbers.size());
    for (const auto& [key, value] : numbers) {
        CHECK(*sync_wait(n->get(key)).value()->value() == value);
        CHECK(*sync_wait(s->get(key)).value()->value() == texts[key]);
    }
}
