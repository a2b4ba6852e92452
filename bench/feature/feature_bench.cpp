// feature_bench: ringdb's merge operators, TTL tables and value compression, against RocksDB
// and against ringdb without the feature, all measured in the same run.
//
// Cells (each workload in a fresh database under --dir; every cell the median over --runs;
// within a cell the workloads' order rotates between runs):
//   1. counters: 1,000,000 increments of u64 counters (100,000 keys chosen by a seeded RNG),
//      1,000 per transaction, not synced: ringdb merge_in(numeric_add), ringdb get + add +
//      insert, RocksDB Merge() with an AssociativeMergeOperator (WriteBatch of 1,000,
//      sync=false, WAL on); then every counter read back and checked (they total 1,000,000).
//   2. TTL inserts: 1,000,000 pairs (u64, 16 bytes), 10,000 per durable transaction, into a
//      TTL table with insert_with_ttl and into a plain table with insert; and, as the limit
//      the TTL format sets, into a plain table with the values padded to 24 bytes (the size
//      of a TTL entry's stored value: its 8-byte expiry and the value).
//   3. purge: 500,000 entries whose TTL expired (the database's clock is moved past it),
//      purge_expired() in one transaction, against remove() of each key from a plain table.
//   4. compression: 1,000,000 JSON-like 1 KiB values under u64 keys in ringdb uncompressed,
//      zstd level 3 and lz4 level 1, and in RocksDB with kZSTD and kLZ4Compression; each is
//      compacted and closed, then measured (ringdb's file, RocksDB's directory).
//   5. point reads: 200,000 random gets of cell 4's ringdb databases after a warm-up pass.
// --quick cuts every count 50x and runs once; --cells runs only some cells. The report ends
// with `ratio <name> <value>` lines, after a table giving each ratio's goal.

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ringdb/options.hpp>

#include "common/bench_report.hpp"
#include "common/scratch_files.hpp"
#include "feature/feature_data.hpp"
#include "feature/feature_report.hpp"
#include "feature/ringdb_features.hpp"
#include "feature/rocksdb_features.hpp"

namespace ringdb::bench {
namespace {

using Clock = std::chrono::steady_clock;

// The cells --cells can name (values: cells 4 and 5).
constexpr std::array<std::string_view, 4> kCellNames{"counters", "ttl", "purge", "values"};

struct Options {
    std::string dir;  // empty: the current directory, else $TMPDIR, else /var/tmp
    int runs = 3;
    bool quick = false;
    std::uint64_t cache_mib = 2048;
    std::set<std::string, std::less<>> cells{kCellNames.begin(), kCellNames.end()};  // to run
};

bool runs_cell(const Options& options, std::string_view cell) {
    return options.cells.find(cell) != options.cells.end();
}

void print_usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: feature_bench [--dir DIR] [--runs N] [--quick] [--cache-mib M]\n"
                 "                     [--cells LIST]\n"
                 "  --dir DIR      directory on a real disk (not tmpfs) for the scratch files,\n"
                 "                 removed at the end; default: the current directory, else\n"
                 "                 $TMPDIR, else /var/tmp\n"
                 "  --runs N       runs; each cell is the median (default 3)\n"
                 "  --quick        smoke test: every count cut 50x, 1 run\n"
                 "  --cache-mib M  ringdb's cache for the point reads of cell 5 (default 2048:\n"
                 "                 the uncompressed database fits)\n"
                 "  --cells LIST   the cells to run, comma-separated (default: all of\n"
                 "                 counters,ttl,purge,values; values is cells 4 and 5);\n"
                 "                 the ratios of cells not run print as n/a\n");
}

bool parse_number(const std::string& text, std::uint64_t limit, std::uint64_t& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long long value = std::strtoull(text.c_str(), &end, 10);
    if (errno != 0 || text.empty() || *end != '\0' || value < 1 || value > limit) {
        return false;
    }
    out = value;
    return true;
}

/// The cells a comma-separated `list` names, or none when a name is not a cell's.
std::optional<std::set<std::string, std::less<>>> parse_cells(const std::string& list) {
    std::set<std::string, std::less<>> cells;
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t end = std::min(list.find(',', start), list.size());
        std::string name = list.substr(start, end - start);
        if (std::find(kCellNames.begin(), kCellNames.end(), name) == kCellNames.end()) {
            return std::nullopt;
        }
        cells.insert(std::move(name));
        start = end + 1;
    }
    return cells;
}

