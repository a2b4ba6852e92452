// vector_report: vector_bench's header, table and goal lines (see vector_report.hpp).

#include "vector/vector_report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>

#include "common/bench_report.hpp"

namespace ringdb::bench {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            std::size_t colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    }
    return "unknown";
}

}  // namespace

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

namespace {

/// 1234567 as "1,234,567".
std::string grouped(std::uint64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out.push_back(',');
        }
        out.push_back(digits[i]);
    }
    return out;
}

std::optional<double> median_of(const std::vector<double>& values) {
    if (values.empty()) {
        return std::nullopt;
    }
    return median(values);
}

std::optional<double> ratio_of(std::optional<double> ours, std::optional<double> theirs) {
    if (!ours || !theirs || !(*theirs > 0)) {
        return std::nullopt;
    }
    return *ours / *theirs;
}

/// Prints `ratio <name> <value>`, or `n/a` with the reason when it cannot be computed.
void print_ratio(const char* name, std::optional<double> value, const char* why) {
    if (value) {
        std::printf("ratio %s %.3f\n", name, *value);
    } else {
        std::printf("ratio %s n/a (%s)\n", name, why);
    }
}

void print_check(const char* what, const CheckResult& check) {
    if (check.failures == 0) {
        std::printf("   check: %zu of %zu top-k results identical up to ties (%s)\n",
                    check.queries, check.queries, what);
    } else {
        std::printf("   CHECK FAILED: %zu of %zu top-k results differ (%s); first: %s\n",
                    check.failures, check.queries, what, check.first_failure.c_str());
    }
}

void print_kernels(const VectorResults& results) {
    std::printf("\n1. distance kernels, ns per call (one query against a cycle of 32 vectors, "
                "in L1/L2;\n   fastest of 5 interleaved slices per run)\n");
    std::printf("   %-6s %5s %9s %9s %9s %9s %15s\n", "metric", "dim", "ringdb", "hnswlib",
                "faiss", "scalar", "ringdb/hnswlib");
    for (const KernelCell& c : results.kernels) {
        const double ours = median(c.ringdb_ns);
        const double hnsw = median(c.hnswlib_ns);
        std::printf("   %-6s %5zu %9.2f %9.2f %9.2f %9.2f %15.3f\n", c.metric.c_str(), c.dim,
                    ours, hnsw, median(c.faiss_ns), median(c.scalar_ns), ours / hnsw);
    }
    std::printf("   (hnswlib's ip is its inner-product distance, 1 - a.b)\n");
}

void print_search(const VectorSetup& setup, const VectorResults& results) {
    std::printf("\n2. exact top-%zu, %s x %zu f32 in memory / in ringdb's cache, one thread, "
                "ms per query\n", setup.k, grouped(setup.count).c_str(), setup.dim);
    std::printf("   %-40s %9.2f\n", "ringdb nearest_k (warm read transaction)",
                median(results.ringdb_ms));
    std::printf("   %-40s %9.2f\n", "hnswlib BruteforceSearch::searchKnn",
                median(results.hnswlib_ms));
    std::printf("   %-40s %9.2f\n", "FAISS IndexFlatL2::search (1 thread)",
                median(results.faiss_ms));
    print_check("ringdb against hnswlib and FAISS", results.search_check);

    const double stream_s = median(results.stream_seconds);
    const double ringdb_s = median(results.ringdb_ms) / 1000;
    const double gb = static_cast<double>(setup.array_bytes) / 1e9;
    std::printf("\n3. memory bandwidth, one thread, %.1f MiB (the vectors' bytes)\n",
                static_cast<double>(setup.array_bytes) / kMiB);
    std::printf("   %-40s %9.2f ms %7.2f GB/s\n", "streaming read of the array",
                stream_s * 1000, gb / stream_s);
    std::printf("   %-40s %9.2f ms %7.2f GB/s\n", "ringdb nearest_k (vector bytes / time)",
                ringdb_s * 1000, gb / ringdb_s);
}

