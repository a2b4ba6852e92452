// commit_report: commit_bench's header, table, spread and goal lines.

#include "commit/commit_report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <tuple>

#include "common/bench_report.hpp"

namespace ringdb::bench {
namespace {

using Field = std::function<double(const CommitSample&)>;

/// The median of `field` over the samples that have it (fio fields: the runs where fio ran).
std::optional<double> median_of(const std::vector<CommitSample>& samples, const Field& field,
                                bool needs_fio) {
    std::vector<double> values;
    for (const CommitSample& s : samples) {
        if (!needs_fio || s.fio) {
            values.push_back(field(s));
        }
    }
    if (values.empty()) {
        return std::nullopt;
    }
    return median(values);
}

std::optional<double> ratio_of(double ours, double theirs) {
    if (!(theirs > 0)) {
        return std::nullopt;
    }
    return ours / theirs;
}

/// commits/s over group size x fio's sync rate at the group's write size, within one run.
std::optional<double> vs_group_limit(const CommitSample& s, const CommitSample& /*same*/) {
    return s.fio ? ratio_of(s.commits_per_second, s.group_size * s.fio->syncs_per_second)
                 : std::nullopt;
}

/// The median over the runs r of f(a[r], b[r]), skipping runs where f has no value; nullopt
/// when a cell is missing or no run has a value.
template <typename F>
std::optional<double> run_median(const std::vector<CommitSample>* a,
                                 const std::vector<CommitSample>* b, F f) {
    if (a == nullptr || b == nullptr) {
        return std::nullopt;
    }
    std::vector<double> values;
    for (std::size_t r = 0; r < a->size() && r < b->size(); ++r) {
        if (std::optional<double> v = f((*a)[r], (*b)[r])) {
            values.push_back(*v);
        }
    }
    if (values.empty()) {
        return std::nullopt;
    }
    return median(values);
}

/// A row of the table: medians over the runs of one cell.
struct Row {
    double commits = 0;
    double syncs = 0;
    double group = 0;
    double kib_per_group = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    double cpu_percent = 0;
    std::optional<double> fio_block_kib;
    std::optional<double> fio_syncs;
    std::optional<double> fio_p99_ms;
    std::optional<double> limit;  // group size x fio's sync rate, per run, then the median
    std::optional<double> scattered_limit;  // the same with the scattered-pages sync rate
    // fio's scattered-pages sync rate over its sequential one: the ratio an engine spending no
    // CPU at all would reach if it wrote the group's pages as scattered 4 KiB writes.
    std::optional<double> pattern_bound;
};

Row make_row(const std::vector<CommitSample>& samples) {
    Row row;
    row.commits = *median_of(samples, [](const CommitSample& s) { return s.commits_per_second; },
                             false);
    row.syncs = *median_of(samples, [](const CommitSample& s) { return s.syncs_per_second; },
                           false);
    row.group = *median_of(samples, [](const CommitSample& s) { return s.group_size; }, false);
    row.kib_per_group = *median_of(
            samples, [](const CommitSample& s) { return s.bytes_per_group / 1024.0; }, false);
    row.p50_ms = *median_of(samples, [](const CommitSample& s) { return s.p50_us / 1000.0; },
                            false);
    row.p99_ms = *median_of(samples, [](const CommitSample& s) { return s.p99_us / 1000.0; },
                            false);
    row.cpu_percent = *median_of(
            samples, [](const CommitSample& s) { return s.cpu_share * 100; }, false);
    row.fio_block_kib = median_of(
            samples,
            [](const CommitSample& s) { return static_cast<double>(s.fio->block_bytes) / 1024.0; },
            true);
    row.fio_syncs = median_of(
            samples, [](const CommitSample& s) { return s.fio->syncs_per_second; }, true);
    row.fio_p99_ms = median_of(
            samples, [](const CommitSample& s) { return s.fio->cycle_p99_us() / 1000.0; }, true);
    row.limit = median_of(
            samples,
            [](const CommitSample& s) { return s.group_size * s.fio->syncs_per_second; }, true);
    std::vector<CommitSample> scattered;
    for (const CommitSample& s : samples) {
        if (s.fio && s.fio->scattered_syncs_per_second > 0) {
            scattered.push_back(s);
        }
    }
    row.scattered_limit = median_of(
            scattered,
            [](const CommitSample& s) {
                return s.group_size * s.fio->scattered_syncs_per_second;
            },
            true);
    row.pattern_bound = median_of(
            scattered,
            [](const CommitSample& s) {
                return s.fio->syncs_per_second > 0
                               ? s.fio->scattered_syncs_per_second / s.fio->syncs_per_second
                               : 0.0;
            },
            true);
    return row;
}

std::string format_optional(const std::optional<double>& value, int decimals) {
    if (!value) {
        return "n/a";
    }
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, *value);
    return buffer;
}

std::string read_first_line(const std::string& path, const std::string& prefix) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) {
            return line;
        }
    }
    return "";
}

