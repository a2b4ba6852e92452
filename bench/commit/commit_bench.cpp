// commit_bench: ringdb's durable commits against its peers and against the device, all
// measured in the same run.
//
// ringdb cells: K = 1, 4, 16, 64, 256, 1024 committers, each a coroutine looping one durable
// 24-byte-key / 150-byte-value insert through Database::submit_write_batch, all on one thread
// and (K >= 2) split over two threads (commit_workload.hpp). Every cell reports commits/s,
// syncs/s (groups: one sync each), the average group size, p50/p99 commit latency, the bytes
// the process wrote per group (S, from /proc/self/io) and its CPU. Right after each cell
// slice, fio measures the device at that write size on the same directory:
// `--rw=write --bs=S --ioengine=sync --fdatasync=1` over a preallocated file.
//
// Peers (commit_extras.hpp), per run: LMDB, RocksDB and LevelDB with sync = true and SQLite in
// WAL mode with synchronous=FULL at K = 1 (one thread), RocksDB and LevelDB also with 64 and
// 256 threads (their group commit). fio's fastest safe way to make one K = 1 commit's bytes
// durable (buffered or O_DIRECT, fdatasync or O_DSYNC). A K = 64 cell on a second database
// whose checkpoints are pushed out of the window (the steady latency). Then the recovery
// cells: a child process fills the log of a 10 MiB and of a 1 GiB database and dies by
// SIGKILL; the reopen (replay and checkpoint) is timed, and for the small one a bulk load of
// as many new pairs in one transaction. Every cell's figure is the median over the runs, and
// the report ends with the goal lines `ratio <name> <value>`, each the median over the runs
// of the ratio taken within one run.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <ringdb/ringdb.hpp>

#include "commit/commit_extras.hpp"
#include "commit/commit_report.hpp"
#include "commit/commit_workload.hpp"
#include "common/bench_report.hpp"
#include "common/fio_runner.hpp"
#include "common/scratch_files.hpp"

namespace ringdb::bench {
namespace {

struct Options {
    std::string dir;  // empty: the current directory, else $TMPDIR, else /var/tmp
    double seconds = 3;
    double warmup = 0.5;
    int runs = 3;
    int slices = 3;
    bool scattered = true;
    std::uint64_t prefill = 100'000;
    std::vector<int> ks = {1, 4, 16, 64, 256, 1024};
    bool quick = false;
    bool buffered_writes = false;  // DatabaseOptions::direct_writes = false
    // The page cache, as kv_bench gives ringdb: the table the runs grow (about 1M pairs a
    // run) fits, so the cells measure commits, not cold reads of leaves (docs/group_commit.md).
    std::uint64_t cache_mib = 1024;
    std::string fio = "fio";
    bool peers = true;     // the peers' cells
    bool recovery = true;  // the recovery cells
};

void print_usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: commit_bench [--dir DIR] [--seconds S] [--warmup S] [--runs R]\n"
                 "                    [--prefill N] [--ks K1,K2,...] [--quick] [--fio PATH]\n"
                 "                    [--buffered-writes] [--cache-mib M]\n"
                 "  --dir DIR      directory on a real disk (not tmpfs); default: the current\n"
                 "                 directory, else $TMPDIR, else /var/tmp\n"
                 "  --seconds S    measured seconds per cell, and per fio job (default 3)\n"
                 "  --warmup S     unmeasured seconds before each cell (default 0.5)\n"
                 "  --runs R       runs; each cell is the median (default 3)\n"
                 "  --slices N     a cell alternates N ringdb windows and N fio jobs of S/N\n"
                 "                 seconds each, so both meet the same disk (default 3)\n"
                 "  --prefill N    pairs inserted before the cells (default 100000)\n"
                 "  --ks LIST      committer counts (default 1,4,16,64,256,1024)\n"
                 "  --quick        smoke test: K = 1, 64, 256, 0.1 s cells, 1 run; fio is\n"
                 "                 optional (its ratios print n/a when it is missing)\n"
                 "  --fio PATH     the fio executable (default: fio on PATH)\n"
                 "  --no-scattered skip the diagnostic fio job that writes the group's bytes\n"
                 "                 as scattered 4 KiB pages before each fdatasync\n"
                 "  --buffered-writes  open the database with DatabaseOptions::direct_writes\n"
                 "                 = false (pages written through the kernel's page cache)\n"
                 "  --cache-mib M  the database's page cache in MiB (default 1024)\n"
                 "  --no-peers     skip the peers' cells (their ratios print n/a)\n"
                 "  --no-recovery  skip the recovery cells (their ratios print n/a)\n");
}

