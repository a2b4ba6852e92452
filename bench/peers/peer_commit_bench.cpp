// peer_commit_bench: the commit_bench ratios measured for ringdb's peers, in the same run as
// fio, to show what the group-commit goals of issue 4 ask of any engine on this machine.
//
// Per engine (kv_bench's adapters: ringdb's direct commits, LMDB, RocksDB, LevelDB, SQLite in
// WAL mode) and per K (committer threads, default 1 and 64): a fresh database prefilled with
// --prefill pairs, then K threads each looping one durable insert of a 24/150 pair for
// --seconds. Measured: commits/s; syncs/s, counted by interposing fdatasync(2) and fsync(2)
// (every peer syncs through libc; ringdb syncs through io_uring, so its syncs are taken as one
// per commit, which is what a direct commit does); the bytes written per sync (/proc/self/io,
// see written_bytes()). Right after each cell fio runs for as long on the same
// directory with `--rw=write --bs=S --ioengine=sync --fdatasync=1`, S = bytes per sync rounded
// up to 4 KiB, exactly as commit_bench does for ringdb. The ratio is the goal's: commits/s over
// (commits per sync x fio's sync rate at S), which is syncs/s over fio's sync rate at S.
//
// K > 1 runs only for RocksDB and LevelDB, which merge concurrent writers into one log write and
// one sync (their group commit); LMDB and SQLite let writers take turns, one sync per commit,
// and ringdb's group commit is commit_bench's subject.

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_report.hpp"
#include "common/fio_runner.hpp"
#include "common/scratch_files.hpp"
#include "peers/kv_peers.hpp"
#include "peers/peer_writers.hpp"

// Interposed system calls: the executable's definitions take precedence over libc's for every
// shared library the peers live in, so each sync any engine makes is counted here.
namespace {
std::atomic<std::uint64_t> g_syncs{0};

template <typename Fn>
Fn next_symbol(const char* name) {
    void* symbol = ::dlsym(RTLD_NEXT, name);
    if (symbol == nullptr) {
        std::fprintf(stderr, "peer_commit_bench: dlsym(%s) failed\n", name);
        std::abort();
    }
    return reinterpret_cast<Fn>(symbol);
}
}  // namespace

extern "C" int fdatasync(int fd) {
    using Fn = int (*)(int);
    static const Fn real = next_symbol<Fn>("fdatasync");
    g_syncs.fetch_add(1, std::memory_order_relaxed);
    return real(fd);
}

extern "C" int fsync(int fd) {
    using Fn = int (*)(int);
    static const Fn real = next_symbol<Fn>("fsync");
    g_syncs.fetch_add(1, std::memory_order_relaxed);
    return real(fd);
}

namespace ringdb::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string dir;
    std::string fio = "fio";
    std::vector<std::string> engines = {"ringdb", "lmdb", "rocksdb", "leveldb", "sqlite-wal"};
    std::vector<int> ks = {1, 64};
    double seconds = 3;
    std::uint64_t prefill = 100'000;
    int runs = 3;
    bool quick = false;  // smoke run (make bench-smoke): every cell short, one run
};

int usage() {
    std::fprintf(stderr,
                 "usage: peer_commit_bench [--dir DIR] [--engines LIST] [--ks LIST]\n"
                 "                         [--seconds S] [--prefill N] [--runs R] [--fio PATH]\n"
                 "                         [--quick]\n"
                 "  --engines  subset of ringdb,lmdb,rocksdb,leveldb,sqlite-wal,sqlite-rj\n"
                 "             (default all but sqlite-rj)\n"
                 "  --ks       committer threads per cell (default 1,64)\n"
                 "  --seconds  timed seconds per cell (default 3); fio runs as long after it\n"
                 "  --prefill  pairs loaded before each cell (default 100000)\n"
                 "  --runs     runs; each printed figure is the median (default 3)\n"
                 "  --quick    smoke run: 0.3 s cells, K = 1 and 4, prefill 2000, one run;\n"
                 "             fails when an engine committed nothing or no sync was counted\n");
    return 2;
}

