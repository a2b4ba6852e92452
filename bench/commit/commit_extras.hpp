#pragma once
// commit_extras: what commit_bench measures besides ringdb's group-commit cells, in the same
// run: the peers' commit cells, fio's fastest safe way to write and sync one commit's bytes,
// a K = 64 cell with no checkpoint in its window, and the recovery cells (reopen after
// SIGKILL with a log full of records, and replay against a bulk load of the same pairs).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/fio_runner.hpp"

namespace ringdb::bench {

/// One run's extra figures.
struct CommitExtras {
    /// peer -> K -> commits/s and p99 commit latency (us), one entry per run.
    std::map<std::string, std::map<int, std::vector<double>>> peer_commits;
    std::map<std::string, std::map<int, std::vector<double>>> peer_p99_us;
    /// fio's best safe write+sync rate at the K = 1 write size, per run, and the way it won.
    std::vector<double> fio_log_sync;
    std::vector<std::string> fio_log_sync_way;
    std::uint64_t fio_log_block = 0;
    /// K = 64 on one thread with checkpoints pushed out of the window: p99 latency (us).
    std::vector<double> steady_k64_p99_us;
    std::vector<double> steady_k64_commits;
    /// Recovery, per run: reopen after SIGKILL, small and large database; the pairs the log
    /// held; a bulk load of as many new pairs in one transaction into the small database.
    std::vector<double> reopen_small_s;
    std::vector<double> reopen_large_s;
    std::vector<double> replayed_pairs;
    std::vector<double> bulk_small_s;
    /// The large database's reopen with its pages dropped from the kernel's cache first (as
    /// after a power loss), per run.
    std::vector<double> reopen_large_cold_s;
    std::uint64_t small_bytes = 0;
    std::uint64_t large_bytes = 0;
};

/// The peers commit_bench runs: K = 1 for every one, larger K for those that merge
/// concurrent writers (peers/peer_writers.hpp).
const std::vector<std::string>& commit_peers();

/// One run of the peers' cells in `dir` (a fresh database per cell, `prefill` pairs, then
/// `seconds` of writers). Returns false after printing why.
bool run_peer_cells(const std::string& dir, std::uint64_t prefill, double seconds,
                    const std::vector<int>& ks, int run, CommitExtras& out);

/// fio writing `block` bytes sequentially into a preallocated `file`, each write made durable
/// four ways: buffered or O_DIRECT, each with fdatasync after the write or with O_DSYNC. The
/// best rate (writes made durable per second) and the way, or nullopt after printing why.
std::optional<std::pair<double, std::string>> best_fio_log_sync(const FioRunner& fio,
                                                                const std::string& file,
                                                                std::uint64_t file_bytes,
                                                                std::uint64_t block,
                                                                double seconds);

/// Builds a database with at least `bytes` of data besides its log at `path` (24/150 pairs,
/// large transactions).
bool build_recovery_database(const std::string& path, std::uint64_t bytes);

struct RecoveryCell {
    int run = 0;
    bool bulk = false;  // also time a bulk load of as many new pairs
    bool cold = false;  // drop the file from the kernel's page cache before the reopen
    double reopen_seconds = 0;
    double pairs = 0;   // pairs the log held
    double bulk_seconds = 0;
};

/// One recovery cell on the database at `path`: a child process (this executable with
/// --recovery-child) commits 100-pair transactions durably until the log is 45 % used (the
/// checkpoint threshold is half), then kills itself with SIGKILL; this process then times
/// Database::open (which replays the log). With `cell.bulk`, it then times one transaction of
/// as many new pairs. Returns false after printing why.
bool run_recovery_cell(const std::string& exe, const std::string& path, RecoveryCell& cell);

/// The child's side (commit_bench --recovery-child PATH SEED): never returns normally.
int recovery_child(const std::string& path, std::uint64_t seed);

}  // namespace ringdb::bench
