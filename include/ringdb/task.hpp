#pragma once
// Task<T>: ringdb's coroutine type.
//
// Every ringdb operation that may touch the disk is a coroutine returning Task<T> (usually
// Task<Result<T>> or Task<Status>). A Task is
//   - lazy: nothing runs until it is awaited (or started by sync_wait / TaskScope::spawn);
//   - move-only and awaited at most once;
//   - symmetric: when it finishes it transfers control straight to its awaiter, so a loop of
//     synchronously completing awaits does not grow the stack (with -O2, or with
//     -foptimize-sibling-calls at lower levels on g++; see docs/coroutines.md);
//   - exception-transparent: an exception escaping the body is rethrown in the awaiter.
//
// Coroutine frames are allocated from a small per-thread recycling pool (frame_pool), so the
// steady state of an I/O loop performs no heap allocation per operation.
//
// Lifetime rule (docs/coroutines.md): a Task that takes references, spans or string_views must
// be co_awaited in the same full-expression that created it. Anything stored, spawned or queued
// takes its parameters by value.

#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

namespace ringdb::coro {

namespace detail {

/// Frame allocation hooks (src/coro/frame_pool.cpp): a per-thread free list per size class.
void* frame_allocate(std::size_t size);
void frame_deallocate(void* frame, std::size_t size) noexcept;

struct PromiseBase {
    struct FinalAwaiter {
        bool await_ready() const noexcept { return false; }
        template <typename Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
            return self.promise().continuation_;
        }
        void await_resume() const noexcept {}
    };

    static void* operator new(std::size_t size) { return frame_allocate(size); }
    static void operator delete(void* frame, std::size_t size) noexcept {
        frame_deallocate(frame, size);
    }

    std::suspend_always initial_suspend() const noexcept { return {}; }
    FinalAwaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    void rethrow_if_exception() {
        if (exception_) {
            std::rethrow_exception(std::exchange(exception_, nullptr));
        }
    }

    std::coroutine_handle<> continuation_ = std::noop_coroutine();
    std::exception_ptr exception_;
};

}  // namespace detail

template <typename T = void>
class [[nodiscard]] Task;

namespace detail {

template <typename T>
class TaskPromise final : public PromiseBase {
public:
    TaskPromise() noexcept {}
    TaskPromise(const TaskPromise&) = delete;
    TaskPromise& operator=(const TaskPromise&) = delete;
    ~TaskPromise() {
        if (has_value_) {
            value_.~T();
        }
    }

    Task<T> get_return_object() noexcept;

    template <typename U>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        new (&value_) T(std::forward<U>(v));
        has_value_ = true;
    }

    T take() {
        rethrow_if_exception();
        return std::move(value_);
    }

private:
    union {
        T value_;
    };
    bool has_value_ = false;
};

template <>
class TaskPromise<void> final : public PromiseBase {
public:
    Task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() { rethrow_if_exception(); }
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
public:
    using promise_type = detail::TaskPromise<T>;
    using Handle = std::coroutine_handle<promise_type>;
    using value_type = T;

    Task() noexcept = default;
    explicit Task(Handle h) noexcept : handle_(h) {}
    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            destroy();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { destroy(); }

    bool valid() const noexcept { return static_cast<bool>(handle_); }
    bool done() const noexcept { return handle_ && handle_.done(); }

    struct Awaiter {
        Handle handle;
        bool await_ready() const noexcept { return !handle || handle.done(); }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
            handle.promise().continuation_ = awaiting;
            return handle;
        }
        T await_resume() { return handle.promise().take(); }
    };

    Awaiter operator co_await() && noexcept { return Awaiter{handle_}; }
    Awaiter operator co_await() & noexcept { return Awaiter{handle_}; }

    /// The underlying handle, for runtime code (sync_wait, when_all, TaskScope) that starts
    /// and observes tasks. The Task keeps ownership.
    Handle handle() const noexcept { return handle_; }

private:
    void destroy() noexcept {
        if (handle_) {
            handle_.destroy();
            handle_ = nullptr;
        }
    }

    Handle handle_ = nullptr;
};

namespace detail {

template <typename T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
    return Task<T>{std::coroutine_handle<TaskPromise<T>>::from_promise(*this)};
}

inline Task<void> TaskPromise<void>::get_return_object() noexcept {
    return Task<void>{std::coroutine_handle<TaskPromise<void>>::from_promise(*this)};
}

}  // namespace detail

/// Awaitable concept helpers used by sync_wait and when_all.
template <typename A>
concept HasMemberCoAwait = requires(A&& a) { std::forward<A>(a).operator co_await(); };

template <typename A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (HasMemberCoAwait<A>) {
        return std::forward<A>(a).operator co_await();
    } else {
        return std::forward<A>(a);
    }
}

template <typename A>
using AwaitResult = decltype(get_awaiter(std::declval<A>()).await_resume());

}  // namespace ringdb::coro

namespace ringdb {
using coro::Task;
}  // namespace ringdb