bool parse_positive(const std::string& text, double& out) {
    char* end = nullptr;
    errno = 0;
    double value = std::strtod(text.c_str(), &end);
    if (errno != 0 || end == text.c_str() || *end != '\0' || !(value > 0)) {
        return false;
    }
    out = value;
    return true;
}

bool parse_ks(const std::string& text, std::vector<int>& out) {
    std::vector<int> ks;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        double k = 0;
        if (!parse_positive(item, k) || k != std::floor(k) || k > 4096) {
            return false;
        }
        ks.push_back(static_cast<int>(k));
    }
    if (ks.empty()) {
        return false;
    }
    std::sort(ks.begin(), ks.end());
    ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
    out = ks;
    return true;
}

/// Parses argv into `options`; returns false (after printing why) on a bad command line.
bool parse_options(int argc, char** argv, Options& options) {
    bool explicit_seconds = false;
    bool explicit_warmup = false;
    bool explicit_runs = false;
    bool explicit_prefill = false;
    bool explicit_slices = false;
    bool explicit_ks = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        std::size_t eq = arg.find('=');
        bool has_inline = arg.rfind("--", 0) == 0 && eq != std::string::npos;
        if (has_inline) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        if (arg == "--quick") {
            options.quick = true;
            continue;
        }
        if (arg == "--buffered-writes") {
            options.buffered_writes = true;
            continue;
        }
        if (arg == "--no-scattered") {
            options.scattered = false;
            continue;
        }
        if (arg == "--no-peers" || arg == "--no-recovery") {
            (arg == "--no-peers" ? options.peers : options.recovery) = false;
            continue;
        }
        if (arg == "--help" || arg == "-h") {
            print_usage(stdout);
            std::exit(0);
        }
        bool takes_value = arg == "--dir" || arg == "--seconds" || arg == "--warmup" ||
                           arg == "--runs" || arg == "--prefill" || arg == "--ks" ||
                           arg == "--cache-mib" ||
                           arg == "--slices" || arg == "--fio";
        if (!takes_value) {
            std::fprintf(stderr, "commit_bench: unknown option '%s'\n", argv[i]);
            return false;
        }
        if (!has_inline) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "commit_bench: %s needs a value\n", arg.c_str());
                return false;
            }
            value = argv[++i];
        }
        double number = 0;
        bool numeric = arg == "--seconds" || arg == "--warmup" || arg == "--runs" ||
                       arg == "--prefill" || arg == "--slices" || arg == "--cache-mib";
        if (numeric && !parse_positive(value, number)) {
            std::fprintf(stderr, "commit_bench: %s wants a positive number, not '%s'\n",
                         arg.c_str(), value.c_str());
            return false;
        }
        if (arg == "--dir") {
            options.dir = value;
        } else if (arg == "--fio") {
            options.fio = value;
        } else if (arg == "--seconds") {
            options.seconds = number;
            explicit_seconds = true;
        } else if (arg == "--warmup") {
            options.warmup = number;
            explicit_warmup = true;
        } else if (arg == "--runs") {
            options.runs = static_cast<int>(number);
            explicit_runs = true;
        } else if (arg == "--slices") {
            options.slices = static_cast<int>(number);
            explicit_slices = true;
        } else if (arg == "--cache-mib") {
            options.cache_mib = static_cast<std::uint64_t>(number);
        } else if (arg == "--prefill") {
            options.prefill = static_cast<std::uint64_t>(number);
            explicit_prefill = true;
        } else if (!parse_ks(value, options.ks)) {
            std::fprintf(stderr, "commit_bench: --ks wants a list of integers from 1 to 4096, "
                                 "not '%s'\n", value.c_str());
            return false;
        } else {
            explicit_ks = true;
        }
    }
    // --quick sets the defaults it names; explicit flags still win.
    if (options.quick) {
        options.seconds = explicit_seconds ? options.seconds : 0.1;
        options.warmup = explicit_warmup ? options.warmup : 0.05;
        options.runs = explicit_runs ? options.runs : 1;
        options.slices = explicit_slices ? options.slices : 1;
        options.scattered = false;
        options.prefill = explicit_prefill ? options.prefill : 5'000;
        options.ks = explicit_ks ? options.ks : std::vector<int>{1, 64, 256};
    }
    if (options.runs < 1 || options.runs > 100 || options.slices < 1 || options.slices > 100 ||
        options.seconds > 3600 ||
        options.warmup > 600 || options.prefill > 100'000'000 || options.cache_mib > (1 << 20)) {
        std::fprintf(stderr,
                     "commit_bench: 1 <= --runs <= 100, 1 <= --slices <= 100, --seconds <= 3600, "
                     "--warmup <= 600, --prefill <= 1e8, --cache-mib <= 1048576\n");
        return false;
    }
    return true;
}

