// commit_extras: the peers, fio and recovery cells of commit_bench (commit_extras.hpp).

#include "commit/commit_extras.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>

#include <ringdb/ringdb.hpp>

#include "commit/commit_workload.hpp"
#include "peers/kv_peers.hpp"
#include "peers/peer_writers.hpp"

namespace ringdb::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// The options the recovery cells open with: a cache that holds the small database and a
/// tenth of the large one, and checkpoints only when the log is half full.
DatabaseOptions recovery_options() {
    DatabaseOptions options;
    options.cache_size = std::uint64_t{1024} << 20;
    options.checkpoint_bytes = std::uint64_t{1} << 40;
    options.checkpoint_interval = std::chrono::hours(24);
    return options;
}

std::uint64_t file_bytes(const std::string& path) {
    std::error_code error;
    const auto bytes = std::filesystem::file_size(path, error);
    return error ? 0 : static_cast<std::uint64_t>(bytes);
}

}  // namespace

const std::vector<std::string>& commit_peers() {
    static const std::vector<std::string> peers = {"lmdb", "rocksdb", "leveldb", "sqlite-wal"};
    return peers;
}

bool run_peer_cells(const std::string& dir, std::uint64_t prefill, double seconds,
                    const std::vector<int>& ks, int run, CommitExtras& out) {
    for (const std::string& name : commit_peers()) {
        for (int k : ks) {
            if (k != 1 && (!merges_concurrent_writers(name) || (k != 64 && k != 256))) {
                continue;
            }
            const std::string db_dir = dir + "/peer_db";
            try {
                std::unique_ptr<KvEngine> engine = open_prefilled(name, db_dir, prefill);
                PeerWriters cell = run_peer_writers(*engine, k, seconds,
                                                    static_cast<std::uint64_t>(run + 1));
                engine->close();
                out.peer_commits[name][k].push_back(cell.commits_per_second);
                out.peer_p99_us[name][k].push_back(cell.p99_us);
                std::fprintf(stderr, "  run %d  %-10s K=%-4d %9.0f commits/s  p99 %7.2f ms\n",
                             run + 1, name.c_str(), k, cell.commits_per_second,
                             cell.p99_us / 1000.0);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "commit_bench: %s K=%d: %s\n", name.c_str(), k, e.what());
                return false;
            }
            std::filesystem::remove_all(db_dir);
        }
    }
    return true;
}

std::optional<std::pair<double, std::string>> best_fio_log_sync(const FioRunner& fio,
                                                                const std::string& file,
                                                                std::uint64_t file_bytes,
                                                                std::uint64_t block,
                                                                double seconds) {
    struct Way {
        const char* name;
        bool direct;
        bool dsync;
    };
    const Way ways[] = {{"buffered+fdatasync", false, false},
                        {"O_DIRECT+fdatasync", true, false},
                        {"buffered+O_DSYNC", false, true},
                        {"O_DIRECT+O_DSYNC", true, true}};
    std::optional<std::pair<double, std::string>> best;
    for (const Way& way : ways) {
        const long long milliseconds = std::max<long long>(1, std::llround(seconds * 1000));
        std::vector<std::string> args = {
                std::string("--name=log_sync_") + way.name, "--filename=" + file,
                "--size=" + std::to_string(file_bytes), "--ioengine=sync", "--rw=write",
                "--bs=" + std::to_string(block), "--time_based",
                "--runtime=" + std::to_string(milliseconds) + "ms"};
        args.push_back(way.direct ? "--direct=1" : "--direct=0");
        args.push_back(way.dsync ? "--sync=dsync" : "--fdatasync=1");
        std::string error;
        auto r = fio.run(args, error);
        if (!r || r->runtime_seconds <= 0) {
            std::fprintf(stderr, "commit_bench: fio (%s) failed: %s\n", way.name, error.c_str());
            return std::nullopt;
        }
        // Every write is durable when it returns (O_DSYNC) or when its fdatasync does.
        const double rate = r->write_ios / r->runtime_seconds;
        if (!best || rate > best->first) {
            best = std::pair<double, std::string>{rate, way.name};
        }
    }
    return best;
}