/// Parses argv into `options`; false (after saying why) on a bad command line.
bool parse_options(int argc, char** argv, Options& options) {
    bool explicit_runs = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        std::size_t eq = arg.find('=');
        bool inline_value = arg.rfind("--", 0) == 0 && eq != std::string::npos;
        if (inline_value) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        if (arg == "--help" || arg == "-h") {
            print_usage(stdout);
            std::exit(0);
        }
        if (arg == "--quick") {
            options.quick = true;
            continue;
        }
        if (arg != "--dir" && arg != "--runs" && arg != "--cache-mib" && arg != "--cells") {
            std::fprintf(stderr, "feature_bench: unknown option '%s'\n", argv[i]);
            return false;
        }
        if (!inline_value) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "feature_bench: %s needs a value\n", arg.c_str());
                return false;
            }
            value = argv[++i];
        }
        std::uint64_t number = 0;
        if (arg == "--dir") {
            options.dir = value;
        } else if (arg == "--cells") {
            auto cells = parse_cells(value);
            if (!cells) {
                std::fprintf(stderr, "feature_bench: bad cell list '%s'\n", value.c_str());
                return false;
            }
            options.cells = std::move(*cells);
        } else if (!parse_number(value, arg == "--runs" ? 100 : 1 << 20, number)) {
            std::fprintf(stderr, "feature_bench: bad value '%s' for %s\n", value.c_str(),
                         arg.c_str());
            return false;
        } else if (arg == "--runs") {
            options.runs = static_cast<int>(number);
            explicit_runs = true;
        } else {
            options.cache_mib = number;
        }
    }
    if (options.quick && !explicit_runs) {
        options.runs = 1;
    }
    return true;
}

/// The scratch directory (removed at exit and on SIGINT/SIGTERM), or none after saying why.
std::optional<std::string> make_scratch(const Options& options) {
    auto base = choose_base_dir(options.dir, "feature_bench",
                                "syncs and reads would cost nothing");
    if (!base) {
        return std::nullopt;
    }
    std::string templ = *base + "/feature_bench.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
        std::fprintf(stderr, "feature_bench: cannot create a directory in %s: %s\n",
                     base->c_str(), std::strerror(errno));
        return std::nullopt;
    }
    char absolute[PATH_MAX];
    std::string dir = ::realpath(templ.c_str(), absolute) != nullptr ? absolute : templ;
    register_scratch_tree(dir, "feature_bench");
    std::atexit(cleanup_scratch_tree);
    return dir;
}

/// A workload of a cell: its name and what it does in a fresh directory.
struct Workload {
    std::string name;
    std::function<void(const std::string& dir)> run;
};

