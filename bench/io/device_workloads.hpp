#pragma once
// device_workloads: the io_bench workloads run through ringdb's BlockDevice (uring or posix),
// shaped like the fio jobs they are compared with (see io_bench.cpp for the fio side).

#include <cstdint>
#include <optional>
#include <string>

#include <ringdb/options.hpp>

namespace ringdb::bench {

/// Block size of every workload: 4 KiB, one O_DIRECT-aligned block.
inline constexpr std::uint64_t kBlockBytes = 4096;

/// What one timed workload did.
struct Measurement {
    std::uint64_t operations = 0;  // reads, or write+fdatasync pairs
    double seconds = 0;            // wall time from the first submission to the last completion
    double cpu_seconds = 0;        // usr+sys of this process (all threads) over that time
    std::uint64_t ring_operations = 0;    // uring only: operations prepared on the ring
    std::uint64_t ring_submit_calls = 0;  // uring only: io_uring_enter calls that submitted

    double rate() const { return seconds > 0 ? static_cast<double>(operations) / seconds : 0; }
    double cpu_us_per_operation() const {
        return operations > 0 ? cpu_seconds * 1e6 / static_cast<double>(operations) : 0;
    }
};

/// 4 KiB random reads, uniformly distributed over the aligned blocks of the file at `path`
/// (`file_bytes` long), O_DIRECT, with `depth` coroutines on this thread each keeping one read
/// in flight until `seconds` have passed. Returns std::nullopt after printing the error.
std::optional<Measurement> run_random_reads(IoBackend backend, const std::string& path,
                                            std::uint64_t file_bytes, int depth, double seconds,
                                            std::uint64_t seed);

/// 4 KiB buffered writes, sequential from offset 0 and wrapping at `file_bytes`, over the
/// existing file at `path`, each followed by sync_data() (fdatasync), one at a time, for
/// `seconds`. This is fio's `--rw=write --bs=4k --ioengine=sync --fdatasync=1` on the same
/// file. Returns std::nullopt after printing the error.
std::optional<Measurement> run_write_sync(IoBackend backend, const std::string& path,
                                          std::uint64_t file_bytes, double seconds);

}  // namespace ringdb::bench
