// io_uring device and ring runtime. This binary exits 77 (skipped) where no ring can be set up.

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

#include <catch2/catch.hpp>

#include <ringdb/runtime.hpp>

#include "io/device_contract.hpp"
#include "io/file_fixture.hpp"
#include "io/ring.hpp"

using ringdb::IoBackend;
using ringdb::Task;
using ringdb::sync_wait;
using ringdb::when_all;
using ringdb::io::BlockDevice;
using ringdb::io::Ring;

// Counts heap allocations in this binary, to show that steady-state I/O allocates nothing.
// Sanitizer builds keep their own allocator (and bypass the frame pool), so they skip this.
#ifndef RINGDB_SANITIZED
namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace {

ringdb::io::FileOptions uring_create() {
    return ringdb::io::FileOptions{.create = true, .truncate = true, .backend = IoBackend::uring};
}

Task<ringdb::Status> read_many(BlockDevice& device, int count) {
    std::byte buf[4096];
    for (int i = 0; i < count; ++i) {
        ringdb::Status s = co_await device.read(static_cast<std::uint64_t>(i % 16) * 4096, buf);
        if (!s) {
            co_return s;
        }
    }
    co_return ringdb::ok();
}

Task<std::thread::id> io_on(ringdb::coro::ThreadContext& target, BlockDevice& device,
                            std::uint64_t offset) {
    co_await ringdb::coro::schedule_on(target);
    std::byte buf[4096];
    ringdb::Status s = co_await device.read(offset, buf);
    if (!s) {
        co_return std::thread::id{};
    }
    co_return std::this_thread::get_id();
}

}  // namespace

TEST_CASE("io_uring file device meets the device contract", "[io][uring]") {
    ringdb::test::TempDir dir;
    int n = 0;
    ringdb::test::check_device_contract([&] {
        return ringdb::test::open_or_fail(dir.file("dev" + std::to_string(n++)), uring_create());
    });
}

TEST_CASE("io_uring file device: open errors, poisoning, O_DIRECT", "[io][uring]") {
    ringdb::test::check_file_behaviour(IoBackend::uring);
}

TEST_CASE("Concurrent operations share submissions and respect the in-flight bound",
          "[io][uring]") {
    ringdb::test::TempDir dir;
    auto device = ringdb::test::open_or_fail(dir.file("batch"), uring_create());
    REQUIRE(sync_wait(device->set_length(16 * 4096)).has_value());
    Ring& ring = **Ring::for_this_thread();
    auto before = ring.stats();

    std::vector<Task<ringdb::Status>> tasks;
    for (int i = 0; i < 1000; ++i) {
        tasks.push_back(read_many(*device, 4));
    }
    auto results = sync_wait(when_all(std::move(tasks)));
    for (auto& r : results) {
        REQUIRE(r.has_value());
    }
    auto after = ring.stats();
    auto ops = after.operations - before.operations;
    auto submits = after.submit_calls - before.submit_calls;
    REQUIRE(ops == 4000);
    // 1000 concurrent readers exceed the in-flight bound: some had to wait for a slot...
    REQUIRE(after.waited > before.waited);
    // ...and operations were submitted in batches (of kSubmitBatch), not one enter each.
    INFO("operations " << ops << " submit calls " << submits);
    REQUIRE(submits * (Ring::kSubmitBatch - 1) < ops);
    REQUIRE(ring.in_flight() == 0);
}

// Sanitizer builds keep their own allocator and bypass the frame pool, so the count would not
// be meaningful there: the test exists only in the other builds.
#ifndef RINGDB_SANITIZED
TEST_CASE("Steady-state reads allocate nothing", "[io][uring]") {
    ringdb::test::TempDir dir;
    auto device = ringdb::test::open_or_fail(dir.file("alloc"), uring_create());
    REQUIRE(sync_wait(device->set_length(16 * 4096)).has_value());
    auto warm = sync_wait(read_many(*device, 100));  // fills the frame pool
    REQUIRE(warm.has_value());
    auto before = g_allocations.load();
    auto s = sync_wait(read_many(*device, 10000));
    auto after = g_allocations.load();
    REQUIRE(s.has_value());
    INFO("allocations during 10000 reads: " << (after - before));
    REQUIRE(after - before < 10);
}
#endif

TEST_CASE("Each thread has its own ring and coroutines resume on their thread",
          "[io][uring][threads]") {
    ringdb::test::TempDir dir;
    auto device = ringdb::test::open_or_fail(dir.file("threads"), uring_create());
    REQUIRE(sync_wait(device->set_length(64 * 4096)).has_value());
    ringdb::coro::WorkerThread a;
    ringdb::coro::WorkerThread b;
    std::vector<Task<std::thread::id>> tasks;
    for (int i = 0; i < 64; ++i) {
        tasks.push_back(io_on(i % 2 == 0 ? a.context() : b.context(), *device,
                              static_cast<std::uint64_t>(i) * 4096));
    }
    auto ids = sync_wait(when_all(std::move(tasks)));
    for (std::size_t i = 0; i < ids.size(); ++i) {
        REQUIRE(ids[i] == (i % 2 == 0 ? a.context().owner() : b.context().owner()));
    }
    REQUIRE(a.context().reactor() != nullptr);
    REQUIRE(b.context().reactor() != nullptr);
    REQUIRE(a.context().reactor() != b.context().reactor());
}

TEST_CASE("The notify eventfd becomes readable when a completion is posted", "[io][uring]") {
    Ring& ring = **Ring::for_this_thread();
    auto fd = ring.notify_fd();
    REQUIRE(fd.has_value());
    REQUIRE(*ring.notify_fd() == *fd);
    std::uint64_t drained = 0;
    while (::read(*fd, &drained, sizeof(drained)) > 0) {
    }
    ringdb::test::TempDir dir;
    auto device = ringdb::test::open_or_fail(dir.file("notify"), uring_create());
    REQUIRE(sync_wait(device->write(0, ringdb::test::pattern(4096, 1))).has_value());
    pollfd p{*fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 1000) == 1);
    REQUIRE((p.revents & POLLIN) != 0);
}

TEST_CASE("A thread whose first ringdb call creates its ring exits cleanly",
          "[io][uring][threads]") {
    // The ring's destructor detaches from the thread's context; the context must therefore
    // outlive the ring even when the ring was the first thing the thread touched.
    bool created = false;
    std::thread t([&created] { created = Ring::for_this_thread().has_value(); });
    t.join();
    REQUIRE(created);
}