/// Runs `workloads` in a rotated order (by `run`), each in a fresh directory removed after it.
void run_rotated(const std::string& scratch, int run, const std::vector<Workload>& workloads) {
    const std::size_t count = workloads.size();
    for (std::size_t k = 0; k < count; ++k) {
        const Workload& w = workloads[(k + static_cast<std::size_t>(run)) % count];
        std::string dir = scratch + "/" + w.name + "-" + std::to_string(run);
        std::filesystem::create_directories(dir);
        w.run(dir);
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
}

void note(const std::string& workload, const char* what, double seconds) {
    std::fprintf(stderr, "  %-14s %-11s %10.1f ms\n", workload.c_str(), what, seconds * 1e3);
}

void note_size(const std::string& workload, std::uint64_t bytes) {
    std::fprintf(stderr, "  %-14s %-11s %10.1f MiB\n", workload.c_str(), "size",
                 static_cast<double>(bytes) / (1024.0 * 1024.0));
}

std::vector<Workload> counter_workloads(const CounterWork& work, FeatureResults& results) {
    auto ringdb_cell = [&work, &results](const char* name, bool by_hand) {
        return Workload{name, [&work, &results, name, by_hand](const std::string& dir) {
                            CounterTimes t = ringdb_counters(dir + "/db.ringdb", work, by_hand);
                            note(name, "increments", t.increments);
                            note(name, "read-back", t.read_back);
                            results.add_counters(name, t);
                        }};
    };
    return {ringdb_cell("merge", false), ringdb_cell("get_insert", true),
            Workload{"rocksdb_merge", [&work, &results](const std::string& dir) {
                         CounterTimes t = rocksdb_counters(dir, work);
                         note("rocksdb_merge", "increments", t.increments);
                         note("rocksdb_merge", "read-back", t.read_back);
                         results.add_counters("rocksdb_merge", t);
                     }}};
}

std::vector<Workload> ttl_workloads(const FeatureSizes& s, FeatureResults& results) {
    auto insert_cell = [&s, &results](const char* name, PairKind kind) {
        return Workload{name, [&s, &results, name, kind](const std::string& dir) {
                            double t = ringdb_insert_pairs(dir + "/db.ringdb", s.ttl_pairs,
                                                           s.ttl_batch, kind);
                            note(name, "inserts", t);
                            results.add(name, t);
                        }};
    };
    return {insert_cell("ttl_insert", PairKind::ttl),
            insert_cell("plain_insert", PairKind::plain),
            insert_cell("wide_insert", PairKind::plain_wide)};
}

std::vector<Workload> purge_workloads(const FeatureSizes& s, FeatureResults& results) {
    return {Workload{"purge",
                     [&s, &results](const std::string& dir) {
                         double t = ringdb_purge_expired(dir + "/db.ringdb", s.purge_pairs,
                                                         s.ttl_batch);
                         note("purge", "purge", t);
                         results.add("purge", t);
                     }},
            Workload{"remove", [&s, &results](const std::string& dir) {
                         double t = ringdb_remove_each(dir + "/db.ringdb", s.purge_pairs,
                                                       s.ttl_batch);
                         note("remove", "removals", t);
                         results.add("remove", t);
                     }}};
}

/// What the compression cells share.
struct ValueCells {
    const ValueSet* values;
    const std::vector<std::uint64_t>* reads;
    std::uint64_t batch;
    std::uint64_t cache_bytes;
    bool rocksdb_zstd;  // RocksDB was built with the codec
    bool rocksdb_lz4;
};

Workload ringdb_value_cell(const char* name, Compression compression, const ValueCells& c,
                           FeatureResults& results) {
    return Workload{name, [name, compression, c, &results](const std::string& dir) {
                        std::string path = dir + "/db.ringdb";
                        BuildResult b = ringdb_build_values(path, compression, *c.values, c.batch);
                        note(name, "ingest", b.ingest);
                        note(name, "compaction", b.compact);
                        note_size(name, b.bytes);
                        results.add_build(name, b);
                        double t = ringdb_read_values(path, c.cache_bytes, *c.values, *c.reads);
                        note(name, "reads", t);
                        results.add(std::string(name) + ".reads", t);
                    }};
}

Workload rocksdb_value_cell(const char* name, RocksCodec codec, const ValueCells& c,
                            FeatureResults& results) {
    return Workload{name, [name, codec, c, &results](const std::string& dir) {
                        BuildResult b = rocksdb_build_values(dir, codec, *c.values, c.batch);
                        note(name, "ingest", b.ingest);
                        note(name, "compaction", b.compact);
                        note_size(name, b.bytes);
                        results.add_build(name, b);
                    }};
}

std::vector<Workload> value_workloads(const ValueCells& c, FeatureResults& results) {
    std::vector<Workload> workloads = {
            ringdb_value_cell("ringdb_none", Compression{CompressionAlgorithm::none, 0, 64}, c,
                              results),
            ringdb_value_cell("ringdb_zstd", Compression{CompressionAlgorithm::zstd, 3, 64}, c,
                              results),
            ringdb_value_cell("ringdb_lz4", Compression{CompressionAlgorithm::lz4, 1, 64}, c,
                              results)};
    if (c.rocksdb_zstd) {
        workloads.push_back(rocksdb_value_cell("rocksdb_zstd", RocksCodec::zstd, c, results));
    }
    if (c.rocksdb_lz4) {
        workloads.push_back(rocksdb_value_cell("rocksdb_lz4", RocksCodec::lz4, c, results));
    }
    return workloads;
}

/// Every cell, every run; false (after saying why) when a workload failed.
bool run_cells(const std::string& scratch, const Options& options, const FeatureSetup& setup,
               FeatureResults& results) {
    const FeatureSizes& s = setup.sizes;
    const bool value_cells = runs_cell(options, "values");
    if (value_cells) {
        std::fprintf(stderr, "feature_bench: generating the data (%s values of 1 KiB)\n",
                     grouped(s.values).c_str());
    }
    const CounterWork work = make_counter_work(s);
    const ValueSet values(value_cells ? s.values : 0);
    const std::vector<std::uint64_t> reads = read_keys(s.reads, s.values);
    const std::string& missing = setup.rocksdb_missing;
    const ValueCells cells{&values, &reads, s.value_batch, setup.cache_bytes,
                           missing.find("zstd") == std::string::npos,
                           missing.find("lz4") == std::string::npos};
    try {
        for (int run = 0; run < options.runs; ++run) {
            std::fprintf(stderr, "feature_bench: run %d of %d\n", run + 1, options.runs);
            if (runs_cell(options, "counters")) {
                run_rotated(scratch, run, counter_workloads(work, results));
            }
            if (runs_cell(options, "ttl")) {
                run_rotated(scratch, run, ttl_workloads(s, results));
            }
            if (runs_cell(options, "purge")) {
                run_rotated(scratch, run, purge_workloads(s, results));
            }
            if (runs_cell(options, "values")) {
                run_rotated(scratch, run, value_workloads(cells, results));
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "feature_bench: %s\n", e.what());
        return false;
    }
    return true;
}

int run_benchmark(int argc, char** argv, const Options& options) {
    std::optional<std::string> scratch = make_scratch(options);
    if (!scratch) {
        return 2;
    }
    FeatureSetup setup;
    setup.dir = *scratch;
    setup.sizes = options.quick ? FeatureSizes::quick() : FeatureSizes::full();
    setup.runs = options.runs;
    setup.quick = options.quick;
    setup.cache_bytes = options.cache_mib << 20;
    setup.rocksdb_version = rocksdb_version();
    setup.rocksdb_missing = rocksdb_missing_codecs();
    print_feature_header(argc, argv, setup);
    FeatureResults results;
    auto start = Clock::now();
    if (!run_cells(*scratch, options, setup, results)) {
        return 1;
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    print_feature_report(setup, results, elapsed);
    return 0;
}

}  // namespace
}  // namespace ringdb::bench

int main(int argc, char** argv) {
    ringdb::bench::Options options;
    if (!ringdb::bench::parse_options(argc, argv, options)) {
        ringdb::bench::print_usage(stderr);
        return 2;
    }
    return ringdb::bench::run_benchmark(argc, argv, options);
}
