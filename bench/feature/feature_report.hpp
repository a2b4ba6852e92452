#pragma once
// feature_report: feature_bench's samples (one per cell per run), its header, its table of
// medians and, last, the goal table and the `ratio <name> <value>` lines.
//
// Cell names: "<workload>.<measure>", e.g. "merge.total", "ringdb_zstd.bytes" (the table in
// feature_report.cpp lists them all).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "feature/feature_data.hpp"

namespace ringdb::bench {

/// Every sample of every cell, over the runs.
class FeatureResults {
public:
    void add(const std::string& cell, double value) { samples_[cell].push_back(value); }
    void add_counters(const std::string& workload, const CounterTimes& times);
    void add_build(const std::string& workload, const BuildResult& build);
    /// The median of the cell's samples, none when it has none.
    std::optional<double> median(const std::string& cell) const;
    /// (max - min) / median in percent, none with fewer than two samples.
    std::optional<double> spread_percent(const std::string& cell) const;

private:
    std::map<std::string, std::vector<double>> samples_;
};

/// What the run was set up with, for the header and the notes.
struct FeatureSetup {
    std::string dir;
    FeatureSizes sizes;
    int runs = 0;
    bool quick = false;
    std::uint64_t cache_bytes = 0;  // ringdb's cache for the point reads
    std::string rocksdb_version;
    std::string rocksdb_missing;  // codecs RocksDB lacks; their cells are skipped
};

void print_feature_header(int argc, char** argv, const FeatureSetup& setup);
/// The table of medians (with the spread across runs), the notes, the goals, the ratio lines.
void print_feature_report(const FeatureSetup& setup, const FeatureResults& results,
                          double elapsed_seconds);

}  // namespace ringdb::bench
