// The Asio adapter: ringdb tasks awaited from asio::awaitable coroutines and completion
// tokens, with the thread's io_uring driven by a single-threaded io_context (run() on the test
// thread is the only loop unless a test says otherwise). This binary exits 77 (skipped) where
// no ring can be set up.

#include <ringdb/asio.hpp>


#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <ringdb/runtime.hpp>
#include <ringdb/when_all.hpp>

#include "io/file_fixture.hpp"
#include "support/no_io_uring.hpp"
#include "io/memory_device.hpp"
#include "io/ring.hpp"

using ringdb::AsioDriver;
using ringdb::Errc;
using ringdb::IoBackend;
using ringdb::Result;
using ringdb::Status;
using ringdb::Task;
using ringdb::coro::ThreadContext;
using ringdb::io::BlockDevice;
using ringdb::io::Ring;

namespace {

constexpr std::size_t kBlock = 4096;

ringdb::io::FileOptions create_options(IoBackend backend) {
    return ringdb::io::FileOptions{.create = true, .truncate = true, .backend = backend};
}

/// co_spawn completion: a failure inside a spawned coroutine leaves through io_context::run(),
/// which runs on the test thread, so Catch2 reports it.
struct Rethrow {
    void operator()(std::exception_ptr e) const {
        if (e) {
            std::rethrow_exception(e);
        }
    }
};

/// What the coroutines of one test saw; checked on the test thread after run() returns.
struct Observed {
    std::unique_ptr<BlockDevice> device;
    int verified = 0;
    int finished = 0;
    std::string failure;
    std::vector<std::string> messages;
    std::vector<std::error_code> codes;
    std::vector<std::thread::id> threads;
};

/// The calling thread's id, for use inside coroutines that change threads. clang 14 at -O1
/// caches std::this_thread::get_id() (pthread_self is declared __attribute__((const))) across
/// a co_await, and so reports the thread the coroutine ran on before it moved;
/// ThreadContext::current() is defined in another translation unit and cannot be cached.
std::thread::id running_thread() { return ThreadContext::current().owner(); }

void record_failure(Observed* seen, const std::string& what) {
    if (seen->failure.empty()) {
        seen->failure = what;
    }
}

// --- ringdb tasks used by the tests -------------------------------------------------------

Task<int> value_task(int v) { co_return v; }

Task<int> throw_at_once() {
    throw std::logic_error("thrown before any suspension");
    co_return 0;
}

Task<int> throw_after_io(BlockDevice* device) {
    std::byte buf[16];
    Status s = co_await device->read(0, buf);
    if (!s) {
        co_return -1;
    }
    throw std::runtime_error("thrown after an io_uring read");
}

Task<Result<std::vector<std::byte>>> read_block(BlockDevice* device, std::uint64_t offset) {
    std::vector<std::byte> block(kBlock);
    Status s = co_await device->read(offset, block);
    if (!s) {
        co_return s.error();
    }
    co_return block;
}

/// Writes `count` blocks and reads them back, all writes in flight together, then all reads.
/// More blocks than the ring's in-flight bound exercises its back-pressure list.
Task<Result<int>> write_and_read_concurrently(BlockDevice* device, int count) {
    std::vector<std::vector<std::byte>> data;
    std::vector<Task<Status>> writes;
    for (int i = 0; i < count; ++i) {
        data.push_back(ringdb::test::pattern(kBlock, static_cast<unsigned>(1000 + i)));
    }
    for (int i = 0; i < count; ++i) {
        writes.push_back(device->write(static_cast<std::uint64_t>(i) * kBlock, data[i]));
    }
    std::vector<Status> written = co_await ringdb::when_all(std::move(writes));
    for (auto& s : written) {
        if (!s) {
            co_return s.error();
        }
    }
    std::vector<std::vector<std::byte>> back(count, std::vector<std::byte>(kBlock));
    std::vector<Task<Status>> reads;
    for (int i = 0; i < count; ++i) {
        reads.push_back(device->read(static_cast<std::uint64_t>(i) * kBlock, back[i]));
    }
    std::vector<Status> read = co_await ringdb::when_all(std::move(reads));
    int verified = 0;
    for (int i = 0; i < count; ++i) {
        if (read[i] && back[i] == data[i]) {
            ++verified;
        }
    }
    co_return verified;
}

struct Hop {
    std::thread::id worker_side;
    std::thread::id home_side;
    bool io_ok = false;
};

/// Moves to the worker, does I/O on the worker's ring, and comes back explicitly.
Task<Hop> hop_and_return(ThreadContext* worker, ThreadContext* home, BlockDevice* device) {
    Hop hop;
    co_await ringdb::coro::schedule_on(*worker);
    hop.worker_side = running_thread();
    std::byte buf[64];
    Status s = co_await device->read(0, buf);
    hop.io_ok = s.has_value();
    co_await ringdb::coro::schedule_on(*home);
    hop.home_side = running_thread();
    co_return hop;
}

/// Moves to the worker and ends there: the adapter must bring the completion home.
Task<std::thread::id> end_on_worker(ThreadContext* worker) {
    co_await ringdb::coro::schedule_on(*worker);
    co_return running_thread();
}

/// Re-queues itself on this thread's ready queue: no eventfd announces such work, so the
/// driver must keep pumping while pumps make progress.
Task<void> yield_several_times(int count) {
    for (int i = 0; i < count; ++i) {
        co_await ringdb::coro::yield_now();
    }
}

struct NoDefault {
    explicit NoDefault(int v) : value(v) {}
    int value;
};

Task<NoDefault> no_default(int v) { co_return NoDefault{v}; }

// --- awaitable coroutines -----------------------------------------------------------------

asio::awaitable<void> write_verify_one(BlockDevice* device, std::uint64_t index, Observed* seen) {
    std::vector<std::byte> data = ringdb::test::pattern(kBlock, static_cast<unsigned>(index + 7));
    Status written = co_await ringdb::as_awaitable(device->write(index * kBlock, data));
    if (!written) {
        record_failure(seen, "write: " + ringdb::to_string(written.error()));
        co_return;
    }
    std::vector<std::byte> back(kBlock);
    Status read = co_await ringdb::as_awaitable(device->read(index * kBlock, back));
    if (!read) {
        record_failure(seen, "read: " + ringdb::to_string(read.error()));
    } else if (back == data) {
        ++seen->verified;
    }
    ++seen->finished;
}

asio::awaitable<void> open_and_fan_out(std::string path, int children, Observed* seen) {
    auto options = create_options(IoBackend::uring);
    auto opened = co_await ringdb::as_awaitable(ringdb::io::open_file(path, options));
    if (!opened) {
        record_failure(seen, "open: " + ringdb::to_string(opened.error()));
        co_return;
    }
    seen->device = std::move(*opened);
    auto executor = co_await asio::this_coro::executor;
    for (int i = 0; i < children; ++i) {
        asio::co_spawn(executor,
                       write_verify_one(seen->device.get(), static_cast<std::uint64_t>(i), seen),
                       Rethrow{});
    }
}

asio::awaitable<void> batch_through_when_all(std::string path, int count, Observed* seen) {
    auto options = create_options(IoBackend::uring);
    auto opened = co_await ringdb::as_awaitable(ringdb::io::open_file(path, options));
    if (!opened) {
        record_failure(seen, "open: " + ringdb::to_string(opened.error()));
        co_return;
    }
    seen->device = std::move(*opened);
    Result<int> verified =
            co_await ringdb::as_awaitable(write_and_read_concurrently(seen->device.get(), count));
    if (!verified) {
        record_failure(seen, "batch: " + ringdb::to_string(verified.error()));
        co_return;
    }
    seen->verified = *verified;
}

asio::awaitable<void> catch_task_exceptions(BlockDevice* device, Observed* seen) {
    try {
        int never = co_await ringdb::as_awaitable(throw_after_io(device));
        seen->messages.push_back("no exception, got " + std::to_string(never));
    } catch (const std::runtime_error& e) {
        seen->messages.emplace_back(e.what());
    }
    try {
        int never = co_await ringdb::as_awaitable(throw_at_once());
        seen->messages.push_back("no exception, got " + std::to_string(never));
    } catch (const std::logic_error& e) {
        seen->messages.emplace_back(e.what());
    }
    // The adapter is still usable after an exception.
    int value = co_await ringdb::as_awaitable(value_task(5));
    seen->verified = value;
}

asio::awaitable<void> tokens_in_awaitable(BlockDevice* device, std::string missing,
                                          Observed* seen) {
    // use_awaitable: the value directly, and a ringdb error as std::system_error.
    std::vector<std::byte> block =
            co_await ringdb::async_run(read_block(device, 0), asio::use_awaitable);
    if (block == ringdb::test::pattern(kBlock, 3)) {
        ++seen->verified;
    }
    try {
        std::vector<std::byte> never =
                co_await ringdb::async_run(read_block(device, 100 * kBlock), asio::use_awaitable);
        record_failure(seen, "no error past the end, " + std::to_string(never.size()));
    } catch (const std::system_error& e) {
        seen->codes.push_back(e.code());
    }
    // as_tuple: the error_code as a value, no exception.
    auto token = asio::experimental::as_tuple(asio::use_awaitable);
    std::tuple<std::error_code, std::vector<std::byte>> past_end =
            co_await ringdb::async_run(read_block(device, 100 * kBlock), token);
    auto& [past_end_ec, past_end_bytes] = past_end;
    seen->codes.push_back(past_end_ec);
    if (past_end_bytes.empty()) {
        ++seen->verified;
    }
    std::tuple<std::error_code, std::vector<std::byte>> fine =
            co_await ringdb::async_run(read_block(device, 0), token);
    seen->codes.push_back(std::get<0>(fine));
    // A Status task: void(std::error_code).
    std::tuple<std::error_code> synced = co_await ringdb::async_run(device->sync_data(), token);
    seen->codes.push_back(std::get<0>(synced));
    // An error carrying an errno maps to the system category.
    ringdb::io::FileOptions plain{.backend = IoBackend::uring};
    std::tuple<std::error_code, std::unique_ptr<BlockDevice>> open_missing =
            co_await ringdb::async_run(ringdb::io::open_file(missing, plain), token);
    seen->codes.push_back(std::get<0>(open_missing));
}

asio::awaitable<void> hop_through_worker(ThreadContext* worker, ThreadContext* home,
                                         BlockDevice* device, Observed* seen) {
    Hop hop = co_await ringdb::as_awaitable(hop_and_return(worker, home, device));
    seen->threads.push_back(hop.worker_side);
    seen->threads.push_back(hop.home_side);
    seen->threads.push_back(running_thread());
    if (hop.io_ok) {
        ++seen->verified;
    }
    std::thread::id ended = co_await ringdb::as_awaitable(end_on_worker(worker));
    seen->threads.push_back(ended);
    seen->threads.push_back(running_thread());
    ++seen->finished;
}

asio::awaitable<void> many_small_awaits(BlockDevice* device, int count, Observed* seen) {
    std::byte byte[1] = {std::byte{42}};
    for (int i = 0; i < count; ++i) {
        Status s =
                co_await ringdb::as_awaitable(device->write(static_cast<std::uint64_t>(i), byte));
        if (!s) {
            record_failure(seen, "small write: " + ringdb::to_string(s.error()));
            co_return;
        }
        ++seen->verified;
    }
}

asio::awaitable<void> odd_result_types(Observed* seen) {
    NoDefault nd = co_await ringdb::as_awaitable(no_default(11));
    co_await ringdb::as_awaitable(yield_several_times(3));
    seen->verified = nd.value;
    ++seen->finished;
}

}  // namespace

