// KvServer: the connection coroutines and the request handlers (see kv_server.hpp).
//
// Coroutine rules followed here (docs/coroutines.md, the g++ 12 notes in ringdb/asio.hpp):
// one co_await per statement bound to a named local; Tasks, WriteBatches and tokens built in
// named locals before the co_await statement; ringdb tasks are named functions taking their
// parameters by value.

#include "kv_server.hpp"

#include <charconv>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <ringdb/asio.hpp>
#include <ringdb/table.hpp>
#include <ringdb/table_definition.hpp>
#include <ringdb/transaction.hpp>

namespace ringdb::examples {

namespace {

using asio::ip::tcp;

constexpr TableDefinition<std::string, std::string> kTable("kv");
constexpr std::size_t kReadChunk = 16 << 10;
/// Pending replies are written out once they reach this size, even mid-chunk.
constexpr std::size_t kFlushBytes = 256 << 10;
/// A batch that failed because another batch of its group failed is submitted again, a few
/// times (docs/group_commit.md: nothing of it was kept).
constexpr int kWriteAttempts = 4;

std::string error_text(const std::error_code& ec) {
    if (ec.category() == make_error_code(Errc::io).category()) {
        return errc_name(static_cast<Errc>(ec.value()));
    }
    return "io " + ec.message();
}

std::string error_text(const Error& error) { return errc_name(error.code); }

// --- ringdb tasks: the database side of each request ----------------------------------------

Task<Result<std::optional<std::string>>> read_value(Database* db, std::string key) {
    using Value = std::optional<std::string>;
    auto txn = db->begin_read();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kTable);
    if (!table && table.error().code == Errc::table_does_not_exist) {
        co_return Value{};
    }
    if (!table) {
        co_return table.error();
    }
    auto got = co_await table->get(key);
    if (!got) {
        co_return got.error();
    }
    if (!got->has_value()) {
        co_return Value{};
    }
    Result<std::string> value = (*got)->value();
    if (!value) {
        co_return value.error();
    }
    co_return Value{std::move(*value)};
}

Task<Result<std::uint64_t>> count_entries(Database* db) {
    auto txn = db->begin_read();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kTable);
    if (!table && table.error().code == Errc::table_does_not_exist) {
        co_return std::uint64_t{0};
    }
    if (!table) {
        co_return table.error();
    }
    co_return table->len();
}

/// The reply lines of SCAN, END included.
Task<Result<std::string>> scan_lines(Database* db, std::string from, std::uint64_t limit) {
    std::string lines;
    auto txn = db->begin_read();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kTable);
    if (!table && table.error().code == Errc::table_does_not_exist) {
        lines += "END\n";
        co_return lines;
    }
    if (!table) {
        co_return table.error();
    }
    const auto lower = Bound<std::string>::included(from);
    const auto upper = Bound<std::string>::unbounded();
    auto range = table->range(lower, upper);
    if (!range) {
        co_return range.error();
    }
    for (std::uint64_t i = 0; i < limit; ++i) {
        auto entry = co_await range->next();
        if (!entry) {
            co_return entry.error();
        }
        if (!entry->has_value()) {
            break;
        }
        Result<std::string> key = (*entry)->key.value();
        Result<std::string> value = (*entry)->value.value();
        if (!key || !value) {
            co_return Error{Errc::corrupted};
        }
        lines += "KEY ";
        lines += *key;
        lines += ' ';
        lines += *value;
        lines += '\n';
    }
    lines += "END\n";
    co_return lines;
}

Task<Status> put_in(WriteTransaction& txn, std::string key, std::string value) {
    auto table = co_await txn.open_table(kTable);
    if (!table) {
        co_return table.error();
    }
    auto previous = co_await table->insert(key, value);
    if (!previous) {
        co_return previous.error();
    }
    co_return ok();
}

