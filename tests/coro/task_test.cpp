#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/result.hpp>
#include <ringdb/runtime.hpp>
#include <ringdb/sync_wait.hpp>
#include <ringdb/task.hpp>
#include <ringdb/when_all.hpp>

#include "util/try.hpp"

using ringdb::Errc;
using ringdb::Error;
using ringdb::Result;
using ringdb::Task;
using ringdb::coro::ThreadContext;

namespace {

Task<int> value_of(int v) { co_return v; }

Task<void> nothing() { co_return; }

Task<int> add(int a, int b) {
    int x = co_await value_of(a);
    int y = co_await value_of(b);
    co_return x + y;
}

Task<int> thrower() {
    throw std::runtime_error("boom");
    co_return 0;
}

Task<int> catches() {
    try {
        int v = co_await thrower();
        co_return v;
    } catch (const std::runtime_error& e) {
        co_return std::string(e.what()) == "boom" ? 1 : 2;
    }
}

Task<Result<int>> fallible(int v) {
    if (v < 0) {
        co_return Error{Errc::invalid_argument};
    }
    co_return v;
}

Task<Result<int>> propagate(int v) {
    RINGDB_CO_TRY_ASSIGN(int x, co_await fallible(v));
    co_return x + 1;
}

Task<std::uint64_t> long_sync_loop(std::uint64_t n) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        sum += static_cast<std::uint64_t>(co_await value_of(1));
    }
    co_return sum;
}

Task<int> yielding(int v, int times) {
    for (int i = 0; i < times; ++i) {
        co_await ringdb::coro::yield_now();
    }
    co_return v;
}

Task<std::thread::id> thread_of_after_hop(ThreadContext& target) {
    co_await ringdb::coro::schedule_on(target);
    co_return std::this_thread::get_id();
}

}  // namespace

TEST_CASE("Tasks return values and void", "[coro]") {
    REQUIRE(ringdb::sync_wait(value_of(3)) == 3);
    REQUIRE(ringdb::sync_wait(add(2, 5)) == 7);
    ringdb::sync_wait(nothing());
    Task<int> lazy = value_of(9);
    REQUIRE_FALSE(lazy.done());
    REQUIRE(ringdb::sync_wait(std::move(lazy)) == 9);
}

TEST_CASE("Exceptions reach the awaiter and sync_wait", "[coro]") {
    REQUIRE(ringdb::sync_wait(catches()) == 1);
    REQUIRE_THROWS_WITH(ringdb::sync_wait(thrower()), "boom");
}

TEST_CASE("Errors propagate through coroutines", "[coro]") {
    auto good = ringdb::sync_wait(propagate(4));
    REQUIRE(*good == 5);
    auto bad = ringdb::sync_wait(propagate(-1));
    REQUIRE(bad.error().code == Errc::invalid_argument);
}

TEST_CASE("A million synchronously completing awaits keep the stack flat", "[coro]") {
    // Without symmetric transfer each await would nest a resume() frame and overflow the stack
    // long before a million iterations.
    REQUIRE(ringdb::sync_wait(long_sync_loop(1'000'000)) == 1'000'000);
}

TEST_CASE("when_all runs thousands of tasks and keeps input order", "[coro]") {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 5000; ++i) {
        tasks.push_back(yielding(i, i % 3));
    }
    auto results = ringdb::sync_wait(ringdb::when_all(std::move(tasks)));
    REQUIRE(results.size() == 5000);
    for (int i = 0; i < 5000; ++i) {
        REQUIRE(results[static_cast<std::size_t>(i)] == i);
    }

    std::vector<Task<void>> voids;
    for (int i = 0; i < 100; ++i) {
        voids.push_back(nothing());
    }
    ringdb::sync_wait(ringdb::when_all(std::move(voids)));

    auto [a, b, c] = ringdb::sync_wait(ringdb::when_all(value_of(1), nothing(), yielding(3, 2)));
    REQUIRE(a == 1);
    (void)b;
    REQUIRE(c == 3);

    std::vector<Task<int>> none;
    REQUIRE(ringdb::sync_wait(ringdb::when_all(std::move(none))).empty());
}

TEST_CASE("when_all rethrows after every child finished", "[coro]") {
    std::vector<Task<int>> tasks;
    tasks.push_back(yielding(1, 3));
    tasks.push_back(thrower());
    tasks.push_back(yielding(2, 5));
    REQUIRE_THROWS_WITH(ringdb::sync_wait(ringdb::when_all(std::move(tasks))), "boom");
}

TEST_CASE("schedule_on moves a coroutine to another thread and sync_wait brings it back",
          "[coro][threads]") {
    ringdb::coro::WorkerThread worker;
    auto here = std::this_thread::get_id();
    auto there = ringdb::sync_wait(thread_of_after_hop(worker.context()));
    REQUIRE(there != here);
    REQUIRE(there == worker.context().owner());
}

TEST_CASE("when_all gathers children that finish on other threads", "[coro][threads]") {
    ringdb::coro::WorkerThread a;
    ringdb::coro::WorkerThread b;
    std::vector<Task<std::thread::id>> tasks;
    for (int i = 0; i < 200; ++i) {
        tasks.push_back(thread_of_after_hop(i % 2 == 0 ? a.context() : b.context()));
    }
    auto ids = ringdb::sync_wait(ringdb::when_all(std::move(tasks)));
    for (std::size_t i = 0; i < ids.size(); ++i) {
        REQUIRE(ids[i] == (i % 2 == 0 ? a.context().owner() : b.context().owner()));
    }
}