/// fio splits --filename on ':' (several files); a literal colon takes a backslash.
std::string fio_filename(const std::string& path) {
    std::string escaped;
    for (char c : path) {
        if (c == ':') {
            escaped.push_back('\\');
        }
        escaped.push_back(c);
    }
    return "--filename=" + escaped;
}

struct FioFile {
    std::string path;
    std::uint64_t bytes = 0;
};

/// fio's write+fdatasync cycle for `seconds`: with `scattered_pages` 0, one sequential write of
/// `block` bytes per fdatasync (the disk's limit at that size); otherwise
/// `scattered_pages` random 4 KiB writes per fdatasync (the same bytes as scattered pages, as
/// a copy-on-write B-tree writes them; a diagnostic).
std::optional<FioSyncSample> run_fio_sync(const FioRunner& fio, const FioFile& file,
                                          std::uint64_t block, double seconds,
                                          std::uint64_t scattered_pages) {
    std::vector<std::string> args = {
            "--name=write_fdatasync_" + std::to_string(block),
            fio_filename(file.path),
            "--size=" + std::to_string(file.bytes),
            "--ioengine=sync",
            "--time_based",
            "--runtime=" + std::to_string(std::max<long long>(1, std::llround(seconds * 1000))) +
                    "ms"};
    if (scattered_pages == 0) {
        args.push_back("--rw=write");
        args.push_back("--bs=" + std::to_string(block));
        args.push_back("--fdatasync=1");
    } else {
        args.push_back("--rw=randwrite");
        args.push_back("--bs=4k");
        args.push_back("--norandommap");
        args.push_back("--randrepeat=0");
        args.push_back("--fdatasync=" + std::to_string(scattered_pages));
    }
    std::string error;
    auto r = fio.run(args, error);
    if (!r) {
        std::fprintf(stderr, "commit_bench: fio failed: %s\n", error.c_str());
        return std::nullopt;
    }
    // fio counts fdatasync calls in sync.lat_ns.N.
    double syncs = r->syncs > 0 ? r->syncs
                                : r->write_ios / static_cast<double>(std::max<std::uint64_t>(
                                                         scattered_pages, 1));
    FioSyncSample sample;
    sample.block_bytes = block;
    sample.syncs_per_second = syncs / r->runtime_seconds;
    sample.sync_p99_us = r->sync_p99_ns / 1000.0;
    sample.write_p99_us = r->write_p99_ns / 1000.0;
    sample.runtime_seconds = r->runtime_seconds;
    return sample;
}

/// The write size fio uses for a cell: the bytes per group rounded up to 4 KiB, at least 4 KiB
/// and at most the fio file.
std::uint64_t fio_block_for(double bytes_per_group, std::uint64_t file_bytes) {
    constexpr std::uint64_t kUnit = 4096;
    auto bytes = static_cast<std::uint64_t>(std::ceil(std::max(bytes_per_group, 1.0)));
    std::uint64_t block = (bytes + kUnit - 1) / kUnit * kUnit;
    return std::min(block, file_bytes);
}

