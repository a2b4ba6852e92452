#pragma once
// The per-thread runtime.
//
// Every thread that runs ringdb coroutines has one ThreadContext (created on first use). It
// holds the thread's ready queue, an inbox for resumptions posted by other threads, and
// optionally a Reactor: the thread's io_uring, installed by the I/O layer when the thread first
// does I/O. Whoever waits on a thread drives its context:
//   - sync_wait(task) runs the context until the task is done;
//   - ThreadContext::run() serves a thread dedicated to ringdb (see WorkerThread);
//   - the Asio adapter pumps the context from an asio::io_context (ringdb/asio.hpp).
//
// Affinity: a coroutine resumes on the thread whose context resumed it. Waking a coroutine
// that belongs to another thread posts it to that thread's context (post() is thread-safe);
// moving oneself to another thread is explicit: `co_await schedule_on(ctx)`.
//
// Bounds: the ready queue and inbox hold at most kQueueMax handles; exceeding it is a
// programming error (an assertion), not a silent slowdown.

#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ringdb::coro {

/// The I/O driver of one thread (implemented by io::Ring). All calls but wake() come from the
/// owning thread.
class Reactor {
public:
    virtual ~Reactor() = default;
    /// Submits prepared operations and reaps completions, posting the waiting coroutines to
    /// the thread's context (never resuming them inline). With `block`, waits until at least
    /// one completion or a wake() arrives.
    virtual void reactor_poll(bool block) = 0;
    /// Thread-safe: makes a blocking reactor_poll on the owning thread return soon.
    virtual void reactor_wake() = 0;
};

class ThreadContext {
public:
    static constexpr std::size_t kQueueMax = std::size_t{1} << 24;

    /// The calling thread's context, created on first use.
    static ThreadContext& current();

    ThreadContext(const ThreadContext&) = delete;
    ThreadContext& operator=(const ThreadContext&) = delete;
    ~ThreadContext();

    /// Queues `h` to be resumed on this context's thread. Thread-safe.
    void post(std::coroutine_handle<> h);

    /// Resumes the coroutines that are ready now, including those posted from other threads
    /// (one round: coroutines posted meanwhile wait for the next). Returns how many were
    /// resumed. Owning thread only.
    std::size_t run_ready();

    /// Runs ready work and polls the reactor (blocking when nothing is ready) until `done`
    /// becomes true. Owning thread only; re-entrant calls are allowed (nested sync_wait).
    void run_until(const bool& done);

    /// Serves the context until request_stop() is called. Owning thread only.
    void run();
    /// Thread-safe: makes run() return after the work at hand.
    void request_stop();

    /// One non-blocking turn: run ready work, submit and reap I/O, run what completed. Used by
    /// foreign event loops (Asio) that own the thread. Returns whether anything ran.
    bool pump();

    /// Installs (or removes, with nullptr) the thread's reactor. Owning thread only.
    void set_reactor(Reactor* reactor);
    /// Makes the context own `owned` and destroy it first when the thread exits, while the
    /// context is still intact (a reactor detaches itself from the context when destroyed).
    void adopt(std::unique_ptr<Reactor> owned);
    Reactor* reactor() const noexcept { return reactor_; }

    std::thread::id owner() const noexcept { return owner_; }
    bool is_current() const noexcept { return this == current_or_null(); }

private:
    ThreadContext();
    static ThreadContext* current_or_null() noexcept;
    bool drain_inbox();
    void wake_locked();
    void wait_for_work();

    std::thread::id owner_;
    Reactor* reactor_ = nullptr;
    std::unique_ptr<Reactor> owned_reactor_;
    void push_ready(std::coroutine_handle<> h);
    std::coroutine_handle<> pop_ready() noexcept;

    // The ready queue is a circular buffer that grows by doubling and never shrinks, so after
    // warm-up resuming coroutines allocates nothing (a deque would allocate blocks as it moves).
    std::vector<std::coroutine_handle<>> ready_;
    std::size_t ready_head_ = 0;
    std::size_t ready_count_ = 0;

    std::mutex inbox_mutex_;
    std::condition_variable inbox_cv_;
    std::vector<std::coroutine_handle<>> inbox_;  // guarded by inbox_mutex_
    std::vector<std::coroutine_handle<>> inbox_spare_;  // owning thread only
    bool stop_requested_ = false;                 // guarded by inbox_mutex_
};

/// `co_await schedule_on(ctx)` suspends and resumes the coroutine on ctx's thread. That thread
/// must be driving its context (run(), sync_wait or an Asio pump), or the coroutine waits
/// until it does.
struct ScheduleOn {
    ThreadContext& target;
    bool await_ready() const noexcept { return target.is_current(); }
    void await_suspend(std::coroutine_handle<> h) const { target.post(h); }
    void await_resume() const noexcept {}
};

inline ScheduleOn schedule_on(ThreadContext& target) noexcept { return ScheduleOn{target}; }

/// `co_await yield_now()` lets other ready coroutines of this thread run first.
struct YieldNow {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const { ThreadContext::current().post(h); }
    void await_resume() const noexcept {}
};

inline YieldNow yield_now() noexcept { return {}; }

/// A thread that serves its ThreadContext until destroyed. Coroutines reach it with
/// `co_await schedule_on(worker.context())`. The destructor stops and joins the thread;
/// REQUIRES: no coroutine still needs the thread by then.
class WorkerThread {
public:
    WorkerThread();
    ~WorkerThread();
    WorkerThread(const WorkerThread&) = delete;
    WorkerThread& operator=(const WorkerThread&) = delete;

    ThreadContext& context() const noexcept { return *context_; }

private:
    ThreadContext* context_ = nullptr;
    std::thread thread_;
};

}  // namespace ringdb::coro
