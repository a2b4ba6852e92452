// kv_bench: redb's KV benchmark ported, ringdb against LMDB, RocksDB, LevelDB and SQLite (WAL
// and rollback journal), same data, same order, same machine.
//
// Data: 24-byte keys and 150-byte values drawn from wyrand seeded with 3 (peers/kv_peers.hpp),
// so the key set is redb's. Phases, in order, per engine (each in a fresh directory under
// --dir):
//   bulk load         one write transaction of N inserts, commit included
//   individual writes 1,000 durable transactions of one insert
//   batch writes      100 durable transactions of 1,000 inserts
//   nosync writes     50,000 one-insert transactions without sync
//   len               count of entries in a read transaction
//   random reads      N point gets replaying the stream from seed 3 (the bulk-loaded keys),
//                     twice; every value is checked
//   range reads       500,000 scans of 10 entries from a replayed key, twice
//   threaded reads    T = 1, 2, 4 threads, each reading its shard (N / T keys) of the stream
//   removals          one durable transaction removing the first N / 2 keys of the stream
//   sizes             after removals (open), after close, and compacted (time and size)
// Engines run one after the other (order rotating between runs); each cell is the median over
// --runs. The last lines are `ratio <name> <value>`: ringdb's figure over LMDB's.

#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/bench_report.hpp"
#include "kv/kv_report.hpp"
#include "peers/kv_peers.hpp"

namespace ringdb::bench {

namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kAllEngines = {"ringdb",  "lmdb",       "rocksdb",
                                              "leveldb", "sqlite-wal", "sqlite-rj"};

struct Options {
    std::string dir;  // base directory; empty: ./build
    std::uint64_t n = 1'000'000;
    int runs = 1;
    bool quick = false;
    bool writes_only = false;  // stop after the nosync phase and report the sizes
    std::uint64_t ringdb_cache_mib = 1024;
    std::vector<std::string> engines = kAllEngines;
};

void print_usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: kv_bench [--n N] [--dir DIR] [--runs R] [--quick] [--engines LIST]\n"
                 "                [--ringdb-cache-mib M] [--writes-only]\n"
                 "  --n N        pairs of the bulk load (default 1000000)\n"
                 "  --dir DIR    base directory on a real disk (default ./build); the run uses\n"
                 "               DIR/kv_bench.XXXXXX and removes it at the end\n"
                 "  --runs R     runs; each cell is the median (default 1)\n"
                 "  --quick      smoke run: N = 20000, every other count scaled down\n"
                 "  --engines L  comma-separated subset of ringdb,lmdb,rocksdb,leveldb,\n"
                 "               sqlite-wal,sqlite-rj (default: all)\n"
                 "  --ringdb-cache-mib M  ringdb's page cache (default 1024: the whole file\n"
                 "               fits, as it fits in the OS page cache the peers read through)\n"
                 "  --writes-only  run the write phases up to nosync, print the sizes, stop\n");
}

bool parse_options(int argc, char** argv, Options& options, Counts& counts) {
    bool explicit_n = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        if (std::size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        } else if (arg != "--quick" && arg != "--writes-only" && arg != "--help" &&
                   arg != "-h") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "kv_bench: %s needs a value\n", arg.c_str());
                return false;
            }
            value = argv[++i];
        }
        char* end = nullptr;
        unsigned long long number = std::strtoull(value.c_str(), &end, 10);
        bool numeric = !value.empty() && end != nullptr && *end == '\0' && number > 0;
        if (arg == "--quick") {
            options.quick = true;
        } else if (arg == "--writes-only") {
            options.writes_only = true;
        } else if (arg == "--help" || arg == "-h") {
            print_usage(stdout);
            std::exit(0);
        } else if (arg == "--dir") {
            options.dir = value;
        } else if (arg == "--engines") {
            options.engines = split_list(value);
        } else if ((arg == "--n" || arg == "--runs" || arg == "--ringdb-cache-mib") && numeric) {
            if (arg == "--n") {
                options.n = number;
                explicit_n = true;
            } else if (arg == "--runs") {
                options.runs = static_cast<int>(std::min<unsigned long long>(number, 100));
            } else {
                options.ringdb_cache_mib = number;
            }
        } else {
            std::fprintf(stderr, "kv_bench: bad option '%s' (value '%s')\n", arg.c_str(),
                         value.c_str());
            print_usage(stderr);
            return false;
        }
    }
    for (const std::string& name : options.engines) {
        if (std::find(kAllEngines.begin(), kAllEngines.end(), name) == kAllEngines.end()) {
            std::fprintf(stderr, "kv_bench: unknown engine '%s'\n", name.c_str());
            return false;
        }
    }
    if (options.quick) {
        options.n = explicit_n ? options.n : 20'000;
        counts = Counts::quick(options.n);
    } else {
        counts = Counts::full(options.n);
    }
    return true;
}

