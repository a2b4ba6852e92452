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

/// JSON-like records of about `size` bytes whose many field names repeat from record to record
/// but seldom inside one: a record compressed alone gains little from them, a dictionary
/// trained on earlier records a lot.
std::string record(std::uint64_t i, std::size_t size = 1024) {
    static constexpr const char* kFields[] = {
            "customer_identifier", "shipping_address_line", "billing_postal_code",
            "preferred_contact_method", "loyalty_programme_tier", "last_purchase_timestamp",
            "marketing_consent_flag", "account_creation_channel", "average_basket_value",
            "primary_product_category", "secondary_product_category", "referral_source_code",
            "support_ticket_count", "subscription_renewal_date", "payment_instrument_type",
            "delivery_window_preference", "gift_wrapping_requested", "warehouse_region_code",
            "currency_of_settlement", "tax_exemption_certificate", "returns_in_last_year",
            "browser_user_agent_family", "mobile_app_version_seen", "newsletter_topic_list"};
    std::mt19937_64 rng(i);
    std::string out = "{";
    for (std::size_t f = 0; out.size() < size; ++f) {
        out += '"';
        out += kFields[f % std::size(kFields)];
        out += "\":";
        out += std::to_string(rng() % 100000000);
        out += ',';
    }
    out.resize(size);
    return out;
}

constexpr ringdb::TableDefinition<std::uint64_t, std::string> kRecords("records");

/// Writes records [first, last) to kRecords in transactions of `per_commit`.
void write_records(ringdb::Database& db, std::uint64_t first, std::uint64_t last,
                   std::uint64_t per_commit, std::uint64_t salt = 0) {
    for (std::uint64_t begin = first; begin < last; begin += per_commit) {
        auto txn = sync_wait(db.begin_write());
        REQUIRE(txn.has_value());
        auto t = sync_wait(txn->open_table(kRecords));
        REQUIRE(t.has_value());
        for (std::uint64_t i = begin; i < std::min(last, begin + per_commit); ++i) {
            REQUIRE(sync_wait(t->insert(i, record(i + salt))).has_value());
        }
        REQUIRE(sync_wait(txn->commit()).has_value());
    }
}

/// Every record in [first, last) reads back as written.
void check_records(ringdb::Database& db, std::uint64_t first, std::uint64_t last,
                   std::uint64_t salt = 0) {
    auto read = db.begin_read();
    REQUIRE(read.has_value());
    auto t = sync_wait(read->open_table(kRecords));
    REQUIRE(t.has_value());
    for (std::uint64_t i = first; i < last; ++i) {
        auto got = sync_wait(t->get(i));
        REQUIRE(got.has_value());
        REQUIRE(got->has_value());
        REQUIRE(*(*got)->value() == record(i + salt));
    }
}

/// Stored bytes of kRecords.
std::uint64_t records_bytes(ringdb::Database& db) {
    auto read = db.begin_read();
    auto t = sync_wait(read->open_table(kRecords));
    REQUIRE(t.has_value());
    auto stats = sync_wait(t->stats());
    REQUIRE(stats.has_value());
    return stats->stored_bytes;
}

