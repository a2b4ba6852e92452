// vector_bench: ringdb's vector search against hnswlib, FAISS and the machine's limits, all
// measured in the same run.
//
// Cells (each the median over --runs; the report ends with `ratio <name> <value>` lines):
//   1. kernels: ns per call of L2 (squared) and inner product at dimensions 128, 384, 1536:
//      ringdb's (chosen at run time), hnswlib's (compiled with -march=native), FAISS's and a
//      plain scalar loop, one query against a cycle of 32 vectors (in L1/L2).
//   2. cached exact search: N vectors of 128 f32 (uniform in [-1, 1), fixed seed) in a
//      Table<u64, FixedVec<128>> whose pages all sit in ringdb's cache; nearest_k top-10 on
//      one thread against hnswlib's BruteforceSearch and FAISS's IndexFlatL2 (one thread) over
//      the same vectors in memory. Every result is checked against the peers' (up to ties);
//      a mismatch makes the exit status 1.
//   3. memory bandwidth: one thread streaming through the N x 128 x 4 bytes in memory.
//   4. binary: the same vectors binary-quantised in a Table<u64, BinaryQuantized<16>>, top-10
//      by Hamming distance, checked against a brute-force scan.
//   5. cold scan: the f32 table with a cache of a tenth of its size, after a close and with
//      the file dropped from the OS page cache, against fio's sequential O_DIRECT read.
//   6. two threads: nearest_k_parallel with one helper thread against cell 2, checked against
//      cell 2's results.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ringdb/ringdb.hpp>

#include "common/bench_report.hpp"
#include "common/fio_runner.hpp"
#include "common/scratch_files.hpp"
#include "vector/vector_cells.hpp"

namespace ringdb::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kNeighbours = 10;
constexpr std::uint64_t kDataSeed = 0x5eed0001;
constexpr std::uint64_t kFioBlock = 128 * 1024;
constexpr int kFioDepth = 16;

struct Options {
    std::string dir;  // empty: the current directory, else $TMPDIR, else /var/tmp
    int runs = 3;
    std::size_t count = 1'000'000;
    std::size_t queries = 5;
    std::uint64_t kernel_budget = std::uint64_t{1} << 26;  // f32 elements per kernel timing
    std::uint64_t cache_mib = 2048;
    bool quick = false;
    std::string fio = "fio";
};

void print_usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: vector_bench [--dir DIR] [--runs N] [--quick] [--count N]\n"
                 "                    [--queries Q] [--cache-mib M] [--fio PATH]\n"
                 "  --dir DIR      directory on a real disk (not tmpfs) for the scratch files,\n"
                 "                 removed at the end; default: the current directory, else\n"
                 "                 $TMPDIR, else /var/tmp\n"
                 "  --runs N       runs; each cell is the median (default 3)\n"
                 "  --quick        smoke test: 20,000 vectors, 3 queries, short kernel\n"
                 "                 timings, 1 run; fio is optional\n"
                 "  --count N      vectors in the search cells (default 1000000)\n"
                 "  --queries Q    queries per run in the search cells (default 5)\n"
                 "  --cache-mib M  ringdb's cache for the warm cells (default 2048; it must\n"
                 "                 hold the whole table)\n"
                 "  --fio PATH     the fio executable (default: fio on PATH)\n");
}

bool parse_count(const std::string& text, double limit, std::uint64_t& out) {
    char* end = nullptr;
    errno = 0;
    double value = std::strtod(text.c_str(), &end);
    if (errno != 0 || end == text.c_str() || *end != '\0' || !(value >= 1) || value > limit ||
        value != static_cast<double>(static_cast<std::uint64_t>(value))) {
        return false;
    }
    out = static_cast<std::uint64_t>(value);
    return true;
}