TEST_CASE("An awaitable co_awaits ringdb tasks doing concurrent io_uring I/O", "[asio][uring]") {
    ringdb::test::TempDir dir;
    asio::io_context io;
    AsioDriver driver(io);
    REQUIRE(driver.uses_ring());
    Ring& ring = **Ring::for_this_thread();
    const auto before = ring.stats();
    Observed seen;

    SECTION("many awaitables, each writing a block and reading it back") {
        constexpr int kChildren = 300;  // above the ring's in-flight bound
        asio::co_spawn(io, open_and_fan_out(dir.file("fan_out"), kChildren, &seen), Rethrow{});
        // io_context::run() is the only loop: it returns once all ringdb work is done.
        io.run();
        INFO(seen.failure);
        REQUIRE(seen.failure.empty());
        REQUIRE(seen.finished == kChildren);
        REQUIRE(seen.verified == kChildren);
        // Operations started by separate Asio handlers share coalesced pumps, so they reach
        // the kernel in a few io_uring_enter calls.
        const auto operations = ring.stats().operations - before.operations;
        const auto submits = ring.stats().submit_calls - before.submit_calls;
        INFO("operations " << operations << " submits " << submits);
        // Two opens (the file and its O_DIRECT twin, attempted even where it fails), then a
        // write and a read per child.
        REQUIRE(operations == 2 * kChildren + 2);
        REQUIRE(submits * 2 < operations);
    }
    SECTION("one awaitable awaiting a when_all of many blocks") {
        constexpr int kBlocks = 600;
        asio::co_spawn(io, batch_through_when_all(dir.file("batch"), kBlocks, &seen), Rethrow{});
        io.run();
        INFO(seen.failure);
        REQUIRE(seen.failure.empty());
        REQUIRE(seen.verified == kBlocks);
        REQUIRE(ring.stats().operations - before.operations == 2 * kBlocks + 2);
        REQUIRE(ring.stats().waited > before.waited);
    }

    // Every completion was reaped by the Asio loop, which learnt of them through the eventfd.
    const auto after = ring.stats();
    const auto stats = driver.stats();
    INFO("wakeups " << stats.wakeups << " pumps " << stats.pumps);
    REQUIRE(after.completions - before.completions == after.operations - before.operations);
    REQUIRE(stats.wakeups > 0);
    REQUIRE(ring.in_flight() == 0);
    REQUIRE(driver.outstanding() == 0);
}

