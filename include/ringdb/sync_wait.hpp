#pragma once
// sync_wait: the bridge from blocking code into ringdb coroutines.
//
// `sync_wait(task)` starts the task on the calling thread and drives the thread's
// ThreadContext (ready queue, inbox and io_uring) until the task has finished, then returns
// its result or rethrows its exception. If the task moved to another thread, it moves back to
// the caller's thread before finishing, so the result is always delivered where it was asked
// for. Nested calls (sync_wait inside a coroutine) work but block that coroutine's thread;
// prefer co_await.

#include <exception>
#include <type_traits>
#include <utility>

#include <ringdb/runtime.hpp>
#include <ringdb/task.hpp>

namespace ringdb::coro {

namespace detail {

template <typename R>
class SyncWaitTask {
public:
    struct promise_type {
        struct FinalAwaiter {
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
                *h.promise().done = true;
            }
            void await_resume() const noexcept {}
        };
        SyncWaitTask get_return_object() noexcept {
            return SyncWaitTask{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        FinalAwaiter final_suspend() const noexcept { return {}; }
        void unhandled_exception() noexcept { exception = std::current_exception(); }
        template <typename U>
        void return_value(U&& v) {
            result = new (&storage) R(std::forward<U>(v));
        }

        bool* done = nullptr;
        std::exception_ptr exception;
        alignas(R) unsigned char storage[sizeof(R)];
        R* result = nullptr;
    };

    explicit SyncWaitTask(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    SyncWaitTask(SyncWaitTask&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
    SyncWaitTask(const SyncWaitTask&) = delete;
    SyncWaitTask& operator=(const SyncWaitTask&) = delete;
    SyncWaitTask& operator=(SyncWaitTask&&) = delete;
    ~SyncWaitTask() {
        if (handle_) {
            if (handle_.promise().result != nullptr) {
                handle_.promise().result->~R();
            }
            handle_.destroy();
        }
    }

    void start(bool& done) {
        handle_.promise().done = &done;
        handle_.resume();
    }
    R take() {
        auto& p = handle_.promise();
        if (p.exception) {
            std::rethrow_exception(p.exception);
        }
        return std::move(*p.result);
    }

private:
    std::coroutine_handle<promise_type> handle_;
};

template <>
class SyncWaitTask<void> {
public:
    struct promise_type {
        struct FinalAwaiter {
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
                *h.promise().done = true;
            }
            void await_resume() const noexcept {}
        };
        SyncWaitTask get_return_object() noexcept {
            return SyncWaitTask{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        FinalAwaiter final_suspend() const noexcept { return {}; }
        void unhandled_exception() noexcept { exception = std::current_exception(); }
        void return_void() noexcept {}

        bool* done = nullptr;
        std::exception_ptr exception;
    };

    explicit SyncWaitTask(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    SyncWaitTask(SyncWaitTask&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
    SyncWaitTask(const SyncWaitTask&) = delete;
    SyncWaitTask& operator=(const SyncWaitTask&) = delete;
    SyncWaitTask& operator=(SyncWaitTask&&) = delete;
    ~SyncWaitTask() {
        if (handle_) {
            handle_.destroy();
        }
    }

    void start(bool& done) {
        handle_.promise().done = &done;
        handle_.resume();
    }
    void take() {
        if (handle_.promise().exception) {
            std::rethrow_exception(handle_.promise().exception);
        }
    }

private:
    std::coroutine_handle<promise_type> handle_;
};

template <typename R, typename A>
SyncWaitTask<R> sync_wait_body(A& awaitable, ThreadContext& origin) {
    if constexpr (std::is_void_v<R>) {
        co_await std::move(awaitable);
        co_await schedule_on(origin);
    } else {
        R result = co_await std::move(awaitable);
        co_await schedule_on(origin);
        co_return std::move(result);
    }
}

}  // namespace detail

/// Runs `awaitable` to completion on the calling thread and returns its result.
/// Throws what the awaitable throws. REQUIRES: not called from a context that must not block.
template <typename A>
decltype(auto) sync_wait(A&& awaitable) {
    using R = std::remove_cvref_t<AwaitResult<A>>;
    auto& context = ThreadContext::current();
    auto wrapper = detail::sync_wait_body<R>(awaitable, context);
    bool done = false;
    wrapper.start(done);
    context.run_until(done);
    if constexpr (std::is_void_v<R>) {
        wrapper.take();
    } else {
        return R(wrapper.take());
    }
}

}  // namespace ringdb::coro

namespace ringdb {
using coro::sync_wait;
}  // namespace ringdb
