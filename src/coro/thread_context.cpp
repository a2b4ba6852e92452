// ThreadContext: the per-thread ready queue, cross-thread inbox and reactor hook.
//
// Invariants:
//  - ready_ is touched only by the owning thread; inbox_ and stop_requested_ only under
//    inbox_mutex_.
//  - A post from another thread lands in the inbox and wakes the owner, both under
//    inbox_mutex_; the owner installs its reactor under the same mutex, so a wake-up goes either
//    to the condition variable the owner waits on or to the reactor it polls (whose eventfd
//    counter never loses a signal), and the owner cannot tear either down mid-wake-up.
//  - Coroutines are only resumed from run_ready(), never from inside post() or a reactor poll.

#include <ringdb/runtime.hpp>

#include "util/assert.hpp"

namespace ringdb::coro {

namespace {
thread_local ThreadContext* t_current = nullptr;
}  // namespace

ThreadContext::ThreadContext() : owner_(std::this_thread::get_id()) {}

ThreadContext::~ThreadContext() {
    owned_reactor_.reset();
    if (t_current == this) {
        t_current = nullptr;
    }
}

ThreadContext* ThreadContext::current_or_null() noexcept { return t_current; }

ThreadContext& ThreadContext::current() {
    // The context lives as long as the thread. It is heap-allocated and owned by a
    // thread_local holder so that its address is stable and known to other threads.
    struct Holder {
        ThreadContext* context = nullptr;
        Holder() = default;
        Holder(const Holder&) = delete;
        Holder& operator=(const Holder&) = delete;
        ~Holder() { delete context; }
    };
    thread_local Holder holder;
    if (holder.context == nullptr) {
        holder.context = new ThreadContext();
        t_current = holder.context;
    }
    return *holder.context;
}

void ThreadContext::post(std::coroutine_handle<> h) {
    RINGDB_ASSERT(h);
    if (t_current == this) {
        push_ready(h);
        return;
    }
    std::lock_guard lock(inbox_mutex_);
    RINGDB_ASSERT(inbox_.size() < kQueueMax);
    inbox_.push_back(h);
    wake_locked();
}

void ThreadContext::wake_locked() {
    // Called with inbox_mutex_ held, and it must be: the owner cannot observe the new inbox
    // entry or stop request, finish, and destroy its reactor or condition variable until the
    // poster has released the mutex, that is, until this wake-up is complete.
    if (reactor_ != nullptr) {
        reactor_->reactor_wake();
    } else {
        inbox_cv_.notify_one();
    }
}

bool ThreadContext::drain_inbox() {
    {
        std::lock_guard lock(inbox_mutex_);
        if (inbox_.empty()) {
            return false;
        }
        // Swap with the spare so that neither vector is reallocated in the steady state.
        inbox_spare_.swap(inbox_);
    }
    for (auto h : inbox_spare_) {
        push_ready(h);
    }
    inbox_spare_.clear();
    return true;
}

void ThreadContext::push_ready(std::coroutine_handle<> h) {
    RINGDB_ASSERT(ready_count_ < kQueueMax);
    if (ready_count_ == ready_.size()) {
        std::vector<std::coroutine_handle<>> grown(ready_.empty() ? 64 : ready_.size() * 2);
        for (std::size_t i = 0; i < ready_count_; ++i) {
            grown[i] = ready_[(ready_head_ + i) % ready_.size()];
        }
        ready_.swap(grown);
        ready_head_ = 0;
    }
    ready_[(ready_head_ + ready_count_) % ready_.size()] = h;
    ++ready_count_;
}

std::coroutine_handle<> ThreadContext::pop_ready() noexcept {
    auto h = ready_[ready_head_];
    ready_head_ = (ready_head_ + 1) % ready_.size();
    --ready_count_;
    return h;
}

std::size_t ThreadContext::run_ready() {
    RINGDB_ASSERT(t_current == this);
    drain_inbox();
    // Run only what is ready now; coroutines posted while running wait for the next round, so
    // a coroutine that keeps yielding cannot starve the inbox or the reactor. (A nested
    // sync_wait may run part of this round itself; the bound then stops early.)
    std::size_t round = ready_count_;
    std::size_t resumed = 0;
    while (resumed < round && ready_count_ != 0) {
        pop_ready().resume();
        ++resumed;
    }
    return resumed;
}

void ThreadContext::wait_for_work() {
    if (reactor_ != nullptr) {
        reactor_->reactor_poll(true);
        return;
    }
    std::unique_lock lock(inbox_mutex_);
    inbox_cv_.wait(lock, [this] { return !inbox_.empty() || stop_requested_; });
}

void ThreadContext::run_until(const bool& done) {
    RINGDB_ASSERT(t_current == this);
    while (!done) {
        std::size_t resumed = run_ready();
        if (done) {
            return;
        }
        if (reactor_ != nullptr) {
            // Submit what the resumed coroutines prepared and reap without blocking when
            // there may be more ready work; block only when nothing is ready.
            bool idle = resumed == 0 && ready_count_ == 0;
            reactor_->reactor_poll(idle);
        } else if (resumed == 0 && ready_count_ == 0) {
            wait_for_work();
        }
    }
}

void ThreadContext::run() {
    RINGDB_ASSERT(t_current == this);
    for (;;) {
        {
            std::lock_guard lock(inbox_mutex_);
            if (stop_requested_) {
                stop_requested_ = false;
                return;
            }
        }
        std::size_t resumed = run_ready();
        if (reactor_ != nullptr) {
            reactor_->reactor_poll(resumed == 0 && ready_count_ == 0);
        } else if (resumed == 0 && ready_count_ == 0) {
            wait_for_work();
        }
    }
}

void ThreadContext::request_stop() {
    std::lock_guard lock(inbox_mutex_);
    stop_requested_ = true;
    wake_locked();
}

bool ThreadContext::pump() {
    RINGDB_ASSERT(t_current == this);
    std::size_t resumed = run_ready();
    if (reactor_ != nullptr) {
        reactor_->reactor_poll(false);
        resumed += run_ready();
        // Submit what the last round prepared, so no operation waits for the next pump.
        reactor_->reactor_poll(false);
    }
    return resumed != 0;
}

void ThreadContext::set_reactor(Reactor* reactor) {
    RINGDB_ASSERT(t_current == this);
    std::lock_guard lock(inbox_mutex_);
    reactor_ = reactor;
}

void ThreadContext::adopt(std::unique_ptr<Reactor> owned) {
    RINGDB_ASSERT(t_current == this);
    owned_reactor_ = std::move(owned);
}

WorkerThread::WorkerThread() {
    std::mutex mutex;
    std::condition_variable cv;
    thread_ = std::thread([this, &mutex, &cv] {
        ThreadContext& context = ThreadContext::current();
        {
            // Notify under the lock: the constructor may return, destroying the condition
            // variable, as soon as it sees context_ set.
            std::lock_guard lock(mutex);
            context_ = &context;
            cv.notify_one();
        }
        context.run();
        // Finish work that was posted before the stop request.
        context.run_ready();
    });
    std::unique_lock lock(mutex);
    cv.wait(lock, [this] { return context_ != nullptr; });
}

WorkerThread::~WorkerThread() {
    context_->request_stop();
    thread_.join();
}

}  // namespace ringdb::coro