std::optional<Options> parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--quick") {
            o.quick = true;
            o.runs = 1;
            o.seconds = 0.3;
            o.prefill = 2'000;
            o.ks = {1, 4};
            continue;
        }
        if (arg == "--help" || arg == "-h" || i + 1 >= argc) {
            return std::nullopt;
        }
        std::string value = argv[++i];
        char* end = nullptr;
        if (arg == "--dir") {
            o.dir = value;
        } else if (arg == "--fio") {
            o.fio = value;
        } else if (arg == "--engines") {
            o.engines = split_list(value);
        } else if (arg == "--ks") {
            o.ks.clear();
            for (const std::string& k : split_list(value)) {
                long parsed = std::strtol(k.c_str(), &end, 10);
                if (*end != '\0' || parsed < 1 || parsed > 1024) {
                    return std::nullopt;
                }
                o.ks.push_back(static_cast<int>(parsed));
            }
        } else if (arg == "--seconds") {
            o.seconds = std::strtod(value.c_str(), &end);
            if (*end != '\0' || !(o.seconds > 0 && o.seconds <= 600)) {
                return std::nullopt;
            }
        } else if (arg == "--prefill") {
            o.prefill = std::strtoull(value.c_str(), &end, 10);
            if (*end != '\0' || o.prefill > 100'000'000) {
                return std::nullopt;
            }
        } else if (arg == "--runs") {
            long parsed = std::strtol(value.c_str(), &end, 10);
            if (*end != '\0' || parsed < 1 || parsed > 99) {
                return std::nullopt;
            }
            o.runs = static_cast<int>(parsed);
        } else {
            return std::nullopt;
        }
    }
    if (o.engines.empty() || o.ks.empty()) {
        return std::nullopt;
    }
    for (const std::string& name : o.engines) {
        if (make_named_engine(name, 0) == nullptr) {
            std::fprintf(stderr, "peer_commit_bench: unknown engine '%s'\n", name.c_str());
            return std::nullopt;
        }
    }
    return o;
}

/// A field of /proc/self/io ("wchar:", "write_bytes:"), or 0.
std::uint64_t process_io(const char* field) {
    std::ifstream in("/proc/self/io");
    std::string key;
    std::uint64_t value = 0;
    while (in >> key >> value) {
        if (key == field) {
            return value;
        }
    }
    return 0;
}

/// Bytes the engine wrote: for the peers, the bytes handed to write system calls (wchar):
/// write_bytes counts a whole large folio of the page cache for every page dirtied in it on
/// this kernel, far more than the bytes written. ringdb writes through io_uring, which
/// wchar does not see, and whole pages that do not sit in large folios: write_bytes, as in
/// commit_bench.
std::uint64_t written_bytes(const std::string& engine) {
    return process_io(engine == "ringdb" ? "write_bytes:" : "wchar:");
}

struct Cell {
    double commits_per_second = 0;
    double syncs_per_second = 0;
    double bytes_per_sync = 0;
    double fio_syncs_per_second = 0;
    std::uint64_t fio_block = 0;
    double ratio = 0;
};

/// One cell: the shared writer loop (peers/peer_writers.hpp), with the syncs and bytes the
/// process made meanwhile.
Cell run_writers(KvEngine& engine, int k, double seconds, std::uint64_t seed) {
    const std::uint64_t syncs_before = g_syncs.load();
    const std::uint64_t bytes_before = written_bytes(engine.name());
    PeerWriters writers = run_peer_writers(engine, k, seconds, seed);
    Cell cell;
    const auto n = static_cast<double>(writers.commits);
    const auto syncs = static_cast<double>(g_syncs.load() - syncs_before);
    const auto bytes = static_cast<double>(written_bytes(engine.name()) - bytes_before);
    cell.commits_per_second = writers.commits_per_second;
    // ringdb syncs through io_uring, not libc: a direct commit is one sync.
    const double counted = engine.name() == "ringdb" ? n : syncs;
    cell.syncs_per_second = counted / writers.seconds;
    cell.bytes_per_sync = counted > 0 ? bytes / counted : 0;
    return cell;
}

std::optional<FioResult> run_fio(const FioRunner& fio, const std::string& file,
                                 std::uint64_t file_bytes, std::uint64_t block, double seconds) {
    std::vector<std::string> args = {
            "--name=write_fdatasync_" + std::to_string(block),
            "--filename=" + file,
            "--size=" + std::to_string(file_bytes),
            "--ioengine=sync",
            "--rw=write",
            "--bs=" + std::to_string(block),
            "--fdatasync=1",
            "--time_based",
            "--runtime=" + std::to_string(std::llround(seconds * 1000)) + "ms"};
    std::string error;
    auto r = fio.run(args, error);
    if (!r) {
        std::fprintf(stderr, "peer_commit_bench: fio failed: %s\n", error.c_str());
    }
    return r;
}

