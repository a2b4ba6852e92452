// Concurrency (docs/testing.md G7): writers on one thread move money between accounts in
// transactions while readers on two other threads check that every snapshot they see has the
// same total. Run under ThreadSanitizer in the TSan build.

#include <atomic>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"

using ringdb::Result;
using ringdb::Status;
using ringdb::Task;

namespace {

constexpr ringdb::TableDefinition<std::uint32_t, std::int64_t> kAccounts("accounts");
constexpr std::uint32_t kAccountsCount = 64;
constexpr std::int64_t kInitial = 1000;

Task<Status> seed_accounts(ringdb::Database& db) {
    auto txn = co_await db.begin_write();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kAccounts);
    if (!table) {
        co_return table.error();
    }
    for (std::uint32_t a = 0; a < kAccountsCount; ++a) {
        auto inserted = co_await table->insert(a, kInitial);
        if (!inserted) {
            co_return inserted.error();
        }
    }
    Status committed = co_await txn->commit();
    co_return committed;
}

Task<Status> transfers(ringdb::Database& db, ringdb::coro::ThreadContext& thread,
                       std::uint64_t seed, int count) {
    co_await ringdb::coro::schedule_on(thread);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < count; ++i) {
        auto txn = co_await db.begin_write();
        if (!txn) {
            co_return txn.error();
        }
        if (i % 2 == 0) {
            txn->set_durability(ringdb::Durability::none);
        }
        auto table = co_await txn->open_table(kAccounts);
        if (!table) {
            co_return table.error();
        }
        auto from = static_cast<std::uint32_t>(rng() % kAccountsCount);
        auto to = static_cast<std::uint32_t>(rng() % kAccountsCount);
        auto amount = static_cast<std::int64_t>(rng() % 50);
        auto a = co_await table->get(from);
        if (!a || !*a) {
            co_return ringdb::Error{ringdb::Errc::corrupted};
        }
        std::int64_t from_balance = (*a)->value().value();
        auto put_from = co_await table->insert(from, from_balance - amount);
        if (!put_from) {
            co_return put_from.error();
        }
        auto b = co_await table->get(to);
        if (!b || !*b) {
            co_return ringdb::Error{ringdb::Errc::corrupted};
        }
        std::int64_t to_balance = (*b)->value().value();
        auto put_to = co_await table->insert(to, to_balance + amount);
        if (!put_to) {
            co_return put_to.error();
        }
        Status committed = co_await txn->commit();
        if (!committed) {
            co_return committed;
        }
    }
    co_return ringdb::ok();
}

// Returns the number of snapshots checked, or an error if a total was wrong.
Task<Result<int>> audits(ringdb::Database& db, ringdb::coro::ThreadContext& thread,
                         const std::atomic<bool>& stop) {
    co_await ringdb::coro::schedule_on(thread);
    int checked = 0;
    while (!stop.load() || checked < 5) {
        auto txn = db.begin_read();
        if (!txn) {
            co_return txn.error();
        }
        auto table = co_await txn->open_table(kAccounts);
        if (!table) {
            co_return table.error();
        }
        auto range = table->iter();
        if (!range) {
            co_return range.error();
        }
        std::int64_t total = 0;
        for (std::uint32_t seen = 0; seen <= kAccountsCount; ++seen) {
            auto entry = co_await range->next();
            if (!entry) {
                co_return entry.error();
            }
            if (!*entry) {
                break;
            }
            total += (*entry)->value.value().value();
        }
        if (total != kInitial * kAccountsCount) {
            co_return ringdb::Error{ringdb::Errc::corrupted, 0,
                                    static_cast<std::uint64_t>(total)};
        }
        ++checked;
    }
    co_return checked;
}

// Runs the writers, then tells the readers to stop.
Task<Status> writers_then_stop(ringdb::Database& db, ringdb::coro::ThreadContext& thread,
                               std::atomic<bool>& stop) {
    std::vector<Task<Status>> writers;
    for (int w = 0; w < 4; ++w) {
        writers.push_back(transfers(db, thread, static_cast<std::uint64_t>(w) + 1, 60));
    }
    auto results = co_await ringdb::when_all(std::move(writers));
    stop.store(true);
    for (auto& status : results) {
        if (!status) {
            co_return status;
        }
    }
    co_return ringdb::ok();
}

Task<Result<int>> run_all(ringdb::Database& db, ringdb::coro::ThreadContext& writer_thread,
                          ringdb::coro::ThreadContext& reader_a,
                          ringdb::coro::ThreadContext& reader_b, std::atomic<bool>& stop) {
    auto all = ringdb::when_all(writers_then_stop(db, writer_thread, stop),
                                audits(db, reader_a, stop), audits(db, reader_b, stop));
    auto gathered = co_await std::move(all);
    auto& [written, first, second] = gathered;
    if (!written) {
        co_return written.error();
    }
    if (!first) {
        co_return first.error();
    }
    if (!second) {
        co_return second.error();
    }
    co_return *first + *second;
}

}  // namespace

TEST_CASE("Readers on two threads see consistent snapshots while writers commit",
          "[integration][threads]") {
    ringdb::test::TempDir dir;
    auto db = ringdb::sync_wait(ringdb::Database::create(dir.file("db")));
    REQUIRE(db.has_value());
    REQUIRE(ringdb::sync_wait(seed_accounts(*db)).has_value());
    ringdb::coro::WorkerThread writer_thread;
    ringdb::coro::WorkerThread reader_a;
    ringdb::coro::WorkerThread reader_b;
    std::atomic<bool> stop{false};
    auto checked = ringdb::sync_wait(
            run_all(*db, writer_thread.context(), reader_a.context(), reader_b.context(), stop));
    INFO((checked ? "ok" : ringdb::to_string(checked.error())));
    REQUIRE(checked.has_value());
    REQUIRE(*checked >= 10);
    REQUIRE(ringdb::sync_wait(db->close()).has_value());
}
