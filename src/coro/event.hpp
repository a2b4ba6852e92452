#pragma once
// Event: a manual-reset event for coroutines.
//
// `co_await event.wait()` completes once set() has been called (immediately if it already
// was). set() wakes every waiter by posting it to its own thread's context, so waiters resume
// on their threads and never inside set(). Thread-safe.

#include <atomic>
#include <coroutine>
#include <mutex>
#include <vector>

#include <ringdb/runtime.hpp>

namespace ringdb::coro {

class Event {
public:
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    struct Awaiter {
        Event& event;
        bool await_ready() const noexcept { return event.is_set(); }
        bool await_suspend(std::coroutine_handle<> h) {
            std::lock_guard lock(event.mutex_);
            if (event.set_.load(std::memory_order_relaxed)) {
                return false;
            }
            event.waiters_.push_back(Waiter{h, &ThreadContext::current()});
            return true;
        }
        void await_resume() const noexcept {}
    };

    Awaiter wait() noexcept { return Awaiter{*this}; }

    void set() {
        std::vector<Waiter> woken;
        {
            std::lock_guard lock(mutex_);
            set_.store(true, std::memory_order_release);
            woken.swap(waiters_);
        }
        for (const auto& w : woken) {
            w.context->post(w.handle);
        }
    }

    void reset() noexcept { set_.store(false, std::memory_order_release); }
    bool is_set() const noexcept { return set_.load(std::memory_order_acquire); }

private:
    struct Waiter {
        std::coroutine_handle<> handle;
        ThreadContext* context;
    };
    std::mutex mutex_;
    std::atomic<bool> set_{false};
    std::vector<Waiter> waiters_;  // guarded by mutex_
};

}  // namespace ringdb::coro
