// demo: the main job of ringdb, end to end, on a real file.
//
// Creates a database in a temporary directory, ingests a million key/value pairs from
// coroutines (in batches, one durable commit per batch) with a progress bar, then another
// 100,000 pairs from 256 coroutines that each commit one pair at a time through group commit
// (Database::submit_write_batch: concurrent commits share one sync), reads every pair back
// from two threads at once, closes the file, reopens it and reads a sample again. Prints what
// it did and how long each step took.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <ringdb/ringdb.hpp>

namespace {

using Clock = std::chrono::steady_clock;
using ringdb::Result;
using ringdb::Status;
using ringdb::Task;

constexpr ringdb::TableDefinition<std::string, std::string> kPairs("pairs");
constexpr std::uint64_t kPairsTotal = 1'000'000;
constexpr std::uint64_t kBatch = 50'000;
// Group commit phase: pairs kPairsTotal .. kPairsTotal + kGroupPairs, one durable commit each,
// from kCommitters coroutines on one thread.
constexpr std::uint64_t kGroupPairs = 100'000;
constexpr std::uint64_t kCommitters = 256;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Deterministic pair i: a 24-byte key and a 150-byte value derived from i.
std::string key_of(std::uint64_t i) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "key-%020llu",
                  static_cast<unsigned long long>(i * 0x9E3779B97F4A7C15ULL % 1000000007ULL));
    return std::string(buffer, 24);
}

std::string value_of(std::uint64_t i) {
    std::string value(150, 'v');
    for (std::size_t j = 0; j < value.size(); j += 8) {
        value[j] = static_cast<char>('a' + (i + j) % 26);
    }
    return value;
}

void progress(const char* what, std::uint64_t done, std::uint64_t total) {
    int width = 40;
    int filled = static_cast<int>(static_cast<double>(done) / static_cast<double>(total) * width);
    std::printf("\r  %-10s [%s%s] %3d%%", what,
                std::string(static_cast<std::size_t>(filled), '#').c_str(),
                std::string(static_cast<std::size_t>(width - filled), '.').c_str(),
                static_cast<int>(100 * done / total));
    std::fflush(stdout);
}

Task<Status> ingest_batch(ringdb::Database& db, std::uint64_t start, std::uint64_t end) {
    auto txn = co_await db.begin_write();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kPairs);
    if (!table) {
        co_return table.error();
    }
    for (std::uint64_t i = start; i < end; ++i) {
        std::string key = key_of(i);
        std::string value = value_of(i);
        auto inserted = co_await table->insert(key, value);
        if (!inserted) {
            co_return inserted.error();
        }
    }
    Status committed = co_await txn->commit();
    co_return committed;
}

Task<Status> put_pair(ringdb::WriteTransaction& txn, std::uint64_t i) {
    auto table = co_await txn.open_table(kPairs);
    if (!table) {
        co_return table.error();
    }
    std::string key = key_of(i);
    std::string value = value_of(i);
    auto inserted = co_await table->insert(key, value);
    if (!inserted) {
        co_return inserted.error();
    }
    co_return ringdb::ok();
}

// One of the group-commit phase's committers: pairs first, first + stride, ... below end, each
// in its own durable commit. `done` counts the commits of all committers (one thread).
Task<Status> commit_pairs(ringdb::Database& db, std::uint64_t first, std::uint64_t stride,
                          std::uint64_t end, std::uint64_t* done) {
    for (std::uint64_t i = first; i < end; i += stride) {
        ringdb::WriteBatch batch = [i](ringdb::WriteTransaction& txn) { return put_pair(txn, i); };
        Status committed = co_await db.submit_write_batch(std::move(batch));
        if (!committed) {
            co_return committed;
        }
        ++*done;
        if (*done % 2000 == 0 || *done == kGroupPairs) {
            progress("group", *done, kGroupPairs);
        }
    }
    co_return ringdb::ok();
}

// Counts the pairs of the table in a fresh snapshot.
Task<Result<std::uint64_t>> count_pairs(ringdb::Database& db) {
    auto txn = db.begin_read();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kPairs);
    if (!table) {
        co_return table.error();
    }
    co_return table->len();
}

// Reads pairs [start, end) with `stride` and checks every value.
Task<Result<std::uint64_t>> read_back(ringdb::Database& db, ringdb::coro::ThreadContext& thread,
                                      std::uint64_t start, std::uint64_t stride) {
    co_await ringdb::coro::schedule_on(thread);
    auto txn = db.begin_read();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kPairs);
    if (!table) {
        co_return table.error();
    }
    std::uint64_t checked = 0;
    for (std::uint64_t i = start; i < kPairsTotal; i += stride) {
        std::string key = key_of(i);
        auto found = co_await table->get(key);
        if (!found) {
            co_return found.error();
        }
        if (!*found || (*found)->value().value_or("") != value_of(i)) {
            co_return ringdb::Error{ringdb::Errc::corrupted, 0, i};
        }
        ++checked;
    }
    co_return checked;
}

int fail(const char* what, const ringdb::Error& error) {
    std::fprintf(stderr, "\ndemo: %s failed: %s\n", what, ringdb::to_string(error).c_str());
    return 1;
}