/// Applies `--name value` to `options`; false (after saying why) on a bad value.
bool apply_option(const std::string& arg, const std::string& value, Options& options,
                  bool& explicit_runs, bool& explicit_count, bool& explicit_queries) {
    if (arg == "--dir") {
        options.dir = value;
        return true;
    }
    if (arg == "--fio") {
        options.fio = value;
        return true;
    }
    std::uint64_t number = 0;
    double limit = arg == "--runs" ? 100 : arg == "--cache-mib" ? 1 << 20 : 100'000'000;
    if (!parse_count(value, limit, number)) {
        std::fprintf(stderr, "vector_bench: %s wants an integer from 1 to %.0f, not '%s'\n",
                     arg.c_str(), limit, value.c_str());
        return false;
    }
    if (arg == "--runs") {
        options.runs = static_cast<int>(number);
        explicit_runs = true;
    } else if (arg == "--count") {
        options.count = number;
        explicit_count = true;
    } else if (arg == "--queries") {
        options.queries = number;
        explicit_queries = true;
    } else {
        options.cache_mib = number;
    }
    return true;
}

/// Parses argv into `options`; returns false (after printing why) on a bad command line.
bool parse_options(int argc, char** argv, Options& options) {
    bool explicit_runs = false;
    bool explicit_count = false;
    bool explicit_queries = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        std::size_t eq = arg.find('=');
        bool has_inline = arg.rfind("--", 0) == 0 && eq != std::string::npos;
        if (has_inline) {
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
        if (arg != "--dir" && arg != "--runs" && arg != "--count" && arg != "--queries" &&
            arg != "--cache-mib" && arg != "--fio") {
            std::fprintf(stderr, "vector_bench: unknown option '%s'\n", argv[i]);
            return false;
        }
        if (!has_inline) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "vector_bench: %s needs a value\n", arg.c_str());
                return false;
            }
            value = argv[++i];
        }
        if (!apply_option(arg, value, options, explicit_runs, explicit_count,
                          explicit_queries)) {
            return false;
        }
    }
    // --quick sets the defaults it names; explicit flags still win.
    if (options.quick) {
        options.runs = explicit_runs ? options.runs : 1;
        options.count = explicit_count ? options.count : 20'000;
        options.queries = explicit_queries ? options.queries : 3;
        options.kernel_budget = std::uint64_t{1} << 22;
    }
    return true;
}

/// The scratch directory and its files (removed at exit and on SIGINT/SIGTERM).
struct Scratch {
    std::string dir;
    std::string db_path;
    std::string fio_path;
};

std::optional<Scratch> make_scratch(const Options& options) {
    auto base = choose_base_dir(options.dir, "vector_bench",
                                "the cold scan and fio would read memory, not a disk");
    if (!base) {
        return std::nullopt;
    }
    std::string templ = *base + "/vector_bench.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
        std::fprintf(stderr, "vector_bench: cannot create a directory in %s: %s\n",
                     base->c_str(), std::strerror(errno));
        return std::nullopt;
    }
    char absolute[PATH_MAX];
    Scratch scratch;
    scratch.dir = ::realpath(templ.c_str(), absolute) != nullptr ? absolute : templ;
    scratch.db_path = scratch.dir + "/vectors.ringdb";
    scratch.fio_path = scratch.dir + "/fio_seq_read.dat";
    register_scratch({scratch.db_path, scratch.fio_path, scratch.dir + "/fio_report.json",
                      scratch.dir + "/fio.log", scratch.dir + "/fio_version.log"},
                     scratch.dir, "vector_bench");
    std::atexit(cleanup_scratch);
    return scratch;
}

