// Value compression (docs/compression.md): round trips of every kind of value through LZ4 and
// zstd databases, the file's setting surviving reopen, compression working with the rest of
// the API (ranges, savepoints, insert_reserve, merges, TTL, multimaps, vectors, compaction,
// verification, group commit, read-only handles), bad settings, and damaged envelopes.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <string_view>

#include <ringdb/ringdb.hpp>

#include "engine/compression/value_envelope.hpp"
#include "io/file_fixture.hpp"
#include "sim_workload.hpp"

using ringdb::Compression;
using ringdb::CompressionAlgorithm;
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::string> kDocs("docs");
constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kNumbers("numbers");

/// Text that compresses: JSON-like records with repeating field names.
std::string document(std::uint64_t i, std::size_t size) {
    std::string out;
    while (out.size() < size) {
        out += R"({"id":)" + std::to_string(i) + R"(,"name":"user)" + std::to_string(i % 97) +
               R"(","active":true,"tags":["alpha","beta"]})";
    }
    out.resize(size);
    return out;
}

ringdb::DatabaseOptions compressed(CompressionAlgorithm algorithm, int level = 3) {
    ringdb::DatabaseOptions options;
    options.compression = Compression{algorithm, level, 64};
    return options;
}

std::uintmax_t fill_and_measure(const std::string& path, ringdb::DatabaseOptions options) {
    options.log_size = 0;  // the values' pages only
    auto db = sync_wait(ringdb::Database::create(path, options));
    REQUIRE(db.has_value());
    auto txn = sync_wait(db->begin_write());
    {
        auto t = sync_wait(txn->open_table(kDocs));
        for (std::uint64_t i = 0; i < 100; ++i) {
            REQUIRE(sync_wait(t->insert(i, document(i, 4096))).has_value());
        }
    }
    REQUIRE(sync_wait(txn->commit()).has_value());
    REQUIRE(sync_wait(db->close()).has_value());
    return std::filesystem::file_size(path);
}

}  // namespace

TEST_CASE("compression: values round trip and the file's setting wins on reopen",
          "[compression][integration]") {
    const auto algorithm = GENERATE(CompressionAlgorithm::lz4, CompressionAlgorithm::zstd);
    ringdb::test::TempDir dir;
    const std::string plain = dir.file("plain");
    const std::string path = dir.file("db");
    const auto plain_size = fill_and_measure(plain, ringdb::DatabaseOptions{});
    const auto size = fill_and_measure(path, compressed(algorithm));
    INFO("plain " << plain_size << " compressed " << size);
    CHECK(size * 2 < plain_size);
    // Reopened with other options: the file's compression is kept.
    auto db = sync_wait(ringdb::Database::open(path, ringdb::DatabaseOptions{}));
    REQUIRE(db.has_value());
    CHECK(db->compression().algorithm == algorithm);
    CHECK(db->compression().level == 3);
    CHECK(db->compression().min_size == 64);
    {
        auto txn = sync_wait(db->begin_write());
        auto t = sync_wait(txn->open_table(kDocs));
        // Short values (kept raw), empty values, large values, fixed-width values.
        REQUIRE(sync_wait(t->insert(1000, "short")).has_value());
        REQUIRE(sync_wait(t->insert(1001, "")).has_value());
        REQUIRE(sync_wait(t->insert(1002, document(7, 256 * 1024))).has_value());
        auto previous = sync_wait(t->insert(5, "replaced")).value();
        CHECK(*previous->value() == document(5, 4096));
        auto n = sync_wait(txn->open_table(kNumbers));
        REQUIRE(sync_wait(n->insert(1, 42)).has_value());
        REQUIRE(sync_wait(txn->commit()).has_value());
    }
    auto read = db->begin_read();
    auto t = sync_wait(read->open_table(kDocs));
    CHECK(*sync_wait(t->get(0)).value()->value() == document(0, 4096));
    CHECK(*sync_wait(t->get(99)).value()->value() == document(99, 4096));
    CHECK(*sync_wait(t->get(5)).value()->value() == "replaced");
    CHECK(*sync_wait(t->get(1000)).value()->value() == "short");
    CHECK(sync_wait(t->get(1001)).value()->value()->empty());
    CHECK(*sync_wait(t->get(1002)).value()->value() == document(7, 256 * 1024));
    CHECK(*sync_wait(sync_wait(read->open_table(kNumbers))->get(1)).value()->value() == 42);
    // Ranges from both ends, first and last.
    auto range = t->range(ringdb::Bound<std::uint64_t>::included(10),
                          ringdb::Bound<std::uint64_t>::excluded(20));
    std::uint64_t expected = 10;
    for (;;) {
        auto entry = sync_wait(range->next());
        REQUIRE(entry.has_value());
        if (!*entry) {
            break;
        }
        CHECK(*(*entry)->key.value() == expected);
        CHECK(*(*entry)->value.value() == document(expected, 4096));
        ++expected;
    }
    CHECK(expected == 20);
    CHECK(*sync_wait(t->last()).value()->value.value() == document(7, 256 * 1024));
    CHECK(*sync_wait(t->first()).value()->value.value() == document(0, 4096));
    auto report = sync_wait(db->verify_integrity());
    REQUIRE(report.has_value());
    CHECK(report->valid);
}

