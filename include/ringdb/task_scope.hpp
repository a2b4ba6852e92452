#pragma once
// TaskScope: structured concurrency for spawned coroutines.
//
// `scope.spawn(task)` starts `task` immediately on the calling thread (it runs until its first
// suspension) and keeps it accounted for; `co_await scope.join()` completes once every task
// spawned so far has finished, and rethrows the first exception any of them threw. Nothing is
// ever detached: the owner of a scope must join it before destroying it (the destructor
// asserts this). spawn() may be called from any thread; join() must not race with spawn().
// After join() completes, the scope may be reused.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <mutex>

#include <ringdb/runtime.hpp>
#include <ringdb/task.hpp>

namespace ringdb::coro {

class TaskScope {
public:
    TaskScope() = default;
    TaskScope(const TaskScope&) = delete;
    TaskScope& operator=(const TaskScope&) = delete;
    /// REQUIRES: join() has completed after the last spawn().
    ~TaskScope();

    /// Starts `task` now. The task is taken by value: it must not refer to locals of a frame
    /// that may end before it does.
    void spawn(Task<void> task);

    /// Completes when every spawned task has finished; rethrows the first exception.
    Task<void> join();

    /// Tasks spawned and not yet finished.
    std::size_t active() const noexcept {
        return count_.load(std::memory_order_acquire) - 1;
    }

private:
    struct JoinAwaiter {
        TaskScope& scope;
        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> h) noexcept;
        void await_resume() const noexcept {}
    };
    struct Spawned;
    static Spawned run_spawned(TaskScope* scope, Task<void> task);
    void finish_one(std::exception_ptr exception) noexcept;

    // One reference belongs to the scope itself and is released by join().
    std::atomic<std::size_t> count_{1};
    std::coroutine_handle<> joiner_;
    ThreadContext* joiner_context_ = nullptr;
    std::mutex exception_mutex_;
    std::exception_ptr first_exception_;  // guarded by exception_mutex_
};

}  // namespace ringdb::coro

namespace ringdb {
using coro::TaskScope;
}  // namespace ringdb
