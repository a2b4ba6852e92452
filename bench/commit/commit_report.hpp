#pragma once
// commit_report: commit_bench's collected samples and printed report (header, the table of
// medians, the spread across runs, and the goal lines `ratio <name> <value>`).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commit/commit_extras.hpp"

namespace ringdb::bench {

/// fio's write+fdatasync cycle at one block size: the disk's sync rate at that size.
struct FioSyncSample {
    std::uint64_t block_bytes = 0;
    double syncs_per_second = 0;
    double sync_p99_us = 0;   // fdatasync latency, p99
    double write_p99_us = 0;  // write() completion latency, p99
    double runtime_seconds = 0;
    /// Diagnostic: fdatasyncs per second when the same bytes are written as scattered random
    /// 4 KiB pages before each fdatasync (0 when not measured).
    double scattered_syncs_per_second = 0;
    /// p99 of one write+fdatasync cycle, taken as the sum of the two p99s (fio reports them
    /// separately; the write is a few microseconds next to the sync).
    double cycle_p99_us() const { return sync_p99_us + write_p99_us; }
};

/// One run of one cell: ringdb's figures and, when fio ran, fio's at the group's write size.
struct CommitSample {
    double commits_per_second = 0;
    double syncs_per_second = 0;
    double group_size = 0;
    double bytes_per_group = 0;
    double p50_us = 0;
    double p99_us = 0;
    double cpu_share = 0;  // process CPU seconds per second (all threads, io_uring workers too)
    double checkpoints = 0;  // checkpoints taken during the cell (warm-up included)
    std::optional<FioSyncSample> fio;
};

/// A cell: K committers on 1 or 2 threads.
struct CellId {
    int committers = 1;
    int threads = 1;
    bool operator<(const CellId& o) const {
        return std::pair(threads, committers) < std::pair(o.threads, o.committers);
    }
};

class CommitResults {
public:
    void add(CellId cell, const CommitSample& sample) { cells_[cell].push_back(sample); }
    const std::map<CellId, std::vector<CommitSample>>& cells() const { return cells_; }

private:
    std::map<CellId, std::vector<CommitSample>> cells_;
};

/// The configuration shown in the header.
struct CommitSetup {
    std::string dir;
    std::string fio_version;     // empty: fio not available
    std::string fio_missing;     // why, when fio_version is empty
    double seconds = 0;
    double warmup = 0;
    int runs = 0;
    int slices = 0;
    std::uint64_t prefill = 0;
    std::uint64_t cache_mib = 0;  // DatabaseOptions::cache_size in MiB
};

/// Prints the date, kernel, CPU, directory and file system, fio version, command and setup.
void print_commit_header(int argc, char** argv, const CommitSetup& setup);

/// Prints the table of medians, the spread across runs, notes, and last the goal lines.
void print_commit_report(const CommitResults& results, const CommitExtras& extras,
                         const CommitSetup& setup, double elapsed_seconds);

}  // namespace ringdb::bench