/// One cell of one run: `options.slices` windows of ringdb, each followed by fio at the write
/// size that window measured (when `fio` is not null), so both sides meet the same disk.
std::optional<CommitSample> measure_cell(Database& db, const FioRunner* fio,
                                         const FioFile& fio_file, const Options& options,
                                         CellId id, std::uint64_t seed) {
    CommitMeasurement total;
    double fio_syncs = 0;
    double fio_seconds = 0;
    double scattered_syncs = 0;
    double scattered_seconds = 0;
    std::vector<double> fio_blocks;
    std::vector<double> fio_sync_p99;
    std::vector<double> fio_write_p99;
    double slice_seconds = options.seconds / options.slices;
    for (int slice = 0; slice < options.slices; ++slice) {
        CommitCell cell;
        cell.committers = id.committers;
        cell.threads = id.threads;
        cell.seconds = slice_seconds;
        cell.warmup = options.warmup;
        cell.seed = seed * 64 + static_cast<std::uint64_t>(slice);
        std::string error;
        auto m = run_commit_cell(db, cell, error);
        if (!m) {
            std::fprintf(stderr, "commit_bench: K=%d on %d thread(s): %s\n", id.committers,
                         id.threads, error.c_str());
            return std::nullopt;
        }
        total.merge(*m);
        if (fio != nullptr) {
            std::uint64_t block = fio_block_for(m->bytes_per_group(), fio_file.bytes);
            auto f = run_fio_sync(*fio, fio_file, block, slice_seconds, 0);
            if (!f) {
                return std::nullopt;
            }
            if (options.scattered) {
                auto scattered = run_fio_sync(*fio, fio_file, block, slice_seconds,
                                              std::max<std::uint64_t>(block / 4096, 1));
                if (!scattered) {
                    return std::nullopt;
                }
                scattered_syncs += scattered->syncs_per_second * scattered->runtime_seconds;
                scattered_seconds += scattered->runtime_seconds;
            }
            fio_syncs += f->syncs_per_second * f->runtime_seconds;
            fio_seconds += f->runtime_seconds;
            fio_blocks.push_back(static_cast<double>(block));
            fio_sync_p99.push_back(f->sync_p99_us);
            fio_write_p99.push_back(f->write_p99_us);
        }
    }
    CommitSample sample;
    sample.commits_per_second = total.commits_per_second();
    sample.syncs_per_second = total.syncs_per_second();
    sample.group_size = total.group_size();
    sample.bytes_per_group = total.bytes_per_group();
    sample.cpu_share = total.cpu_share();
    sample.p50_us = total.latency_percentile_us(50);
    sample.p99_us = total.latency_percentile_us(99);
    if (fio != nullptr && fio_seconds > 0) {
        FioSyncSample f;
        f.block_bytes = static_cast<std::uint64_t>(median(fio_blocks));
        f.syncs_per_second = fio_syncs / fio_seconds;
        f.sync_p99_us = median(fio_sync_p99);
        f.write_p99_us = median(fio_write_p99);
        f.runtime_seconds = fio_seconds;
        if (scattered_seconds > 0) {
            f.scattered_syncs_per_second = scattered_syncs / scattered_seconds;
        }
        sample.fio = f;
    }
    return sample;
}

/// The database file's size on stderr (how much the allocator's growth policy costs).
void print_file_size(const std::string& path, const char* when) {
    std::error_code error;
    const auto bytes = std::filesystem::file_size(path, error);
    if (error) {
        std::fprintf(stderr, "commit_bench: file size %s: unknown (%s)\n", when,
                     error.message().c_str());
        return;
    }
    std::fprintf(stderr, "commit_bench: database file %.1f MiB %s\n",
                 static_cast<double>(bytes) / (1024.0 * 1024.0), when);
}