/// What the warm cells (1 to 4 and 6) use: the vectors in memory, in ringdb and in the peers.
struct WarmPhase {
    VectorSet data;
    std::vector<std::uint8_t> codes;  // binary quantisation, kBinaryBytes per vector
    std::optional<RingdbVectors> db;
    std::unique_ptr<HnswBruteForce> hnsw;
    std::unique_ptr<FaissFlat> faiss;
};

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Generates the data, loads and warms ringdb, builds the peers' indexes.
bool prepare(const Options& options, const Scratch& scratch, VectorSetup& setup,
             WarmPhase& warm) {
    std::fprintf(stderr, "vector_bench: generating %zu vectors\n", options.count);
    warm.data = make_uniform_vectors(options.count, kDim, kDataSeed);
    for (std::size_t i = 0; i < warm.data.count; ++i) {
        std::vector<std::uint8_t> bits = quantize_binary(warm.data.row(i));
        warm.codes.insert(warm.codes.end(), bits.begin(), bits.end());
    }
    std::string error;
    warm.db = RingdbVectors::create(scratch.db_path, setup.warm_cache_bytes, error);
    std::fprintf(stderr, "vector_bench: loading ringdb\n");
    auto start = Clock::now();
    if (!warm.db || !warm.db->load(warm.data, error)) {
        std::fprintf(stderr, "vector_bench: %s\n", error.c_str());
        return false;
    }
    setup.load_seconds = seconds_since(start);
    start = Clock::now();
    if (!warm.db->warm(error)) {
        std::fprintf(stderr, "vector_bench: warming: %s\n", error.c_str());
        return false;
    }
    setup.warm_seconds = seconds_since(start);
    setup.table_bytes = warm.db->float_table_bytes();
    setup.table_leaves = warm.db->float_table_leaves();
    if (setup.table_bytes > setup.warm_cache_bytes) {
        std::fprintf(stderr, "vector_bench: warning: the f32 table (%llu MiB) exceeds the cache "
                             "(--cache-mib %llu): the warm cells will read from the file\n",
                     static_cast<unsigned long long>(setup.table_bytes >> 20),
                     static_cast<unsigned long long>(setup.warm_cache_bytes >> 20));
    }
    std::error_code size_error;
    setup.db_file_bytes = std::filesystem::file_size(scratch.db_path, size_error);
    std::fprintf(stderr, "vector_bench: building hnswlib's and FAISS's flat indexes\n");
    warm.hnsw = std::make_unique<HnswBruteForce>(warm.data);
    warm.faiss = std::make_unique<FaissFlat>(warm.data);
    return true;
}

/// Cells 1 to 4 and 6, every run. `cold_reference[r]` receives ringdb's result for query 0 of
/// run r, which the cold scan of run r searches again.
bool run_warm_cells(const Options& options, WarmPhase& warm, VectorResults& results,
                    std::vector<std::vector<Hit>>& cold_reference) {
    coro::WorkerThread helper;
    std::string error;
    std::vector<std::vector<Hit>> hits;
    for (int run = 0; run < options.runs; ++run) {
        std::fprintf(stderr, "vector_bench: run %d of %d, warm cells\n", run + 1, options.runs);
        const VectorSet queries =
                make_uniform_vectors(options.queries, kDim, kDataSeed + 1 + run);
        measure_kernels(options.kernel_budget, results.kernels);
        bool ok = measure_search(*warm.db, *warm.hnsw, *warm.faiss, queries, kNeighbours,
                                 results, hits, error);
        results.stream_seconds.push_back(measure_stream(warm.data));
        ok = ok && measure_binary(*warm.db, warm.codes, queries, kNeighbours, results, error);
        ok = ok && measure_parallel(*warm.db, helper.context(), queries, kNeighbours, hits,
                                    results, error);
        if (!ok) {
            std::fprintf(stderr, "vector_bench: %s\n", error.c_str());
            return false;
        }
        cold_reference.push_back(hits.front());
    }
    return true;
}

/// One fio pass: sequential O_DIRECT reads of the whole file. Returns bytes per second.
std::optional<double> fio_sequential_read(const FioRunner& fio, const Scratch& scratch,
                                          std::uint64_t bytes) {
    std::vector<std::string> args = {"--name=seq_read", "--filename=" + scratch.fio_path,
                                     "--size=" + std::to_string(bytes), "--ioengine=io_uring",
                                     "--direct=1", "--rw=read",
                                     "--bs=" + std::to_string(kFioBlock),
                                     "--iodepth=" + std::to_string(kFioDepth)};
    std::string error;
    auto r = fio.run(args, error);
    if (!r) {
        std::fprintf(stderr, "vector_bench: fio failed: %s\n", error.c_str());
        return std::nullopt;
    }
    return r->read_ios * static_cast<double>(kFioBlock) / r->runtime_seconds;
}

