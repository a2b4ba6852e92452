// io_demo: what ringdb's I/O layer does, shown on a real file.
//
// Until the storage engine exists this is the demo behind `make demo`. It writes a file from
// many coroutines at once, makes it durable, reads it back with O_DIRECT at queue depth 1 and
// 32, serves two threads from their own rings, and shows the errors bad requests get.
// Every number it prints is measured in this run.

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <ringdb/runtime.hpp>
#include <ringdb/sync_wait.hpp>
#include <ringdb/task.hpp>
#include <ringdb/when_all.hpp>

#include "io/file_device.hpp"
#include "io/ring.hpp"
#include "util/endian.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using ringdb::Result;
using ringdb::Status;
using ringdb::Task;
using ringdb::io::BlockDevice;

constexpr std::size_t kBlock = 4096;
constexpr std::uint64_t kBlocks = 32768;  // 128 MiB
constexpr int kWriters = 64;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct AlignedBuffer {
    explicit AlignedBuffer(std::size_t size)
        : data(static_cast<std::byte*>(std::aligned_alloc(kBlock, size))) {}
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;
    ~AlignedBuffer() { std::free(data); }
    std::byte* data;
};

// Block b holds its own number in its first 8 bytes, then a byte pattern derived from it.
void fill_block(std::byte* p, std::uint64_t b) {
    ringdb::util::store_le64(p, b);
    for (std::size_t i = 8; i < kBlock; ++i) {
        p[i] = static_cast<std::byte>((b * 131 + i) & 0xff);
    }
}

bool check_block(const std::byte* p, std::uint64_t b) {
    return ringdb::util::load_le64(p) == b &&
           p[kBlock - 1] == static_cast<std::byte>((b * 131 + kBlock - 1) & 0xff);
}

Task<Status> writer(BlockDevice& device, int id) {
    AlignedBuffer buf(kBlock);
    for (std::uint64_t b = static_cast<std::uint64_t>(id); b < kBlocks; b += kWriters) {
        fill_block(buf.data, b);
        Status s = co_await device.write(b * kBlock, std::span(buf.data, kBlock));
        if (!s) {
            co_return s;
        }
    }
    co_return ringdb::ok();
}

Task<Result<std::uint64_t>> reader(BlockDevice& device, std::uint64_t seed, double seconds) {
    AlignedBuffer buf(kBlock);
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    std::uint64_t reads = 0;
    auto start = Clock::now();
    while (seconds_since(start) < seconds) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::uint64_t b = x % kBlocks;
        Status s = co_await device.read(b * kBlock, std::span(buf.data, kBlock));
        if (!s) {
            co_return s.error();
        }
        if (!check_block(buf.data, b)) {
            co_return ringdb::Error{ringdb::Errc::corrupted, 0, b};
        }
        ++reads;
    }
    co_return reads;
}

Task<Result<std::uint64_t>> read_at_depth(BlockDevice& device, int depth, double seconds) {
    std::vector<Task<Result<std::uint64_t>>> readers;
    for (int i = 0; i < depth; ++i) {
        readers.push_back(reader(device, static_cast<std::uint64_t>(i + 1), seconds));
    }
    auto results = co_await ringdb::when_all(std::move(readers));
    std::uint64_t total = 0;
    for (auto& r : results) {
        if (!r) {
            co_return r.error();
        }
        total += *r;
    }
    co_return total;
}

Task<Result<std::uint64_t>> read_on(ringdb::coro::ThreadContext& thread, BlockDevice& device,
                                   double seconds) {
    co_await ringdb::coro::schedule_on(thread);
    auto reads = co_await read_at_depth(device, 16, seconds);
    co_return reads;
}

int fail(const char* what, const ringdb::Error& e) {
    std::fprintf(stderr, "io_demo: %s failed: %s\n", what, ringdb::to_string(e).c_str());
    return 1;
}

void print_ring_stats(const char* label) {
    auto ring = ringdb::io::Ring::for_this_thread();
    if (!ring) {
        return;
    }
    const auto& st = (*ring)->stats();
    std::printf("  %-28s %10llu ops in %8llu io_uring_enter calls (%.1f ops per call)\n",
                label, static_cast<unsigned long long>(st.operations),
                static_cast<unsigned long long>(st.submit_calls),
                st.submit_calls == 0 ? 0.0
                                     : static_cast<double>(st.operations) /
                                               static_cast<double>(st.submit_calls));
}