std::unique_ptr<KvEngine> make_engine(const std::string& name, const Options& options) {
    return make_named_engine(name, options.ringdb_cache_mib << 20);
}

// The scratch directory, removed at exit and on SIGINT/SIGTERM. The handler only forks and
// execs rm (async-signal-safe calls) on a path prepared in advance.
char g_scratch[PATH_MAX] = {};
bool g_writes_only = false;

void remove_scratch() {
    if (g_scratch[0] != '\0') {
        std::error_code ignored;
        std::filesystem::remove_all(g_scratch, ignored);
        g_scratch[0] = '\0';
    }
}

extern "C" void on_signal(int signal_number) {
    if (g_scratch[0] != '\0') {
        pid_t child = ::fork();
        if (child == 0) {
            ::execl("/bin/rm", "rm", "-rf", g_scratch, static_cast<char*>(nullptr));
            ::_exit(127);
        }
        if (child > 0) {
            ::waitpid(child, nullptr, 0);
        }
    }
    ::_exit(128 + signal_number);
}

double seconds_of(const std::function<void()>& work) {
    auto start = Clock::now();
    work();
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Process CPU time (every thread, user + system) in seconds.
double process_cpu_seconds() {
    timespec now{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

/// Wall and process CPU seconds of `work`.
std::pair<double, double> wall_and_cpu_of(const std::function<void()>& work) {
    double cpu_start = process_cpu_seconds();
    double wall = seconds_of(work);
    return {wall, process_cpu_seconds() - cpu_start};
}

void expect(bool ok, const std::string& engine, const std::string& what) {
    if (!ok) {
        throw KvError(engine + ": check failed: " + what);
    }
}

/// T threads, thread i reading pairs [i * N/T, (i + 1) * N/T) of the stream.
double threaded_reads(KvEngine& engine, std::uint64_t n, int threads) {
    std::uint64_t per_thread = n / static_cast<std::uint64_t>(threads);
    std::vector<Wyrand> shards;
    for (int t = 0; t < threads; ++t) {
        Wyrand rng(kSeed);
        Pair skipped;
        for (std::uint64_t i = 0; i < per_thread * static_cast<std::uint64_t>(t); ++i) {
            skipped.draw(rng);
        }
        shards.push_back(rng);
    }
    std::vector<std::uint64_t> found(static_cast<std::size_t>(threads), 0);
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(threads));
    double seconds = seconds_of([&] {
        std::vector<std::thread> pool;
        for (std::size_t t = 0; t < shards.size(); ++t) {
            pool.emplace_back([&, t] {
                try {
                    found[t] = engine.read(shards[t], per_thread);
                } catch (...) {
                    errors[t] = std::current_exception();
                }
            });
        }
        for (std::thread& thread : pool) {
            thread.join();
        }
    });
    for (std::size_t t = 0; t < shards.size(); ++t) {
        if (errors[t]) {
            std::rethrow_exception(errors[t]);
        }
        expect(found[t] == per_thread, engine.name(), "threaded reads found every value");
    }
    return seconds;
}

void note(const std::string& engine, const char* phase, double value, bool is_size) {
    if (is_size) {
        std::fprintf(stderr, "  %-10s %-22s %10.1f MiB\n", engine.c_str(), phase,
                     value / (1024.0 * 1024.0));
    } else {
        std::fprintf(stderr, "  %-10s %-22s %10.1f ms\n", engine.c_str(), phase, value * 1e3);
    }
}

/// Runs every phase on one engine in `dir` and records one sample per phase.
void run_engine(KvEngine& engine, const std::string& dir, const Counts& c, KvResults& results) {
    const std::string name = engine.name();
    auto record = [&](KvPhase phase, double value) {
        results.add(name, phase, value);
        note(name, kv_phase_key(phase), value, kv_phase_is_size(phase));
    };
    Wyrand rng(kSeed);
    engine.open(dir);
    auto record_both = [&](KvPhase wall_phase, KvPhase cpu_phase, std::pair<double, double> t) {
        record(wall_phase, t.first);
        record(cpu_phase, t.second);
    };
    record_both(KvPhase::bulk_load, KvPhase::bulk_load_cpu,
                wall_and_cpu_of([&] { engine.write(rng, c.n, true); }));
    record(KvPhase::individual_writes, seconds_of([&] {
               for (std::uint64_t i = 0; i < c.individual; ++i) {
                   engine.write(rng, 1, true);
               }
           }));
    record(KvPhase::batch_writes, seconds_of([&] {
               for (std::uint64_t i = 0; i < c.batches; ++i) {
                   engine.write(rng, c.batch_size, true);
               }
           }));
    record(KvPhase::nosync_writes, seconds_of([&] {
               for (std::uint64_t i = 0; i < c.nosync; ++i) {
                   engine.write(rng, 1, false);
               }
           }));
    if (g_writes_only) {
        note(name, "size after nosync", static_cast<double>(directory_bytes(dir)), true);
        engine.close();
        note(name, "size after close", static_cast<double>(directory_bytes(dir)), true);
        return;
    }
    std::uint64_t len = 0;
    record(KvPhase::len, seconds_of([&] { len = engine.len(); }));
    expect(len == c.inserted(), name, "len() == " + std::to_string(c.inserted()) + " (got " +
                                              std::to_string(len) + ")");
    record_both(KvPhase::random_reads, KvPhase::random_reads_cpu, wall_and_cpu_of([&] {
                    for (int pass = 0; pass < 2; ++pass) {
                        Wyrand replay(kSeed);
                        expect(engine.read(replay, c.reads) == c.reads, name,
                               "every read found");
                    }
                }));
    record_both(KvPhase::range_reads, KvPhase::range_reads_cpu, wall_and_cpu_of([&] {
                    for (int pass = 0; pass < 2; ++pass) {
                        Wyrand replay(kSeed);
                        expect(engine.range(replay, c.ranges, c.range_width) > 0, name,
                               "ranges");
                    }
                }));
    record(KvPhase::reads_t1, threaded_reads(engine, c.n, 1));
    record(KvPhase::reads_t2, threaded_reads(engine, c.n, 2));
    record(KvPhase::reads_t4, threaded_reads(engine, c.n, 4));
    std::uint64_t removed = 0;
    record(KvPhase::removals, seconds_of([&] {
               Wyrand replay(kSeed);
               removed = engine.remove(replay, c.n / 2);
           }));
    expect(removed == c.n / 2, name, "removals removed N/2 keys");
    record(KvPhase::size_open, static_cast<double>(directory_bytes(dir)));
    engine.close();
    record(KvPhase::size_closed, static_cast<double>(directory_bytes(dir)));
    engine.open(dir);
    std::optional<std::uint64_t> compacted;
    double compact_seconds = seconds_of([&] { compacted = engine.compact(); });
    record(KvPhase::compaction, compacted ? compact_seconds : std::nan(""));
    record(KvPhase::size_compacted, compacted ? static_cast<double>(*compacted) : std::nan(""));
    engine.close();
}

std::string first_line_with(const std::string& path, const std::string& prefix) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) {
            std::size_t colon = line.find(':');
            std::size_t start = line.find_first_not_of(" \t", colon + 1);
            return colon == std::string::npos || start == std::string::npos ? line
                                                                            : line.substr(start);
        }
    }
    return "?";
}