/// A database at `path` like the main one, but whose checkpoints stay out of the cells'
/// windows (a log and a page budget no cell fills, a day's interval): its K = 64 latency is
/// the steady one that checkpoint_p99_vs_steady divides by.
std::optional<Database> create_steady_db(const std::string& path, const Options& options) {
    DatabaseOptions db_options;
    db_options.direct_writes = !options.buffered_writes;
    db_options.cache_size = options.cache_mib << 20;
    db_options.log_size = std::uint64_t{1} << 30;
    db_options.checkpoint_bytes = std::uint64_t{1} << 40;
    db_options.checkpoint_interval = std::chrono::hours(24);
    auto db = sync_wait(create_db(path, db_options));
    if (!db) {
        std::fprintf(stderr, "commit_bench: cannot create %s: %s\n", path.c_str(),
                     to_string(db.error()).c_str());
        return std::nullopt;
    }
    if (Status filled = prefill(*db, options.prefill, 0x5eed); !filled) {
        std::fprintf(stderr, "commit_bench: prefill failed: %s\n",
                     to_string(filled.error()).c_str());
        return std::nullopt;
    }
    return std::move(*db);
}

/// One run's cells besides ringdb's group-commit cells: the peers, fio's best log sync at
/// the K = 1 write size, and the steady K = 64 cell. False after printing why.
bool run_extras(const Options& options, const std::string& dir, const FioRunner* fio,
                const FioFile& fio_file, Database& steady, int run, CommitExtras& extras) {
    if (options.peers && !run_peer_cells(dir, options.prefill, options.seconds, options.ks, run,
                                         extras)) {
        return false;
    }
    if (fio != nullptr) {
        // One commit's log write: a record of a few hundred bytes, padded; 4 KiB is the
        // smallest write O_DIRECT takes on every disk here (a K = 1 cell's bytes per commit
        // also count the checkpoints that ran in it).
        const std::uint64_t block = 4096;
        auto best = best_fio_log_sync(*fio, fio_file.path, fio_file.bytes, block,
                                      options.seconds / options.slices);
        if (!best) {
            return false;
        }
        extras.fio_log_block = block;
        extras.fio_log_sync.push_back(best->first);
        extras.fio_log_sync_way.push_back(best->second);
        std::fprintf(stderr, "  run %d  fio best log sync at %llu KiB: %.0f/s (%s)\n", run + 1,
                     static_cast<unsigned long long>(block / 1024), best->first,
                     best->second.c_str());
    }
    Options steady_options = options;
    steady_options.slices = 1;
    auto sample = measure_cell(steady, nullptr, fio_file, steady_options, CellId{64, 1},
                               static_cast<std::uint64_t>(run) * 1000 + 999);
    if (!sample) {
        return false;
    }
    extras.steady_k64_p99_us.push_back(sample->p99_us);
    extras.steady_k64_commits.push_back(sample->commits_per_second);
    std::fprintf(stderr, "  run %d  K=64 without checkpoints  %9.0f commits/s  p99 %7.2f ms\n",
                 run + 1, sample->commits_per_second, sample->p99_us / 1000.0);
    return true;
}

