// TaskScope: spawned tasks run inside an eager wrapper coroutine whose frame frees itself at
// the end and reports to the scope. The scope's count starts at one (its own reference); join()
// drops that reference, so the count reaches zero exactly once, after the last task and the
// join have both arrived, and whichever arrives last resumes the joiner.

#include <ringdb/task_scope.hpp>

#include "util/assert.hpp"

namespace ringdb::coro {

struct TaskScope::Spawned {
    struct promise_type {
        static void* operator new(std::size_t size) { return detail::frame_allocate(size); }
        static void operator delete(void* frame, std::size_t size) noexcept {
            detail::frame_deallocate(frame, size);
        }
        Spawned get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void unhandled_exception() noexcept { RINGDB_ASSERT(false && "caught in the body"); }
        void return_void() noexcept {}
    };
};

TaskScope::~TaskScope() {
    RINGDB_ASSERT(count_.load(std::memory_order_acquire) == 1 && "TaskScope destroyed unjoined");
}

TaskScope::Spawned TaskScope::run_spawned(TaskScope* scope, Task<void> task) {
    std::exception_ptr exception;
    try {
        co_await std::move(task);
    } catch (...) {
        exception = std::current_exception();
    }
    scope->finish_one(exception);
}

void TaskScope::spawn(Task<void> task) {
    RINGDB_ASSERT(task.valid());
    count_.fetch_add(1, std::memory_order_relaxed);
    run_spawned(this, std::move(task));
}

void TaskScope::finish_one(std::exception_ptr exception) noexcept {
    if (exception) {
        std::lock_guard lock(exception_mutex_);
        if (!first_exception_) {
            first_exception_ = exception;
        }
    }
    if (count_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        joiner_context_->post(joiner_);
    }
}

bool TaskScope::JoinAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    scope.joiner_ = h;
    scope.joiner_context_ = &ThreadContext::current();
    return scope.count_.fetch_sub(1, std::memory_order_acq_rel) != 1;
}

Task<void> TaskScope::join() {
    co_await JoinAwaiter{*this};
    count_.store(1, std::memory_order_release);
    std::exception_ptr exception;
    {
        std::lock_guard lock(exception_mutex_);
        exception = std::exchange(first_exception_, nullptr);
    }
    if (exception) {
        std::rethrow_exception(exception);
    }
}

}  // namespace ringdb::coro
