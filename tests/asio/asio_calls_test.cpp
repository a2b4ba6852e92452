// The completion-token forms of the Database calls (async_create, async_open,
// async_begin_write, async_commit, async_submit_write_batch, async_close), each with a plain
// callback, asio::use_awaitable and as_tuple(asio::use_awaitable), on a real file driven by
// this thread's io_uring through an AsioDriver.

#include <ringdb/asio.hpp>

#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"

using ringdb::Database;
using ringdb::Errc;
using ringdb::Result;
using ringdb::Status;
using ringdb::Task;
using ringdb::WriteBatch;
using ringdb::WriteTransaction;

namespace {

constexpr ringdb::TableDefinition<std::string, std::string> kPairs("pairs");

ringdb::DatabaseOptions uring_options() {
    ringdb::DatabaseOptions options;
    options.io = ringdb::IoBackend::uring;
    return options;
}

Task<Status> put_pair(WriteTransaction& txn, std::string key, std::string value) {
    auto table = co_await txn.open_table(kPairs);
    if (!table) {
        co_return table.error();
    }
    auto inserted = co_await table->insert(key, value);
    if (!inserted) {
        co_return inserted.error();
    }
    co_return ringdb::ok();
}

Task<Status> fail_batch(WriteTransaction& txn) {
    // Changes something first: the failure must roll it back.
    Status put = co_await put_pair(txn, "rolled-back", "x");
    if (!put) {
        co_return put;
    }
    co_return ringdb::Error{Errc::cancelled};
}

WriteBatch put_batch(std::string key, std::string value) {
    return [key, value](WriteTransaction& txn) { return put_pair(txn, key, value); };
}

/// The value of `key` in the latest commit, or "" if absent; "<error>" on an error.
std::string read_value(Database& db, const std::string& key) {
    auto txn = db.begin_read();
    if (!txn) {
        return "<error>";
    }
    auto table = ringdb::sync_wait(txn->open_table(kPairs));
    if (!table) {
        return table.error().code == Errc::table_does_not_exist ? "" : "<error>";
    }
    auto got = ringdb::sync_wait(table->get(key));
    if (!got) {
        return "<error>";
    }
    if (!got->has_value()) {
        return "";
    }
    auto value = (*got)->value();
    return value ? *value : "<error>";
}

struct Rethrow {
    void operator()(std::exception_ptr e) const {
        if (e) {
            std::rethrow_exception(e);
        }
    }
};

/// What the awaitable scenarios saw, checked after io.run() returns.
struct Seen {
    std::optional<Database> db;
    std::vector<std::error_code> codes;
    int steps = 0;
};

// --- use_awaitable: values directly, ringdb errors thrown as std::system_error --------------

asio::awaitable<void> with_use_awaitable(std::string path, std::string missing, Seen* seen) {
    auto options = uring_options();
    // The options hold a std::function: the operation is made in its own statement (g++ 12).
    auto creating = ringdb::async_create(path, options, asio::use_awaitable);
    std::optional<Database> db = co_await std::move(creating);
    REQUIRE(db.has_value());

    std::optional<WriteTransaction> txn =
            co_await ringdb::async_begin_write(*db, asio::use_awaitable);
    REQUIRE(txn.has_value());
    auto put = put_pair(*txn, "a", "1");
    auto put_ok_awaitable = ringdb::as_awaitable(std::move(put));
    Status put_ok = co_await std::move(put_ok_awaitable);
    REQUIRE(put_ok.has_value());
    // A WriteTransaction argument is non-trivial too: its own statement as well.
    auto committing = ringdb::async_commit(std::move(*txn), asio::use_awaitable);
    co_await std::move(committing);
    ++seen->steps;

    WriteBatch batch = put_batch("b", "2");
    auto submitting = ringdb::async_submit_write_batch(*db, std::move(batch), asio::use_awaitable);
    co_await std::move(submitting);
    ++seen->steps;

    WriteBatch failing = fail_batch;
    auto failing_op =
            ringdb::async_submit_write_batch(*db, std::move(failing), asio::use_awaitable);
    try {
        co_await std::move(failing_op);
        seen->codes.emplace_back();  // no exception: recorded as a zero code
    } catch (const std::system_error& e) {
        seen->codes.push_back(e.code());  // [0] batch_failed
    }

    auto opening = ringdb::async_open(missing, asio::use_awaitable);
    try {
        std::optional<Database> never = co_await std::move(opening);
        seen->codes.emplace_back();
        static_cast<void>(never);
    } catch (const std::system_error& e) {
        seen->codes.push_back(e.code());  // [1] ENOENT
    }

    // close refuses while a write transaction is live, and then succeeds.
    std::optional<WriteTransaction> live =
            co_await ringdb::async_begin_write(*db, asio::use_awaitable);
    try {
        co_await ringdb::async_close(*db, asio::use_awaitable);
        seen->codes.emplace_back();
    } catch (const std::system_error& e) {
        seen->codes.push_back(e.code());  // [2] transaction_in_progress
    }
    live.reset();
    co_await ringdb::async_close(*db, asio::use_awaitable);
    ++seen->steps;
    seen->db = std::move(db);
}

// --- as_tuple: every outcome as a value -------------------------------------------------------

asio::awaitable<void> with_as_tuple(std::string path, std::string bad_path, Seen* seen) {
    auto token = asio::experimental::as_tuple(asio::use_awaitable);
    auto options = uring_options();

    auto bad_create = ringdb::async_create(bad_path, options, token);
    std::tuple<std::error_code, std::optional<Database>> bad = co_await std::move(bad_create);
    seen->codes.push_back(std::get<0>(bad));  // [0] ENOENT (missing directory)
    REQUIRE(!std::get<1>(bad).has_value());

    auto opening = ringdb::async_open(path, options, token);
    std::tuple<std::error_code, std::optional<Database>> opened = co_await std::move(opening);
    auto& [open_ec, db] = opened;
    seen->codes.push_back(open_ec);  // [1] ok
    REQUIRE(db.has_value());

    std::tuple<std::error_code, std::optional<WriteTransaction>> begun =
            co_await ringdb::async_begin_write(*db, token);
    auto& [begin_ec, txn] = begun;
    seen->codes.push_back(begin_ec);  // [2] ok
    REQUIRE(txn.has_value());
    auto put = put_pair(*txn, "c", "3");
    auto put_ok_awaitable = ringdb::as_awaitable(std::move(put));
    Status put_ok = co_await std::move(put_ok_awaitable);
    REQUIRE(put_ok.has_value());
    WriteTransaction owned = std::move(*txn);
    auto committing = ringdb::async_commit(std::move(owned), token);
    std::tuple<std::error_code> committed = co_await std::move(committing);
    seen->codes.push_back(std::get<0>(committed));  // [3] ok
    // *txn was moved from: committing it again is transaction_finished.
    auto committing_again = ringdb::async_commit(std::move(*txn), token);
    std::tuple<std::error_code> again = co_await std::move(committing_again);
    seen->codes.push_back(std::get<0>(again));  // [4] transaction_finished

    WriteBatch failing = fail_batch;
    auto failing_op = ringdb::async_submit_write_batch(*db, std::move(failing), token);
    std::tuple<std::error_code> failed = co_await std::move(failing_op);
    seen->codes.push_back(std::get<0>(failed));  // [5] batch_failed
    WriteBatch empty;
    auto empty_op = ringdb::async_submit_write_batch(*db, std::move(empty), token);
    std::tuple<std::error_code> refused = co_await std::move(empty_op);
    seen->codes.push_back(std::get<0>(refused));  // [6] invalid_argument
    WriteBatch batch = put_batch("d", "4");
    auto batch_op = ringdb::async_submit_write_batch(*db, std::move(batch), token);
    std::tuple<std::error_code> submitted = co_await std::move(batch_op);
    seen->codes.push_back(std::get<0>(submitted));  // [7] ok

    std::tuple<std::error_code> closed = co_await ringdb::async_close(*db, token);
    seen->codes.push_back(std::get<0>(closed));  // [8] ok
    std::tuple<std::error_code, std::optional<WriteTransaction>> after =
            co_await ringdb::async_begin_write(*db, token);
    seen->codes.push_back(std::get<0>(after));  // [9] database_closed
    REQUIRE(!std::get<1>(after).has_value());
    seen->db = std::move(db);
    ++seen->steps;
}

}  // namespace