std::string load_average() {
    std::string line = read_first_line("/proc/loadavg", "");
    std::size_t cut = line.find(' ');
    for (int i = 0; i < 2 && cut != std::string::npos; ++i) {
        cut = line.find(' ', cut + 1);
    }
    return cut == std::string::npos ? line : line.substr(0, cut);
}

const char* mode_name(int threads) { return threads == 1 ? "1 thread" : "2 threads"; }

/// Prints `ratio <name> <value>`, or `n/a` with the reason when it cannot be computed.
void print_ratio(const char* name, const std::optional<double>& value, const std::string& why) {
    if (value) {
        std::printf("ratio %s %.3f\n", name, *value);
    } else {
        std::printf("ratio %s n/a (%s)\n", name, why.c_str());
    }
}

}  // namespace

namespace {

/// The median over the runs r of f(r), skipping runs without a value.
template <typename F>
std::optional<double> median_over_runs(std::size_t runs, F f) {
    std::vector<double> values;
    for (std::size_t r = 0; r < runs; ++r) {
        if (std::optional<double> v = f(r)) {
            values.push_back(*v);
        }
    }
    if (values.empty()) {
        return std::nullopt;
    }
    return median(values);
}

/// The best peer's commits/s at K in run r (RocksDB and LevelDB only above K = 1).
std::optional<double> best_peer(const CommitExtras& extras, int k, std::size_t r) {
    std::optional<double> best;
    for (const auto& [name, by_k] : extras.peer_commits) {
        auto it = by_k.find(k);
        if (it != by_k.end() && r < it->second.size() && (!best || it->second[r] > *best)) {
            best = it->second[r];
        }
    }
    return best;
}

std::string best_peer_name(const CommitExtras& extras, int k) {
    std::string name = "none";
    double best = -1;
    for (const auto& [peer, by_k] : extras.peer_commits) {
        auto it = by_k.find(k);
        if (it != by_k.end() && !it->second.empty() && median(it->second) > best) {
            best = median(it->second);
            name = peer;
        }
    }
    return name;
}

const std::vector<CommitSample>* one_thread_cell(const CommitResults& results, int k) {
    auto it = results.cells().find(CellId{k, 1});
    return it == results.cells().end() ? nullptr : &it->second;
}

/// ringdb's figure at K (one thread) in run r, if that run has it.
std::optional<double> ours(const CommitResults& results, int k, std::size_t r,
                           double CommitSample::*field) {
    const std::vector<CommitSample>* cell = one_thread_cell(results, k);
    if (cell == nullptr || r >= cell->size()) {
        return std::nullopt;
    }
    return (*cell)[r].*field;
}

void print_extras(const CommitExtras& extras) {
    if (!extras.peer_commits.empty()) {
        std::printf("\npeers (same run, fresh database per cell, one durable 24/150 insert per "
                    "commit; medians):\n%-10s %5s %10s %8s\n", "engine", "K", "commits/s",
                    "p99 ms");
        for (const auto& [name, by_k] : extras.peer_commits) {
            for (const auto& [k, values] : by_k) {
                std::printf("%-10s %5d %10.0f %8.2f\n", name.c_str(), k, median(values),
                            median(extras.peer_p99_us.at(name).at(k)) / 1000.0);
            }
        }
    }
    if (!extras.fio_log_sync.empty()) {
        std::printf("\nfio, best safe way to write and sync %llu KiB (buffered or O_DIRECT, "
                    "fdatasync or O_DSYNC): %.0f/s (median; ways that won: %s",
                    static_cast<unsigned long long>(extras.fio_log_block / 1024),
                    median(extras.fio_log_sync), extras.fio_log_sync_way.front().c_str());
        for (std::size_t r = 1; r < extras.fio_log_sync_way.size(); ++r) {
            std::printf(", %s", extras.fio_log_sync_way[r].c_str());
        }
        std::printf(")\n");
    }
    if (!extras.steady_k64_p99_us.empty()) {
        std::printf("K=64 (1 thread) on a database whose checkpoints stay out of the window: "
                    "%.0f commits/s, p99 %.2f ms\n",
                    median(extras.steady_k64_commits), median(extras.steady_k64_p99_us) / 1000.0);
    }
    if (!extras.reopen_small_s.empty()) {
        std::printf("recovery: reopen after SIGKILL with the log 45%% full: %.0f ms (%llu MiB of "
                    "data), %.0f ms (%llu MiB);\n  %.0f pairs replayed (small); a bulk load of "
                    "as many pairs in one transaction %.0f ms\n",
                    median(extras.reopen_small_s) * 1e3,
                    static_cast<unsigned long long>(extras.small_bytes >> 20),
                    median(extras.reopen_large_s) * 1e3,
                    static_cast<unsigned long long>(extras.large_bytes >> 20),
                    median(extras.replayed_pairs), median(extras.bulk_small_s) * 1e3);
        std::printf("  the large one again with its pages dropped from the kernel's cache first "
                    "(as after a power loss): %.0f ms\n",
                    median(extras.reopen_large_cold_s) * 1e3);
    }
    std::printf("\n");
}

void print_goal_lines(const CommitResults& results, const CommitExtras& extras,
                      const CommitSetup& setup) {
    const std::size_t runs = static_cast<std::size_t>(setup.runs);
    const std::string no_peers = "the peers' cells were not run";
    auto vs_peer = [&](int k) {
        return median_over_runs(runs, [&](std::size_t r) -> std::optional<double> {
            auto a = ours(results, k, r, &CommitSample::commits_per_second);
            auto b = best_peer(extras, k, r);
            return a && b ? ratio_of(*a, *b) : std::nullopt;
        });
    };
    std::printf("best peer: K=1 %s, K=64 %s, K=256 %s\n", best_peer_name(extras, 1).c_str(),
                best_peer_name(extras, 64).c_str(), best_peer_name(extras, 256).c_str());
    print_ratio("k1_vs_best_peer", vs_peer(1), no_peers);
    print_ratio("k1_vs_fio_log_sync",
                median_over_runs(runs, [&](std::size_t r) -> std::optional<double> {
                    auto a = ours(results, 1, r, &CommitSample::commits_per_second);
                    return a && r < extras.fio_log_sync.size()
                                   ? ratio_of(*a, extras.fio_log_sync[r])
                                   : std::nullopt;
                }),
                "fio not available: " + setup.fio_missing);
    print_ratio("k64_vs_best_peer", vs_peer(64), no_peers);
    print_ratio("k256_vs_best_peer", vs_peer(256), no_peers);
    const std::vector<CommitSample>* k64 = one_thread_cell(results, 64);
    print_ratio("k64_group_size_vs_k", run_median(k64, k64, [](const auto& s, const auto&) {
                    return ratio_of(s.group_size, 64);
                }),
                "K=64 (1 thread) was not run");
    print_ratio("k64_p99_vs_fio_p99", run_median(k64, k64, [](const auto& s, const auto&) {
                    return s.fio ? ratio_of(s.p99_us, s.fio->cycle_p99_us()) : std::nullopt;
                }),
                "fio or K=64 missing");
    print_ratio("k1024_cpu_us_per_commit",
                median_over_runs(runs, [&](std::size_t r) -> std::optional<double> {
                    auto share = ours(results, 1024, r, &CommitSample::cpu_share);
                    auto rate = ours(results, 1024, r, &CommitSample::commits_per_second);
                    return share && rate && *rate > 0 ? std::optional<double>(*share / *rate * 1e6)
                                                      : std::nullopt;
                }),
                "K=1024 (1 thread) was not run");
    print_ratio("checkpoint_p99_vs_steady",
                median_over_runs(runs, [&](std::size_t r) -> std::optional<double> {
                    auto a = ours(results, 64, r, &CommitSample::p99_us);
                    return a && r < extras.steady_k64_p99_us.size()
                                   ? ratio_of(*a, extras.steady_k64_p99_us[r])
                                   : std::nullopt;
                }),
                "K=64 (1 thread) was not run");
    const std::string no_recovery = "the recovery cells were not run";
    print_ratio("crash_reopen_1gib_vs_10mib",
                median_over_runs(extras.reopen_large_s.size(),
                                 [&](std::size_t r) -> std::optional<double> {
                                     return ratio_of(extras.reopen_large_s[r],
                                                     extras.reopen_small_s[r]);
                                 }),
                no_recovery);
    print_ratio("log_replay_vs_bulk_load",
                median_over_runs(extras.reopen_small_s.size(),
                                 [&](std::size_t r) -> std::optional<double> {
                                     return ratio_of(extras.reopen_small_s[r],
                                                     extras.bulk_small_s[r]);
                                 }),
                no_recovery);
    std::fflush(stdout);
}

}  // namespace

