// The public API on real files: create/open/close, transactions, tables and their errors.

#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"

using ringdb::Bound;
using ringdb::Database;
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::string> kUsers("users");
constexpr ringdb::TableDefinition<std::string, std::uint64_t> kScores("scores");

Database create_db(const std::string& path) {
    auto db = sync_wait(Database::create(path));
    INFO((db ? "ok" : ringdb::to_string(db.error())));
    REQUIRE(db.has_value());
    return std::move(*db);
}

ringdb::WriteTransaction write(Database& db) {
    auto txn = sync_wait(db.begin_write());
    REQUIRE(txn.has_value());
    return std::move(*txn);
}

ringdb::Table<std::uint64_t, std::string> users(ringdb::WriteTransaction& txn) {
    auto table = sync_wait(txn.open_table(kUsers));
    INFO((table ? "ok" : ringdb::to_string(table.error())));
    REQUIRE(table.has_value());
    return std::move(*table);
}

std::string text(const ringdb::AccessGuard<std::string>& guard) { return guard.value().value(); }

template <class Table>
std::vector<std::uint64_t> keys_forward(Table& table, const Bound<std::uint64_t>& lower,
                                        const Bound<std::uint64_t>& upper) {
    auto range = table.range(lower, upper);
    REQUIRE(range.has_value());
    std::vector<std::uint64_t> keys;
    for (int guard = 0; guard < 100000; ++guard) {
        auto entry = sync_wait(range->next());
        REQUIRE(entry.has_value());
        if (!*entry) {
            break;
        }
        keys.push_back((*entry)->key.value().value());
    }
    return keys;
}

}  // namespace

TEST_CASE("Create, write, commit, reopen and read back", "[integration]") {
    ringdb::test::TempDir dir;
    std::string path = dir.file("db");
    {
        auto db = create_db(path);
        auto txn = write(db);
        auto table = users(txn);
        auto previous = sync_wait(table.insert(1, "alice"));
        REQUIRE(previous.has_value());
        REQUIRE_FALSE(previous->has_value());
        auto replaced = sync_wait(table.insert(1, "anne"));
        REQUIRE(text(**replaced) == "alice");
        REQUIRE(sync_wait(table.insert(2, "bob")).has_value());
        REQUIRE(table.len() == 2);
        REQUIRE(sync_wait(txn.commit()).has_value());
        REQUIRE(sync_wait(db.close()).has_value());
    }
    auto db = sync_wait(Database::open(path));
    REQUIRE(db.has_value());
    auto reader = db->begin_read();
    REQUIRE(reader.has_value());
    auto table = sync_wait(reader->open_table(kUsers));
    REQUIRE(table.has_value());
    REQUIRE(table->len() == 2);
    REQUIRE(text(**sync_wait(table->get(1))) == "anne");
    REQUIRE(text(**sync_wait(table->get(2))) == "bob");
    REQUIRE_FALSE(sync_wait(table->get(3))->has_value());
    REQUIRE(sync_wait(db->close()).has_value());
}

