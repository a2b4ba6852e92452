#pragma once
// Scratch files of the benchmarks that run fio beside ringdb (io_bench, commit_bench,
// vector_bench) and of feature_bench: where to put them, how to fill them, and their removal at
// exit and on SIGINT/SIGTERM (the signal handlers stop a running fio first, or fork rm -rf, and
// use only async-signal-safe calls on paths prepared in advance).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringdb::bench {

/// Removes `files` and then the directory `dir` at exit (call std::atexit(cleanup_scratch)) and
/// on SIGINT/SIGTERM. At most 7 files. `program` prefixes error messages.
void register_scratch(const std::vector<std::string>& files, const std::string& dir,
                      const char* program);
void cleanup_scratch();

/// Removes the directory `dir` and everything under it at exit (call
/// std::atexit(cleanup_scratch_tree)) and on SIGINT/SIGTERM (the handler forks and execs
/// /bin/rm -rf on the path prepared here), for benchmarks whose peers create files of their own
/// (RocksDB's directories). `program` prefixes error messages.
void register_scratch_tree(const std::string& dir, const char* program);
void cleanup_scratch_tree();

/// The directory to create the scratch directory in: `dir` if given, else the first of the
/// current directory, $TMPDIR and /var/tmp that is writable and not a memory file system.
/// `memory_reason` says why a memory file system would make the measurement meaningless.
std::optional<std::string> choose_base_dir(const std::string& dir, const char* program,
                                           const char* memory_reason);

/// Creates `path` with `bytes` of pseudo-random data written sequentially, then fsyncs it, so
/// every block is allocated and on disk before anything is timed.
bool create_filled_file(const std::string& path, std::uint64_t bytes, const char* program);

}  // namespace ringdb::bench