void print_commit_header(int argc, char** argv, const CommitSetup& setup) {
    char date[64];
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &utc);
    utsname names{};
    ::uname(&names);
    std::string cpu = read_first_line("/proc/cpuinfo", "model name");
    std::size_t colon = cpu.find(':');
    cpu = colon == std::string::npos ? "unknown" : cpu.substr(colon + 2);

    std::printf("commit_bench: ringdb group commit vs fio's write+fdatasync, same directory, "
                "same run\n");
    std::printf("date:     %s\n", date);
    std::printf("kernel:   %s %s\n", names.sysname, names.release);
    std::printf("machine:  %ld CPUs, %s\n", ::sysconf(_SC_NPROCESSORS_ONLN), cpu.c_str());
    std::printf("dir:      %s (%s)\n", setup.dir.c_str(), filesystem_name(setup.dir).c_str());
    if (setup.fio_version.empty()) {
        std::printf("fio:      not available (%s)\n", setup.fio_missing.c_str());
    } else {
        std::printf("fio:      %s\n", setup.fio_version.c_str());
    }
    std::printf("command: ");
    for (int i = 0; i < argc; ++i) {
        std::printf(" %s", argv[i]);
    }
    std::printf("\nsetup:    %llu pairs prefilled; each committer loops one durable 24/150 "
                "insert\n          %.3g s measured per cell in %d slice(s), each after %.3g s "
                "warm-up and followed by fio\n          for as long; %d run(s), median per "
                "cell; page cache %llu MiB\n",
                static_cast<unsigned long long>(setup.prefill), setup.seconds, setup.slices,
                setup.warmup, setup.runs, static_cast<unsigned long long>(setup.cache_mib));
    std::printf("load:     %s (1/5/15 min, at start)\n\n", load_average().c_str());
    std::fflush(stdout);
}