/// The recovery cells of every run (commit_extras.hpp). False after printing why.
bool run_recovery(const Options& options, const std::string& dir, CommitExtras& extras) {
    const std::string small = dir + "/recovery_small.ringdb";
    const std::string large = dir + "/recovery_large.ringdb";
    register_scratch({small, large}, dir, "commit_bench");
    extras.small_bytes = options.quick ? std::uint64_t{2} << 20 : std::uint64_t{10} << 20;
    extras.large_bytes = options.quick ? std::uint64_t{32} << 20 : std::uint64_t{1} << 30;
    std::fprintf(stderr, "commit_bench: building the recovery databases (%llu and %llu MiB)\n",
                 static_cast<unsigned long long>(extras.small_bytes >> 20),
                 static_cast<unsigned long long>(extras.large_bytes >> 20));
    if (!build_recovery_database(small, extras.small_bytes) ||
        !build_recovery_database(large, extras.large_bytes)) {
        return false;
    }
    char exe[PATH_MAX];
    const ssize_t length = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (length <= 0) {
        std::fprintf(stderr, "commit_bench: /proc/self/exe: %s\n", std::strerror(errno));
        return false;
    }
    exe[length] = '\0';
    for (int run = 0; run < options.runs; ++run) {
        RecoveryCell small_cell{run, true, false};
        RecoveryCell large_cell{run, false, false};
        RecoveryCell cold_cell{run, false, true};
        if (!run_recovery_cell(exe, small, small_cell) ||
            !run_recovery_cell(exe, large, large_cell) ||
            !run_recovery_cell(exe, large, cold_cell)) {
            return false;
        }
        extras.reopen_small_s.push_back(small_cell.reopen_seconds);
        extras.reopen_large_s.push_back(large_cell.reopen_seconds);
        extras.reopen_large_cold_s.push_back(cold_cell.reopen_seconds);
        extras.replayed_pairs.push_back(small_cell.pairs);
        extras.bulk_small_s.push_back(small_cell.bulk_seconds);
        std::fprintf(stderr,
                     "  run %d  reopen after SIGKILL: %.0f ms (%llu MiB, %.0f pairs replayed), "
                     "%.0f ms (%llu MiB, %.0f pairs), %.0f ms (the same, cold kernel cache); "
                     "bulk load of %.0f pairs %.0f ms\n",
                     run + 1, small_cell.reopen_seconds * 1e3,
                     static_cast<unsigned long long>(extras.small_bytes >> 20), small_cell.pairs,
                     large_cell.reopen_seconds * 1e3,
                     static_cast<unsigned long long>(extras.large_bytes >> 20), large_cell.pairs,
                     cold_cell.reopen_seconds * 1e3, small_cell.pairs,
                     small_cell.bulk_seconds * 1e3);
    }
    return true;
}