void print_header(int argc, char** argv, const std::string& dir, const Options& options,
                  const Counts& c) {
    std::time_t now = std::time(nullptr);
    char date[64];
    std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", std::localtime(&now));
    utsname uts{};
    ::uname(&uts);
    std::printf("kv_bench: redb's KV benchmark ported (docs/performance.md)\n");
    std::printf("date:       %s\n", date);
    std::printf("machine:    %s, %u cpus, %s memory\n",
                first_line_with("/proc/cpuinfo", "model name").c_str(),
                std::thread::hardware_concurrency(),
                first_line_with("/proc/meminfo", "MemTotal").c_str());
    std::printf("kernel:     %s %s %s\n", uts.sysname, uts.release, uts.machine);
    std::printf("directory:  %s (%s)\n", dir.c_str(), filesystem_name(dir).c_str());
    std::string command;
    for (int i = 0; i < argc; ++i) {
        // Appended piecewise: g++ 12 warns (-Wrestrict, a false positive) on a + chain here.
        if (i > 0) {
            command += ' ';
        }
        command += argv[i];
    }
    std::printf("command:    %s\n", command.c_str());
    std::printf("workload:   N=%llu, individual %llu, batch %llu x %llu, nosync %llu, reads 2 x "
                "%llu, ranges 2 x %llu x %d, threaded N/T each, removals %llu; runs %d%s\n",
                static_cast<unsigned long long>(c.n),
                static_cast<unsigned long long>(c.individual),
                static_cast<unsigned long long>(c.batches),
                static_cast<unsigned long long>(c.batch_size),
                static_cast<unsigned long long>(c.nosync),
                static_cast<unsigned long long>(c.reads),
                static_cast<unsigned long long>(c.ranges), c.range_width,
                static_cast<unsigned long long>(c.n / 2), options.runs,
                options.quick ? " (quick)" : "");
    std::printf("settings:   ringdb defaults but cache %llu MiB; lmdb default flags, 64 GiB map; "
                "rocksdb/leveldb defaults, sync=true; sqlite WITHOUT ROWID table, "
                "synchronous=FULL\n",
                static_cast<unsigned long long>(options.ringdb_cache_mib));
    std::string versions;
    for (const std::string& name : options.engines) {
        if (!versions.empty()) {
            versions += ", ";
        }
        versions += name;
        versions += ' ';
        versions += make_engine(name, options)->version();
    }
    std::printf("versions:   %s\n\n", versions.c_str());
    std::fflush(stdout);
}