TEST_CASE("Removal, first/last, pop and ranges in both directions", "[integration]") {
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    auto txn = write(db);
    auto table = users(txn);
    REQUIRE_FALSE(sync_wait(table.first())->has_value());
    for (std::uint64_t i = 0; i < 300; ++i) {
        REQUIRE(sync_wait(table.insert(i, "v" + std::to_string(i))).has_value());
    }
    auto removed = sync_wait(table.remove(7));
    REQUIRE(text(**removed) == "v7");
    REQUIRE_FALSE(sync_wait(table.remove(7))->has_value());
    REQUIRE(table.len() == 299);
    REQUIRE((*sync_wait(table.first()))->key.value().value() == 0);
    REQUIRE((*sync_wait(table.last()))->key.value().value() == 299);
    auto popped = sync_wait(table.pop_last());
    REQUIRE((*popped)->key.value().value() == 299);
    REQUIRE(text((*popped)->value) == "v299");
    REQUIRE((*sync_wait(table.pop_first()))->key.value().value() == 0);
    REQUIRE(table.len() == 297);

    using B = Bound<std::uint64_t>;
    REQUIRE(keys_forward(table, B::included(3), B::excluded(10)) ==
            std::vector<std::uint64_t>{3, 4, 5, 6, 8, 9});
    REQUIRE(keys_forward(table, B::excluded(3), B::included(6)) ==
            std::vector<std::uint64_t>{4, 5, 6});
    REQUIRE(keys_forward(table, B::included(295), B::unbounded()) ==
            std::vector<std::uint64_t>{295, 296, 297, 298});
    REQUIRE(keys_forward(table, B::included(50), B::included(20)).empty());
    REQUIRE(keys_forward(table, B::excluded(5), B::excluded(5)).empty());

    // Both ends of one range meet without repeating an entry.
    auto range = table.range(B::included(1), B::included(6));
    REQUIRE(range.has_value());
    std::vector<std::uint64_t> seen;
    for (int step = 0; step < 10; ++step) {
        auto entry = step % 2 == 0 ? sync_wait(range->next()) : sync_wait(range->next_back());
        REQUIRE(entry.has_value());
        if (!*entry) {
            break;
        }
        seen.push_back((*entry)->key.value().value());
    }
    REQUIRE(seen == std::vector<std::uint64_t>{1, 6, 2, 5, 3, 4});
    REQUIRE(sync_wait(txn.commit()).has_value());
}

TEST_CASE("Aborted, dropped and finished transactions", "[integration]") {
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    {
        auto txn = write(db);
        REQUIRE(sync_wait(users(txn).insert(1, "x")).has_value());
        txn.abort();
    }
    {
        auto txn = write(db);
        REQUIRE(sync_wait(users(txn).insert(2, "y")).has_value());
    }  // dropped: aborted
    {
        auto reader = db.begin_read();
        auto table = sync_wait(reader->open_table(kUsers));
        REQUIRE(table.error().code == Errc::table_does_not_exist);
    }
    auto txn = write(db);
    auto table = users(txn);
    REQUIRE(sync_wait(table.insert(3, "z")).has_value());
    REQUIRE(sync_wait(txn.commit()).has_value());
    auto late = sync_wait(table.insert(4, "late"));
    REQUIRE(late.error().code == Errc::transaction_finished);
    REQUIRE(sync_wait(txn.commit()).error().code == Errc::transaction_finished);
    REQUIRE(sync_wait(txn.open_table(kUsers)).error().code == Errc::transaction_finished);
}