void print_binary(const VectorSetup& setup, const VectorResults& results) {
    std::printf("\n4. binary: top-%zu by Hamming distance over %s x %zu-byte codes, warm, "
                "ms per query\n", setup.k, grouped(setup.count).c_str(), setup.dim / 8);
    std::printf("   %-40s %9.2f\n", "ringdb nearest_k (BinaryQuantized<16>)",
                median(results.binary_ms));
    std::printf("   %-40s %9.2f\n", "ringdb nearest_k (FixedVec<128>, cell 2)",
                median(results.ringdb_ms));
    print_check("against a brute-force Hamming scan", results.binary_check);
}

void print_cold(const VectorSetup& setup, const VectorResults& results) {
    std::printf("\n5. cold scan: the f32 table (%.1f MiB of pages; file %.1f MiB) with a "
                "%.1f MiB cache,\n   after fdatasync + POSIX_FADV_DONTNEED; bytes/s = table "
                "pages' bytes / scan time\n",
                static_cast<double>(setup.table_bytes) / kMiB,
                static_cast<double>(setup.db_file_bytes) / kMiB,
                static_cast<double>(setup.cold_cache_bytes) / kMiB);
    const std::optional<double> seconds = median_of(results.cold_seconds);
    if (seconds) {
        std::printf("   %-40s %9.1f ms %7.1f MB/s  (CPU busy %.0f%%)\n",
                    "ringdb nearest_k, one scan", *seconds * 1000,
                    static_cast<double>(setup.table_bytes) / *seconds / 1e6,
                    median(results.cold_cpu_share) * 100);
    }
    if (const std::optional<double> fio = median_of(results.fio_bytes_per_second)) {
        std::printf("   %-40s %9.1f ms %7.1f MB/s\n",
                    "fio read --direct=1 bs=128k iodepth=16",
                    static_cast<double>(setup.fio_file_bytes) / *fio * 1000, *fio / 1e6);
        std::printf("   (fio: io_uring, one sequential pass over a %.1f MiB file in the same "
                    "directory)\n", static_cast<double>(setup.fio_file_bytes) / kMiB);
    } else {
        std::printf("   fio: not run (%s)\n", setup.fio_missing.c_str());
    }
    print_check("against the warm scan of the same query", results.cold_check);
}

void print_parallel(const VectorSetup& setup, const VectorResults& results) {
    std::printf("\n6. two threads: nearest_k_parallel with one helper WorkerThread, warm, "
                "ms per query\n");
    std::printf("   %-40s %9.2f\n", "ringdb nearest_k_parallel, 2 threads",
                median(results.parallel_ms));
    std::printf("   %-40s %9.2f\n", "ringdb nearest_k, 1 thread (cell 2)",
                median(results.ringdb_ms));
    std::printf("   (the process used %.2f CPUs during these scans: the machine has %ld, and its\n"
                "   load average was %s at the start and %s at the end)\n",
                median(results.parallel_cpu_share), ::sysconf(_SC_NPROCESSORS_ONLN),
                setup.load_before.c_str(), load_average().c_str());
    print_check("against the single-thread nearest_k", results.parallel_check);
}

void print_ratios(const VectorSetup& setup, const VectorResults& results) {
    std::optional<double> worst;
    for (const KernelCell& c : results.kernels) {
        double r = median(c.ringdb_ns) / median(c.hnswlib_ns);
        worst = worst ? std::max(*worst, r) : r;
    }
    const auto ringdb_ms = median_of(results.ringdb_ms);
    std::printf("\n");
    print_ratio("kernel_worst_vs_hnswlib", worst, "no kernel cell");
    print_ratio("nearest_k_vs_hnswlib_bruteforce",
                ratio_of(ringdb_ms, median_of(results.hnswlib_ms)), "no search cell");
    print_ratio("nearest_k_vs_memory_bandwidth",
                ratio_of(median_of(results.stream_seconds), ringdb_ms ? *ringdb_ms / 1000
                                                                      : std::optional<double>()),
                "no search cell");
    print_ratio("binary_vs_float_scan", ratio_of(median_of(results.binary_ms), ringdb_ms),
                "no binary cell");
    std::optional<double> cold_bps;
    if (const auto seconds = median_of(results.cold_seconds)) {
        cold_bps = static_cast<double>(setup.table_bytes) / *seconds;
    }
    print_ratio("cold_scan_vs_fio_seq_read",
                ratio_of(cold_bps, median_of(results.fio_bytes_per_second)), "fio not run");
    print_ratio("two_threads_vs_one", ratio_of(median_of(results.parallel_ms), ringdb_ms),
                "no two-thread cell");
}

}  // namespace