int run_benchmark(int argc, char** argv, const Options& options) {
    auto base = choose_base_dir(options.dir, "commit_bench", "syncs would cost nothing");
    if (!base) {
        return 2;
    }
    if (!process_write_bytes()) {
        std::fprintf(stderr, "commit_bench: /proc/self/io is not readable: it measures the "
                             "bytes written per group\n");
        return 2;
    }
    std::string templ = *base + "/commit_bench.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
        std::fprintf(stderr, "commit_bench: cannot create a directory in %s: %s\n",
                     base->c_str(), std::strerror(errno));
        return 2;
    }
    char absolute[PATH_MAX];
    std::string dir = ::realpath(templ.c_str(), absolute) != nullptr ? absolute : templ;
    std::string db_path = dir + "/commit.ringdb";
    FioFile fio_file{dir + "/fio_sync.dat", (options.quick ? std::uint64_t{16} : 64) << 20};
    register_scratch({db_path, fio_file.path, dir + "/fio_report.json", dir + "/fio.log",
                      dir + "/fio_version.log"},
                     dir, "commit_bench");
    std::atexit(cleanup_scratch);

    FioRunner fio(options.fio, dir);
    CommitSetup setup;
    setup.dir = dir;
    setup.seconds = options.seconds;
    setup.warmup = options.warmup;
    setup.runs = options.runs;
    setup.slices = options.slices;
    setup.prefill = options.prefill;
    setup.cache_mib = options.cache_mib;
    std::string error;
    if (auto version = fio.version(error)) {
        setup.fio_version = *version;
    } else {
        setup.fio_missing = error;
        if (!options.quick) {
            std::fprintf(stderr,
                         "commit_bench: fio is required (it measures the sync rate in the same "
                         "run) but cannot be run: %s\n  install it (Debian: apt-get install "
                         "fio) or pass --fio PATH; --quick runs without it\n",
                         error.c_str());
            return 2;
        }
    }
    bool with_fio = !setup.fio_version.empty();
    print_commit_header(argc, argv, setup);
    if (with_fio && !create_filled_file(fio_file.path, fio_file.bytes, "commit_bench")) {
        return 2;
    }

    DatabaseOptions db_options;
    db_options.direct_writes = !options.buffered_writes;
    db_options.cache_size = options.cache_mib << 20;
    auto db = sync_wait(create_db(db_path, db_options));
    if (!db) {
        std::fprintf(stderr, "commit_bench: cannot create %s: %s\n", db_path.c_str(),
                     to_string(db.error()).c_str());
        return 1;
    }
    std::fprintf(stderr, "commit_bench: prefilling %llu pairs in %s\n",
                 static_cast<unsigned long long>(options.prefill), dir.c_str());
    if (Status filled = prefill(*db, options.prefill, 0x5eed); !filled) {
        std::fprintf(stderr, "commit_bench: prefill failed: %s\n",
                     to_string(filled.error()).c_str());
        return 1;
    }

    print_file_size(db_path, "after the prefill");
    const std::string steady_path = dir + "/steady.ringdb";
    register_scratch({steady_path}, dir, "commit_bench");
    std::optional<Database> steady = create_steady_db(steady_path, options);
    if (!steady) {
        return 1;
    }

    std::vector<CellId> cells;
    for (int threads : {1, 2}) {
        for (int k : options.ks) {
            if (threads == 1 || k >= 2) {  // one committer cannot be split over two threads
                cells.push_back(CellId{k, threads});
            }
        }
    }
    const FioRunner* fio_ptr = with_fio ? &fio : nullptr;
    CommitResults results;
    CommitExtras extras;
    auto started = std::chrono::steady_clock::now();
    for (int run = 0; run < options.runs; ++run) {
        for (std::size_t c = 0; c < cells.size(); ++c) {
            CellId id = cells[c];
            const std::uint64_t checkpoints_before = db->commit_log_stats().checkpoints;
            auto sample = measure_cell(*db, fio_ptr, fio_file, options, id,
                                       static_cast<std::uint64_t>(run) * 1000 + c + 1);
            if (!sample) {
                return 1;
            }
            sample->checkpoints =
                    static_cast<double>(db->commit_log_stats().checkpoints - checkpoints_before);
            std::fprintf(stderr,
                         "  run %d  K=%-5d %d thr  %9.0f commits/s %7.0f syncs/s group %6.1f  "
                         "%7.1f KiB/grp  p99 %7.2f ms  CPU %3.0f%%  fio %6.0f syncs/s  "
                         "%.0f checkpoint(s)\n",
                         run + 1, id.committers, id.threads, sample->commits_per_second,
                         sample->syncs_per_second, sample->group_size,
                         sample->bytes_per_group / 1024.0, sample->p99_us / 1000.0,
                         sample->cpu_share * 100,
                         sample->fio ? sample->fio->syncs_per_second : 0.0,
                         sample->checkpoints);
            results.add(id, *sample);
        }
        if (!run_extras(options, dir, fio_ptr, fio_file, *steady, run, extras)) {
            return 1;
        }
    }
    if (Status closed = sync_wait(close_db(&*steady)); !closed) {
        std::fprintf(stderr, "commit_bench: close failed: %s\n",
                     to_string(closed.error()).c_str());
        return 1;
    }
    std::filesystem::remove(steady_path);
    double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Status closed = sync_wait(close_db(&*db));
    if (!closed) {
        std::fprintf(stderr, "commit_bench: close failed: %s\n",
                     to_string(closed.error()).c_str());
        return 1;
    }
    print_file_size(db_path, "after the runs and a clean close");
    std::filesystem::remove(db_path);
    if (options.recovery && !run_recovery(options, dir, extras)) {
        return 1;
    }
    print_commit_report(results, extras, setup, elapsed);
    return 0;
}

}  // namespace
}  // namespace ringdb::bench

int main(int argc, char** argv) {
    if (argc == 4 && std::strcmp(argv[1], "--recovery-child") == 0) {
        return ringdb::bench::recovery_child(argv[2], std::strtoull(argv[3], nullptr, 10));
    }
    ringdb::bench::Options options;
    if (!ringdb::bench::parse_options(argc, argv, options)) {
        ringdb::bench::print_usage(stderr);
        return 2;
    }
    return ringdb::bench::run_benchmark(argc, argv, options);
}