TEST_CASE("Database completion-token forms with plain callbacks", "[asio][uring]") {
    ringdb::test::TempDir dir;
    asio::io_context io;
    ringdb::AsioDriver driver(io);
    const std::string path = dir.file("callbacks.ringdb");

    std::optional<Database> db;
    std::error_code ec = ringdb::make_error_code(Errc::io);
    bool called = false;
    ringdb::async_create(path, uring_options(),
                         [&](std::error_code e, std::optional<Database> opened) {
                             ec = e;
                             db = std::move(opened);
                         });
    REQUIRE(!db.has_value());  // never completed inside the initiating call
    io.run();
    REQUIRE(ec == std::error_code{});
    REQUIRE(db.has_value());

    SECTION("begin_write, commit, submit_write_batch and close") {
        std::optional<WriteTransaction> txn;
        ringdb::async_begin_write(*db, [&](std::error_code e, std::optional<WriteTransaction> t) {
            ec = e;
            txn = std::move(t);
        });
        io.restart();
        io.run();
        REQUIRE(ec == std::error_code{});
        REQUIRE(txn.has_value());
        REQUIRE(ringdb::sync_wait(put_pair(*txn, "a", "1")).has_value());
        ringdb::async_commit(std::move(*txn), [&](std::error_code e) {
            ec = e;
            called = true;
        });
        io.restart();
        io.run();
        REQUIRE(called);
        REQUIRE(ec == std::error_code{});
        REQUIRE(read_value(*db, "a") == "1");

        // Batches submitted together share a group (one commit, one sync).
        const auto before = db->group_commit_stats();
        int acknowledged = 0;
        for (int i = 0; i < 5; ++i) {
            ringdb::async_submit_write_batch(*db, put_batch("k" + std::to_string(i), "v"),
                                             [&acknowledged](std::error_code e) {
                                                 REQUIRE(!e);
                                                 ++acknowledged;
                                             });
        }
        io.restart();
        io.run();
        REQUIRE(acknowledged == 5);
        const auto after = db->group_commit_stats();
        INFO("groups " << after.groups - before.groups);
        REQUIRE(after.batches - before.batches == 5);
        REQUIRE(after.groups - before.groups < 5);
        ringdb::async_submit_write_batch(*db, fail_batch, [&](std::error_code e) { ec = e; });
        io.restart();
        io.run();
        REQUIRE(ec == Errc::batch_failed);
        REQUIRE(read_value(*db, "k4") == "v");
        REQUIRE(read_value(*db, "rolled-back").empty());

        ringdb::async_close(*db, [&](std::error_code e) { ec = e; });
        io.restart();
        io.run();
        REQUIRE(ec == std::error_code{});
        ringdb::async_begin_write(*db, [&](std::error_code e, std::optional<WriteTransaction> t) {
            ec = e;
            txn = std::move(t);
        });
        io.restart();
        io.run();
        REQUIRE(ec == Errc::database_closed);
        REQUIRE(!txn.has_value());

        // Reopen: what was acknowledged is there.
        std::optional<Database> reopened;
        ringdb::async_open(path, [&](std::error_code e, std::optional<Database> opened) {
            ec = e;
            reopened = std::move(opened);
        });
        io.restart();
        io.run();
        REQUIRE(ec == std::error_code{});
        REQUIRE(reopened.has_value());
        REQUIRE(read_value(*reopened, "a") == "1");
        REQUIRE(read_value(*reopened, "k0") == "v");
        REQUIRE(read_value(*reopened, "rolled-back").empty());
        REQUIRE(ringdb::sync_wait(reopened->close()).has_value());
    }
    SECTION("errors reach the callback with an empty handle") {
        std::optional<Database> missing;
        called = false;
        ringdb::async_open(dir.file("missing.ringdb"),
                           [&](std::error_code e, std::optional<Database> opened) {
                               called = true;
                               ec = e;
                               missing = std::move(opened);
                           });
        io.restart();
        io.run();
        REQUIRE(called);
        REQUIRE(ec == std::errc::no_such_file_or_directory);
        REQUIRE(!missing.has_value());

        // The file is locked by `db`: a second read-write handle is refused.
        ringdb::async_create(path, [&](std::error_code e, std::optional<Database> opened) {
            ec = e;
            missing = std::move(opened);
        });
        io.restart();
        io.run();
        REQUIRE(ec == Errc::database_already_open);
        REQUIRE(!missing.has_value());

        // close with a live write transaction: refused, nothing closed.
        auto live = ringdb::sync_wait(db->begin_write());
        REQUIRE(live.has_value());
        ringdb::async_close(*db, [&](std::error_code e) { ec = e; });
        io.restart();
        io.run();
        REQUIRE(ec == Errc::transaction_in_progress);
        live->abort();
        REQUIRE(ringdb::sync_wait(db->close()).has_value());
    }
    REQUIRE(driver.outstanding() == 0);
}

