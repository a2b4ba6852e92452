// Table behaviours from the reference engine's test suite, in our own words:
// custom key orders, multi-page keys and values, many pairs in one transaction, reversed and
// switching range iteration, and the table surviving reopen.

#include <string>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"

using ringdb::Bound;
using ringdb::Database;
using ringdb::sync_wait;

namespace behaviour_test {

/// A user key type ordered from largest to smallest.
struct Reversed {
    std::uint64_t v = 0;
};

}  // namespace behaviour_test

template <>
struct ringdb::Codec<behaviour_test::Reversed> {
    static TypeName type_name() { return TypeName::user_defined("behaviour_test::Reversed"); }
    static constexpr std::optional<std::size_t> fixed_width = 8;
    static std::size_t encoded_size(const behaviour_test::Reversed&) { return 8; }
    static void encode(const behaviour_test::Reversed& r, std::span<std::byte> target) {
        Codec<std::uint64_t>::encode(r.v, target);
    }
    static Result<behaviour_test::Reversed> decode(ByteView bytes) {
        auto v = Codec<std::uint64_t>::decode(bytes);
        if (!v) {
            return v.error();
        }
        return behaviour_test::Reversed{*v};
    }
    static int compare(ByteView a, ByteView b) { return Codec<std::uint64_t>::compare(b, a); }
};

namespace {

Database create_db(const std::string& path, std::uint32_t page_size = 4096) {
    ringdb::DatabaseOptions options;
    options.page_size = page_size;
    auto db = sync_wait(Database::create(path, options));
    REQUIRE(db.has_value());
    return std::move(*db);
}

}  // namespace

TEST_CASE("A user-defined key order is used for storage and ranges", "[integration]") {
    constexpr ringdb::TableDefinition<behaviour_test::Reversed, std::uint64_t> kTable("rev");
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    auto txn = sync_wait(db.begin_write());
    auto table = sync_wait(txn->open_table(kTable));
    REQUIRE(table.has_value());
    for (std::uint64_t i = 1; i <= 10; ++i) {
        REQUIRE(sync_wait(table->insert(behaviour_test::Reversed{i}, i * 10)).has_value());
    }
    using B = Bound<behaviour_test::Reversed>;
    auto range = table->range(B::included({7}), B::included({3}));
    std::vector<std::uint64_t> keys;
    for (int step = 0; step < 20; ++step) {
        auto entry = sync_wait(range->next());
        REQUIRE(entry.has_value());
        if (!*entry) {
            break;
        }
        keys.push_back((*entry)->key.value()->v);
    }
    REQUIRE(keys == std::vector<std::uint64_t>{7, 6, 5, 4, 3});
    REQUIRE((*sync_wait(table->first()))->key.value()->v == 10);
    REQUIRE(sync_wait(txn->commit()).has_value());
    auto report = sync_wait(db.verify_integrity());
    REQUIRE(report->valid);
}

TEST_CASE("Keys and values larger than a page, and many-megabyte values", "[integration]") {
    constexpr ringdb::TableDefinition<ringdb::Bytes, ringdb::Bytes> kBlobs("blobs");
    ringdb::test::TempDir dir;
    std::string path = dir.file("db");
    auto pattern = [](std::size_t size, int seed) {
        ringdb::Bytes bytes(size);
        for (std::size_t i = 0; i < size; ++i) {
            bytes[i] = static_cast<std::byte>((i * 31 + static_cast<std::size_t>(seed)) & 0xff);
        }
        return bytes;
    };
    {
        auto db = create_db(path, 512);
        auto txn = sync_wait(db.begin_write());
        auto table = sync_wait(txn->open_table(kBlobs));
        REQUIRE(sync_wait(table->insert(pattern(513, 1), pattern(513, 2))).has_value());
        for (int i = 0; i < 5; ++i) {
            REQUIRE(sync_wait(table->insert(pattern(1024, 10 + i), pattern(2 << 20, i)))
                            .has_value());
        }
        REQUIRE(sync_wait(txn->commit()).has_value());
        REQUIRE(sync_wait(db.close()).has_value());
    }
    auto db = sync_wait(Database::open(path));
    REQUIRE(db.has_value());
    {
        auto reader = db->begin_read();
        auto table = sync_wait(reader->open_table(kBlobs));
        REQUIRE(table->len() == 6);
        auto small = sync_wait(table->get(pattern(513, 1)));
        REQUIRE((**small).value().value() == pattern(513, 2));
        for (int i = 0; i < 5; ++i) {
            auto big = sync_wait(table->get(pattern(1024, 10 + i)));
            REQUIRE((**big).value().value() == pattern(2 << 20, i));
        }
    }
    auto txn = sync_wait(db->begin_write());
    auto table = sync_wait(txn->open_table(kBlobs));
    for (int i = 0; i < 5; ++i) {
        REQUIRE(sync_wait(table->remove(pattern(1024, 10 + i)))->has_value());
    }
    REQUIRE(sync_wait(table->remove(pattern(513, 1)))->has_value());
    REQUIRE(table->is_empty());
    REQUIRE(sync_wait(txn->commit()).has_value());
    REQUIRE(sync_wait(db->verify_integrity())->valid);
}