TEST_CASE("compression: works with the rest of the API", "[compression][integration]") {
    ringdb::test::TempDir dir;
    const std::string path = dir.file("db");
    auto db = sync_wait(ringdb::Database::create(path, compressed(CompressionAlgorithm::zstd)));
    REQUIRE(db.has_value());
    {
        auto txn = sync_wait(db->begin_write());
        auto t = sync_wait(txn->open_table(kDocs));
        for (std::uint64_t i = 0; i < 50; ++i) {
            REQUIRE(sync_wait(t->insert(i, document(i, 2000))).has_value());
        }
        REQUIRE(sync_wait(txn->commit()).has_value());
    }
    SECTION("savepoint restore brings back removed values") {
        auto txn = sync_wait(db->begin_write());
        auto savepoint = sync_wait(txn->ephemeral_savepoint());
        REQUIRE(savepoint.has_value());
        {
            auto t = sync_wait(txn->open_table(kDocs));
            CHECK(*sync_wait(t->remove(3)).value()->value() == document(3, 2000));
            CHECK(*sync_wait(t->pop_first()).value()->value.value() == document(0, 2000));
        }
        REQUIRE(sync_wait(txn->restore_savepoint(*savepoint)).has_value());
        auto t = sync_wait(txn->open_table(kDocs));
        CHECK(*sync_wait(t->get(3)).value()->value() == document(3, 2000));
        auto persistent = sync_wait(txn->persistent_savepoint());
        CHECK_FALSE(persistent.has_value());  // the transaction is dirty; not a compression rule
    }
    SECTION("insert_reserve, merges, extract and retain see plain values") {
        auto txn = sync_wait(db->begin_write());
        auto t = sync_wait(txn->open_table(kDocs));
        auto reserved = sync_wait(t->insert_reserve(100, 300));
        REQUIRE(reserved.has_value());
        const std::string text = document(100, 300);
        std::memcpy(reserved->as_mut().data(), text.data(), text.size());
        REQUIRE(sync_wait(reserved->finish()).has_value());
        CHECK(*sync_wait(t->get(100)).value()->value() == text);
        const auto append = ringdb::MergeOperator::bytes_append();
        REQUIRE(sync_wait(t->merge_in(1, std::string(500, 'z'), append)).has_value());
        CHECK(*sync_wait(t->get(1)).value()->value() == document(1, 2000) + std::string(500, 'z'));
        auto removed = sync_wait(t->retain([](std::uint64_t key, const std::string& value) {
            return key % 2 == 0 || value.size() > 2000;
        }));
        CHECK(removed.value() == 24);  // odd keys below 50 except 1 (grown by the merge)
        REQUIRE(sync_wait(txn->commit()).has_value());
    }
    SECTION("TTL tables, multimaps and vectors in a compressed database") {
        constexpr ringdb::TtlTableDefinition<std::uint64_t, std::string> kTtl("ttl");
        constexpr ringdb::MultimapTableDefinition<std::uint64_t, std::string> kMulti("multi");
        constexpr ringdb::TableDefinition<std::uint64_t, ringdb::DynVec> kVectors("vectors");
        auto txn = sync_wait(db->begin_write());
        {
            auto ttl = sync_wait(txn->open_ttl_table(kTtl));
            REQUIRE(sync_wait(ttl->insert_with_ttl(1, document(1, 1000),
                                                   std::chrono::hours(1)))
                            .has_value());
            REQUIRE(sync_wait(ttl->insert_with_ttl(2, document(2, 1000),
                                                   std::chrono::milliseconds(0)))
                            .has_value());
            CHECK(*sync_wait(ttl->get(1)).value()->value() == document(1, 1000));
            CHECK(sync_wait(ttl->purge_expired()).value() == 1);
            auto multi = sync_wait(txn->open_multimap_table(kMulti));
            REQUIRE(sync_wait(multi->insert(1, document(5, 900))).has_value());
            REQUIRE(sync_wait(multi->insert(1, document(6, 900))).has_value());
            auto vectors = sync_wait(txn->open_table(kVectors));
            REQUIRE(sync_wait(vectors->insert(1, ringdb::DynVec{{1.0F, 0.0F}})).has_value());
            REQUIRE(sync_wait(vectors->insert(2, ringdb::DynVec{{0.0F, 1.0F}})).has_value());
        }
        REQUIRE(sync_wait(txn->commit()).has_value());
        auto read = db->begin_read();
        auto multi = sync_wait(read->open_multimap_table(kMulti));
        auto values = sync_wait(multi->get(1));
        REQUIRE(values.has_value());
        auto first = sync_wait(values->next());
        CHECK(*(*first)->value() == document(5, 900));
        auto vectors = sync_wait(read->open_table(kVectors));
        const std::vector<float> query{0.9F, 0.1F};
        auto all = vectors->iter();
        auto near = sync_wait(ringdb::nearest_k(*all, query, 1,
                                                ringdb::DistanceMetric::euclidean_sq));
        REQUIRE(near.has_value());
        CHECK(near->at(0).key == 1);
    }
    SECTION("non-durable commits, compaction, read-only reopen") {
        {
            auto txn = sync_wait(db->begin_write());
            txn->set_durability(ringdb::Durability::none);
            auto t = sync_wait(txn->open_table(kDocs));
            for (std::uint64_t i = 0; i < 45; ++i) {
                REQUIRE(sync_wait(t->remove(i)).has_value());
            }
            REQUIRE(sync_wait(txn->commit()).has_value());
        }
        {
            auto read = db->begin_read();
            auto t = sync_wait(read->open_table(kDocs));
            CHECK(t->len() == 5);
        }
        auto txn = sync_wait(db->begin_write());
        REQUIRE(sync_wait(txn->commit()).has_value());
        REQUIRE(sync_wait(db->compact()).has_value());
        REQUIRE(sync_wait(db->close()).has_value());
        auto ro = sync_wait(ringdb::ReadOnlyDatabase::open(path));
        REQUIRE(ro.has_value());
        auto read = ro->begin_read();
        auto t = sync_wait(read->open_table(kDocs));
        CHECK(*sync_wait(t->get(49)).value()->value() == document(49, 2000));
        CHECK(t->len() == 5);
    }
}