void print_commit_report(const CommitResults& results, const CommitExtras& extras,
                         const CommitSetup& setup, double elapsed_seconds) {
    std::map<CellId, Row> rows;
    for (const auto& [cell, samples] : results.cells()) {
        rows[cell] = make_row(samples);
    }

    std::printf("%5s %-9s %10s %8s %7s %8s %7s %7s %5s | %8s %9s %7s | %9s %6s\n", "K", "mode",
                "commits/s", "syncs/s", "group", "KiB/grp", "p50 ms", "p99 ms", "CPU%",
                "fio KiB", "fio syn/s", "fio p99", "limit", "ratio");
    struct ScatteredLine {
        CellId cell;
        double vs_scattered;
        std::optional<double> bound;
    };
    std::vector<ScatteredLine> scattered_ratios;
    for (const auto& [cell, row] : rows) {
        const std::vector<CommitSample>& samples = results.cells().at(cell);
        std::optional<double> vs_limit = run_median(&samples, &samples, vs_group_limit);
        std::printf("%5d %-9s %10.0f %8.0f %7.1f %8.1f %7.2f %7.2f %5.0f | %8s %9s %7s | %9s %6s\n",
                    cell.committers, mode_name(cell.threads), row.commits, row.syncs, row.group,
                    row.kib_per_group, row.p50_ms, row.p99_ms, row.cpu_percent,
                    format_optional(row.fio_block_kib, 0).c_str(),
                    format_optional(row.fio_syncs, 0).c_str(),
                    format_optional(row.fio_p99_ms, 2).c_str(),
                    format_optional(row.limit, 0).c_str(),
                    format_optional(vs_limit, 2).c_str());
        if (row.scattered_limit && *row.scattered_limit > 0) {
            scattered_ratios.push_back(
                    {cell, row.commits / *row.scattered_limit, row.pattern_bound});
        }
    }
    if (!scattered_ratios.empty()) {
        std::printf("\ndiagnostic: the same group's bytes as scattered 4 KiB random writes (fio "
                    "--rw=randwrite --bs=4k\n--fdatasync=<pages per group>), as a copy-on-write "
                    "tree writes them. 'vs scattered' = commits/s\nover group x that sync rate; "
                    "'pattern bound' = that sync rate over the sequential one, i.e. the\nratio "
                    "an engine spending no CPU would reach writing its pages scattered:\n");
        std::printf("%5s %-9s %13s %14s\n", "K", "mode", "vs scattered", "pattern bound");
        for (const ScatteredLine& line : scattered_ratios) {
            std::printf("%5d %-9s %13.2f %14s\n", line.cell.committers,
                        mode_name(line.cell.threads), line.vs_scattered,
                        format_optional(line.bound, 2).c_str());
        }
    }

    // What the CPU alone allows: a group's members are applied and committed one after the
    // other on the committing thread, so commits/s can never exceed 1 / (CPU per commit).
    // When that ceiling is below the goal, no overlap of I/O with work can reach the goal; only
    // less CPU per commit can (docs/group_commit.md, "What bounds the ratios").
    bool cpu_header = false;
    for (const auto& [cell, row] : rows) {
        if (cell.threads != 1 || row.commits <= 0 || row.cpu_percent <= 0) {
            continue;
        }
        if (!cpu_header) {
            std::printf("\ndiagnostic: CPU per commit (process usr+sys, io_uring workers included) "
                        "and the commits/s\none fully busy thread would reach at that cost, over "
                        "the limit (ceiling < 0.8: CPU-bound):\n");
            cpu_header = true;
        }
        double cpu_us = row.cpu_percent / 100.0 / row.commits * 1e6;
        std::printf("%5d %-9s %7.1f us/commit  ceiling %s\n", cell.committers,
                    mode_name(cell.threads), cpu_us,
                    row.limit && *row.limit > 0
                            ? format_optional(1e6 / cpu_us / *row.limit, 2).c_str()
                            : "n/a");
    }

    std::printf("\ncommits/s per run (spread = (max - min) / median):\n");
    for (const auto& [cell, samples] : results.cells()) {
        std::vector<double> values;
        std::printf("%5d %-9s", cell.committers, mode_name(cell.threads));
        for (const CommitSample& s : samples) {
            std::printf(" %10.0f", s.commits_per_second);
            values.push_back(s.commits_per_second);
        }
        double mid = median(values);
        auto [lo, hi] = std::minmax_element(values.begin(), values.end());
        std::printf("   spread %.0f%%\n", mid > 0 ? (*hi - *lo) / mid * 100 : 0.0);
    }
    std::printf("\nnotes: syncs/s = groups made durable per second (one sync each); group = "
                "commits / groups;\n"
                "  KiB/grp = the process's write_bytes (/proc/self/io) per group; CPU%% = process "
                "CPU (usr+sys, all\n"
                "  threads) per wall second; fio runs --rw=write --ioengine=sync --fdatasync=1 "
                "on a preallocated file\n"
                "  in the same directory after each ringdb slice, with --bs = that slice's "
                "KiB/grp rounded up to 4 KiB;\n"
                "  fio p99 = p99(write) + p99(fdatasync), median over slices; limit = group x "
                "fio syn/s;\n"
                "  ratio = commits/s / limit, per run, then the median. The goal lines use the "
                "one-thread rows,\n  each the median over the runs of the ratio within a run; "
                "the other columns are medians.\n");
    std::printf("cells took %.0f s; load at end %s\n\n", elapsed_seconds, load_average().c_str());

    print_extras(extras);
    print_goal_lines(results, extras, setup);
}

}  // namespace ringdb::bench
