// Group commit through the public API (docs/group_commit.md, "Protocol"): batches from
// many coroutines and threads, their outcomes, isolation, and shutdown.

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"

using ringdb::Database;
using ringdb::Errc;
using ringdb::Status;
using ringdb::Task;
using ringdb::WriteBatch;
using ringdb::WriteTransaction;
using ringdb::sync_wait;

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kData("data");
constexpr ringdb::TableDefinition<std::uint64_t, std::string> kNotes("notes");

Database create_db(const std::string& path) {
    auto db = sync_wait(Database::create(path));
    REQUIRE(db.has_value());
    return std::move(*db);
}

Task<Status> put_key(WriteTransaction& txn, std::uint64_t key, std::uint64_t value) {
    auto table = co_await txn.open_table(kData);
    if (!table) {
        co_return table.error();
    }
    auto inserted = co_await table->insert(key, value);
    if (!inserted) {
        co_return inserted.error();
    }
    co_return ringdb::ok();
}

/// Inserts and then fails with `cause`.
Task<Status> put_then_fail(WriteTransaction& txn, std::uint64_t key, Errc cause) {
    Status put = co_await put_key(txn, key, 1);
    if (!put) {
        co_return put;
    }
    co_return ringdb::Error{cause};
}

Task<Status> put_two_tables(WriteTransaction& txn, std::uint64_t key) {
    Status put = co_await put_key(txn, key, key);
    if (!put) {
        co_return put;
    }
    auto notes = co_await txn.open_table(kNotes);
    if (!notes) {
        co_return notes.error();
    }
    std::string note = "note " + std::to_string(key);
    auto inserted = co_await notes->insert(key, note);
    if (!inserted) {
        co_return inserted.error();
    }
    co_return ringdb::ok();
}

WriteBatch put_batch(std::uint64_t key, std::uint64_t value) {
    return [key, value](WriteTransaction& txn) { return put_key(txn, key, value); };
}

Task<Status> submit(Database& db, WriteBatch batch) {
    Status outcome = co_await db.submit_write_batch(std::move(batch));
    co_return outcome;
}

std::set<std::uint64_t> keys_of(Database& db) {
    auto txn = db.begin_read();
    REQUIRE(txn.has_value());
    std::set<std::uint64_t> keys;
    auto table = sync_wait(txn->open_table(kData));
    if (!table) {
        REQUIRE(table.error().code == Errc::table_does_not_exist);
        return keys;
    }
    auto range = table->iter();
    REQUIRE(range.has_value());
    for (int guard = 0; guard < 1000000; ++guard) {
        auto entry = sync_wait(range->next());
        REQUIRE(entry.has_value());
        if (!*entry) {
            break;
        }
        keys.insert((*entry)->key.value().value());
    }
    return keys;
}

std::set<std::uint64_t> range_set(std::uint64_t first, std::uint64_t last) {
    std::set<std::uint64_t> s;
    for (std::uint64_t k = first; k < last; ++k) {
        s.insert(k);
    }
    return s;
}

}  // namespace

TEST_CASE("a single batch commits its insert durably", "[group]") {
    ringdb::test::TempDir dir;
    const std::string path = dir.file("one.ringdb");
    {
        Database db = create_db(path);
        Status outcome = sync_wait(db.submit_write_batch(put_batch(7, 70)));
        REQUIRE(outcome.has_value());
        CHECK(keys_of(db) == std::set<std::uint64_t>{7});
        CHECK(db.group_commit_stats().groups == 1);
        CHECK(db.group_commit_stats().batches == 1);
        // Not closed: the batch must already be durable.
    }
    auto reopened = sync_wait(Database::open(path));
    REQUIRE(reopened.has_value());
    CHECK(keys_of(*reopened) == std::set<std::uint64_t>{7});
    REQUIRE(sync_wait(reopened->close()).has_value());
}

TEST_CASE("concurrent batches share groups and all become visible", "[group]") {
    ringdb::test::TempDir dir;
    Database db = create_db(dir.file("many.ringdb"));
    std::vector<Task<Status>> tasks;
    for (std::uint64_t k = 0; k < 200; ++k) {
        tasks.push_back(submit(db, put_batch(k, k)));
    }
    auto outcomes = sync_wait(ringdb::when_all(std::move(tasks)));
    for (const Status& s : outcomes) {
        REQUIRE(s.has_value());
    }
    CHECK(keys_of(db) == range_set(0, 200));
    const auto stats = db.group_commit_stats();
    CHECK(stats.batches == 200);
    INFO("groups " << stats.groups);
    CHECK(stats.groups < 200);  // submitted together: at least two shared a sync
    REQUIRE(sync_wait(db.close()).has_value());
}