TEST_CASE("An exception thrown by a ringdb task reaches the awaitable", "[asio][uring]") {
    ringdb::test::TempDir dir;
    asio::io_context io;
    AsioDriver driver(io);
    auto device = ringdb::test::open_or_fail(dir.file("throw"), create_options(IoBackend::uring));
    REQUIRE(ringdb::sync_wait(device->write(0, ringdb::test::pattern(kBlock, 1))).has_value());
    Observed seen;
    asio::co_spawn(io, catch_task_exceptions(device.get(), &seen), Rethrow{});
    io.run();
    REQUIRE(seen.messages == std::vector<std::string>{"thrown after an io_uring read",
                                                      "thrown before any suspension"});
    REQUIRE(seen.verified == 5);
    REQUIRE(driver.outstanding() == 0);
}

TEST_CASE("async_run completes callbacks, use_awaitable and as_tuple", "[asio][uring]") {
    ringdb::test::TempDir dir;
    asio::io_context io;
    AsioDriver driver(io);
    auto device = ringdb::test::open_or_fail(dir.file("tokens"), create_options(IoBackend::uring));
    REQUIRE(ringdb::sync_wait(device->write(0, ringdb::test::pattern(kBlock, 3))).has_value());
    const std::error_code out_of_range = ringdb::make_error_code(Errc::out_of_range);

    SECTION("plain callbacks, never invoked inside the initiating call") {
        bool initiating = true;
        bool called_while_initiating = false;
        std::optional<std::error_code> read_ec;
        std::size_t read_size = 99;
        std::optional<std::error_code> past_end_ec;
        std::optional<std::uint64_t> length;
        int value = 0;
        std::exception_ptr thrown;
        auto read_done = [&](std::error_code ec, std::vector<std::byte> block) {
            called_while_initiating = called_while_initiating || initiating;
            read_ec = ec;
            read_size = block.size();
        };
        ringdb::async_run(read_block(device.get(), 0), read_done);
        std::vector<std::byte> buffer(16);
        ringdb::async_run(device->read(100 * kBlock, buffer), [&](std::error_code ec) {
            called_while_initiating = called_while_initiating || initiating;
            past_end_ec = ec;
        });
        ringdb::async_run(device->length(), [&](std::error_code ec, std::uint64_t n) {
            REQUIRE(!ec);  // handlers run on the test thread
            length = n;
        });
        // Completes synchronously inside the initiation; the handler must still be posted.
        ringdb::async_run(value_task(41), [&](std::exception_ptr e, int v) {
            called_while_initiating = called_while_initiating || initiating;
            thrown = e;
            value = v;
        });
        initiating = false;
        io.run();
        REQUIRE(!called_while_initiating);
        REQUIRE(read_ec == std::error_code{});
        REQUIRE(read_size == kBlock);
        REQUIRE(past_end_ec == out_of_range);
        REQUIRE(*past_end_ec == Errc::out_of_range);
        REQUIRE(length == kBlock);
        REQUIRE(!thrown);
        REQUIRE(value == 41);

        std::exception_ptr caught;
        ringdb::async_run(throw_at_once(), [&](std::exception_ptr e, int) { caught = e; });
        io.restart();
        io.run();
        REQUIRE_THROWS_AS(std::rethrow_exception(caught), std::logic_error);
    }
    SECTION("use_awaitable and as_tuple") {
        Observed seen;
        std::string missing = dir.file("missing");
        asio::co_spawn(io, tokens_in_awaitable(device.get(), missing, &seen), Rethrow{});
        io.run();
        INFO(seen.failure);
        REQUIRE(seen.failure.empty());
        REQUIRE(seen.verified == 2);
        REQUIRE(seen.codes.size() == 5);
        REQUIRE(seen.codes[0] == out_of_range);  // use_awaitable threw std::system_error
        REQUIRE(seen.codes[1] == out_of_range);  // as_tuple delivered it as a value
        REQUIRE(seen.codes[2] == std::error_code{});
        REQUIRE(seen.codes[3] == std::error_code{});
        REQUIRE(seen.codes[4] == std::errc::no_such_file_or_directory);
    }
    REQUIRE(driver.outstanding() == 0);
}

