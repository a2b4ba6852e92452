// crash_child: the process that the real-crash test kills. It opens (or creates) the database
// given as argv[1] and commits durable transactions in a loop; after each commit returns it
// prints the committed sequence number on stdout and flushes, so the parent knows exactly which
// commits were acknowledged before the SIGKILL. Each transaction writes keys for its sequence
// number so that a partially applied transaction would be visible. Its log is small, so that
// it checkpoints often, and every seventh commit is a two-phase checkpoint of its own.

#include <cstdio>
#include <cstdlib>
#include <string>

#include <ringdb/ringdb.hpp>

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kLog("log");

ringdb::Task<int> run(std::string path, std::uint64_t start) {
    // A small commit log: checkpoints come every few dozen commits, so kills land in them.
    ringdb::DatabaseOptions options;
    options.log_size = 64 * 1024;
    auto db = co_await ringdb::Database::create(path, options);
    if (!db) {
        std::fprintf(stderr, "crash_child: open: %s\n", ringdb::to_string(db.error()).c_str());
        co_return 2;
    }
    for (std::uint64_t seq = start; seq < start + 100000; ++seq) {
        auto txn = co_await db->begin_write();
        if (!txn) {
            co_return 3;
        }
        auto table = co_await txn->open_table(kLog);
        if (!table) {
            co_return 4;
        }
        // Three keys per transaction, spread out so that commits touch several pages.
        for (std::uint64_t part = 0; part < 3; ++part) {
            auto inserted = co_await table->insert(part * 1'000'000'000ULL + seq, seq);
            if (!inserted) {
                co_return 5;
            }
        }
        if (seq % 7 == 0) {
            txn->set_two_phase_commit(true);
        }
        ringdb::Status committed = co_await txn->commit();
        if (!committed) {
            co_return 6;
        }
        std::printf("%llu\n", static_cast<unsigned long long>(seq));
        std::fflush(stdout);
    }
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: crash_child DB START\n");
        return 1;
    }
    return ringdb::sync_wait(run(argv[1], std::strtoull(argv[2], nullptr, 10)));
}