TEST_CASE("a failing batch rolls back its group; peers may retry", "[group]") {
    ringdb::test::TempDir dir;
    Database db = create_db(dir.file("fail.ringdb"));
    REQUIRE(sync_wait(db.submit_write_batch(put_batch(1000, 1))).has_value());

    std::vector<Task<Status>> tasks;
    for (std::uint64_t k = 0; k < 50; ++k) {
        if (k == 25) {
            WriteBatch failing = [k](WriteTransaction& txn) {
                return put_then_fail(txn, k, Errc::value_too_large);
            };
            tasks.push_back(submit(db, std::move(failing)));
        } else {
            tasks.push_back(submit(db, put_batch(k, k)));
        }
    }
    auto outcomes = sync_wait(ringdb::when_all(std::move(tasks)));
    std::set<std::uint64_t> expected{1000};
    std::vector<std::uint64_t> retry;
    for (std::uint64_t k = 0; k < 50; ++k) {
        const Status& s = outcomes[k];
        if (k == 25) {
            REQUIRE_FALSE(s.has_value());
            CHECK(s.error().code == Errc::batch_failed);
            CHECK(s.error().detail == static_cast<std::uint64_t>(Errc::value_too_large));
        } else if (s.has_value()) {
            expected.insert(k);
        } else {
            CHECK(s.error().code == Errc::peer_failed);
            retry.push_back(k);
        }
    }
    CHECK(keys_of(db) == expected);  // nothing of the failed group, earlier data intact
    for (std::uint64_t k : retry) {
        REQUIRE(sync_wait(db.submit_write_batch(put_batch(k, k))).has_value());
        expected.insert(k);
    }
    CHECK(keys_of(db) == expected);
    CHECK(expected.count(25) == 0);
    REQUIRE(sync_wait(db.close()).has_value());
}

TEST_CASE("a batch cannot commit or abort the group's transaction", "[group]") {
    ringdb::test::TempDir dir;
    Database db = create_db(dir.file("rules.ringdb"));
    auto commit_inside = [](WriteTransaction& txn) -> Task<Status> {
        Status committed = co_await txn.commit();
        co_return committed;
    };
    WriteBatch committing = commit_inside;
    Status c = sync_wait(db.submit_write_batch(committing));
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == Errc::batch_failed);
    CHECK(c.error().detail == static_cast<std::uint64_t>(Errc::invalid_argument));

    WriteBatch aborting = [](WriteTransaction& txn) {
        txn.abort();
        return put_key(txn, 5, 5);
    };
    Status a = sync_wait(db.submit_write_batch(aborting));
    REQUIRE_FALSE(a.has_value());
    CHECK(a.error().code == Errc::batch_failed);
    CHECK(a.error().detail == static_cast<std::uint64_t>(Errc::cancelled));
    CHECK(keys_of(db).empty());

    Status empty = sync_wait(db.submit_write_batch(WriteBatch{}));
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error().code == Errc::invalid_argument);
    REQUIRE(sync_wait(db.close()).has_value());
}

TEST_CASE("batches interleave with direct write transactions", "[group]") {
    ringdb::test::TempDir dir;
    Database db = create_db(dir.file("mixed.ringdb"));
    {
        auto txn = sync_wait(db.begin_write());
        REQUIRE(txn.has_value());
        REQUIRE(sync_wait(put_key(*txn, 1, 1)).has_value());
        REQUIRE(sync_wait(txn->commit()).has_value());
    }
    REQUIRE(sync_wait(db.submit_write_batch(put_batch(2, 2))).has_value());
    {
        auto txn = sync_wait(db.begin_write());
        REQUIRE(txn.has_value());
        REQUIRE(sync_wait(put_key(*txn, 3, 3)).has_value());
        REQUIRE(sync_wait(txn->commit()).has_value());
    }
    CHECK(keys_of(db) == std::set<std::uint64_t>{1, 2, 3});
    REQUIRE(sync_wait(db.close()).has_value());
}

TEST_CASE("readers see a group only after it committed", "[group]") {
    ringdb::test::TempDir dir;
    Database db = create_db(dir.file("isolation.ringdb"));
    REQUIRE(sync_wait(db.submit_write_batch(put_batch(1, 1))).has_value());
    auto before = db.begin_read();
    REQUIRE(before.has_value());
    REQUIRE(sync_wait(db.submit_write_batch(put_batch(2, 2))).has_value());
    auto old_table = sync_wait(before->open_table(kData));
    REQUIRE(old_table.has_value());
    CHECK(old_table->len() == 1);
    CHECK(keys_of(db) == std::set<std::uint64_t>{1, 2});
}