int run(const Options& options) {
    auto base = choose_base_dir(options.dir, "peer_commit_bench", "syncs would cost nothing");
    if (!base) {
        return 1;
    }
    std::string templ = *base + "/peer_commit_bench.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
        std::perror("peer_commit_bench: mkdtemp");
        return 1;
    }
    const std::string dir = templ;
    const std::string fio_file = dir + "/fio.dat";
    constexpr std::uint64_t kFioBytes = std::uint64_t{256} << 20;
    register_scratch({fio_file, dir + "/fio_report.json", dir + "/fio.log"}, dir,
                     "peer_commit_bench");
    std::atexit(cleanup_scratch);
    FioRunner fio(options.fio, dir);
    std::string error;
    auto version = fio.version(error);
    if (!version) {
        std::fprintf(stderr, "peer_commit_bench: fio is required: %s\n", error.c_str());
        return 1;
    }
    if (!create_filled_file(fio_file, kFioBytes, "peer_commit_bench")) {
        return 1;
    }
    std::printf("peer_commit_bench: one durable insert per commit from K threads, against fio's "
                "sync rate at the bytes each sync wrote (%s)\n",
                version->c_str());
    std::printf("dir: %s; %.0f s per cell, prefill %llu, %d run(s), medians\n\n", dir.c_str(),
                options.seconds, static_cast<unsigned long long>(options.prefill),
                options.runs);

    std::map<std::pair<std::string, int>, std::vector<Cell>> cells;
    for (int r = 0; r < options.runs; ++r) {
        for (const std::string& name : options.engines) {
            for (int k : options.ks) {
                if (k > 1 && !merges_concurrent_writers(name)) {
                    continue;
                }
                const std::string db_dir = dir + "/db";
                std::unique_ptr<KvEngine> engine = open_prefilled(name, db_dir, options.prefill);
                Cell cell = run_writers(*engine, k, options.seconds,
                                        static_cast<std::uint64_t>(r + 1));
                engine->close();
                engine.reset();
                std::filesystem::remove_all(db_dir);
                constexpr std::uint64_t kUnit = 4096;
                auto bytes = static_cast<std::uint64_t>(std::ceil(cell.bytes_per_sync));
                cell.fio_block = std::clamp<std::uint64_t>((bytes + kUnit - 1) / kUnit * kUnit,
                                                           kUnit, kFioBytes);
                auto f = run_fio(fio, fio_file, kFioBytes, cell.fio_block, options.seconds);
                if (!f || f->runtime_seconds <= 0) {
                    return 1;
                }
                double fio_syncs = f->syncs > 0 ? f->syncs : f->write_ios;
                cell.fio_syncs_per_second = fio_syncs / f->runtime_seconds;
                cell.ratio = cell.syncs_per_second / cell.fio_syncs_per_second;
                if (cell.commits_per_second <= 0 || cell.syncs_per_second <= 0) {
                    // Durable commits without a counted sync: the interposition failed, and
                    // every ratio printed would be wrong.
                    std::fprintf(stderr,
                                 "peer_commit_bench: %s K=%d: %.0f commits/s, %.0f syncs/s "
                                 "counted\n",
                                 name.c_str(), k, cell.commits_per_second,
                                 cell.syncs_per_second);
                    return 1;
                }
                std::printf("run %d %-10s K=%-4d %9.0f commits/s %8.0f syncs/s %7.1f KiB/sync "
                            "| fio %6.0f syncs/s at %llu KiB | ratio %.2f\n",
                            r + 1, name.c_str(), k, cell.commits_per_second,
                            cell.syncs_per_second, cell.bytes_per_sync / 1024,
                            cell.fio_syncs_per_second,
                            static_cast<unsigned long long>(cell.fio_block / 1024), cell.ratio);
                std::fflush(stdout);
                cells[{name, k}].push_back(cell);
            }
        }
    }
    std::printf("\n%-10s %5s %10s %9s %9s %10s %7s\n", "engine", "K", "commits/s", "syncs/s",
                "per sync", "fio syn/s", "ratio");
    for (const std::string& name : options.engines) {
        for (int k : options.ks) {
            if (k > 1 && !merges_concurrent_writers(name)) {
                std::printf("%-10s %5d   not run: %s\n", name.c_str(), k,
                            name == "ringdb" ? "its group commit is commit_bench's K rows"
                                             : "writers take turns, one sync per commit");
                continue;
            }
            const std::vector<Cell>& runs = cells[{name, k}];
            auto pick = [&](double Cell::*field) {
                std::vector<double> v;
                for (const Cell& c : runs) {
                    v.push_back(c.*field);
                }
                return median(v);
            };
            const double commits = pick(&Cell::commits_per_second);
            const double syncs = pick(&Cell::syncs_per_second);
            std::printf("%-10s %5d %10.0f %9.0f %9.1f %10.0f %7.2f\n", name.c_str(), k, commits,
                        syncs, syncs > 0 ? commits / syncs : 0, pick(&Cell::fio_syncs_per_second),
                        pick(&Cell::ratio));
        }
    }
    std::printf("\nratio = syncs/s over fio's sync rate at the bytes per sync = commits/s over "
                "(commits per sync x fio's rate), per run, then the median;\n"
                "the goals of issue 4 ask >= 0.8 at K = 1 (single_committer_vs_fio_sync) and "
                "at K = 64 (k64_vs_group_limit).\n");
    return 0;
}

}  // namespace
}  // namespace ringdb::bench

int main(int argc, char** argv) {
    auto options = ringdb::bench::parse(argc, argv);
    if (!options) {
        return ringdb::bench::usage();
    }
    try {
        return ringdb::bench::run(*options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "peer_commit_bench: %s\n", e.what());
        return 1;
    }
}