int run(int argc, char** argv) {
    Options options;
    Counts counts;
    if (!parse_options(argc, argv, options, counts)) {
        return 2;
    }
    std::string base = options.dir.empty() ? "build" : options.dir;
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
    if (is_memory_filesystem(base)) {
        std::fprintf(stderr, "kv_bench: %s is on %s, a memory file system: syncs would cost "
                             "nothing. Pass --dir on a real disk.\n",
                     base.c_str(), filesystem_name(base).c_str());
        return 2;
    }
    std::string templ = base + "/kv_bench.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
        std::fprintf(stderr, "kv_bench: cannot create a directory in %s: %s\n", base.c_str(),
                     std::strerror(errno));
        return 2;
    }
    std::string scratch = std::filesystem::absolute(templ).lexically_normal().string();
    std::snprintf(g_scratch, sizeof(g_scratch), "%s", scratch.c_str());
    std::atexit(remove_scratch);
    ::signal(SIGINT, on_signal);
    ::signal(SIGTERM, on_signal);

    g_writes_only = options.writes_only;
    print_header(argc, argv, scratch, options, counts);
    KvResults results(options.engines, options.runs);
    auto start = Clock::now();
    for (int run_index = 0; run_index < options.runs; ++run_index) {
        std::size_t count = options.engines.size();
        for (std::size_t k = 0; k < count; ++k) {
            const std::string& name =
                    options.engines[(k + static_cast<std::size_t>(run_index)) % count];
            std::string dir = scratch + "/" + name + "-" + std::to_string(run_index);
            std::filesystem::create_directories(dir);
            std::fprintf(stderr, "run %d: %s\n", run_index + 1, name.c_str());
            try {
                std::unique_ptr<KvEngine> engine = make_engine(name, options);
                run_engine(*engine, dir, counts, results);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "kv_bench: %s\n", e.what());
                return 1;
            }
            std::filesystem::remove_all(dir, ec);
        }
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (!options.writes_only) {
        print_kv_report(results, counts, elapsed);
    }
    return 0;
}

}  // namespace
}  // namespace ringdb::bench

int main(int argc, char** argv) { return ringdb::bench::run(argc, argv); }
