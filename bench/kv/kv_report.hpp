#pragma once
// kv_bench's phases, the counts of each phase, the samples collected per (engine, phase), and
// the printed report: the table of medians (rows: phases; columns: engines, then ringdb over
// LMDB and over the best peer), the spread across runs, and last the `ratio` lines.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ringdb::bench {

enum class KvPhase {
    bulk_load,
    individual_writes,
    batch_writes,
    nosync_writes,
    len,
    random_reads,
    range_reads,
    reads_t1,
    reads_t2,
    reads_t4,
    removals,
    size_open,
    size_closed,
    compaction,
    size_compacted,
    // Process CPU time (user + system, every thread) of the phases above with the same name:
    // steadier than wall time on a loaded machine.
    bulk_load_cpu,
    random_reads_cpu,
    range_reads_cpu,
};
inline constexpr std::size_t kKvPhaseCount = 18;

/// A short name of the phase for progress lines.
const char* kv_phase_key(KvPhase phase);
/// True for the rows holding a size in bytes rather than a time in seconds.
bool kv_phase_is_size(KvPhase phase);

/// How much each phase does.
struct Counts {
    std::uint64_t n = 0;           // bulk load
    std::uint64_t individual = 0;  // one-insert durable transactions
    std::uint64_t batches = 0;     // durable transactions of batch_size inserts
    std::uint64_t batch_size = 0;
    std::uint64_t nosync = 0;  // one-insert transactions without sync
    std::uint64_t reads = 0;   // point gets per pass (2 passes)
    std::uint64_t ranges = 0;  // scans per pass (2 passes)
    int range_width = 10;

    /// The full run's counts (kv_bench.cpp's phase list) with bulk load n (reads and scans
    /// capped by n: existing keys).
    static Counts full(std::uint64_t n);
    /// The smoke run: every count scaled down.
    static Counts quick(std::uint64_t n);
    /// Entries after the write phases.
    std::uint64_t inserted() const { return n + individual + batches * batch_size + nosync; }
};

/// Samples per engine and phase over all runs; NaN marks "not available".
class KvResults {
public:
    KvResults(std::vector<std::string> engines, int runs)
        : engines_(std::move(engines)), runs_(runs) {}
    void add(const std::string& engine, KvPhase phase, double value);
    /// The median of the samples, NaN when there are none or any is NaN.
    double median(const std::string& engine, KvPhase phase) const;
    /// (max - min) / median in percent.
    double spread_percent(const std::string& engine, KvPhase phase) const;
    const std::vector<std::string>& engines() const { return engines_; }
    int runs() const { return runs_; }

private:
    std::vector<std::string> engines_;
    int runs_;
    std::map<std::string, std::array<std::vector<double>, kKvPhaseCount>> samples_;
};

/// Prints the table, the spread (with several runs), notes, then the ratio lines.
void print_kv_report(const KvResults& results, const Counts& counts, double elapsed_seconds);

}  // namespace ringdb::bench
