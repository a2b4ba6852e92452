// The BlockDevice contract on the devices that need no io_uring: the POSIX file device and the
// memory device. (uring_test.cpp runs the same contract on io_uring.)

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include <ringdb/runtime.hpp>

#include "io/device_contract.hpp"
#include "io/file_fixture.hpp"
#include "io/memory_device.hpp"
#include "support/no_io_uring.hpp"

using ringdb::IoBackend;

TEST_CASE("Memory device meets the device contract", "[io]") {
    ringdb::test::check_device_contract(
            [] { return std::make_unique<ringdb::io::MemoryDevice>(); });
}

TEST_CASE("POSIX file device meets the device contract", "[io]") {
    ringdb::test::TempDir dir;
    int n = 0;
    ringdb::test::check_device_contract([&] {
        ringdb::io::FileOptions options{.create = true, .truncate = true,
                                        .backend = IoBackend::posix};
        return ringdb::test::open_or_fail(dir.file("dev" + std::to_string(n++)), options);
    });
}

TEST_CASE("POSIX file device: open errors, poisoning, O_DIRECT", "[io]") {
    ringdb::test::check_file_behaviour(IoBackend::posix);
}

TEST_CASE("RINGDB_IO=posix selects the POSIX device", "[io]") {
    const char* old = std::getenv("RINGDB_IO");
    std::string saved = old != nullptr ? old : "";
    ::setenv("RINGDB_IO", "posix", 1);
    IoBackend automatic = ringdb::io::resolve_backend(IoBackend::automatic);
    IoBackend explicit_uring = ringdb::io::resolve_backend(IoBackend::uring);
    if (old != nullptr) {
        ::setenv("RINGDB_IO", saved.c_str(), 1);
    } else {
        ::unsetenv("RINGDB_IO");
    }
    REQUIRE(automatic == IoBackend::posix);
    REQUIRE(explicit_uring == IoBackend::uring);
}

namespace {

ringdb::Task<ringdb::Status> hop_and_check(ringdb::coro::ThreadContext& target,
                                           ringdb::io::BlockDevice& device, unsigned index) {
    co_await ringdb::coro::schedule_on(target);
    auto data = ringdb::test::pattern(4096, index);
    ringdb::Status s = co_await ringdb::test::write_then_read_back(
            device, std::uint64_t{index} * 4096, std::move(data));
    co_return s;
}

void check_two_threads(ringdb::io::BlockDevice& device) {
    ringdb::coro::WorkerThread a;
    ringdb::coro::WorkerThread b;
    std::vector<ringdb::Task<ringdb::Status>> tasks;
    for (unsigned i = 0; i < 400; ++i) {
        tasks.push_back(hop_and_check(i % 2 == 0 ? a.context() : b.context(), device, i));
    }
    auto results = ringdb::sync_wait(ringdb::when_all(std::move(tasks)));
    for (auto& r : results) {
        REQUIRE(r.has_value());
    }
    REQUIRE(*ringdb::sync_wait(device.length()) == 400u * 4096);
}

}  // namespace

TEST_CASE("Devices serve coroutines on two threads at once", "[io][threads]") {
    SECTION("memory device") {
        ringdb::io::MemoryDevice device;
        check_two_threads(device);
    }
    SECTION("POSIX file device") {
        ringdb::test::TempDir dir;
        ringdb::io::FileOptions options{.create = true, .backend = IoBackend::posix};
        auto device = ringdb::test::open_or_fail(dir.file("threads"), options);
        check_two_threads(*device);
    }
}

namespace {


struct FallbackOutcome {
    bool filtered = false;
    IoBackend backend = IoBackend::uring;
    std::string kind;
    ringdb::Error explicit_uring_error;
    bool data_ok = false;
};

void run_without_io_uring(FallbackOutcome& out, const std::string& path) {
    out.filtered = ringdb::test::forbid_io_uring_on_this_thread();
    if (!out.filtered) {
        return;
    }
    out.backend = ringdb::io::resolve_backend(IoBackend::automatic);
    ringdb::io::FileOptions uring_only{.create = true, .backend = IoBackend::uring};
    auto refused = ringdb::sync_wait(ringdb::io::open_file(path, uring_only));
    if (!refused) {
        out.explicit_uring_error = refused.error();
    }
    ringdb::io::FileOptions automatic{.create = true};
    auto device = ringdb::sync_wait(ringdb::io::open_file(path, automatic));
    if (!device) {
        return;
    }
    out.kind = (*device)->kind();
    auto data = ringdb::test::pattern(8192, 77);
    out.data_ok = ringdb::sync_wait(
            ringdb::test::write_then_read_back(**device, 0, std::move(data))).has_value();
}

}  // namespace

TEST_CASE("Without io_uring the automatic choice falls back to the POSIX device", "[io]") {
    const char* forced = std::getenv("RINGDB_IO");
    if (forced != nullptr) {
        SUCCEED("skipped: RINGDB_IO is set, so the automatic choice is not exercised");
        return;
    }
    ringdb::test::TempDir dir;
    FallbackOutcome out;
    std::thread t(run_without_io_uring, std::ref(out), dir.file("fallback"));
    t.join();
    REQUIRE(out.filtered);
    REQUIRE(out.backend == IoBackend::posix);
    REQUIRE(out.explicit_uring_error.code == ringdb::Errc::unsupported);
    REQUIRE(out.explicit_uring_error.sys_errno == EPERM);
    REQUIRE(out.kind == "posix");
    REQUIRE(out.data_ok);
}