TEST_CASE("Two hundred thousand pairs in one transaction, then range reversal", "[integration]") {
    constexpr ringdb::TableDefinition<std::uint32_t, std::uint32_t> kNumbers("numbers");
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    {
        auto txn = sync_wait(db.begin_write());
        auto table = sync_wait(txn->open_table(kNumbers));
        // 200,003 is prime, so i * 7 mod 200,003 visits 200,000 distinct keys out of order.
        for (std::uint32_t i = 0; i < 200'000; ++i) {
            std::uint32_t k = (i * 7U) % 200'003U;
            REQUIRE(sync_wait(table->insert(k, i)).has_value());
        }
        REQUIRE(table->len() == 200'000);
        REQUIRE(sync_wait(txn->commit()).has_value());
    }
    auto reader = db.begin_read();
    auto table = sync_wait(reader->open_table(kNumbers));
    REQUIRE(table->len() == 200'000);
    using B = Bound<std::uint32_t>;
    // Switching direction mid-way continues from the other end; the ends meet once.
    auto range = table->range(B::included(3), B::excluded(8));
    REQUIRE(range.has_value());
    std::vector<std::uint32_t> order;
    for (int step = 0; step < 10; ++step) {
        auto entry = step == 0 ? sync_wait(range->next()) : sync_wait(range->next_back());
        if (!*entry) {
            break;
        }
        order.push_back((*entry)->key.value().value());
    }
    std::vector<std::uint32_t> expected;
    for (std::uint32_t k : {3U, 7U, 6U, 5U, 4U}) {
        if (sync_wait(table->get(k))->has_value()) {
            expected.push_back(k);
        }
    }
    REQUIRE(order == expected);
    REQUIRE(sync_wait(db.verify_integrity())->valid);
}

TEST_CASE("retain and drain over many leaves, committed and uncommitted pages",
          "[integration]") {
    constexpr ringdb::TableDefinition<std::uint64_t, std::string> kMany("many");
    ringdb::test::TempDir dir;
    auto db = sync_wait(Database::create(dir.file("db")));
    REQUIRE(db.has_value());
    constexpr std::uint64_t kCount = 6000;
    {
        auto txn = sync_wait(db->begin_write());
        auto t = sync_wait(txn->open_table(kMany));
        for (std::uint64_t k = 0; k < kCount; ++k) {
            REQUIRE(sync_wait(t->insert(k, std::string(10 + k % 50, 'v'))).has_value());
        }
        REQUIRE(sync_wait(txn->commit()).has_value());
    }
    auto txn = sync_wait(db->begin_write());
    auto t = sync_wait(txn->open_table(kMany));
    // Committed leaves first (copy-on-write), then the same leaves again, now dirty.
    auto removed = sync_wait(t->retain([](std::uint64_t k, const std::string&) {
        return k % 3 != 0;
    }));
    CHECK(removed.value() == kCount / 3);
    removed = sync_wait(t->retain([](std::uint64_t k, const std::string&) {
        return k % 3 != 1;
    }));
    CHECK(removed.value() == kCount / 3);
    CHECK(t->len() == kCount / 3);
    auto drained = sync_wait(t->drain(Bound<std::uint64_t>::excluded(1000),
                                      Bound<std::uint64_t>::included(5000)));
    CHECK(drained.value() == 1334);  // k % 3 == 2 in (1000, 5000]: 1001, 1004, ..., 5000
    auto range = t->iter();
    std::uint64_t seen = 0;
    for (;;) {
        auto entry = sync_wait(range->next());
        REQUIRE(entry.has_value());
        if (!*entry) {
            break;
        }
        const std::uint64_t k = *(*entry)->key.value();
        CHECK(k % 3 == 2);
        CHECK((k <= 1000 || k > 5000));
        CHECK((*entry)->value.value()->size() == 10 + k % 50);
        ++seen;
    }
    CHECK(seen == t->len());
    REQUIRE(sync_wait(txn->commit()).has_value());
    auto report = sync_wait(db->verify_integrity());
    REQUIRE(report.has_value());
    CHECK(report->valid);
}
