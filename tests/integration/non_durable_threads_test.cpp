// Non-durable commits and readers on other threads (docs/testing.md G7): a writer makes many
// non-durable transfers between accounts, whose pages stay in memory and are reused as soon as
// no snapshot needs them, while readers on two threads check that every snapshot has the same
// total. The cache is tiny, so readers also load pages that are held in memory unwritten or
// that a later durable commit wrote to the file. Run under ThreadSanitizer in the TSan build.

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

constexpr ringdb::TableDefinition<std::uint32_t, std::int64_t> kBalances("balances");
constexpr std::uint32_t kAccounts = 1500;
constexpr std::int64_t kStart = 100;

Task<Status> open_accounts(ringdb::Database& db) {
    auto txn = co_await db.begin_write();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kBalances);
    if (!table) {
        co_return table.error();
    }
    for (std::uint32_t a = 0; a < kAccounts; ++a) {
        auto inserted = co_await table->insert(a, kStart);
        if (!inserted) {
            co_return inserted.error();
        }
    }
    Status committed = co_await txn->commit();
    co_return committed;
}

Task<Status> move_money(ringdb::Database& db, ringdb::coro::ThreadContext& thread,
                        std::atomic<bool>& stop) {
    co_await ringdb::coro::schedule_on(thread);
    std::mt19937_64 rng(7);
    Status outcome = ringdb::ok();
    for (int i = 0; i < 1200 && outcome; ++i) {
        auto txn = co_await db.begin_write();
        if (!txn) {
            outcome = txn.error();
            break;
        }
        // Mostly non-durable; every 200th commit is durable and writes the held pages.
        if (i % 200 != 199) {
            txn->set_durability(ringdb::Durability::none);
        }
        auto table = co_await txn->open_table(kBalances);
        if (!table) {
            outcome = table.error();
            break;
        }
        auto from = static_cast<std::uint32_t>(rng() % kAccounts);
        auto to = static_cast<std::uint32_t>(rng() % kAccounts);
        auto a = co_await table->get(from);
        if (!a || !*a) {
            outcome = ringdb::Error{ringdb::Errc::corrupted};
            break;
        }
        std::int64_t from_balance = (*a)->value().value();
        auto put_from = co_await table->insert(from, from_balance - 1);
        auto b = co_await table->get(to);
        if (!put_from || !b || !*b) {
            outcome = ringdb::Error{ringdb::Errc::corrupted};
            break;
        }
        std::int64_t to_balance = (*b)->value().value();
        auto put_to = co_await table->insert(to, to_balance + 1);
        if (!put_to) {
            outcome = put_to.error();
            break;
        }
        Status committed = co_await txn->commit();
        outcome = committed;
    }
    stop.store(true);
    co_return outcome;
}

Task<Result<int>> check_totals(ringdb::Database& db, ringdb::coro::ThreadContext& thread,
                               const std::atomic<bool>& stop) {
    co_await ringdb::coro::schedule_on(thread);
    int checked = 0;
    while (!stop.load() || checked < 3) {
        auto txn = db.begin_read();
        if (!txn) {
            co_return txn.error();
        }
        auto table = co_await txn->open_table(kBalances);
        if (!table) {
            co_return table.error();
        }
        auto range = table->iter();
        if (!range) {
            co_return range.error();
        }
        std::int64_t total = 0;
        std::uint32_t seen = 0;
        for (; seen <= kAccounts; ++seen) {
            auto entry = co_await range->next();
            if (!entry) {
                co_return entry.error();
            }
            if (!*entry) {
                break;
            }
            total += (*entry)->value.value().value();
        }
        if (seen != kAccounts || total != kStart * kAccounts) {
            co_return ringdb::Error{ringdb::Errc::corrupted, 0,
                                    static_cast<std::uint64_t>(total)};
        }
        ++checked;
    }
    co_return checked;
}

Task<Result<int>> run_everything(ringdb::Database& db, ringdb::coro::ThreadContext& writer,
                                 ringdb::coro::ThreadContext& reader_a,
                                 ringdb::coro::ThreadContext& reader_b,
                                 std::atomic<bool>& stop) {
    auto all = ringdb::when_all(move_money(db, writer, stop), check_totals(db, reader_a, stop),
                                check_totals(db, reader_b, stop));
    auto gathered = co_await std::move(all);
    auto& [moved, first, second] = gathered;
    if (!moved) {
        co_return moved.error();
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

TEST_CASE("Readers on other threads keep their snapshots while non-durable commits reuse pages",
          "[integration][threads][nosync]") {
    ringdb::test::TempDir dir;
    ringdb::DatabaseOptions options;
    options.page_size = 512;
    options.cache_size = 16 << 10;
    auto db = ringdb::sync_wait(ringdb::Database::create(dir.file("db"), options));
    REQUIRE(db.has_value());
    REQUIRE(ringdb::sync_wait(open_accounts(*db)).has_value());
    ringdb::coro::WorkerThread writer;
    ringdb::coro::WorkerThread reader_a;
    ringdb::coro::WorkerThread reader_b;
    std::atomic<bool> stop{false};
    auto checked = ringdb::sync_wait(
            run_everything(*db, writer.context(), reader_a.context(), reader_b.context(), stop));
    INFO((checked ? "ok" : ringdb::to_string(checked.error())));
    REQUIRE(checked.has_value());
    REQUIRE(*checked >= 6);
    auto report = ringdb::sync_wait(db->verify_integrity());
    REQUIRE(report.has_value());
    REQUIRE(report->valid);
    REQUIRE(ringdb::sync_wait(db->close()).has_value());
}
