// device_workloads: io_bench's ringdb side.
//
// Each workload opens the file as a BlockDevice of the requested backend, runs coroutines on
// this thread through sync_wait until a deadline, and measures wall time, process CPU time
// (getrusage RUSAGE_SELF: every thread of the process, so io_uring's io-wq workers count too)
// and, for the uring backend, the thread's ring statistics. Opening and closing the device lie
// outside the timed interval, as fio's setup lies outside its job_runtime.
//
// Worker state lives in the caller's vector and is handed to the worker coroutine by pointer
// (a value): the vector outlives the when_all/sync_wait that runs the coroutines.

#include "io/device_workloads.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <ringdb/error.hpp>
#include <ringdb/result.hpp>
#include <ringdb/sync_wait.hpp>
#include <ringdb/task.hpp>
#include <ringdb/when_all.hpp>

#include "io/block_device.hpp"
#include "io/file_device.hpp"
#include "io/ring.hpp"

namespace ringdb::bench {

namespace {

using Clock = std::chrono::steady_clock;

double timeval_seconds(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

double process_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return timeval_seconds(usage.ru_utime) + timeval_seconds(usage.ru_stime);
}

/// splitmix64: cheap, well-mixed; the modulo bias over at most 2^40 blocks is negligible.
std::uint64_t next_random(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct FreeDeleter {
    void operator()(std::byte* p) const noexcept { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<std::byte[], FreeDeleter>;

AlignedBuffer allocate_aligned(std::size_t bytes) {
    return AlignedBuffer(static_cast<std::byte*>(std::aligned_alloc(io::kDirectAlignment, bytes)));
}

std::unique_ptr<io::BlockDevice> open_device(IoBackend backend, const std::string& path,
                                             bool direct) {
    io::FileOptions options;
    options.direct = direct;
    options.backend = backend;
    auto opened = sync_wait(io::open_file(path, options));
    if (!opened) {
        std::fprintf(stderr, "io_bench: cannot open %s (%s backend): %s\n", path.c_str(),
                     backend == IoBackend::uring ? "uring" : "posix",
                     to_string(opened.error()).c_str());
        return nullptr;
    }
    return std::move(*opened);
}

bool close_device(io::BlockDevice& device) {
    Status closed = sync_wait(device.close());
    if (!closed) {
        std::fprintf(stderr, "io_bench: close failed: %s\n", to_string(closed.error()).c_str());
        return false;
    }
    return true;
}

/// Wall time, CPU time and ring counters around one timed interval.
class IntervalProbe {
public:
    IntervalProbe() : ring_start_(ring_stats()) {
        cpu_start_ = process_cpu_seconds();
        wall_start_ = Clock::now();
    }
    Clock::time_point wall_start() const { return wall_start_; }

    Measurement finish(std::uint64_t operations) const {
        Clock::time_point wall_end = Clock::now();
        double cpu_end = process_cpu_seconds();
        io::RingStats ring_end = ring_stats();
        Measurement m;
        m.operations = operations;
        m.seconds = std::chrono::duration<double>(wall_end - wall_start_).count();
        m.cpu_seconds = cpu_end - cpu_start_;
        m.ring_operations = ring_end.operations - ring_start_.operations;
        m.ring_submit_calls = ring_end.submit_calls - ring_start_.submit_calls;
        return m;
    }

private:
    static io::RingStats ring_stats() {
        auto ring = io::Ring::for_this_thread();
        return ring ? (*ring)->stats() : io::RingStats{};
    }

    io::RingStats ring_start_;
    double cpu_start_ = 0;
    Clock::time_point wall_start_;
};

struct ReadWorker {
    io::BlockDevice* device = nullptr;
    std::byte* buffer = nullptr;  // kBlockBytes, aligned to io::kDirectAlignment
    std::uint64_t blocks = 0;
    std::uint64_t random_state = 0;
    Clock::time_point deadline;
    std::uint64_t reads = 0;
    std::optional<Error> error;
};

/// Keeps one read in flight until the deadline.
Task<void> read_worker(ReadWorker* worker) {
    std::span<std::byte> buffer(worker->buffer, kBlockBytes);
    while (Clock::now() < worker->deadline) {
        std::uint64_t offset = next_random(worker->random_state) % worker->blocks * kBlockBytes;
        Status status = co_await worker->device->read(offset, buffer);
        if (!status) {
            worker->error = status.error();
            co_return;
        }
        ++worker->reads;
    }
}

struct SyncWorker {
    io::BlockDevice* device = nullptr;
    const std::byte* data = nullptr;  // kBlockBytes
    std::uint64_t file_bytes = 0;
    Clock::time_point deadline;
    std::uint64_t pairs = 0;
    std::optional<Error> error;
};

/// Writes one block and fdatasyncs it, sequentially over the file and wrapping at its end,
/// until the deadline: fio's `--rw=write --bs=4k --fdatasync=1 --time_based` pattern.
Task<void> write_sync_worker(SyncWorker* worker) {
    std::span<const std::byte> data(worker->data, kBlockBytes);
    std::uint64_t offset = 0;
    while (Clock::now() < worker->deadline) {
        Status written = co_await worker->device->write(offset, data);
        if (!written) {
            worker->error = written.error();
            co_return;
        }
        Status synced = co_await worker->device->sync_data();
        if (!synced) {
            worker->error = synced.error();
            co_return;
        }
        ++worker->pairs;
        offset += kBlockBytes;
        if (offset + kBlockBytes > worker->file_bytes) {
            offset = 0;
        }
    }
}

Clock::time_point deadline_after(Clock::time_point start, double seconds) {
    return start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(seconds));
}

}  // namespace

std::optional<Measurement> run_random_reads(IoBackend backend, const std::string& path,
                                            std::uint64_t file_bytes, int depth, double seconds,
                                            std::uint64_t seed) {
    auto device = open_device(backend, path, true);
    if (!device) {
        return std::nullopt;
    }
    auto count = static_cast<std::size_t>(depth);
    AlignedBuffer buffers = allocate_aligned(count * kBlockBytes);
    std::vector<ReadWorker> workers(count);
    std::vector<Task<void>> tasks;
    tasks.reserve(count);

    IntervalProbe probe;
    Clock::time_point deadline = deadline_after(probe.wall_start(), seconds);
    for (std::size_t i = 0; i < count; ++i) {
        ReadWorker& w = workers[i];
        w.device = device.get();
        w.buffer = buffers.get() + i * kBlockBytes;
        w.blocks = file_bytes / kBlockBytes;
        w.random_state = seed * 1000003 + i;
        w.deadline = deadline;
        tasks.push_back(read_worker(&w));
    }
    // With the posix backend every read completes inside await_ready, so the first worker
    // runs alone until the deadline and the others find it passed: QD32 is QD1 there.
    sync_wait(when_all(std::move(tasks)));
    std::uint64_t reads = 0;
    for (const ReadWorker& w : workers) {
        reads += w.reads;
    }
    Measurement m = probe.finish(reads);

    for (const ReadWorker& w : workers) {
        if (w.error) {
            std::fprintf(stderr, "io_bench: read failed: %s\n", to_string(*w.error).c_str());
            return std::nullopt;
        }
    }
    if (!close_device(*device)) {
        return std::nullopt;
    }
    return m;
}

std::optional<Measurement> run_write_sync(IoBackend backend, const std::string& path,
                                          std::uint64_t file_bytes, double seconds) {
    auto device = open_device(backend, path, false);
    if (!device) {
        return std::nullopt;
    }
    AlignedBuffer data = allocate_aligned(kBlockBytes);
    std::uint64_t state = 0x5eed;
    for (std::uint64_t i = 0; i < kBlockBytes; ++i) {
        data[i] = static_cast<std::byte>(next_random(state));
    }
    SyncWorker worker;
    worker.device = device.get();
    worker.data = data.get();
    worker.file_bytes = file_bytes;

    IntervalProbe probe;
    worker.deadline = deadline_after(probe.wall_start(), seconds);
    sync_wait(write_sync_worker(&worker));
    Measurement m = probe.finish(worker.pairs);

    if (worker.error) {
        std::fprintf(stderr, "io_bench: write+fdatasync failed: %s\n",
                     to_string(*worker.error).c_str());
        return std::nullopt;
    }
    if (!close_device(*device)) {
        return std::nullopt;
    }
    return m;
}

}  // namespace ringdb::bench
