#pragma once
// commit_workload: commit_bench's ringdb side, group commit.
//
// K committers, each a coroutine looping "submit_write_batch(one insert of a 24-byte key and
// a 150-byte value)" until a deadline, all on the calling thread (one-thread mode) or split
// evenly over two WorkerThreads (two-thread mode). After an unmeasured warm-up the first
// commit to complete takes the opening snapshot (time, group_commit_stats(), the process's
// write_bytes from /proc/self/io) and the first commit to complete after the deadline takes
// the closing one; rates come from the difference. A commit's latency (submit to completion)
// is recorded when it was submitted after the warm-up and completed before the deadline.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ringdb/ringdb.hpp>

namespace ringdb::bench {

/// What one cell runs.
struct CommitCell {
    int committers = 1;     // K
    int threads = 1;        // 1: the calling thread; 2: two WorkerThreads
    double seconds = 1;     // measured window
    double warmup = 0.2;    // unmeasured lead-in
    std::uint64_t seed = 1; // key stream of the cell (each committer derives its own)
};

/// What one cell measured.
struct CommitMeasurement {
    double window_seconds = 0;       // between the two snapshots
    std::uint64_t commits = 0;       // batches acknowledged ok in the window
    std::uint64_t groups = 0;        // groups made durable in the window (one sync each)
    std::uint64_t written_bytes = 0; // /proc/self/io write_bytes in the window
    double cpu_seconds = 0;          // process user + system CPU in the window (all threads)
    std::vector<double> latencies_us;  // sorted

    /// Adds `other` (another window of the same cell): sums, latencies merged and sorted.
    void merge(const CommitMeasurement& other);

    double commits_per_second() const;
    double syncs_per_second() const;
    double group_size() const;       // commits per group
    double bytes_per_group() const;  // written bytes per group
    double cpu_share() const;        // CPU seconds per second of the window (2 = two cores)
    /// Nearest-rank percentile (0 < p <= 100) of the latencies, in microseconds; 0 if none.
    double latency_percentile_us(double p) const;
};

/// The 24/150 table commit_bench writes.
inline constexpr TableDefinition<ByteView, ByteView> kCommitTable("commit_bench");

/// Database::create, Database::open and Database::close as tasks for sync_wait.
Task<Result<Database>> create_db(std::string path, DatabaseOptions options);
Task<Result<Database>> open_db(std::string path, DatabaseOptions options);
Task<Status> close_db(Database* db);

/// Inserts `count` pairs of the stream `seed` in one durable write transaction.
Status prefill(Database& db, std::uint64_t count, std::uint64_t seed);

/// Runs one cell on `db` (opened on the calling thread). Returns std::nullopt with the reason
/// in `error` when a commit fails or the window saw no completed commit.
std::optional<CommitMeasurement> run_commit_cell(Database& db, const CommitCell& cell,
                                                 std::string& error);

/// The process's write_bytes from /proc/self/io (bytes it caused to be written to storage:
/// pages dirtied by buffered writes, and direct writes), or std::nullopt when unavailable.
std::optional<std::uint64_t> process_write_bytes();

}  // namespace ringdb::bench
