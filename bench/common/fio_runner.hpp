#pragma once
// fio_runner: runs fio, the reference for what the disk can do, and reads the few numbers
// the benchmarks need from its JSON report.
//
// fio runs as a child process (posix_spawnp, no shell), writes its JSON report to a file in
// the benchmark directory and its messages to a log file next to it; the log is shown only
// when fio fails. The JSON is read with a small strict parser that keeps every numeric leaf
// under a '/'-separated path ("jobs/0/read/total_ios"), so no JSON library is needed.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringdb::bench {

/// The pid of the fio process running now, or 0. Async-signal-safe, for a handler that must
/// stop fio before removing its files.
int running_fio_pid() noexcept;

/// Numeric leaves of a JSON document by path: object keys and array indexes joined with '/'.
using JsonNumbers = std::map<std::string, double>;

/// Parses `text` (from its first '{') and returns its numeric leaves, or std::nullopt with a
/// message in `error` when the text is not well-formed JSON.
std::optional<JsonNumbers> parse_json_numbers(std::string_view text, std::string& error);

/// What one fio job did, taken from jobs[0] of its report.
struct FioResult {
    double read_ios = 0;         // read.total_ios
    double write_ios = 0;        // write.total_ios
    double syncs = 0;            // sync.lat_ns.N: fsync/fdatasync calls (sync.total_ios is 0)
    double runtime_seconds = 0;  // job_runtime
    double cpu_seconds = 0;      // (usr_cpu + sys_cpu) percent of job_runtime
    double sync_p99_ns = 0;      // sync.lat_ns.percentile.99.000000 (0 when absent)
    double write_p99_ns = 0;     // write.clat_ns.percentile.99.000000 (0 when absent)
};

class FioRunner {
public:
    /// `fio` is a path or a name looked up on PATH; reports and logs go to `work_dir`.
    FioRunner(std::string fio, std::string work_dir);

    /// Runs `fio --version`. Returns the version string, or std::nullopt (with the reason in
    /// `error`) when fio cannot be run.
    std::optional<std::string> version(std::string& error) const;

    /// Runs one fio job with `args` plus `--output-format=json --output=<report>`.
    /// Returns std::nullopt with the reason (and fio's log) in `error` on failure.
    std::optional<FioResult> run(const std::vector<std::string>& args, std::string& error) const;

private:
    /// Runs fio with `args`, its stdout and stderr going to `log_path`. Returns the exit
    /// status (0 on success), or -1 with the reason in `error` when it could not be started.
    int spawn(const std::vector<std::string>& args, const std::string& log_path,
              std::string& error) const;

    std::string fio_;
    std::string work_dir_;
};

}  // namespace ringdb::bench
