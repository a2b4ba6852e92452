// The kv_server example (examples/kv_server) served in-process on this thread's io_context and
// driven by real TCP clients over loopback: Asio client coroutines on the same io_context, so
// the test runs on one thread like the server. Each scenario checks the replies, then closes
// the database and reopens it to check what was stored.

#include "kv_server.hpp"

#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <ringdb/asio.hpp>
#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"

using asio::ip::tcp;
using ringdb::Database;
using ringdb::examples::KvServer;

namespace {

constexpr ringdb::TableDefinition<std::string, std::string> kTable("kv");

/// A client connection with a line reader.
struct Client {
    explicit Client(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    std::string buffer;
    std::vector<char> chunk = std::vector<char>(16384);
};

asio::awaitable<std::error_code> connect(Client* client, tcp::endpoint endpoint) {
    auto token = asio::experimental::as_tuple(asio::use_awaitable);
    std::tuple<std::error_code> connected = co_await client->socket.async_connect(endpoint, token);
    co_return std::get<0>(connected);
}

asio::awaitable<std::error_code> send(Client* client, std::string bytes) {
    auto token = asio::experimental::as_tuple(asio::use_awaitable);
    auto buffer = asio::buffer(bytes);
    std::tuple<std::error_code, std::size_t> sent =
            co_await asio::async_write(client->socket, buffer, token);
    co_return std::get<0>(sent);
}

/// The next reply line without its '\n'; none at end of stream or on an error.
asio::awaitable<std::optional<std::string>> read_line(Client* client) {
    auto token = asio::experimental::as_tuple(asio::use_awaitable);
    for (;;) {
        std::size_t newline = client->buffer.find('\n');
        if (newline != std::string::npos) {
            std::string line = client->buffer.substr(0, newline);
            client->buffer.erase(0, newline + 1);
            co_return line;
        }
        auto buffer = asio::buffer(client->chunk);
        std::tuple<std::error_code, std::size_t> read =
                co_await client->socket.async_read_some(buffer, token);
        if (std::get<0>(read)) {
            co_return std::nullopt;
        }
        client->buffer.append(client->chunk.data(), std::get<1>(read));
    }
}

/// Connects, sends `requests` in one write (pipelined), reads `count` reply lines (fewer if
/// the stream ends) into *replies, and closes.
asio::awaitable<void> exchange(tcp::endpoint endpoint, std::string requests, std::size_t count,
                               std::vector<std::string>* replies) {
    auto executor = co_await asio::this_coro::executor;
    Client client(static_cast<asio::io_context&>(executor.context()));
    std::error_code connected = co_await connect(&client, endpoint);
    REQUIRE(!connected);
    std::error_code sent = co_await send(&client, std::move(requests));
    REQUIRE(!sent);
    // End of requests: the server answers them all, then sees the end of the stream and closes.
    std::error_code ignored;
    client.socket.shutdown(tcp::socket::shutdown_send, ignored);
    for (std::size_t i = 0; i < count; ++i) {
        std::optional<std::string> line = co_await read_line(&client);
        if (!line) {
            break;
        }
        replies->push_back(std::move(*line));
    }
}

/// Sends `bytes` and closes at once, without reading anything.
asio::awaitable<void> send_and_leave(tcp::endpoint endpoint, std::string bytes) {
    auto executor = co_await asio::this_coro::executor;
    Client client(static_cast<asio::io_context&>(executor.context()));
    std::error_code connected = co_await connect(&client, endpoint);
    REQUIRE(!connected);
    std::error_code sent = co_await send(&client, std::move(bytes));
    REQUIRE(!sent);
    std::error_code ignored;
    client.socket.shutdown(tcp::socket::shutdown_both, ignored);
    client.socket.close(ignored);
}

/// A server on a fresh database, and the io_context both run on.
struct ServerFixture {
    ServerFixture() {
        ringdb::DatabaseOptions options;
        options.io = ringdb::IoBackend::uring;
        auto created = ringdb::sync_wait(Database::create(path, options));
        REQUIRE(created.has_value());
        db.emplace(std::move(*created));
        server.emplace(io, *db, 0);
        REQUIRE(server->port() != 0);
    }

    tcp::endpoint endpoint() const {
        return tcp::endpoint(asio::ip::address_v4::loopback(), server->port());
    }