Task<int> run(std::string path) {
    std::printf("ringdb demo: %llu pairs (24-byte keys, 150-byte values) in %s\n\n",
                static_cast<unsigned long long>(kPairsTotal), path.c_str());
    auto start = Clock::now();
    auto db = co_await ringdb::Database::create(path);
    if (!db) {
        co_return fail("create", db.error());
    }
    for (std::uint64_t done = 0; done < kPairsTotal; done += kBatch) {
        Status batch = co_await ingest_batch(*db, done, done + kBatch);
        if (!batch) {
            co_return fail("ingest", batch.error());
        }
        progress("ingest", done + kBatch, kPairsTotal);
    }
    double ingest_s = seconds_since(start);
    std::printf("\n1. ingested %llu pairs in %llu durable commits: %.2f s (%.0f pairs/s)\n",
                static_cast<unsigned long long>(kPairsTotal),
                static_cast<unsigned long long>(kPairsTotal / kBatch), ingest_s,
                static_cast<double>(kPairsTotal) / ingest_s);

    const ringdb::GroupCommitStats before = db->group_commit_stats();
    auto group_start = Clock::now();
    std::uint64_t group_done = 0;
    {
        std::vector<Task<Status>> committers;
        for (std::uint64_t c = 0; c < kCommitters; ++c) {
            committers.push_back(commit_pairs(*db, kPairsTotal + c, kCommitters,
                                              kPairsTotal + kGroupPairs, &group_done));
        }
        auto all = ringdb::when_all(std::move(committers));
        auto outcomes = co_await std::move(all);
        for (const Status& outcome : outcomes) {
            if (!outcome) {
                co_return fail("group commit", outcome.error());
            }
        }
    }
    double group_s = seconds_since(group_start);
    const ringdb::GroupCommitStats after = db->group_commit_stats();
    std::uint64_t commits = after.batches - before.batches;
    std::uint64_t groups = std::max<std::uint64_t>(after.groups - before.groups, 1);
    auto counted = co_await count_pairs(*db);
    if (!counted) {
        co_return fail("count", counted.error());
    }
    if (*counted != kPairsTotal + kGroupPairs) {
        std::fprintf(stderr, "\ndemo: the table holds %llu pairs, expected %llu\n",
                     static_cast<unsigned long long>(*counted),
                     static_cast<unsigned long long>(kPairsTotal + kGroupPairs));
        co_return 1;
    }
    std::printf("\n2. group commit: %llu pairs from %llu coroutines, one durable commit each: "
                "%.2f s\n   %.0f commits/s in %llu syncs (%.0f syncs/s), %.1f commits per group "
                "on average\n",
                static_cast<unsigned long long>(commits),
                static_cast<unsigned long long>(kCommitters), group_s,
                static_cast<double>(commits) / group_s, static_cast<unsigned long long>(groups),
                static_cast<double>(groups) / group_s,
                static_cast<double>(commits) / static_cast<double>(groups));

    auto read_start = Clock::now();
    std::uint64_t checked = 0;
    {
        ringdb::coro::WorkerThread a;
        ringdb::coro::WorkerThread b;
        auto readers = ringdb::when_all(read_back(*db, a.context(), 0, 2),
                                        read_back(*db, b.context(), 1, 2));
        auto both = co_await std::move(readers);
        auto& [ra, rb] = both;
        if (!ra || !rb) {
            co_return fail("read back", !ra ? ra.error() : rb.error());
        }
        checked = *ra + *rb;
    }
    double read_s = seconds_since(read_start);
    std::printf("3. read back and checked %llu pairs from two threads: %.2f s (%.0f reads/s)\n",
                static_cast<unsigned long long>(checked), read_s,
                static_cast<double>(checked) / read_s);

    auto close_start = Clock::now();
    Status closed = co_await db->close();
    if (!closed) {
        co_return fail("close", closed.error());
    }
    std::printf("4. closed (allocator state saved, file trimmed): %.3f s, file %.1f MiB\n",
                seconds_since(close_start),
                static_cast<double>(std::filesystem::file_size(path)) / (1024.0 * 1024.0));

    auto reopen_start = Clock::now();
    auto reopened = co_await ringdb::Database::open(path);
    if (!reopened) {
        co_return fail("reopen", reopened.error());
    }
    double reopen_s = seconds_since(reopen_start);
    ringdb::coro::ThreadContext& here = ringdb::coro::ThreadContext::current();
    auto sample = co_await read_back(*reopened, here, 0, 1000);
    if (!sample) {
        co_return fail("read after reopen", sample.error());
    }
    std::printf("5. reopened in %.3f s and checked %llu sampled pairs\n", reopen_s,
                static_cast<unsigned long long>(*sample));
    Status closed_again = co_await reopened->close();
    if (!closed_again) {
        co_return fail("second close", closed_again.error());
    }
    std::printf("\ndemo: done in %.2f s\n", seconds_since(start));
    co_return 0;
}

}  // namespace

int main() {
    std::filesystem::path dir = std::filesystem::current_path() / "build" /
                                ("demo-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    int rc = ringdb::sync_wait(run((dir / "demo.ringdb").string()));
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return rc;
}