TEST_CASE("compression: group-commit batches", "[compression][integration]") {
    ringdb::test::TempDir dir;
    auto db = sync_wait(ringdb::Database::create(dir.file("db"),
                                                 compressed(CompressionAlgorithm::lz4, 1)));
    for (std::uint64_t b = 0; b < 8; ++b) {
        auto done = sync_wait(db->submit_write_batch(
                [b](ringdb::WriteTransaction& txn) -> ringdb::Task<ringdb::Status> {
                    auto t = co_await txn.open_table(kDocs);
                    if (!t) {
                        co_return t.error();
                    }
                    const std::string value = document(b, 3000);
                    auto inserted = co_await t->insert(b, value);
                    if (!inserted) {
                        co_return inserted.error();
                    }
                    co_return ringdb::ok();
                }));
        REQUIRE(done.has_value());
    }
    auto read = db->begin_read();
    auto t = sync_wait(read->open_table(kDocs));
    for (std::uint64_t b = 0; b < 8; ++b) {
        CHECK(*sync_wait(t->get(b)).value()->value() == document(b, 3000));
    }
}

TEST_CASE("compression: bad settings are refused before a file is made",
          "[compression][integration]") {
    ringdb::test::TempDir dir;
    const std::string path = dir.file("db");
    for (Compression bad : {Compression{CompressionAlgorithm::zstd, 0, 64},
                            Compression{CompressionAlgorithm::zstd, 23, 64},
                            Compression{CompressionAlgorithm::lz4, 13, 64},
                            Compression{static_cast<CompressionAlgorithm>(7), 3, 64}}) {
        ringdb::DatabaseOptions options;
        options.compression = bad;
        auto db = sync_wait(ringdb::Database::create(path, options));
        REQUIRE_FALSE(db.has_value());
        CHECK(db.error().code == Errc::invalid_argument);
        CHECK_FALSE(std::filesystem::exists(path));
    }
}