    /// Runs `clients` concurrently until all have finished (the server keeps serving).
    void run_clients(std::vector<asio::awaitable<void>> clients) {
        remaining = clients.size();
        for (auto& client : clients) {
            asio::co_spawn(io, std::move(client), ClientDone{this});
        }
        io.restart();
        io.run();
        REQUIRE(remaining == 0);
    }

    /// Stops the server, lets its coroutines end, and closes the database.
    void finish() {
        server->stop();
        io.restart();
        io.run();  // returns once every connection coroutine has ended
        REQUIRE(server->connections() == 0);
        REQUIRE(driver.outstanding() == 0);
        std::error_code closed = ringdb::make_error_code(ringdb::Errc::io);
        ringdb::async_close(*db, [&closed](std::error_code ec) { closed = ec; });
        io.restart();
        io.run();
        REQUIRE(closed == std::error_code{});
    }

    /// The stored value of each key after reopening ("" when absent), and the entry count.
    std::vector<std::string> reopen_and_get(const std::vector<std::string>& keys,
                                            std::uint64_t* count) {
        auto reopened = ringdb::sync_wait(Database::open(path));
        REQUIRE(reopened.has_value());
        auto txn = reopened->begin_read();
        REQUIRE(txn.has_value());
        auto table = ringdb::sync_wait(txn->open_table(kTable));
        REQUIRE(table.has_value());
        *count = table->len();
        std::vector<std::string> values;
        for (const auto& key : keys) {
            auto got = ringdb::sync_wait(table->get(key));
            REQUIRE(got.has_value());
            values.push_back(got->has_value() ? *(*got)->value() : std::string());
        }
        REQUIRE(ringdb::sync_wait(reopened->close()).has_value());
        return values;
    }

    /// Counts finished clients; an exception (a failed REQUIRE) leaves through io.run().
    struct ClientDone {
        ServerFixture* fixture;
        void operator()(std::exception_ptr e) const {
            if (--fixture->remaining == 0) {
                fixture->io.stop();
            }
            if (e) {
                std::rethrow_exception(e);
            }
        }
    };

