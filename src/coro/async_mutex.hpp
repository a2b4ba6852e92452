#pragma once
// AsyncMutex: a fair (FIFO) mutex for coroutines that never blocks a thread.
//
// `co_await mutex.lock()` acquires; `unlock()` releases. `co_await mutex.scoped_lock()`
// returns a guard that unlocks when destroyed. Ownership passes directly from the unlocking
// coroutine to the longest waiter (no barging), so waiters are served in arrival order and a
// wake-up cannot be lost: the next owner is decided under the internal lock. The next owner is
// resumed by posting it to its own thread's context, never inline in unlock(). Thread-safe;
// the waiter nodes live in the waiting coroutines' frames (no allocation per lock).

#include <coroutine>
#include <cstddef>
#include <mutex>
#include <utility>

#include <ringdb/runtime.hpp>

#include "util/assert.hpp"

namespace ringdb::coro {

class AsyncMutex;

/// Releases an AsyncMutex on destruction. Move-only.
class AsyncLockGuard {
public:
    AsyncLockGuard() noexcept = default;
    explicit AsyncLockGuard(AsyncMutex* m) noexcept : mutex_(m) {}
    AsyncLockGuard(AsyncLockGuard&& o) noexcept : mutex_(std::exchange(o.mutex_, nullptr)) {}
    AsyncLockGuard& operator=(AsyncLockGuard&& o) noexcept;
    AsyncLockGuard(const AsyncLockGuard&) = delete;
    AsyncLockGuard& operator=(const AsyncLockGuard&) = delete;
    ~AsyncLockGuard();
    bool owns_lock() const noexcept { return mutex_ != nullptr; }
    void unlock();

private:
    AsyncMutex* mutex_ = nullptr;
};

class AsyncMutex {
public:
    AsyncMutex() = default;
    AsyncMutex(const AsyncMutex&) = delete;
    AsyncMutex& operator=(const AsyncMutex&) = delete;
    ~AsyncMutex() { RINGDB_ASSERT(head_ == nullptr); }

    class LockAwaiter {
    public:
        explicit LockAwaiter(AsyncMutex& m) noexcept : mutex_(m) {}
        bool await_ready() noexcept { return mutex_.try_lock(); }
        bool await_suspend(std::coroutine_handle<> h) {
            handle_ = h;
            context_ = &ThreadContext::current();
            return mutex_.enqueue(this);
        }
        void await_resume() const noexcept {}

    protected:
        friend class AsyncMutex;
        AsyncMutex& mutex_;
        std::coroutine_handle<> handle_;
        ThreadContext* context_ = nullptr;
        LockAwaiter* next_ = nullptr;
    };

    class ScopedLockAwaiter : public LockAwaiter {
    public:
        using LockAwaiter::LockAwaiter;
        AsyncLockGuard await_resume() const noexcept { return AsyncLockGuard{&mutex_}; }
    };

    LockAwaiter lock() noexcept { return LockAwaiter{*this}; }
    ScopedLockAwaiter scoped_lock() noexcept { return ScopedLockAwaiter{*this}; }

    bool try_lock() {
        std::lock_guard guard(state_mutex_);
        if (locked_) {
            return false;
        }
        locked_ = true;
        return true;
    }

    /// REQUIRES: the caller owns the lock.
    void unlock() {
        LockAwaiter* next = nullptr;
        {
            std::lock_guard guard(state_mutex_);
            RINGDB_ASSERT(locked_);
            next = head_;
            if (next == nullptr) {
                locked_ = false;
                return;
            }
            head_ = next->next_;
            if (head_ == nullptr) {
                tail_ = nullptr;
            }
            --waiting_;
        }
        next->context_->post(next->handle_);
    }

    std::size_t waiting() const {
        std::lock_guard guard(state_mutex_);
        return waiting_;
    }

private:
    /// Returns false if the lock was free after all (the caller proceeds without suspending).
    bool enqueue(LockAwaiter* w) {
        std::lock_guard guard(state_mutex_);
        if (!locked_) {
            locked_ = true;
            return false;
        }
        w->next_ = nullptr;
        if (tail_ == nullptr) {
            head_ = w;
        } else {
            tail_->next_ = w;
        }
        tail_ = w;
        ++waiting_;
        return true;
    }

    mutable std::mutex state_mutex_;
    bool locked_ = false;             // guarded by state_mutex_
    LockAwaiter* head_ = nullptr;     // guarded by state_mutex_
    LockAwaiter* tail_ = nullptr;     // guarded by state_mutex_
    std::size_t waiting_ = 0;         // guarded by state_mutex_
};

inline AsyncLockGuard& AsyncLockGuard::operator=(AsyncLockGuard&& o) noexcept {
    if (this != &o) {
        if (mutex_ != nullptr) {
            mutex_->unlock();
        }
        mutex_ = std::exchange(o.mutex_, nullptr);
    }
    return *this;
}

inline AsyncLockGuard::~AsyncLockGuard() {
    if (mutex_ != nullptr) {
        mutex_->unlock();
    }
}

inline void AsyncLockGuard::unlock() {
    RINGDB_ASSERT(mutex_ != nullptr);
    std::exchange(mutex_, nullptr)->unlock();
}

}  // namespace ringdb::coro