int run(const std::filesystem::path& dir) {
    auto backend = ringdb::io::resolve_backend(ringdb::IoBackend::automatic);
    std::printf("ringdb io_demo: I/O layer on %s, backend %s\n", dir.c_str(),
                backend == ringdb::IoBackend::uring ? "io_uring" : "POSIX (fallback)");
    std::string path = (dir / "demo.dat").string();

    ringdb::io::FileOptions create{.create = true, .truncate = true, .backend = backend};
    auto opened = ringdb::sync_wait(ringdb::io::open_file(path, create));
    if (!opened) {
        return fail("create", opened.error());
    }
    auto& device = *opened;

    auto start = Clock::now();
    Status grown = ringdb::sync_wait(device->set_length(kBlocks * kBlock));
    if (!grown) {
        return fail("preallocate", grown.error());
    }
    std::vector<Task<Status>> writers;
    for (int i = 0; i < kWriters; ++i) {
        writers.push_back(writer(*device, i));
    }
    auto written = ringdb::sync_wait(ringdb::when_all(std::move(writers)));
    for (auto& s : written) {
        if (!s) {
            return fail("write", s.error());
        }
    }
    double write_s = seconds_since(start);
    auto sync_start = Clock::now();
    Status synced = ringdb::sync_wait(device->sync_all());
    if (!synced) {
        return fail("sync", synced.error());
    }
    double sync_s = seconds_since(sync_start);
    double mib = static_cast<double>(kBlocks * kBlock) / (1024.0 * 1024.0);
    std::printf("\n1. %d coroutines wrote %.0f MiB in 4 KiB blocks: %.2f s (%.0f MiB/s), "
                "fsync %.3f s\n", kWriters, mib, write_s, mib / write_s, sync_s);
    print_ring_stats("writes on this thread:");
    (void)ringdb::sync_wait(device->close());

    ringdb::io::FileOptions direct{.direct = true, .backend = backend};
    auto reopened = ringdb::sync_wait(ringdb::io::open_file(path, direct));
    if (!reopened) {
        std::printf("\n(O_DIRECT unavailable here: %s; reading through the page cache)\n",
                    ringdb::to_string(reopened.error()).c_str());
        ringdb::io::FileOptions cached{.backend = backend};
        reopened = ringdb::sync_wait(ringdb::io::open_file(path, cached));
        if (!reopened) {
            return fail("reopen", reopened.error());
        }
    }
    auto& reader_device = *reopened;
    std::printf("\n2. random 4 KiB reads with O_DIRECT, every block verified:\n");
    for (int depth : {1, 32}) {
        auto reads = ringdb::sync_wait(read_at_depth(*reader_device, depth, 2.0));
        if (!reads) {
            return fail("read", reads.error());
        }
        std::printf("  %2d in flight on one thread: %9.0f reads/s\n", depth,
                    static_cast<double>(*reads) / 2.0);
    }
    print_ring_stats("after the reads:");

    {
        ringdb::coro::WorkerThread a;
        ringdb::coro::WorkerThread b;
        auto both = ringdb::sync_wait(ringdb::when_all(read_on(a.context(), *reader_device, 2.0),
                                                       read_on(b.context(), *reader_device, 2.0)));
        auto& [ra, rb] = both;
        if (!ra || !rb) {
            return fail("threaded read", !ra ? ra.error() : rb.error());
        }
        std::printf("\n3. two threads, each with its own ring, 16 in flight each: "
                    "%.0f + %.0f reads/s\n", static_cast<double>(*ra) / 2.0,
                    static_cast<double>(*rb) / 2.0);
    }

    std::printf("\n4. bad requests get clear errors and change nothing:\n");
    AlignedBuffer buf(2 * kBlock);
    Status past =
            ringdb::sync_wait(reader_device->read(kBlocks * kBlock, std::span(buf.data, kBlock)));
    std::printf("  read past the end:        %s\n", ringdb::to_string(past.error()).c_str());
    if (reader_device->alignment() > 1) {
        Status odd = ringdb::sync_wait(reader_device->read(100, std::span(buf.data, kBlock)));
        std::printf("  misaligned O_DIRECT read: %s\n", ringdb::to_string(odd.error()).c_str());
    }
    (void)ringdb::sync_wait(reader_device->close());
    Status closed = ringdb::sync_wait(reader_device->read(0, std::span(buf.data, kBlock)));
    std::printf("  read after close:         %s\n", ringdb::to_string(closed.error()).c_str());
    std::printf("\nio_demo: done\n");
    return 0;
}

}  // namespace

int main() {
    std::filesystem::path dir = std::filesystem::current_path() / "build" /
                                ("io_demo-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    int rc = run(dir);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return rc;
}