TEST_CASE("A task that hops to another thread completes inside the io_context loop",
          "[asio][uring][threads]") {
    ringdb::test::TempDir dir;
    auto device = ringdb::test::open_or_fail(dir.file("hop"), create_options(IoBackend::uring));
    REQUIRE(ringdb::sync_wait(device->write(0, ringdb::test::pattern(kBlock, 2))).has_value());
    ringdb::coro::WorkerThread worker;
    asio::io_context io;
    AsioDriver driver(io);
    ThreadContext& home = ThreadContext::current();
    constexpr int kHops = 16;
    Observed seen[kHops];
    for (auto& s : seen) {
        asio::co_spawn(io, hop_through_worker(&worker.context(), &home, device.get(), &s),
                       Rethrow{});
    }
    const auto pumps_before = driver.stats().pumps;
    io.run();
    const auto me = std::this_thread::get_id();
    const auto there = worker.context().owner();
    for (auto& s : seen) {
        REQUIRE(s.finished == 1);
        REQUIRE(s.verified == 1);  // the read on the worker's ring succeeded
        REQUIRE(s.threads == std::vector<std::thread::id>{there, me, me, there, me});
    }
    // Coming home was run by the io_context's loop (the thread ids above), through the
    // driver's pumps. Whether a given hop was noticed through eventfd readiness or by a pump
    // already scheduled is a race (the read is cancelled once no work is outstanding), so the
    // wake-up count is not checked here; "An awaitable co_awaits ringdb tasks..." checks it.
    REQUIRE(driver.stats().pumps > pumps_before);
    REQUIRE(driver.outstanding() == 0);
}

