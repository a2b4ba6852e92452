// kv_server --db PATH [--port N]: the line-protocol key-value server of kv_server.hpp.
//
// Opens (or creates) the database at PATH, listens on 127.0.0.1:N (default 0: an ephemeral
// port), prints the port, and serves until SIGINT or SIGTERM; then stops accepting, lets the
// connection coroutines end and closes the database. One thread: the io_context runs the
// sockets and, through ringdb::AsioDriver, the database's io_uring.
//
//   $ kv_server --db /tmp/kv.ringdb --port 7878
//   kv_server: listening on 127.0.0.1:7878 (database /tmp/kv.ringdb)
//   $ printf 'PUT a 1\nGET a\nCOUNT\n' | nc -q1 127.0.0.1 7878
//   OK
//   VALUE 1
//   COUNT 1

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <ringdb/asio.hpp>

#include "kv_server.hpp"

namespace {

int usage() {
    std::fprintf(stderr, "usage: kv_server --db PATH [--port N]\n");
    return 2;
}

struct Opened {
    std::optional<ringdb::Database>* db;
    std::error_code* ec;
    void operator()(std::error_code e, std::optional<ringdb::Database> opened) const {
        *ec = e;
        *db = std::move(opened);
    }
};

struct Closed {
    std::error_code* ec;
    void operator()(std::error_code e) const { *ec = e; }
};

}  // namespace

int main(int argc, char** argv) {
    std::string path;
    unsigned long port = 0;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--db" && i + 1 < argc) {
            path = argv[++i];
        } else if (arg == "--port" && i + 1 < argc) {
            char* end = nullptr;
            port = std::strtoul(argv[++i], &end, 10);
            if (*end != '\0' || port > 65535) {
                return usage();
            }
        } else {
            return usage();
        }
    }
    if (path.empty()) {
        return usage();
    }

    asio::io_context io;
    ringdb::AsioDriver driver(io);

    std::optional<ringdb::Database> db;
    std::error_code ec;
    ringdb::async_create(path, Opened{&db, &ec});
    io.run();
    if (ec) {
        std::fprintf(stderr, "kv_server: cannot open %s: %s\n", path.c_str(),
                     ec.message().c_str());
        return 1;
    }

    {
        std::optional<ringdb::examples::KvServer> server;
        try {
            server.emplace(io, *db, static_cast<std::uint16_t>(port));
        } catch (const std::system_error& e) {
            std::fprintf(stderr, "kv_server: cannot listen on 127.0.0.1:%lu: %s\n", port,
                         e.code().message().c_str());
            return 1;
        }
        std::printf("kv_server: listening on 127.0.0.1:%u (database %s)\n",
                    static_cast<unsigned>(server->port()), path.c_str());
        std::fflush(stdout);

        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&server](const std::error_code& error, int) {
            if (!error) {
                server->stop();
            }
        });
        io.restart();
        io.run();  // returns once the server has stopped and its connections have ended
        const auto stats = server->stats();
        std::printf("kv_server: stopped after %llu connections, %llu requests\n",
                    static_cast<unsigned long long>(stats.accepted),
                    static_cast<unsigned long long>(stats.requests));
    }

    ringdb::async_close(*db, Closed{&ec});
    io.restart();
    io.run();
    if (ec) {
        std::fprintf(stderr, "kv_server: close failed: %s\n", ec.message().c_str());
        return 1;
    }
    std::printf("kv_server: database closed\n");
    return 0;
}