TEST_CASE("Database completion-token forms with use_awaitable and as_tuple", "[asio][uring]") {
    ringdb::test::TempDir dir;
    asio::io_context io;
    ringdb::AsioDriver driver(io);
    const std::string path = dir.file("tokens.ringdb");

    Seen thrown;
    asio::co_spawn(io, with_use_awaitable(path, dir.file("missing.ringdb"), &thrown), Rethrow{});
    io.run();
    REQUIRE(thrown.steps == 3);
    REQUIRE(thrown.codes.size() == 3);
    REQUIRE(thrown.codes[0] == Errc::batch_failed);
    REQUIRE(thrown.codes[1] == std::errc::no_such_file_or_directory);
    REQUIRE(thrown.codes[2] == Errc::transaction_in_progress);

    Seen values;
    asio::co_spawn(io, with_as_tuple(path, dir.file("no/such/dir/db"), &values), Rethrow{});
    io.restart();
    io.run();
    REQUIRE(values.steps == 1);
    REQUIRE(values.codes.size() == 10);
    REQUIRE(values.codes[0] == std::errc::no_such_file_or_directory);
    REQUIRE(values.codes[1] == std::error_code{});
    REQUIRE(values.codes[2] == std::error_code{});
    REQUIRE(values.codes[3] == std::error_code{});
    REQUIRE(values.codes[4] == Errc::transaction_finished);
    REQUIRE(values.codes[5] == Errc::batch_failed);
    REQUIRE(values.codes[6] == Errc::invalid_argument);
    REQUIRE(values.codes[7] == std::error_code{});
    REQUIRE(values.codes[8] == std::error_code{});
    REQUIRE(values.codes[9] == Errc::database_closed);

    // Both scenarios' writes are durable.
    auto reopened = ringdb::sync_wait(Database::open(path, uring_options()));
    REQUIRE(reopened.has_value());
    const std::pair<std::string, std::string> expected[] = {{"a", "1"}, {"b", "2"}, {"c", "3"},
                                                            {"d", "4"}};
    for (const auto& pair : expected) {
        INFO(pair.first);
        REQUIRE(read_value(*reopened, pair.first) == pair.second);
    }
    REQUIRE(read_value(*reopened, "rolled-back").empty());
    REQUIRE(ringdb::sync_wait(reopened->close()).has_value());
    REQUIRE(driver.outstanding() == 0);
}