TEST_CASE("The driver keeps io_context::run() alive only while work is outstanding",
          "[asio][uring]") {
    asio::io_context io;
    AsioDriver driver(io);
    // Idle: nothing to run, run() returns at once.
    REQUIRE(io.run() == 0);

    SECTION("a Hold keeps the loop serving cross-thread resumptions") {
        std::optional<AsioDriver::Hold> hold(driver.hold());
        REQUIRE(driver.outstanding() == 1);
        ThreadContext& home = ThreadContext::current();
        std::thread::id visited_on;
        struct Visit {
            static Task<void> run(ThreadContext* target, std::optional<AsioDriver::Hold>* hold,
                                  std::thread::id* seen) {
                co_await ringdb::coro::schedule_on(*target);
                *seen = running_thread();
                hold->reset();  // the last outstanding work: run() may now return
            }
        };
        std::thread visitor([&home, &hold, &visited_on] {
            ringdb::sync_wait(Visit::run(&home, &hold, &visited_on));
        });
        io.restart();
        io.run();
        visitor.join();
        REQUIRE(visited_on == std::this_thread::get_id());
        REQUIRE(driver.outstanding() == 0);
    }
    SECTION("with a Hold and nothing to do, the loop waits without spinning") {
        auto hold = driver.hold();
        const auto pumps_before = driver.stats().pumps;
        io.restart();
        io.run_for(std::chrono::milliseconds(50));
        REQUIRE(!io.stopped());
        // The pump scheduled when the Hold was taken, and at most one wake-up for completions
        // that earlier sync_waits reaped (they signalled the eventfd too); a spinning driver
        // would pump thousands of times.
        INFO("pumps " << driver.stats().pumps - pumps_before);
        REQUIRE(driver.stats().pumps - pumps_before <= 3);
        REQUIRE(driver.stats().wakeups <= 1);
    }
    SECTION("a long sequence of synchronously completing tasks") {
        ringdb::io::MemoryDevice memory;
        Observed small;
        Observed odd;
        asio::co_spawn(io, many_small_awaits(&memory, 5000, &small), Rethrow{});
        asio::co_spawn(io, odd_result_types(&odd), Rethrow{});
        io.restart();
        io.run();
        INFO(small.failure);
        REQUIRE(small.failure.empty());
        REQUIRE(small.verified == 5000);
        REQUIRE(memory.snapshot().size() == 5000);
        REQUIRE(odd.verified == 11);
        REQUIRE(odd.finished == 1);
    }
    REQUIRE(driver.outstanding() == 0);
}