TEST_CASE("a batch may write several tables; a table left open is closed for the next",
          "[group]") {
    ringdb::test::TempDir dir;
    Database db = create_db(dir.file("tables.ringdb"));
    std::vector<Task<Status>> tasks;
    for (std::uint64_t k = 0; k < 20; ++k) {
        WriteBatch batch = [k](WriteTransaction& txn) { return put_two_tables(txn, k); };
        tasks.push_back(submit(db, std::move(batch)));
    }
    auto outcomes = sync_wait(ringdb::when_all(std::move(tasks)));
    for (const Status& s : outcomes) {
        REQUIRE(s.has_value());
    }
    CHECK(keys_of(db) == range_set(0, 20));
    auto txn = db.begin_read();
    REQUIRE(txn.has_value());
    auto notes = sync_wait(txn->open_table(kNotes));
    REQUIRE(notes.has_value());
    CHECK(notes->len() == 20);
    REQUIRE(sync_wait(db.close()).has_value());
}

TEST_CASE("sequential submissions are each visible", "[group]") {
    ringdb::test::TempDir dir;
    Database db = create_db(dir.file("sequential.ringdb"));
    for (std::uint64_t k = 0; k < 5; ++k) {
        REQUIRE(sync_wait(db.submit_write_batch(put_batch(k, k))).has_value());
        CHECK(keys_of(db).size() == k + 1);
    }
    CHECK(db.group_commit_stats().groups == 5);
    REQUIRE(sync_wait(db.close()).has_value());
}

TEST_CASE("close drains the queue; later submissions are refused", "[group]") {
    ringdb::test::TempDir dir;
    const std::string path = dir.file("close.ringdb");
    Database db = create_db(path);
    std::vector<Task<Status>> tasks;
    for (std::uint64_t k = 0; k < 64; ++k) {
        tasks.push_back(submit(db, put_batch(k, k)));
    }
    Task<Status> closing = db.close();
    auto all = sync_wait(ringdb::when_all(ringdb::when_all(std::move(tasks)), std::move(closing)));
    auto& [outcomes, closed] = all;
    REQUIRE(closed.has_value());
    std::set<std::uint64_t> acknowledged;
    for (std::uint64_t k = 0; k < 64; ++k) {
        if (outcomes[k].has_value()) {
            acknowledged.insert(k);
        } else {
            CHECK(outcomes[k].error().code == Errc::database_closed);
        }
    }
    Status late = sync_wait(db.submit_write_batch(put_batch(99, 99)));
    REQUIRE_FALSE(late.has_value());
    CHECK(late.error().code == Errc::database_closed);
    auto reopened = sync_wait(Database::open(path));
    REQUIRE(reopened.has_value());
    CHECK(keys_of(*reopened) == acknowledged);
    REQUIRE(sync_wait(reopened->close()).has_value());
}

namespace {

Task<Status> submit_from(Database& db, ringdb::coro::ThreadContext& thread, std::uint64_t first,
                         std::uint64_t count, std::atomic<int>& wrong_thread) {
    co_await ringdb::coro::schedule_on(thread);
    for (std::uint64_t k = first; k < first + count; ++k) {
        Status outcome = co_await db.submit_write_batch(put_batch(k, k));
        if (!outcome) {
            co_return outcome;
        }
        if (!thread.is_current()) {
            wrong_thread.fetch_add(1);
        }
    }
    co_return ringdb::ok();
}

}  // namespace

TEST_CASE("two threads of a thousand submitters lose no wake-up", "[group][threads]") {
    ringdb::test::TempDir dir;
    Database db = create_db(dir.file("threads.ringdb"));
    ringdb::coro::WorkerThread a;
    ringdb::coro::WorkerThread b;
    std::atomic<int> wrong_thread{0};
    constexpr std::uint64_t kSubmitters = 1000;
    constexpr std::uint64_t kEach = 3;
    std::vector<Task<Status>> tasks;
    for (std::uint64_t i = 0; i < kSubmitters; ++i) {
        ringdb::coro::ThreadContext& thread = i % 2 == 0 ? a.context() : b.context();
        tasks.push_back(submit_from(db, thread, i * kEach, kEach, wrong_thread));
    }
    auto outcomes = sync_wait(ringdb::when_all(std::move(tasks)));
    for (const Status& s : outcomes) {
        REQUIRE(s.has_value());
    }
    CHECK(wrong_thread.load() == 0);
    CHECK(keys_of(db) == range_set(0, kSubmitters * kEach));
    const auto stats = db.group_commit_stats();
    CHECK(stats.batches == kSubmitters * kEach);
    INFO("groups " << stats.groups);
    CHECK(stats.groups < stats.batches);
    REQUIRE(sync_wait(db.close()).has_value());
}
