#pragma once
// KvServer: a small line-protocol key-value server on Asio over a ringdb Database (an
// example of the Asio adapter, include/ringdb/asio.hpp; docs/asio.md describes it).
//
// Protocol: one request per line ('\n', an optional '\r' before it is ignored), one reply line
// per request, replies in request order; requests may be pipelined.
//   PUT <key> <value>   -> OK                 (value: the rest of the line; may hold spaces)
//   GET <key>           -> VALUE <value> | NOT_FOUND
//   DEL <key>           -> DELETED | NOT_FOUND
//   COUNT               -> COUNT <n>
//   SCAN <from> <n>     -> up to n lines `KEY <k> <v>` (keys >= from, ascending), then END
//   anything else       -> ERROR <reason>     (also a database error: ERROR <errc name>)
// A key is 1 or more bytes without spaces; commands are upper case; n is 0..max_scan.
// A line longer than max_line bytes (without its '\n') is discarded up to its '\n' and
// answered with `ERROR line too long`; the connection stays usable.
//
// Every connection is an asio::awaitable coroutine on the io_context; there are no threads.
// A connection handles its requests one at a time, so a reply always reflects the requests
// before it. Writes (PUT, DEL) go through Database::submit_write_batch: concurrent
// connections share group commits, and OK / DELETED are sent once the write is durable.
// Reads use a snapshot (Database::begin_read) of the latest durable state.
//
// The server listens on 127.0.0.1 only.

#include <cstddef>
#include <cstdint>
#include <memory>

#include <asio/io_context.hpp>

#include <ringdb/database.hpp>

namespace ringdb::examples {

struct KvServerOptions {
    /// Longest accepted request line in bytes, without the '\n'.
    std::size_t max_line = std::size_t{64} << 10;
    /// Largest n accepted by SCAN.
    std::uint64_t max_scan = 10000;
};

struct KvServerStats {
    std::uint64_t accepted = 0;  // connections accepted
    std::uint64_t requests = 0;  // request lines answered (ERROR replies included)
};

class KvServer {
public:
    /// Listens on 127.0.0.1:`port` (0: an ephemeral port) and starts accepting. Connections
    /// are served by coroutines on `io` once it runs.
    /// Throws std::system_error if the port cannot be bound (address in use, permission).
    /// REQUIRES: an AsioDriver (ringdb/asio.hpp) for `io` on this thread, and `io` run by this
    /// thread only; `db` and `io` outlive the server and every connection coroutine (they end
    /// after stop() once io.run() returns).
    KvServer(asio::io_context& io, Database& db, std::uint16_t port, KvServerOptions options = {});
    /// Calls stop().
    ~KvServer();
    KvServer(const KvServer&) = delete;
    KvServer& operator=(const KvServer&) = delete;

    /// The port the server listens on (the ephemeral one chosen when constructed with 0).
    std::uint16_t port() const noexcept;

    /// Stops accepting and closes every connection. A request whose database operation is in
    /// flight still completes in the database (a started ringdb task always runs to its end),
    /// but its reply is dropped; requests not yet started are not run. Once the coroutines
    /// have ended, io.run() returns if nothing else keeps it busy. Idempotent; call it on the
    /// thread that runs `io` (a signal handler of asio::signal_set does).
    void stop();

    /// Connections open now.
    std::size_t connections() const noexcept;
    KvServerStats stats() const noexcept;

    struct State;  // defined in kv_server.cpp

private:
    std::shared_ptr<State> state_;
};

}  // namespace ringdb::examples
