#pragma once
// when_all: run many tasks concurrently and wait for all of them.
//
// All children start on the awaiting thread, one after another, each running until its first
// suspension; their I/O is therefore in flight together. The awaiter resumes when the last
// child finishes, on its own thread (a child that finished elsewhere posts it back). Results
// come back in the order of the inputs. If children threw, the first exception (in input order)
// is rethrown after all of them have finished; none is left running.

#include <atomic>
#include <coroutine>
#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <ringdb/runtime.hpp>
#include <ringdb/task.hpp>

namespace ringdb::coro {

namespace detail {

class WhenAllLatch {
public:
    explicit WhenAllLatch(std::size_t children) noexcept : count_(children + 1) {}

    /// Called by the parent after starting every child. Returns true if the parent must
    /// suspend (some child is still running).
    bool parent_arrive(std::coroutine_handle<> parent) noexcept {
        parent_ = parent;
        parent_context_ = &ThreadContext::current();
        return count_.fetch_sub(1, std::memory_order_acq_rel) > 1;
    }

    /// Called by each child at its end. Returns the coroutine to transfer to.
    std::coroutine_handle<> child_arrive() noexcept {
        if (count_.fetch_sub(1, std::memory_order_acq_rel) != 1) {
            return std::noop_coroutine();
        }
        if (parent_context_->is_current()) {
            return parent_;
        }
        parent_context_->post(parent_);
        return std::noop_coroutine();
    }

private:
    std::atomic<std::size_t> count_;
    std::coroutine_handle<> parent_;
    ThreadContext* parent_context_ = nullptr;
};

template <typename T>
struct WhenAllReturn {
    template <typename U>
    void return_value(U&& v) {
        value.template emplace<1>(std::forward<U>(v));
    }
    std::variant<std::monostate, T> value;
};

template <>
struct WhenAllReturn<void> {
    void return_void() noexcept { value.emplace<1>(); }
    std::variant<std::monostate, std::monostate> value;
};

/// A child wrapper: awaits one task, stores its outcome, and arrives at the latch.
template <typename T>
class WhenAllChild {
public:
    using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

    struct promise_type : WhenAllReturn<T> {
        struct FinalAwaiter {
            bool await_ready() const noexcept { return false; }
            std::coroutine_handle<> await_suspend(
                    std::coroutine_handle<promise_type> h) const noexcept {
                return h.promise().latch->child_arrive();
            }
            void await_resume() const noexcept {}
        };
        static void* operator new(std::size_t size) { return frame_allocate(size); }
        static void operator delete(void* frame, std::size_t size) noexcept {
            frame_deallocate(frame, size);
        }
        WhenAllChild get_return_object() noexcept {
            return WhenAllChild{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        FinalAwaiter final_suspend() const noexcept { return {}; }
        void unhandled_exception() noexcept { exception = std::current_exception(); }

        WhenAllLatch* latch = nullptr;
        std::exception_ptr exception;
    };

    explicit WhenAllChild(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    WhenAllChild(WhenAllChild&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
    WhenAllChild(const WhenAllChild&) = delete;
    WhenAllChild& operator=(const WhenAllChild&) = delete;
    WhenAllChild& operator=(WhenAllChild&&) = delete;
    ~WhenAllChild() {
        if (handle_) {
            handle_.destroy();
        }
    }

    void start(WhenAllLatch& latch) {
        handle_.promise().latch = &latch;
        handle_.resume();
    }
    std::exception_ptr exception() const { return handle_.promise().exception; }
    Stored take() { return std::move(std::get<1>(handle_.promise().value)); }

private:
    std::coroutine_handle<promise_type> handle_;
};

template <typename T>
WhenAllChild<T> when_all_child(Task<T> task) {
    if constexpr (std::is_void_v<T>) {
        co_await std::move(task);
    } else {
        T result = co_await std::move(task);
        co_return std::move(result);
    }
}

/// Awaiter that starts every child and suspends until the latch opens.
template <typename Children>
struct WhenAllAwaiter {
    Children& children;
    WhenAllLatch& latch;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> parent) {
        for (auto& child : children) {
            child.start(latch);
        }
        return latch.parent_arrive(parent);
    }
    void await_resume() const noexcept {}
};

}  // namespace detail

/// Runs all tasks concurrently; returns their results in input order. For Task<void> inputs
/// the result is a Task<void>.
template <typename T>
Task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> when_all(
        std::vector<Task<T>> tasks) {
    std::vector<detail::WhenAllChild<T>> children;
    children.reserve(tasks.size());
    for (auto& task : tasks) {
        children.push_back(detail::when_all_child<T>(std::move(task)));
    }
    detail::WhenAllLatch latch(children.size());
    co_await detail::WhenAllAwaiter<decltype(children)>{children, latch};
    for (auto& child : children) {
        if (child.exception()) {
            std::rethrow_exception(child.exception());
        }
    }
    if constexpr (!std::is_void_v<T>) {
        std::vector<T> results;
        results.reserve(children.size());
        for (auto& child : children) {
            results.push_back(child.take());
        }
        co_return results;
    }
}

namespace detail {

template <typename Tuple, std::size_t... I>
void when_all_start(Tuple& children, WhenAllLatch& latch, std::index_sequence<I...>) {
    (std::get<I>(children).start(latch), ...);
}

template <typename Tuple>
struct WhenAllTupleAwaiter {
    Tuple& children;
    WhenAllLatch& latch;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> parent) {
        when_all_start(children, latch, std::make_index_sequence<std::tuple_size_v<Tuple>>{});
        return latch.parent_arrive(parent);
    }
    void await_resume() const noexcept {}
};

}  // namespace detail

/// Runs tasks of different types concurrently; returns a tuple of their results, with
/// std::monostate standing for void.
template <typename... Ts>
    requires(sizeof...(Ts) > 0)
Task<std::tuple<typename detail::WhenAllChild<Ts>::Stored...>> when_all(Task<Ts>... tasks) {
    using Children = std::tuple<detail::WhenAllChild<Ts>...>;
    Children children{detail::when_all_child<Ts>(std::move(tasks))...};
    detail::WhenAllLatch latch(sizeof...(Ts));
    co_await detail::WhenAllTupleAwaiter<Children>{children, latch};
    std::exception_ptr first;
    std::apply(
            [&first](auto&... child) {
                ((first = first ? first : child.exception()), ...);
            },
            children);
    if (first) {
        std::rethrow_exception(first);
    }
    co_return std::apply([](auto&... child) { return std::make_tuple(child.take()...); },
                         children);
}

}  // namespace ringdb::coro

namespace ringdb {
using coro::when_all;
}  // namespace ringdb