TEST_CASE("compression: damaged envelopes are corrupted, never a crash or a bomb",
          "[compression]") {
    using ringdb::engine::ValueEnvelope;
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    for (auto algorithm : {CompressionAlgorithm::lz4, CompressionAlgorithm::zstd}) {
        const ValueEnvelope envelope(Compression{algorithm, 3, 64});
        const std::string text = document(3, 5000);
        const ringdb::ByteView value(reinterpret_cast<const std::byte*>(text.data()),
                                     text.size());
        ringdb::Bytes stored;
        envelope.wrap(value, stored);
        REQUIRE(stored.size() < text.size() / 2);
        ringdb::Bytes out;
        auto back = envelope.unwrap(stored, out);
        REQUIRE(back.has_value());
        CHECK(std::equal(back->begin(), back->end(), value.begin(), value.end()));
        // Truncations, an unknown tag, a length claiming 3 GiB.
        for (std::size_t cut :
             {std::size_t{1}, std::size_t{3}, std::size_t{5}, stored.size() - 1}) {
            auto damaged = envelope.unwrap(ringdb::ByteView(stored).first(cut), out);
            CHECK(damaged.error().code == Errc::corrupted);
        }
        ringdb::Bytes tagged = stored;
        tagged[0] = std::byte{0x07};
        CHECK(envelope.unwrap(tagged, out).error().code == Errc::corrupted);
        ringdb::Bytes huge = stored;
        huge[1] = huge[2] = huge[3] = std::byte{0xff};
        huge[4] = std::byte{0xbf};
        CHECK(envelope.unwrap(huge, out).error().code == Errc::corrupted);
        CHECK(out.size() <= 64 * 1024);  // nothing near the claimed size was allocated
        // Random bit flips: corrupted or (a flip the format cannot see) some value; never a
        // crash. Page checksums catch these in a database.
        for (int i = 0; i < 2000; ++i) {
            ringdb::Bytes flipped = stored;
            const std::size_t at = rng() % flipped.size();
            flipped[at] ^= static_cast<std::byte>(1U << (rng() % 8));
            auto result = envelope.unwrap(flipped, out);
            if (result) {
                CHECK(result->size() <= text.size() + 0x1000000);
            }
        }
    }
    // Short and incompressible values are stored raw behind one tag byte; empty stays empty.
    const ValueEnvelope envelope(Compression{CompressionAlgorithm::zstd, 3, 64});
    ringdb::Bytes stored;
    const std::string small = "tiny";
    envelope.wrap(ringdb::ByteView(reinterpret_cast<const std::byte*>(small.data()), 4), stored);
    CHECK(stored.size() == 5);
    CHECK(stored[0] == ValueEnvelope::kRaw);
    envelope.wrap(ringdb::ByteView(), stored);
    CHECK(stored.empty());
    ringdb::Bytes noise(1000);
    for (auto& b : noise) {
        b = static_cast<std::byte>(rng());
    }
    envelope.wrap(noise, stored);
    CHECK(stored.size() == 1001);
}
