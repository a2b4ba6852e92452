#pragma once
// vector_report: vector_bench's measurements (one value per run per cell), its header, its
// table of medians and its goal lines `ratio <name> <value>`.

#include <cstdint>
#include <string>
#include <vector>

namespace ringdb::bench {

/// One (metric, dimension) cell of the kernel comparison: ns per call, one value per run.
struct KernelCell {
    std::string metric;  // "l2sq" or "ip"
    std::size_t dim = 0;
    std::vector<double> ringdb_ns;
    std::vector<double> hnswlib_ns;
    std::vector<double> faiss_ns;
    std::vector<double> scalar_ns;
};

/// Whether the searches of a cell returned the same top-k as their reference.
struct CheckResult {
    std::size_t queries = 0;  // queries compared
    std::size_t failures = 0;
    std::string first_failure;  // what differed first, empty when none did

    void add(bool same, const std::string& why);
};

/// What the run was set up with, printed in the header and used by the ratios.
struct VectorSetup {
    std::string dir;
    std::string fio_version;  // empty: fio not available (fio_missing says why)
    std::string fio_missing;
    std::size_t count = 0;
    std::size_t dim = 0;
    std::size_t k = 0;
    std::size_t queries = 0;  // per run
    int runs = 0;
    bool quick = false;
    std::uint64_t warm_cache_bytes = 0;
    std::uint64_t cold_cache_bytes = 0;
    std::uint64_t array_bytes = 0;        // the in-memory f32 array (count x dim x 4)
    std::uint64_t table_bytes = 0;        // the f32 table's pages
    std::uint64_t table_leaves = 0;       // the f32 table's leaf pages
    std::uint64_t db_file_bytes = 0;      // the database file after loading
    std::uint64_t fio_file_bytes = 0;
    double load_seconds = 0;
    double warm_seconds = 0;
    std::string simd;  // RINGDB_SIMD, or "" when unset
    std::string load_before;  // /proc/loadavg's first three fields at the start
};

/// Every measurement, one value per run.
struct VectorResults {
    std::vector<KernelCell> kernels;
    std::vector<double> ringdb_ms;   // cell 2: ms per query
    std::vector<double> hnswlib_ms;
    std::vector<double> faiss_ms;
    CheckResult search_check;        // ringdb against hnswlib and FAISS
    std::vector<double> stream_seconds;  // cell 3: one pass over the array
    std::vector<double> binary_ms;   // cell 4
    CheckResult binary_check;        // against a brute-force Hamming scan
    std::vector<double> parallel_ms;  // cell 6, one helper
    std::vector<double> parallel_cpu_share;  // the process's CPU seconds per second in cell 6
    CheckResult parallel_check;       // against the single-thread nearest_k
    std::vector<double> cold_seconds;  // cell 5: one scan after a reopen
    std::vector<double> cold_cpu_share;  // the process's CPU seconds per second of that scan
    std::vector<double> fio_bytes_per_second;
    CheckResult cold_check;            // against the warm scan of the same query

    bool all_checks_passed() const;
};

/// /proc/loadavg's 1, 5 and 15 minute load averages.
std::string load_average();

void print_vector_header(int argc, char** argv, const VectorSetup& setup);
/// The table of medians, the checks, and the ratio lines last.
void print_vector_report(const VectorSetup& setup, const VectorResults& results);

}  // namespace ringdb::bench