TEST_CASE("Snapshot isolation: no dirty reads, old readers keep their view", "[integration]") {
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    {
        auto txn = write(db);
        REQUIRE(sync_wait(users(txn).insert(1, "one")).has_value());
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    auto before = db.begin_read();
    auto txn = write(db);
    auto table = users(txn);
    REQUIRE(sync_wait(table.insert(2, "two")).has_value());
    {
        auto during = db.begin_read();
        auto view = sync_wait(during->open_table(kUsers));
        REQUIRE(view->len() == 1);
    }
    REQUIRE(sync_wait(txn.commit()).has_value());
    auto old_view = sync_wait(before->open_table(kUsers));
    REQUIRE(old_view->len() == 1);
    REQUIRE_FALSE(sync_wait(old_view->get(2))->has_value());
    auto after = db.begin_read();
    auto new_view = sync_wait(after->open_table(kUsers));
    REQUIRE(new_view->len() == 2);
}

TEST_CASE("Table errors: wrong types, opened twice, rename, delete, list", "[integration]") {
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    auto txn = write(db);
    {
        auto table = users(txn);
        REQUIRE(sync_wait(txn.open_table(kUsers)).error().code == Errc::table_already_open);
        REQUIRE(sync_wait(txn.rename_table("users", "people")).error().code ==
                Errc::table_already_open);
        REQUIRE(sync_wait(txn.delete_table("users")).error().code == Errc::table_already_open);
    }
    constexpr ringdb::TableDefinition<std::uint32_t, std::uint32_t> kWrong("users");
    REQUIRE(sync_wait(txn.open_table(kWrong)).error().code == Errc::table_type_mismatch);
    REQUIRE(sync_wait(txn.open_table(kScores)).has_value());
    REQUIRE(*sync_wait(txn.list_tables()) == std::vector<std::string>{"scores", "users"});
    REQUIRE(sync_wait(txn.rename_table("users", "scores")).error().code == Errc::table_exists);
    REQUIRE(sync_wait(txn.rename_table("nope", "x")).error().code == Errc::table_does_not_exist);
    REQUIRE(sync_wait(txn.rename_table("users", "people")).has_value());
    REQUIRE(sync_wait(txn.delete_table("scores")).value());
    REQUIRE_FALSE(sync_wait(txn.delete_table("scores")).value());
    REQUIRE(sync_wait(txn.commit()).has_value());
    auto reader = db.begin_read();
    REQUIRE(*sync_wait(reader->list_tables()) == std::vector<std::string>{"people"});
    constexpr ringdb::TableDefinition<std::uint32_t, std::uint32_t> kWrongPeople("people");
    REQUIRE(sync_wait(reader->open_table(kWrongPeople)).error().code == Errc::table_type_mismatch);
}

TEST_CASE("One read-write handle per file; read-only handles share", "[integration]") {
    ringdb::test::TempDir dir;
    std::string path = dir.file("db");
    {
        auto db = create_db(path);
        REQUIRE(sync_wait(Database::open(path)).error().code == Errc::database_already_open);
        auto read_only = sync_wait(ringdb::ReadOnlyDatabase::open(path));
        REQUIRE(read_only.error().code == Errc::database_already_open);
        {
            auto txn = write(db);
            REQUIRE(sync_wait(users(txn).insert(5, "five")).has_value());
            REQUIRE(sync_wait(txn.commit()).has_value());
        }
        REQUIRE(sync_wait(db.close()).has_value());
    }
    auto first = sync_wait(ringdb::ReadOnlyDatabase::open(path));
    REQUIRE(first.has_value());
    auto second = sync_wait(ringdb::ReadOnlyDatabase::open(path));
    REQUIRE(second.has_value());
    REQUIRE(sync_wait(Database::open(path)).error().code == Errc::database_already_open);
    auto reader = second->begin_read();
    auto table = sync_wait(reader->open_table(kUsers));
    REQUIRE(text(**sync_wait(table->get(5))) == "five");
}

TEST_CASE("Files that are not databases get clear errors", "[integration]") {
    ringdb::test::TempDir dir;
    auto missing = sync_wait(Database::open(dir.file("missing")));
    REQUIRE(missing.error().code == Errc::io);
    REQUIRE(missing.error().sys_errno == ENOENT);
    {
        std::ofstream(dir.file("empty")).flush();
    }
    REQUIRE(sync_wait(Database::open(dir.file("empty"))).error().code == Errc::corrupted);
    {
        std::ofstream out(dir.file("text"));
        out << "hi";
    }
    REQUIRE(sync_wait(Database::open(dir.file("text"))).error().code == Errc::corrupted);
    REQUIRE(sync_wait(Database::create(dir.file("text"))).error().code == Errc::corrupted);
}

TEST_CASE("Closing with a live write transaction is refused", "[integration]") {
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    {
        auto txn = write(db);
        REQUIRE(sync_wait(db.close()).error().code == Errc::transaction_in_progress);
    }
    REQUIRE(sync_wait(db.close()).has_value());
    REQUIRE(sync_wait(db.begin_write()).error().code == Errc::database_closed);
    REQUIRE(db.begin_read().error().code == Errc::database_closed);
}

TEST_CASE("drain, retain and extract_if remove exactly what they say", "[integration]") {
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    auto fill = [](ringdb::Table<std::uint64_t, std::string>& table) {
        for (std::uint64_t i = 0; i < 100; ++i) {
            REQUIRE(sync_wait(table.insert(i, std::to_string(i))).has_value());
        }
    };
    using B = Bound<std::uint64_t>;
    auto txn = write(db);
    auto table = users(txn);
    fill(table);
    REQUIRE(*sync_wait(table.drain(B::included(50), B::excluded(80))) == 30);
    REQUIRE(table.len() == 70);
    REQUIRE(keys_forward(table, B::included(48), B::included(81)) ==
            std::vector<std::uint64_t>{48, 49, 80, 81});
    REQUIRE(*sync_wait(table.drain(B::included(9), B::included(3))) == 0);

    auto odd = [](const std::uint64_t& k, const std::string&) { return k % 2 == 1; };
    REQUIRE(*sync_wait(table.retain(odd)) == 35);
    REQUIRE(table.len() == 35);
    REQUIRE(*sync_wait(table.retain_in(B::included(90), B::included(10), odd)) == 0);

    // extract_if removes only what it yields: stop after two and the rest stay.
    auto extract = table.extract_from_if(B::included(10), B::unbounded(),
                                         [](const std::uint64_t& k, const std::string& v) {
                                             return k < 20 && v == std::to_string(k);
                                         });
    REQUIRE(extract.has_value());
    auto first = sync_wait(extract->next());
    REQUIRE((*first)->key.value().value() == 11);
    auto from_back = sync_wait(extract->next_back());
    REQUIRE((*from_back)->key.value().value() == 19);
    REQUIRE(table.len() == 33);
    REQUIRE_FALSE(sync_wait(table.get(11))->has_value());
    REQUIRE(sync_wait(table.get(13))->has_value());
    REQUIRE(*sync_wait(table.drain_all()) == 33);
    REQUIRE(table.is_empty());
    txn.abort();

    auto again = write(db);
    auto reopened = users(again);
    REQUIRE(reopened.is_empty());
}

TEST_CASE("Non-durable commits are visible at once and made durable by close", "[integration]") {
    ringdb::test::TempDir dir;
    std::string path = dir.file("db");
    {
        auto db = create_db(path);
        auto txn = write(db);
        txn.set_durability(ringdb::Durability::none);
        REQUIRE(sync_wait(users(txn).insert(1, "fast")).has_value());
        REQUIRE(sync_wait(txn.commit()).has_value());
        auto reader = db.begin_read();
        auto table = sync_wait(reader->open_table(kUsers));
        REQUIRE(text(**sync_wait(table->get(1))) == "fast");
        REQUIRE(sync_wait(db.close()).has_value());
    }
    {
        auto db = sync_wait(Database::open(path));
        REQUIRE(db.has_value());
        auto reader = db->begin_read();
        auto table = sync_wait(reader->open_table(kUsers));
        REQUIRE(text(**sync_wait(table->get(1))) == "fast");
        // A non-durable commit whose handle is dropped without close() is lost, like at a
        // crash; the durable state before it is intact.
        auto txn = sync_wait(db->begin_write());
        txn->set_durability(ringdb::Durability::none);
        REQUIRE(sync_wait(users(*txn).insert(2, "lost")).has_value());
        REQUIRE(sync_wait(txn->commit()).has_value());
    }
    auto db = sync_wait(Database::open(path));
    REQUIRE(db.has_value());
    auto reader = db->begin_read();
    auto table = sync_wait(reader->open_table(kUsers));
    REQUIRE(text(**sync_wait(table->get(1))) == "fast");
    REQUIRE_FALSE(sync_wait(table->get(2))->has_value());
    auto report = sync_wait(db->verify_integrity());
    REQUIRE(report->valid);
}