/// Sets *existed (the connection coroutine's local, alive until the batch is acknowledged).
Task<Status> delete_in(WriteTransaction& txn, std::string key, bool* existed) {
    auto table = co_await txn.open_table(kTable);
    if (!table) {
        co_return table.error();
    }
    auto removed = co_await table->remove(key);
    if (!removed) {
        co_return removed.error();
    }
    *existed = removed->has_value();
    co_return ok();
}

// --- request parsing ------------------------------------------------------------------------

struct Request {
    std::string_view command;
    std::vector<std::string_view> args;  // space-separated tokens after the command
};

/// The command: the line up to its first space (the whole line without one).
std::string_view command_of(std::string_view line) { return line.substr(0, line.find(' ')); }

/// Splits the arguments on single spaces; an empty token (two spaces in a row, a trailing
/// space) makes the request malformed (returns false).
bool split(std::string_view line, Request& request) {
    std::size_t space = line.find(' ');
    request.command = line.substr(0, space);
    if (space == std::string_view::npos) {
        return true;
    }
    std::string_view tail = line.substr(space + 1);
    for (;;) {
        std::size_t next = tail.find(' ');
        std::string_view token = tail.substr(0, next);
        if (token.empty()) {
            return false;
        }
        request.args.push_back(token);
        if (next == std::string_view::npos) {
            return true;
        }
        tail = tail.substr(next + 1);
    }
}

