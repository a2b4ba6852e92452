// Real crashes (docs/testing.md G9): a child process commits durable transactions on a real
// file and is killed with SIGKILL at a random moment; every commit it acknowledged must be
// there after reopening, and no transaction may be half there.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"
#include "io/sim_device.hpp"

extern char** environ;

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kLog("log");

struct ChildRun {
    std::set<std::uint64_t> acknowledged;
};

// Runs crash_child on `path` starting at `start`, kills it after `delay`, and returns the
// sequence numbers it printed (acknowledged commits).
ChildRun run_and_kill(const std::string& path, std::uint64_t start,
                      std::chrono::milliseconds delay) {
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    std::string child = RINGDB_CRASH_CHILD;
    std::string first = std::to_string(start);
    char* argv[] = {child.data(), const_cast<char*>(path.c_str()), first.data(), nullptr};
    pid_t pid = 0;
    REQUIRE(::posix_spawn(&pid, child.c_str(), &actions, nullptr, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ChildRun run;
    FILE* out = ::fdopen(pipe_fds[0], "r");
    unsigned long long seq = 0;
    while (std::fscanf(out, "%llu", &seq) == 1) {
        run.acknowledged.insert(seq);
    }
    std::fclose(out);
    return run;
}

// Checks the database at `path` after a kill: every acknowledged commit is there, every
// transaction is whole, and verification passes.
void check_after_kill(const std::string& path, const std::set<std::uint64_t>& acknowledged) {
    auto db = ringdb::sync_wait(ringdb::Database::open(path));
    INFO((db ? "open ok" : ringdb::to_string(db.error())));
    REQUIRE(db.has_value());
    auto txn = db->begin_read();
    auto table = ringdb::sync_wait(txn->open_table(kLog));
    if (acknowledged.empty() && !table) {
        REQUIRE(table.error().code == ringdb::Errc::table_does_not_exist);
    } else {
        REQUIRE(table.has_value());
        for (std::uint64_t seq : acknowledged) {
            auto found = ringdb::sync_wait(table->get(seq));
            REQUIRE(found.has_value());
            REQUIRE(found->has_value());
        }
        // Every transaction is whole: its three keys are all present or all absent.
        REQUIRE(table->len() % 3 == 0);
    }
    auto report = ringdb::sync_wait(db->verify_integrity(ringdb::VerifyLevel::full));
    REQUIRE(report.has_value());
    REQUIRE(report->valid);
    REQUIRE(ringdb::sync_wait(db->close()).has_value());
}

}  // namespace

// 50 rounds (1,000 with RINGDB_LONG=1). Every tenth round starts a new file and kills the
// child within its first milliseconds, often inside Database::create: the file must then be
// absent, or a database create() opens. The child's log is small, so many kills land in
// checkpoints.
TEST_CASE("Commits acknowledged before a SIGKILL survive it", "[integration][crash][slow]") {
    auto seed = ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    const char* long_env = std::getenv("RINGDB_LONG");
    const int rounds = long_env != nullptr && std::string(long_env) == "1" ? 1000 : 50;
    std::string path;
    std::set<std::uint64_t> all_acknowledged;
    std::uint64_t next = 1;
    int files = 0;
    std::uint64_t acknowledged_total = 0;
    for (int round = 0; round < rounds; ++round) {
        const bool fresh = round % 10 == 0;
        if (fresh) {
            path = dir.file("db" + std::to_string(files++));
            all_acknowledged.clear();
        }
        auto delay = std::chrono::milliseconds(fresh ? rng() % 8 : 10 + rng() % 150);
        ChildRun run = run_and_kill(path, next, delay);
        all_acknowledged.insert(run.acknowledged.begin(), run.acknowledged.end());
        acknowledged_total += run.acknowledged.size();
        INFO("round " << round << ": " << run.acknowledged.size() << " acknowledged");
        if (fresh && all_acknowledged.empty()) {
            // Killed before its first commit, maybe inside create: create must succeed.
            auto created = ringdb::sync_wait(ringdb::Database::create(path));
            INFO((created ? "create ok" : ringdb::to_string(created.error())));
            REQUIRE(created.has_value());
            REQUIRE(ringdb::sync_wait(created->close()).has_value());
        }
        check_after_kill(path, all_acknowledged);
        // The next child starts past anything this one may have committed unacknowledged.
        next = (all_acknowledged.empty() ? next : *all_acknowledged.rbegin()) + 100000;
    }
    REQUIRE(acknowledged_total > 0);
}
