#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/runtime.hpp>
#include <ringdb/sync_wait.hpp>
#include <ringdb/task.hpp>
#include <ringdb/task_scope.hpp>
#include <ringdb/when_all.hpp>

#include "coro/async_mutex.hpp"
#include "coro/event.hpp"

using ringdb::Task;
using ringdb::coro::AsyncMutex;
using ringdb::coro::Event;
using ringdb::coro::TaskScope;
using ringdb::coro::ThreadContext;
using ringdb::coro::WorkerThread;

namespace {

Task<void> lock_and_record(AsyncMutex& mutex, std::vector<int>& order, int id, int hold) {
    co_await mutex.lock();
    order.push_back(id);
    for (int i = 0; i < hold; ++i) {
        co_await ringdb::coro::yield_now();
    }
    mutex.unlock();
}

// Increments a plain (non-atomic) counter in a read-yield-write sequence that is only correct
// under mutual exclusion.
Task<void> guarded_increments(AsyncMutex& mutex, long& counter, int times, ThreadContext& home) {
    co_await ringdb::coro::schedule_on(home);
    for (int i = 0; i < times; ++i) {
        auto guard = co_await mutex.scoped_lock();
        long seen = counter;
        co_await ringdb::coro::yield_now();
        counter = seen + 1;
    }
}

Task<int> wait_then_read(Event& event, const int& value, ThreadContext& home) {
    co_await ringdb::coro::schedule_on(home);
    co_await event.wait();
    co_return value;
}

Task<void> set_later(Event& event, int& value, ThreadContext& home) {
    co_await ringdb::coro::schedule_on(home);
    co_await ringdb::coro::yield_now();
    value = 42;
    event.set();
}

Task<void> count_after_yields(std::atomic<int>& done, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await ringdb::coro::yield_now();
    }
    done.fetch_add(1);
}

Task<void> fail_after_yield() {
    co_await ringdb::coro::yield_now();
    throw std::runtime_error("spawned failure");
}

Task<void> spawn_and_join(TaskScope& scope, std::atomic<int>& done) {
    for (int i = 0; i < 1000; ++i) {
        scope.spawn(count_after_yields(done, i % 4));
    }
    co_await scope.join();
}

}  // namespace

TEST_CASE("AsyncMutex hands the lock over in arrival order", "[coro]") {
    AsyncMutex mutex;
    std::vector<int> order;
    std::vector<Task<void>> tasks;
    for (int i = 0; i < 50; ++i) {
        tasks.push_back(lock_and_record(mutex, order, i, 2));
    }
    ringdb::sync_wait(ringdb::when_all(std::move(tasks)));
    REQUIRE(order.size() == 50);
    for (int i = 0; i < 50; ++i) {
        REQUIRE(order[static_cast<std::size_t>(i)] == i);
    }
    REQUIRE(mutex.try_lock());
    mutex.unlock();
}

TEST_CASE("AsyncMutex excludes coroutines on two threads without lost wake-ups",
          "[coro][threads]") {
    AsyncMutex mutex;
    long counter = 0;
    WorkerThread a;
    WorkerThread b;
    std::vector<Task<void>> tasks;
    for (int i = 0; i < 1000; ++i) {
        tasks.push_back(
                guarded_increments(mutex, counter, 5, i % 2 == 0 ? a.context() : b.context()));
    }
    ringdb::sync_wait(ringdb::when_all(std::move(tasks)));
    REQUIRE(counter == 5000);
    REQUIRE(mutex.waiting() == 0);
}

TEST_CASE("Event wakes every waiter across threads", "[coro][threads]") {
    for (int round = 0; round < 50; ++round) {
        Event event;
        int value = 0;
        WorkerThread a;
        WorkerThread b;
        std::vector<Task<int>> waiters;
        for (int i = 0; i < 20; ++i) {
            waiters.push_back(wait_then_read(event, value, i % 2 == 0 ? a.context() : b.context()));
        }
        auto gathered = ringdb::when_all(std::move(waiters));
        auto setter = set_later(event, value, a.context());
        auto [results, unused] =
                ringdb::sync_wait(ringdb::when_all(std::move(gathered), std::move(setter)));
        (void)unused;
        for (int r : results) {
            REQUIRE(r == 42);
        }
    }
    Event already;
    already.set();
    REQUIRE(already.is_set());
    already.reset();
    REQUIRE_FALSE(already.is_set());
}

TEST_CASE("TaskScope joins every spawned task", "[coro]") {
    TaskScope scope;
    std::atomic<int> done{0};
    ringdb::sync_wait(spawn_and_join(scope, done));
    REQUIRE(done.load() == 1000);
    REQUIRE(scope.active() == 0);
    // A scope is reusable after join.
    ringdb::sync_wait(spawn_and_join(scope, done));
    REQUIRE(done.load() == 2000);
}

TEST_CASE("TaskScope rethrows a spawned task's exception at join", "[coro]") {
    TaskScope scope;
    std::atomic<int> done{0};
    scope.spawn(count_after_yields(done, 3));
    scope.spawn(fail_after_yield());
    scope.spawn(count_after_yields(done, 1));
    REQUIRE_THROWS_WITH(ringdb::sync_wait(scope.join()), "spawned failure");
    REQUIRE(done.load() == 2);
}