/// Cell 5, every run: a cold ringdb scan, then fio on a file of the table's size.
bool run_cold_cells(const Options& options, const Scratch& scratch, const FioRunner* fio,
                    const VectorSetup& setup, const std::vector<std::vector<Hit>>& reference,
                    VectorResults& results) {
    if (fio != nullptr &&
        !create_filled_file(scratch.fio_path, setup.fio_file_bytes, "vector_bench")) {
        return false;
    }
    for (int run = 0; run < options.runs; ++run) {
        std::fprintf(stderr, "vector_bench: run %d of %d, cold scan\n", run + 1, options.runs);
        const VectorSet queries =
                make_uniform_vectors(options.queries, kDim, kDataSeed + 1 + run);
        std::string error;
        auto scan = cold_scan(scratch.db_path, setup.cold_cache_bytes, queries.row(0),
                              kNeighbours, error);
        if (!scan) {
            std::fprintf(stderr, "vector_bench: %s\n", error.c_str());
            return false;
        }
        results.cold_seconds.push_back(scan->seconds);
        results.cold_cpu_share.push_back(scan->cpu_seconds / scan->seconds);
        std::string why;
        bool same = same_top_k(scan->hits, reference[static_cast<std::size_t>(run)], why);
        results.cold_check.add(same, "run " + std::to_string(run + 1) + ": " + why);
        if (fio != nullptr) {
            auto bps = fio_sequential_read(*fio, scratch, setup.fio_file_bytes);
            if (!bps) {
                return false;
            }
            results.fio_bytes_per_second.push_back(*bps);
        }
    }
    return true;
}

/// Fills in the header's fields known before any data exists.
bool start_setup(const Options& options, const Scratch& scratch, const FioRunner& fio,
                 VectorSetup& setup) {
    setup.dir = scratch.dir;
    setup.count = options.count;
    setup.dim = kDim;
    setup.k = kNeighbours;
    setup.queries = options.queries;
    setup.runs = options.runs;
    setup.quick = options.quick;
    setup.warm_cache_bytes = options.cache_mib << 20;
    setup.array_bytes = std::uint64_t{4} * kDim * options.count;
    const char* simd = std::getenv("RINGDB_SIMD");
    setup.simd = simd != nullptr ? simd : "";
    setup.load_before = load_average();
    std::string error;
    if (auto version = fio.version(error)) {
        setup.fio_version = *version;
        return true;
    }
    setup.fio_missing = error;
    if (!options.quick) {
        std::fprintf(stderr, "vector_bench: fio is required (the cold scan's reference) but "
                             "cannot be run: %s\n  install it (Debian: apt-get install fio) or "
                             "pass --fio PATH; --quick runs without it\n", error.c_str());
        return false;
    }
    return true;
}

int run_benchmark(int argc, char** argv, const Options& options) {
    auto scratch = make_scratch(options);
    if (!scratch) {
        return 2;
    }
    FioRunner fio(options.fio, scratch->dir);
    VectorSetup setup;
    if (!start_setup(options, *scratch, fio, setup)) {
        return 2;
    }
    print_vector_header(argc, argv, setup);
    std::fflush(stdout);
    VectorResults results;
    std::vector<std::vector<Hit>> cold_reference;
    {
        WarmPhase warm;
        if (!prepare(options, *scratch, setup, warm) ||
            !run_warm_cells(options, warm, results, cold_reference)) {
            return 1;
        }
        std::string error;
        if (!warm.db->close(error)) {
            std::fprintf(stderr, "vector_bench: %s\n", error.c_str());
            return 1;
        }
    }  // frees the vectors and the peers' indexes before the cold cells
    setup.cold_cache_bytes = std::max<std::uint64_t>(setup.table_bytes / 10, 1);
    setup.fio_file_bytes = (setup.table_bytes + kFioBlock - 1) / kFioBlock * kFioBlock;
    const FioRunner* fio_ptr = setup.fio_version.empty() ? nullptr : &fio;
    if (!run_cold_cells(options, *scratch, fio_ptr, setup, cold_reference, results)) {
        return 1;
    }
    print_vector_report(setup, results);
    if (!results.all_checks_passed()) {
        std::fprintf(stderr, "vector_bench: a search returned another top-%zu than its "
                             "reference (see CHECK FAILED above)\n", kNeighbours);
        return 1;
    }
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