bool build_recovery_database(const std::string& path, std::uint64_t bytes) {
    std::filesystem::remove(path);
    auto db = sync_wait(create_db(path, recovery_options()));
    if (!db) {
        std::fprintf(stderr, "commit_bench: cannot create %s: %s\n", path.c_str(),
                     to_string(db.error()).c_str());
        return false;
    }
    // `bytes` of data besides the log; 24/150 pairs take about 300 bytes of file each once
    // the leaves split.
    const std::uint64_t target = bytes + db->commit_log_stats().log_bytes;
    constexpr std::uint64_t kChunk = 200'000;
    std::uint64_t seed = 0x7ec0;
    while (file_bytes(path) < target) {
        const std::uint64_t want = (target - file_bytes(path)) / 200 + 1000;
        if (Status filled = prefill(*db, std::min(kChunk, want), seed++); !filled) {
            std::fprintf(stderr, "commit_bench: building %s: %s\n", path.c_str(),
                         to_string(filled.error()).c_str());
            return false;
        }
    }
    return static_cast<bool>(sync_wait(close_db(&*db)));
}

int recovery_child(const std::string& path, std::uint64_t seed) {
    auto db = sync_wait(open_db(path, recovery_options()));
    if (!db) {
        std::fprintf(stderr, "commit_bench child: open: %s\n", to_string(db.error()).c_str());
        return 1;
    }
    const CommitLogStats start = db->commit_log_stats();
    if (start.log_bytes == 0) {
        std::fprintf(stderr, "commit_bench child: the database has no log\n");
        return 1;
    }
    std::uint64_t pairs = 0;
    for (std::uint64_t i = 0;; ++i) {
        const CommitLogStats now = db->commit_log_stats();
        if (now.checkpoints != start.checkpoints) {
            std::fprintf(stderr, "commit_bench child: a checkpoint ran before the log filled\n");
            return 1;
        }
        if (now.log_used_bytes * 100 >= now.log_bytes * 45) {
            break;
        }
        if (Status done = prefill(*db, 100, seed * 1'000'003 + i); !done) {
            std::fprintf(stderr, "commit_bench child: commit: %s\n",
                         to_string(done.error()).c_str());
            return 1;
        }
        pairs += 100;
    }
    std::printf("pairs %llu\n", static_cast<unsigned long long>(pairs));
    std::fflush(stdout);
    std::raise(SIGKILL);
    return 1;
}

namespace {

/// Drops the file's pages from the kernel's page cache (after writing back the dirty ones), as
/// a power loss would have: the reopen then reads from the device.
bool drop_cached_pages(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    const bool dropped =
            ::fdatasync(fd) == 0 && ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
    ::close(fd);
    return dropped;
}

}  // namespace

bool run_recovery_cell(const std::string& exe, const std::string& path, RecoveryCell& cell) {
    // exec: the shell becomes the child, so its SIGKILL is the status pclose returns.
    const std::string command = "exec '" + exe + "' --recovery-child '" + path + "' " +
                                std::to_string(cell.run + 1);
    std::FILE* child = ::popen(command.c_str(), "r");
    if (child == nullptr) {
        std::fprintf(stderr, "commit_bench: cannot run %s: %s\n", command.c_str(),
                     std::strerror(errno));
        return false;
    }
    unsigned long long reported = 0;
    const int fields = std::fscanf(child, "pairs %llu", &reported);
    const int status = ::pclose(child);
    const bool killed = (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
                        (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL);
    if (fields != 1 || !killed) {
        std::fprintf(stderr, "commit_bench: the recovery child did not fill the log and die "
                             "(status %d)\n", status);
        return false;
    }
    cell.pairs = static_cast<double>(reported);
    if (cell.cold && !drop_cached_pages(path)) {
        std::fprintf(stderr, "commit_bench: cannot drop the cached pages of %s: %s\n",
                     path.c_str(), std::strerror(errno));
        return false;
    }
    const auto started = Clock::now();
    auto db = sync_wait(open_db(path, recovery_options()));
    cell.reopen_seconds = seconds_since(started);
    if (!db) {
        std::fprintf(stderr, "commit_bench: reopen of %s: %s\n", path.c_str(),
                     to_string(db.error()).c_str());
        return false;
    }
    if (cell.bulk) {
        const auto loading = Clock::now();
        if (Status filled = prefill(*db, reported, 0xb01c + static_cast<std::uint64_t>(cell.run));
            !filled) {
            std::fprintf(stderr, "commit_bench: bulk load: %s\n",
                         to_string(filled.error()).c_str());
            return false;
        }
        cell.bulk_seconds = seconds_since(loading);
    }
    return static_cast<bool>(sync_wait(close_db(&*db)));
}

}  // namespace ringdb::bench