void CheckResult::add(bool same, const std::string& why) {
    ++queries;
    if (!same) {
        ++failures;
        if (first_failure.empty()) {
            first_failure = why;
        }
    }
}

bool VectorResults::all_checks_passed() const {
    return search_check.failures == 0 && binary_check.failures == 0 &&
           parallel_check.failures == 0 && cold_check.failures == 0;
}

void print_vector_header(int argc, char** argv, const VectorSetup& setup) {
    char date[64];
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &utc);
    utsname names{};
    ::uname(&names);
    std::printf("vector_bench: ringdb's vector kernels and exact search against hnswlib and "
                "FAISS,\n              one thread's memory bandwidth and fio, same run\n");
    std::printf("date:     %s\n", date);
    std::printf("kernel:   %s %s\n", names.sysname, names.release);
    std::printf("machine:  %ld CPUs, %s (AVX-512F: %s, AVX2: %s)\n",
                ::sysconf(_SC_NPROCESSORS_ONLN), cpu_model().c_str(),
                __builtin_cpu_supports("avx512f") ? "yes" : "no",
                __builtin_cpu_supports("avx2") ? "yes" : "no");
    std::printf("dir:      %s (%s)\n", setup.dir.c_str(), filesystem_name(setup.dir).c_str());
    std::printf("fio:      %s\n", setup.fio_version.empty() ? setup.fio_missing.c_str()
                                                           : setup.fio_version.c_str());
    std::printf("kernels:  ringdb chooses at run time (RINGDB_SIMD=%s); hnswlib compiled with "
                "-march=native;\n          FAISS as the Debian package built it\n",
                setup.simd.empty() ? "unset" : setup.simd.c_str());
    std::printf("command: ");
    for (int i = 0; i < argc; ++i) {
        std::printf(" %s", argv[i]);
    }
    std::printf("\n");
}

void print_vector_report(const VectorSetup& setup, const VectorResults& results) {
    std::printf("\ndata:     %s vectors x %zu f32, uniform in [-1, 1), fixed seed; k = %zu; "
                "%zu queries per run; median of %d run(s)%s\n",
                grouped(setup.count).c_str(), setup.dim, setup.k, setup.queries, setup.runs,
                setup.quick ? " (--quick)" : "");
    std::printf("ringdb:   f32 table %.1f MiB of pages (%s leaves, %.1f vectors per leaf), "
                "file %.1f MiB, cache %.0f MiB;\n"
                "          loaded in %.1f s (10 non-durable batches, one durable commit), "
                "warmed by one full scan in %.2f s\n",
                static_cast<double>(setup.table_bytes) / kMiB,
                grouped(setup.table_leaves).c_str(),
                static_cast<double>(setup.count) /
                        static_cast<double>(std::max<std::uint64_t>(setup.table_leaves, 1)),
                static_cast<double>(setup.db_file_bytes) / kMiB,
                static_cast<double>(setup.warm_cache_bytes) / kMiB, setup.load_seconds,
                setup.warm_seconds);
    print_kernels(results);
    print_search(setup, results);
    print_binary(setup, results);
    print_cold(setup, results);
    print_parallel(setup, results);
    print_ratios(setup, results);
}

}  // namespace ringdb::bench