/// Stored bytes of 400 records written 100 per commit to a new database with `options`.
std::uint64_t bytes_of_400(const std::string& path, const ringdb::DatabaseOptions& options) {
    auto db = sync_wait(ringdb::Database::create(path, options));
    REQUIRE(db.has_value());
    write_records(*db, 0, 400, 100);
    check_records(*db, 0, 400);
    const std::uint64_t bytes = records_bytes(*db);
    REQUIRE(sync_wait(db->close()).has_value());
    return bytes;
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

TEST_CASE("compression: a table trains a dictionary from its first values and keeps it",
          "[compression][integration]") {
    const auto algorithm = GENERATE(CompressionAlgorithm::lz4, CompressionAlgorithm::zstd);
    ringdb::test::TempDir dir;
    auto options = compressed(algorithm, algorithm == CompressionAlgorithm::lz4 ? 1 : 3);
    options.dictionary_sample_bytes = 64 * 1024;
    auto without = options;
    without.dictionary_sample_bytes = 0;
    const std::uint64_t plain = bytes_of_400(dir.file("plain"), without);
    const std::string path = dir.file("db");
    // The first commit fills the samples (64 of its 100 records) and trains; the 300 records
    // after it are compressed with the dictionary.
    const std::uint64_t trained = bytes_of_400(path, options);
    INFO("without a dictionary " << plain << " bytes, with " << trained);
    CHECK(trained * 10 < plain * 8);

    // Reopened without sampling: the dictionary comes from the file.
    auto db = sync_wait(ringdb::Database::open(path, without));
    REQUIRE(db.has_value());
    check_records(*db, 0, 400);
    write_records(*db, 400, 500, 100);
    check_records(*db, 0, 500);
    {
        // A value larger than a thread's decode window (16 KiB) decodes straight into its
        // buffer, also with the dictionary.
        auto txn = sync_wait(db->begin_write());
        auto t = sync_wait(txn->open_table(kRecords));
        REQUIRE(sync_wait(t->insert(100000, record(100000, 100 * 1024))).has_value());
        REQUIRE(sync_wait(t->insert(100001, record(100001, 16 * 1024))).has_value());
        REQUIRE(sync_wait(txn->commit()).has_value());
        auto read = db->begin_read();
        auto r = sync_wait(read->open_table(kRecords));
        CHECK(*sync_wait(r->get(100000)).value()->value() == record(100000, 100 * 1024));
        CHECK(*sync_wait(r->get(100001)).value()->value() == record(100001, 16 * 1024));
    }
    CHECK(records_bytes(*db) * 4 * 10 < plain * 5 * 8);  // 500 records, 100 more trained
    {
        // The dictionary table is the engine's: not listed, not reachable by name.
        auto txn = sync_wait(db->begin_write());
        auto names = sync_wait(txn->list_tables());
        REQUIRE(names.has_value());
        CHECK(*names == std::vector<std::string>{"records"});
        const std::string hidden = "\xFF" "dictionaries";
        ringdb::TableDefinition<std::uint64_t, std::string> reserved(hidden);
        CHECK(sync_wait(txn->open_table(reserved)).error().code == Errc::invalid_argument);
        CHECK(sync_wait(txn->delete_table(hidden)).error().code == Errc::invalid_argument);
        CHECK(sync_wait(txn->rename_table(hidden, "mine")).error().code ==
              Errc::invalid_argument);
        txn->abort();
    }
    auto report = sync_wait(db->verify_integrity());
    REQUIRE(report.has_value());
    CHECK(report->valid);

    SECTION("compaction, then a read-only handle, load the dictionary") {
        REQUIRE(sync_wait(db->compact()).has_value());
        check_records(*db, 0, 500);
        REQUIRE(sync_wait(db->close()).has_value());
        auto ro = sync_wait(ringdb::ReadOnlyDatabase::open(path));
        REQUIRE(ro.has_value());
        auto read = ro->begin_read();
        auto t = sync_wait(read->open_table(kRecords));
        REQUIRE(t.has_value());
        for (std::uint64_t i = 0; i < 500; i += 7) {
            CHECK(*sync_wait(t->get(i)).value()->value() == record(i));
        }
        return;
    }
    SECTION("deleting the table removes its dictionary") {
        auto txn = sync_wait(db->begin_write());
        CHECK(sync_wait(txn->delete_table("records")).value());
        REQUIRE(sync_wait(txn->commit()).has_value());
        auto after = sync_wait(db->begin_write());
        auto stats = sync_wait(after->stats());
        REQUIRE(stats.has_value());
        CHECK(stats->stored_bytes == 0);
        after->abort();
    }
    SECTION("a table re-created under the same name trains a new dictionary") {
        {
            auto txn = sync_wait(db->begin_write());
            CHECK(sync_wait(txn->delete_table("records")).value());
            REQUIRE(sync_wait(txn->commit()).has_value());
        }
        REQUIRE(sync_wait(db->close()).has_value());
        auto again = sync_wait(ringdb::Database::open(path, options));
        REQUIRE(again.has_value());
        write_records(*again, 0, 400, 100, 7);
        check_records(*again, 0, 400, 7);
        CHECK(records_bytes(*again) * 10 < plain * 8);
        db = std::move(again);
    }
    REQUIRE(sync_wait(db->close()).has_value());
}

TEST_CASE("compression: dictionaries follow savepoints, and some tables get none",
          "[compression][integration]") {
    ringdb::test::TempDir dir;
    auto options = compressed(CompressionAlgorithm::zstd);
    options.dictionary_sample_bytes = 64 * 1024;
    auto without = options;
    without.dictionary_sample_bytes = 0;

    SECTION("restoring a savepoint taken before the dictionary") {
        auto db = sync_wait(ringdb::Database::create(dir.file("db"), options));
        REQUIRE(db.has_value());
        write_records(*db, 0, 10, 10);
        std::uint64_t id = 0;
        {
            auto txn = sync_wait(db->begin_write());
            id = sync_wait(txn->persistent_savepoint()).value();
            REQUIRE(sync_wait(txn->commit()).has_value());
        }
        write_records(*db, 10, 300, 100);  // trains at the first of these commits
        {
            auto txn = sync_wait(db->begin_write());
            auto savepoint = sync_wait(txn->get_persistent_savepoint(id));
            REQUIRE(savepoint.has_value());
            REQUIRE(sync_wait(txn->restore_savepoint(*savepoint)).has_value());
            REQUIRE(sync_wait(txn->commit()).has_value());
        }
        check_records(*db, 0, 10);
        write_records(*db, 10, 200, 100, 3);
        REQUIRE(sync_wait(db->close()).has_value());
        auto reopened = sync_wait(ringdb::Database::open(dir.file("db"), options));
        REQUIRE(reopened.has_value());
        check_records(*reopened, 0, 10);
        check_records(*reopened, 10, 200, 3);
        auto report = sync_wait(reopened->verify_integrity());
        REQUIRE(report.has_value());
        CHECK(report->valid);
    }
    SECTION("LZ4's high-compression levels, and values a dictionary does not help") {
        for (int level : {1, 9}) {
            auto lz4 = compressed(CompressionAlgorithm::lz4, level);
            lz4.dictionary_sample_bytes = 64 * 1024;
            auto lz4_without = lz4;
            lz4_without.dictionary_sample_bytes = 0;
            const std::uint64_t with = bytes_of_400(dir.file("a" + std::to_string(level)), lz4);
            const std::uint64_t plain =
                    bytes_of_400(dir.file("b" + std::to_string(level)), lz4_without);
            INFO("level " << level);
            if (level == 1) {
                CHECK(with < plain);
            } else {
                CHECK(with == plain);  // no dictionary for LZ4HC
            }
        }
        // Random bytes: the trained dictionary saves nothing and is not kept.
        for (const auto* setting : {&options, &without}) {
            ringdb::test::TempDir noise_dir;
            auto db = sync_wait(ringdb::Database::create(noise_dir.file("db"), *setting));
            REQUIRE(db.has_value());
            std::mt19937_64 rng(11);
            auto txn = sync_wait(db->begin_write());
            auto t = sync_wait(txn->open_table(kRecords));
            for (std::uint64_t i = 0; i < 200; ++i) {
                std::string noise(1024, '\0');
                for (auto& c : noise) {
                    c = static_cast<char>(rng());
                }
                REQUIRE(sync_wait(t->insert(i, noise)).has_value());
            }
            REQUIRE(sync_wait(txn->commit()).has_value());
            auto stats = sync_wait(db->begin_write());
            auto all = sync_wait(stats->stats());
            REQUIRE(all.has_value());
            // No dictionary table entry: only the 200 raw envelopes and their keys.
            CHECK(all->stored_bytes == 200 * (1025 + 8));
            stats->abort();
            REQUIRE(sync_wait(db->close()).has_value());
        }
    }
}

TEST_CASE("compression: envelopes made with a dictionary", "[compression]") {
    using ringdb::engine::CompressionDictionary;
    using ringdb::engine::DictionarySampler;
    using ringdb::engine::ValueEnvelope;
    const std::uint64_t seed = ringdb::test::base_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    for (auto algorithm : {CompressionAlgorithm::lz4, CompressionAlgorithm::zstd}) {
        const Compression config{algorithm, algorithm == CompressionAlgorithm::lz4 ? 1 : 3, 64};
        DictionarySampler sampler(128 * 1024);
        for (std::uint64_t i = 0; !sampler.ready(); ++i) {
            const std::string text = record(i);
            sampler.offer(ringdb::ByteView(reinterpret_cast<const std::byte*>(text.data()),
                                           text.size()));
        }
        auto trained = sampler.train(config);
        REQUIRE(trained.has_value());
        CHECK(sampler.declined());  // one dictionary per sampler
        const std::uint64_t id = ringdb::engine::dictionary_id(*trained);
        CHECK(CompressionDictionary::digest(id + 1, *trained, config).error().code ==
              Errc::corrupted);
        auto dictionary = CompressionDictionary::digest(id, *trained, config);
        REQUIRE(dictionary.has_value());
        const ValueEnvelope with(config, *dictionary);
        const ValueEnvelope alone(config);
        const std::string text = record(100000);
        const ringdb::ByteView value(reinterpret_cast<const std::byte*>(text.data()),
                                     text.size());
        ringdb::Bytes stored;
        ringdb::Bytes single;
        with.wrap(value, stored);
        alone.wrap(value, single);
        CHECK(stored[0] == (algorithm == CompressionAlgorithm::lz4
                                    ? ValueEnvelope::kLz4Dictionary
                                    : ValueEnvelope::kZstdDictionary));
        CHECK(stored.size() * 10 < single.size() * 8);
        ringdb::Bytes out;
        auto back = with.unwrap(stored, out);
        REQUIRE(back.has_value());
        CHECK(std::equal(back->begin(), back->end(), value.begin(), value.end()));
        // Envelopes without a dictionary still read; one with a dictionary tag needs it.
        CHECK(with.unwrap(single, out).has_value());
        CHECK(alone.unwrap(stored, out).error().code == Errc::corrupted);
        for (int i = 0; i < 2000; ++i) {
            ringdb::Bytes flipped = stored;
            const std::size_t at = rng() % flipped.size();
            flipped[at] ^= static_cast<std::byte>(1U << (rng() % 8));
            auto result = with.unwrap(flipped, out);
            if (result) {
                CHECK(result->size() <= text.size() + 0x1000000);
            }
        }
    }
}