std::optional<std::uint64_t> parse_count(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

// --- server state and coroutines ------------------------------------------------------------

struct KvServer::State {
    State(asio::io_context& io_context, Database& database, KvServerOptions server_options)
        : io(io_context), db(database), acceptor(io_context), options(server_options) {}

    asio::io_context& io;
    Database& db;
    tcp::acceptor acceptor;
    KvServerOptions options;
    std::map<std::uint64_t, std::shared_ptr<tcp::socket>> connections;
    std::uint64_t next_id = 0;
    bool stopped = false;
    KvServerStats stats;
};

namespace {

using State = KvServer::State;

/// A write through group commit; returns the error_code of the last attempt.
asio::awaitable<std::error_code> submit(State* state, std::string key,
                                        std::optional<std::string> value, bool* existed) {
    std::error_code ec;
    for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
        WriteBatch batch;
        if (value) {
            std::string v = *value;
            batch = [key, v](WriteTransaction& txn) { return put_in(txn, key, v); };
        } else {
            batch = [key, existed](WriteTransaction& txn) { return delete_in(txn, key, existed); };
        }
        auto token = asio::experimental::as_tuple(asio::use_awaitable);
        auto operation = async_submit_write_batch(state->db, std::move(batch), token);
        std::tuple<std::error_code> done = co_await std::move(operation);
        ec = std::get<0>(done);
        if (ec != Errc::peer_failed) {
            break;
        }
    }
    co_return ec;
}

/// Appends the reply (one or more lines) to `out`.
asio::awaitable<void> handle_request(State* state, std::string line, std::string* out) {
    if (line.empty()) {
        *out += "ERROR empty request\n";
        co_return;
    }
    if (command_of(line) == "PUT") {
        // PUT <key> <value>: the value is the rest of the line, spaces included.
        const std::string_view rest = std::string_view(line).substr(3);
        const std::size_t key_end = rest.size() > 1 ? rest.find(' ', 1) : std::string_view::npos;
        if (rest.empty() || rest[0] != ' ' || key_end == std::string_view::npos ||
            key_end == 1) {
            *out += "ERROR usage: PUT <key> <value>\n";
            co_return;
        }
        std::string key(rest.substr(1, key_end - 1));
        std::optional<std::string> value(std::string(rest.substr(key_end + 1)));
        auto operation = submit(state, std::move(key), std::move(value), nullptr);
        std::error_code ec = co_await std::move(operation);
        *out += ec ? "ERROR " + error_text(ec) + "\n" : std::string("OK\n");
        co_return;
    }
    Request request;
    if (!split(line, request)) {
        *out += "ERROR malformed request (fields are separated by single spaces)\n";
        co_return;
    }
    const std::string_view command = request.command;
    const std::size_t argc = request.args.size();
    if (command == "DEL") {
        if (argc != 1) {
            *out += "ERROR usage: DEL <key>\n";
            co_return;
        }
        bool existed = false;
        std::string key(request.args[0]);
        std::optional<std::string> none;
        auto operation = submit(state, std::move(key), std::move(none), &existed);
        std::error_code ec = co_await std::move(operation);
        if (ec) {
            *out += "ERROR " + error_text(ec) + "\n";
        } else {
            *out += existed ? "DELETED\n" : "NOT_FOUND\n";
        }
    } else if (command == "GET") {
        if (argc != 1) {
            *out += "ERROR usage: GET <key>\n";
            co_return;
        }
        auto task = read_value(&state->db, std::string(request.args[0]));
        auto got_awaitable = as_awaitable(std::move(task));
        Result<std::optional<std::string>> got = co_await std::move(got_awaitable);
        if (!got) {
            *out += "ERROR " + error_text(got.error()) + "\n";
        } else if (!got->has_value()) {
            *out += "NOT_FOUND\n";
        } else {
            *out += "VALUE " + **got + "\n";
        }
    } else if (command == "COUNT") {
        if (argc != 0 || line.size() != command.size()) {
            *out += "ERROR usage: COUNT\n";
            co_return;
        }
        auto task = count_entries(&state->db);
        auto count_awaitable = as_awaitable(std::move(task));
        Result<std::uint64_t> count = co_await std::move(count_awaitable);
        *out += count ? "COUNT " + std::to_string(*count) + "\n"
                      : "ERROR " + error_text(count.error()) + "\n";
    } else if (command == "SCAN") {
        std::optional<std::uint64_t> limit;
        if (argc == 2) {
            limit = parse_count(request.args[1]);
        }
        if (!limit) {
            *out += "ERROR usage: SCAN <from> <n>\n";
            co_return;
        }
        if (*limit > state->options.max_scan) {
            *out += "ERROR n exceeds " + std::to_string(state->options.max_scan) + "\n";
            co_return;
        }
        auto task = scan_lines(&state->db, std::string(request.args[0]), *limit);
        auto lines_awaitable = as_awaitable(std::move(task));
        Result<std::string> lines = co_await std::move(lines_awaitable);
        *out += lines ? *lines : "ERROR " + error_text(lines.error()) + "\n";
    } else {
        *out += "ERROR unknown command\n";
    }
}

/// Writes and clears `out`; false when the client is gone.
asio::awaitable<bool> flush(tcp::socket* socket, std::string* out) {
    auto token = asio::experimental::as_tuple(asio::use_awaitable);
    auto reply = asio::buffer(*out);
    std::tuple<std::error_code, std::size_t> written =
            co_await asio::async_write(*socket, reply, token);
    out->clear();
    co_return !std::get<0>(written);
}

asio::awaitable<void> serve_connection(std::shared_ptr<State> state,
                                       std::shared_ptr<tcp::socket> socket) {
    auto token = asio::experimental::as_tuple(asio::use_awaitable);
    std::vector<char> chunk(kReadChunk);
    std::string pending;  // the start of a line whose '\n' has not arrived
    bool discarding = false;  // inside an over-long line, until its '\n'
    std::string out;      // replies not yet written
    bool gone = false;    // a write failed: the client went away
    while (!state->stopped) {
        auto buffer = asio::buffer(chunk);
        std::tuple<std::error_code, std::size_t> read =
                co_await socket->async_read_some(buffer, token);
        if (std::get<0>(read)) {
            break;  // end of stream, reset, or closed by stop(): a partial line is dropped
        }
        std::string_view data(chunk.data(), std::get<1>(read));
        while (!data.empty() && !state->stopped) {
            std::size_t newline = data.find('\n');
            if (newline == std::string_view::npos) {
                if (!discarding) {
                    pending.append(data);
                    if (pending.size() > state->options.max_line + 1) {  // + a possible '\r'
                        discarding = true;
                        pending.clear();
                    }
                }
                break;
            }
            std::string_view piece = data.substr(0, newline);
            data.remove_prefix(newline + 1);
            ++state->stats.requests;
            if (discarding) {
                discarding = false;
                out += "ERROR line too long\n";
                continue;
            }
            pending.append(piece);
            if (!pending.empty() && pending.back() == '\r') {
                pending.pop_back();
            }
            std::string line = std::move(pending);
            pending.clear();
            if (line.size() > state->options.max_line) {
                out += "ERROR line too long\n";
                continue;
            }
            auto handled = handle_request(state.get(), std::move(line), &out);
            co_await std::move(handled);
            if (out.size() >= kFlushBytes && !state->stopped) {
                // Many pipelined SCANs: do not let the pending replies grow without bound.
                auto flushing = flush(socket.get(), &out);
                bool sent = co_await std::move(flushing);
                if (!sent) {
                    gone = true;
                    break;
                }
            }
        }
        if (gone) {
            break;  // the client went away; what it asked for is done
        }
        if (!out.empty() && !state->stopped) {
            auto flushing = flush(socket.get(), &out);
            bool sent = co_await std::move(flushing);
            if (!sent) {
                break;
            }
        }
        out.clear();
    }
    std::error_code ignored;
    socket->close(ignored);
}

/// Removes a finished connection; an exception (a bug, bad_alloc) leaves through io.run().
struct ConnectionDone {
    std::shared_ptr<State> state;
    std::uint64_t id;
    void operator()(std::exception_ptr e) const {
        state->connections.erase(id);
        if (e) {
            std::rethrow_exception(e);
        }
    }
};

struct AcceptorDone {
    void operator()(std::exception_ptr e) const {
        if (e) {
            std::rethrow_exception(e);
        }
    }
};

asio::awaitable<void> accept_loop(std::shared_ptr<State> state) {
    auto token = asio::experimental::as_tuple(asio::use_awaitable);
    auto executor = state->io.get_executor();
    while (!state->stopped) {
        std::tuple<std::error_code, tcp::socket> accepted =
                co_await state->acceptor.async_accept(token);
        std::error_code ec = std::get<0>(accepted);
        if (state->stopped) {
            break;
        }
        if (ec) {
            // Out of descriptors or a connection reset before it was accepted: retry a little
            // later rather than spinning.
            asio::steady_timer pause(executor, std::chrono::milliseconds(20));
            std::tuple<std::error_code> paused = co_await pause.async_wait(token);
            static_cast<void>(paused);
            continue;
        }
        auto socket = std::make_shared<tcp::socket>(std::move(std::get<1>(accepted)));
        std::uint64_t id = state->next_id++;
        state->connections.emplace(id, socket);
        ++state->stats.accepted;
        ConnectionDone done{state, id};
        asio::co_spawn(executor, serve_connection(state, socket), std::move(done));
    }
}

}  // namespace

KvServer::KvServer(asio::io_context& io, Database& db, std::uint16_t port,
                   KvServerOptions options)
    : state_(std::make_shared<State>(io, db, options)) {
    tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
    state_->acceptor.open(endpoint.protocol());
    state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    state_->acceptor.bind(endpoint);
    state_->acceptor.listen();
    asio::co_spawn(io, accept_loop(state_), AcceptorDone{});
}

KvServer::~KvServer() { stop(); }

std::uint16_t KvServer::port() const noexcept {
    std::error_code ec;
    tcp::endpoint endpoint = state_->acceptor.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

void KvServer::stop() {
    if (state_->stopped) {
        return;
    }
    state_->stopped = true;
    std::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& entry : state_->connections) {
        entry.second->shutdown(tcp::socket::shutdown_both, ignored);
        entry.second->close(ignored);
    }
}

std::size_t KvServer::connections() const noexcept { return state_->connections.size(); }

KvServerStats KvServer::stats() const noexcept { return state_->stats; }

}  // namespace ringdb::examples