namespace {


enum class Ringless { io_uring_forbidden, ring_not_wanted };

struct RinglessReport {
    bool forbidden = true;  // the seccomp filter is in place (or was not needed)
    bool uses_ring = true;
    Observed seen;
    std::thread::id thread;
    std::optional<std::error_code> past_end;
};

asio::awaitable<void> ringless_work(std::string path, IoBackend backend, ThreadContext* worker,
                                    Observed* seen) {
    auto options = create_options(backend);
    auto opened = co_await ringdb::as_awaitable(ringdb::io::open_file(path, options));
    if (!opened) {
        record_failure(seen, "open: " + ringdb::to_string(opened.error()));
        co_return;
    }
    seen->device = std::move(*opened);
    if (std::string(seen->device->kind()) != "posix") {
        record_failure(seen, std::string("expected the posix device, got ") +
                                     seen->device->kind());
    }
    for (std::uint64_t i = 0; i < 8; ++i) {
        co_await write_verify_one(seen->device.get(), i, seen);
    }
    // Home again through the fallback reactor's eventfd.
    ThreadContext* home = &ThreadContext::current();
    Hop hop = co_await ringdb::as_awaitable(hop_and_return(worker, home, seen->device.get()));
    seen->threads.push_back(hop.worker_side);
    seen->threads.push_back(hop.home_side);
    std::thread::id ended = co_await ringdb::as_awaitable(end_on_worker(worker));
    seen->threads.push_back(ended);
    seen->threads.push_back(running_thread());
}

void run_ringless(Ringless mode, std::string path, ThreadContext* worker,
                  RinglessReport* report) {
    report->thread = std::this_thread::get_id();
    ringdb::AsioDriverOptions options;
    // With io_uring forbidden, the automatic backend falls back to POSIX by itself; without,
    // it would create a ring on this thread, which a driver told not to use one forbids.
    IoBackend backend = IoBackend::automatic;
    if (mode == Ringless::io_uring_forbidden) {
        report->forbidden = ringdb::test::forbid_io_uring_on_this_thread();
        if (!report->forbidden) {
            return;
        }
    } else {
        options.use_ring = false;
        backend = IoBackend::posix;
    }
    asio::io_context io;
    AsioDriver driver(io, options);
    report->uses_ring = driver.uses_ring();
    asio::co_spawn(io, ringless_work(path, backend, worker, &report->seen), Rethrow{});
    io.run();
    if (report->seen.device) {
        std::vector<std::byte> buffer(16);
        ringdb::async_run(report->seen.device->read(1 << 20, buffer),
                          [report](std::error_code ec) { report->past_end = ec; });
        io.restart();
        io.run();
    }
}

}  // namespace

TEST_CASE("Without a ring the driver still serves tasks and cross-thread wake-ups",
          "[asio][posix][threads]") {
    ringdb::test::TempDir dir;
    ringdb::coro::WorkerThread worker;
    for (Ringless mode : {Ringless::io_uring_forbidden, Ringless::ring_not_wanted}) {
        const char* label = mode == Ringless::io_uring_forbidden
                                    ? "io_uring forbidden on the thread (seccomp)"
                                    : "io_uring not wanted (use_ring = false)";
        INFO(label);
        RinglessReport report;
        // A fresh thread: the main thread already has a ring, which a driver always uses.
        std::string path =
                dir.file(mode == Ringless::io_uring_forbidden ? "forbidden" : "unwanted");
        std::thread ringless([mode, &path, &worker, &report] {
            run_ringless(mode, path, &worker.context(), &report);
        });
        ringless.join();
        if (!report.forbidden) {
            WARN("cannot install a seccomp filter here; the io_uring-forbidden case is not run");
            continue;
        }
        INFO(report.seen.failure);
        REQUIRE(report.seen.failure.empty());
        REQUIRE(!report.uses_ring);
        REQUIRE(report.seen.verified == 8);
        const auto there = worker.context().owner();
        REQUIRE(report.seen.threads ==
                std::vector<std::thread::id>{there, report.thread, there, report.thread});
        REQUIRE(report.past_end == ringdb::make_error_code(Errc::out_of_range));
    }
}