    ringdb::test::TempDir dir;
    std::string path = dir.file("kv.ringdb");
    asio::io_context io;
    ringdb::AsioDriver driver{io};
    std::optional<Database> db;
    std::optional<KvServer> server;
    std::size_t remaining = 0;
};

std::vector<asio::awaitable<void>> one(asio::awaitable<void> client) {
    std::vector<asio::awaitable<void>> clients;
    clients.push_back(std::move(client));
    return clients;
}

}  // namespace

TEST_CASE("kv_server answers every request of a pipelined connection in order",
          "[asio][uring][kv_server]") {
    ServerFixture fixture;
    const std::string requests =
            "PUT a 1\n"
            "PUT b two words\n"
            "PUT c 3\r\n"          // CRLF accepted
            "PUT a 10\n"           // replaces
            "PUT e \n"             // an empty value
            "PUT s  two  spaces \n"  // the value is the rest of the line
            "GET a\n"
            "GET b\n"
            "GET e\n"
            "GET zz\n"
            "DEL c\n"
            "DEL c\n"
            "COUNT\n"
            "SCAN a 2\n"
            "SCAN 0 10\n"
            "SCAN zz 5\n"
            "SCAN a 0\n"
            "\n"                   // empty line
            "HELLO\n"              // unknown command
            "get a\n"              // commands are upper case
            "PUT onlykey\n"
            "GET\n"
            "GET a b\n"
            "GET  a\n"             // two spaces
            "DEL\n"
            "COUNT x\n"
            "SCAN a\n"
            "SCAN a -1\n"
            "SCAN a 10001\n"
            "SCAN a 1x\n"
            "GET a\n";             // still usable after errors
    const std::vector<std::string> expected = {
            "OK", "OK", "OK", "OK", "OK", "OK",
            "VALUE 10", "VALUE two words", "VALUE ", "NOT_FOUND",
            "DELETED", "NOT_FOUND",
            "COUNT 4",
            "KEY a 10", "KEY b two words", "END",
            "KEY a 10", "KEY b two words", "KEY e ", "KEY s  two  spaces ", "END",
            "END",
            "END",
            "ERROR empty request",
            "ERROR unknown command",
            "ERROR unknown command",
            "ERROR usage: PUT <key> <value>",
            "ERROR usage: GET <key>",
            "ERROR usage: GET <key>",
            "ERROR malformed request (fields are separated by single spaces)",
            "ERROR usage: DEL <key>",
            "ERROR usage: COUNT",
            "ERROR usage: SCAN <from> <n>",
            "ERROR usage: SCAN <from> <n>",
            "ERROR n exceeds 10000",
            "ERROR usage: SCAN <from> <n>",
            "VALUE 10"};
    std::vector<std::string> replies;
    fixture.run_clients(one(exchange(fixture.endpoint(), requests, expected.size() + 1, &replies)));
    REQUIRE(replies == expected);  // and nothing more: the client read until the stream ended
    REQUIRE(fixture.server->stats().requests == 31);
    fixture.finish();

    std::uint64_t count = 0;
    auto values = fixture.reopen_and_get({"a", "b", "c", "e", "s"}, &count);
    REQUIRE(values == std::vector<std::string>{"10", "two words", "", "", " two  spaces "});
    REQUIRE(count == 4);
}

TEST_CASE("kv_server serves concurrent pipelined connections with shared group commits",
          "[asio][uring][kv_server]") {
    ServerFixture fixture;
    constexpr int kClients = 8;
    constexpr int kPuts = 30;
    std::vector<std::string> replies[kClients];
    std::vector<std::vector<std::string>> expected(kClients);
    std::vector<asio::awaitable<void>> clients;
    std::vector<std::string> keys;
    for (int c = 0; c < kClients; ++c) {
        std::string requests;
        for (int j = 0; j < kPuts; ++j) {
            std::string key = "c" + std::to_string(c) + "-" + std::to_string(j);
            requests += "PUT " + key + " v" + key + "\n";
            expected[c].push_back("OK");
            keys.push_back(key);
        }
        for (int j = 0; j < kPuts; ++j) {
            std::string key = "c" + std::to_string(c) + "-" + std::to_string(j);
            requests += "GET " + key + "\n";
            expected[c].push_back("VALUE v" + key);
        }
        requests += "DEL c" + std::to_string(c) + "-0\n";
        expected[c].push_back("DELETED");
        clients.push_back(exchange(fixture.endpoint(), std::move(requests),
                                   expected[c].size() + 1, &replies[c]));
    }
    const auto before = fixture.db->group_commit_stats();
    fixture.run_clients(std::move(clients));
    for (int c = 0; c < kClients; ++c) {
        INFO("client " << c);
        REQUIRE(replies[c] == expected[c]);
    }
    const auto after = fixture.db->group_commit_stats();
    const auto batches = after.batches - before.batches;
    const auto groups = after.groups - before.groups;
    INFO("batches " << batches << " groups " << groups);
    REQUIRE(batches == kClients * (kPuts + 1));
    REQUIRE(after.failed_groups == before.failed_groups);
    // Connections wait for their writes concurrently, so groups hold several batches.
    REQUIRE(groups < batches);

    std::vector<std::string> summary;
    fixture.run_clients(one(exchange(fixture.endpoint(), "COUNT\nSCAN c3-1 3\nSCAN c7-9 5\n", 20,
                                     &summary)));
    REQUIRE(summary == std::vector<std::string>{"COUNT 232", "KEY c3-1 vc3-1", "KEY c3-10 vc3-10",
                                                "KEY c3-11 vc3-11", "END", "KEY c7-9 vc7-9",
                                                "END"});
    // Many pipelined SCANs: their replies (about 1 MiB) are written out as they grow.
    constexpr int kScans = 200;
    constexpr std::size_t kLinesPerScan = kClients * (kPuts - 1) + 1;
    std::string scans;
    for (int i = 0; i < kScans; ++i) {
        scans += "SCAN 0 10000\n";
    }
    std::vector<std::string> scanned;
    fixture.run_clients(one(exchange(fixture.endpoint(), std::move(scans),
                                     kScans * kLinesPerScan + 1, &scanned)));
    REQUIRE(scanned.size() == kScans * kLinesPerScan);
    for (std::size_t i = 0; i < scanned.size(); i += kLinesPerScan) {
        REQUIRE(scanned[i] == "KEY c0-1 vc0-1");
        REQUIRE(scanned[i + kLinesPerScan - 1] == "END");
    }
    REQUIRE(fixture.server->stats().accepted == kClients + 2);
    fixture.finish();

    std::uint64_t count = 0;
    auto values = fixture.reopen_and_get(keys, &count);
    REQUIRE(count == kClients * (kPuts - 1));
    for (std::size_t i = 0; i < keys.size(); ++i) {
        INFO(keys[i]);
        REQUIRE(values[i] == (i % kPuts == 0 ? std::string() : "v" + keys[i]));
    }
}

TEST_CASE("kv_server bounds line length and survives clients that leave mid-request",
          "[asio][uring][kv_server]") {
    ServerFixture fixture;
    constexpr std::size_t kMax = std::size_t{64} << 10;
    // A line of exactly the limit is accepted; one byte more is not.
    const std::string big_value(kMax - std::string("PUT big ").size(), 'b');
    const std::string too_long(kMax + 1, 'x');
    const std::string huge(200 << 10, 'y');  // spans many reads of the server
    std::string requests = "PUT big " + big_value + "\n" + "GET big\n" + too_long + "\n" +
                           "PUT z " + huge + "\n" + "GET z\n" + "PUT crlf " +
                           std::string(kMax - 9, 'c') + "\r\n";
    std::vector<std::string> replies;
    std::vector<asio::awaitable<void>> clients;
    clients.push_back(exchange(fixture.endpoint(), std::move(requests), 7, &replies));
    // Leaves in the middle of a line: the partial request is never run.
    clients.push_back(send_and_leave(fixture.endpoint(), "PUT half 1"));
    // Leaves in the middle of an over-long line.
    clients.push_back(send_and_leave(fixture.endpoint(), "PUT long " + huge));
    // Complete requests followed by a partial one, without reading any reply: the complete
    // ones are run (their replies are dropped), the partial one is not.
    clients.push_back(send_and_leave(fixture.endpoint(), "PUT gone 1\nDEL nothing\nPUT y"));
    fixture.run_clients(std::move(clients));
    REQUIRE(replies == std::vector<std::string>{"OK", "VALUE " + big_value, "ERROR line too long",
                                                "ERROR line too long", "NOT_FOUND", "OK"});

    // The server keeps serving, and saw the departed clients' complete requests only.
    std::vector<std::string> after;
    fixture.run_clients(one(exchange(fixture.endpoint(),
                                     "GET half\nGET gone\nGET y\nGET long\nCOUNT\n", 6, &after)));
    REQUIRE(after == std::vector<std::string>{"NOT_FOUND", "VALUE 1", "NOT_FOUND", "NOT_FOUND",
                                              "COUNT 3"});
    REQUIRE(fixture.server->connections() == 0);
    fixture.finish();

    std::uint64_t count = 0;
    auto values = fixture.reopen_and_get({"big", "gone", "half", "z"}, &count);
    REQUIRE(values == std::vector<std::string>{big_value, "1", "", ""});
    REQUIRE(count == 3);
}

namespace {

/// Writes one pair, then stops the server while the connection is open and idle: the server
/// closes it, so the next read sees the end of the stream.
asio::awaitable<void> stop_while_connected(tcp::endpoint endpoint, KvServer* server,
                                           std::vector<std::string>* seen) {
    auto executor = co_await asio::this_coro::executor;
    Client client(static_cast<asio::io_context&>(executor.context()));
    std::error_code connected = co_await connect(&client, endpoint);
    REQUIRE(!connected);
    std::error_code sent = co_await send(&client, "PUT kept 1\n");
    REQUIRE(!sent);
    std::optional<std::string> reply = co_await read_line(&client);
    seen->push_back(reply.value_or("<none>"));
    server->stop();
    std::optional<std::string> after = co_await read_line(&client);
    seen->push_back(after.value_or("<closed>"));
    // A new connection is refused: nothing listens any more.
    Client late(static_cast<asio::io_context&>(executor.context()));
    std::error_code refused = co_await connect(&late, endpoint);
    seen->push_back(refused ? "refused" : "accepted");
}

}  // namespace

TEST_CASE("kv_server stop() closes open connections; the database closes and reopens",
          "[asio][uring][kv_server]") {
    ServerFixture fixture;
    std::vector<std::string> seen;
    fixture.run_clients(one(stop_while_connected(fixture.endpoint(), &*fixture.server, &seen)));
    REQUIRE(seen == std::vector<std::string>{"OK", "<closed>", "refused"});
    fixture.finish();
    std::uint64_t count = 0;
    auto values = fixture.reopen_and_get({"kept"}, &count);
    REQUIRE(values == std::vector<std::string>{"1"});
    REQUIRE(count == 1);
}
