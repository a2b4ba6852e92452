#pragma once
// Ring: one io_uring per thread, and the reactor of that thread's ThreadContext.
//
// A Ring is created lazily by the first I/O on a thread (Ring::for_this_thread()) and lives
// until the thread exits. Only its owning thread touches it, so the submission path takes no
// lock; other threads reach the thread through reactor_wake(), which writes an eventfd that the
// ring always has a pending read on.
//
// An operation is a RingOp that lives in the awaiting coroutine's frame (no allocation per
// I/O). Its SQE is prepared in await_suspend, never earlier, and is submitted in small batches
// (kSubmitBatch) or when the thread's loop polls the ring, so many operations share one
// io_uring_enter without holding the device idle while a large burst is built. Reaping copies
// completions into a local batch and advances the completion queue before any waiter is posted for
// resumption.
//
// Back-pressure: at most kInFlightMax operations are in the kernel at once. Further operations
// wait, in arrival order, in an intrusive list until completions free a slot.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>

#include <liburing.h>

#include <ringdb/result.hpp>
#include <ringdb/runtime.hpp>

namespace ringdb::io {

/// One io_uring operation. Subclasses hold the arguments and set `prepare`.
struct RingOp {
    using Prepare = void (*)(RingOp& op, io_uring_sqe* sqe);

    explicit RingOp(Prepare p) noexcept : prepare(p) {}
    RingOp(const RingOp&) = delete;
    RingOp& operator=(const RingOp&) = delete;

    Prepare prepare;
    std::coroutine_handle<> waiter;
    std::int32_t result = 0;
    RingOp* next = nullptr;  // link in the ring's back-pressure list
};

struct RingStats {
    std::uint64_t operations = 0;   // operations prepared
    std::uint64_t submit_calls = 0; // io_uring_enter calls that submitted user operations
    std::uint64_t completions = 0;  // user completions reaped
    std::uint64_t waited = 0;       // operations that waited for an in-flight slot
};

class Ring final : public coro::Reactor {
public:
    static constexpr unsigned kInFlightMax = 256;
    static constexpr unsigned kReapBatch = 64;
    /// Prepared operations are submitted once this many are waiting, or when the thread's loop
    /// polls the ring, whichever comes first.
    static constexpr unsigned kSubmitBatch = 4;

    /// The calling thread's ring, created on first use. Fails with Errc::unsupported (errno
    /// set) when io_uring cannot be set up on this system; the failure is cached per thread.
    static Result<Ring*> for_this_thread();

    /// Probes whether a ring can be created on this thread; never logs.
    static Status probe();

    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;
    ~Ring() override;

    /// Awaits `op` on this ring. The awaiter's result is the CQE's res (negative errno on
    /// failure). REQUIRES: called on the owning thread.
    struct Awaiter {
        Ring& ring;
        RingOp& op;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) {
            op.waiter = h;
            ring.start(op);
        }
        std::int32_t await_resume() const noexcept { return op.result; }
    };
    Awaiter run(RingOp& op) noexcept { return Awaiter{*this, op}; }

    /// An eventfd that becomes readable whenever the ring posts a completion, for foreign event
    /// loops (Asio). Registered on first call. The caller reads it to reset it, then calls
    /// ThreadContext::pump().
    Result<int> notify_fd();

    std::size_t in_flight() const noexcept { return in_flight_; }
    const RingStats& stats() const noexcept { return stats_; }

    void reactor_poll(bool block) override;
    void reactor_wake() override;

private:
    Ring() = default;
    Status init();
    void start(RingOp& op);
    void prepare_sqe(RingOp& op);
    void submit(bool wait);
    void reap();
    void arm_wake();
    void refill_from_waiting();

    io_uring ring_{};
    bool initialised_ = false;
    coro::ThreadContext* context_ = nullptr;
    unsigned in_flight_ = 0;     // user operations in the kernel
    unsigned unsubmitted_ = 0;      // prepared SQEs not yet submitted
    unsigned unsubmitted_ops_ = 0;  // ... of which user operations (for stats)
    RingOp* wait_head_ = nullptr;
    RingOp* wait_tail_ = nullptr;

    int wake_fd_ = -1;
    std::uint64_t wake_buffer_ = 0;
    RingOp wake_op_{nullptr};  // prepared directly by arm_wake(); never resumes anything
    std::atomic<bool> wake_signalled_{false};
    int notify_fd_ = -1;

    RingStats stats_;
};

}  // namespace ringdb::io
