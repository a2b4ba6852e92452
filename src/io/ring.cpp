// Ring implementation. See ring.hpp for the model; the invariants kept here:
//  - in_flight_ counts user operations whose SQE was prepared and whose CQE was not reaped;
//    it never exceeds kInFlightMax, so the SQ (sized above that) never overflows.
//  - Exactly one read of wake_fd_ is in the kernel at any time after init (wake_op_).
//  - Completions are copied out and the CQ advanced before any waiter is posted; waiters are
//    resumed later by the ThreadContext, never inside reap().

#include "io/ring.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>

#include "util/assert.hpp"

namespace ringdb::io {

namespace {

constexpr unsigned kSqEntries = Ring::kInFlightMax + 16;

// The ring is owned by the thread's ThreadContext (destroyed first when the thread exits);
// this pointer only finds it and is cleared by the ring's destructor.
thread_local Ring* t_ring = nullptr;
thread_local std::optional<Error> t_ring_error;

int setup_ring(io_uring* ring) {
    io_uring_params params{};
    // A ring is used by its creating thread only, which lets the kernel skip cross-thread
    // task-work interrupts. Older kernels reject the flags; fall back to a plain ring.
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
    int r = io_uring_queue_init_params(kSqEntries, ring, &params);
    if (r == -EINVAL) {
        io_uring_params plain{};
        r = io_uring_queue_init_params(kSqEntries, ring, &plain);
    }
    return r;
}

}  // namespace

Status Ring::probe() {
    io_uring ring{};
    int r = setup_ring(&ring);
    if (r < 0) {
        return Error{Errc::unsupported, -r};
    }
    io_uring_queue_exit(&ring);
    return ok();
}

Result<Ring*> Ring::for_this_thread() {
    if (t_ring != nullptr) {
        return t_ring;
    }
    if (t_ring_error) {
        return *t_ring_error;
    }
    std::unique_ptr<Ring> ring(new Ring());
    Status s = ring->init();
    if (!s) {
        t_ring_error = s.error();
        return s.error();
    }
    t_ring = ring.get();
    coro::ThreadContext::current().adopt(std::move(ring));
    return t_ring;
}

Status Ring::init() {
    int r = setup_ring(&ring_);
    if (r < 0) {
        return Error{Errc::unsupported, -r};
    }
    initialised_ = true;
    // Blocking eventfd: io_uring then polls it instead of failing the read with EAGAIN.
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        return Error{Errc::unsupported, errno};
    }
    context_ = &coro::ThreadContext::current();
    arm_wake();
    submit(false);
    context_->set_reactor(this);
    return ok();
}

Ring::~Ring() {
    if (t_ring == this) {
        t_ring = nullptr;
    }
    if (context_ != nullptr) {
        context_->set_reactor(nullptr);
    }
    if (in_flight_ != 0 || wait_head_ != nullptr) {
        std::fprintf(stderr, "ringdb: thread exits with %u I/O operations in flight\n",
                     in_flight_);
    }
    if (initialised_) {
        io_uring_queue_exit(&ring_);
    }
    if (wake_fd_ >= 0) {
        ::close(wake_fd_);
    }
    if (notify_fd_ >= 0) {
        ::close(notify_fd_);
    }
}

void Ring::arm_wake() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
        submit(false);
        sqe = io_uring_get_sqe(&ring_);
    }
    RINGDB_ASSERT(sqe != nullptr);
    io_uring_prep_read(sqe, wake_fd_, &wake_buffer_, sizeof(wake_buffer_), 0);
    io_uring_sqe_set_data(sqe, &wake_op_);
    ++unsubmitted_;
}

void Ring::reactor_wake() {
    if (!wake_signalled_.exchange(true, std::memory_order_acq_rel)) {
        std::uint64_t one = 1;
        ssize_t n = ::write(wake_fd_, &one, sizeof(one));
        RINGDB_ASSERT(n == static_cast<ssize_t>(sizeof(one)));
    }
}

Result<int> Ring::notify_fd() {
    if (notify_fd_ >= 0) {
        return notify_fd_;
    }
    int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
        return Error::from_errno(errno);
    }
    int r = io_uring_register_eventfd(&ring_, fd);
    if (r < 0) {
        ::close(fd);
        return Error{Errc::unsupported, -r};
    }
    notify_fd_ = fd;
    return notify_fd_;
}

void Ring::start(RingOp& op) {
    ++stats_.operations;
    if (in_flight_ < kInFlightMax && wait_head_ == nullptr) {
        prepare_sqe(op);
        // Hand operations to the kernel in small batches rather than a whole round at once:
        // on a virtio disk a burst of 32 is sent to the device only after all 32 requests are
        // built, leaving it idle meanwhile (docs/performance.md, "The device and fio").
        // Only here, not in refill_from_waiting(), so reap() is never re-entered.
        if (unsubmitted_ >= kSubmitBatch) {
            submit(false);
        }
        return;
    }
    ++stats_.waited;
    op.next = nullptr;
    if (wait_tail_ == nullptr) {
        wait_head_ = &op;
    } else {
        wait_tail_->next = &op;
    }
    wait_tail_ = &op;
}

void Ring::prepare_sqe(RingOp& op) {
    RINGDB_ASSERT(in_flight_ < kInFlightMax);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
        // The SQ is sized above the in-flight limit; one submit must make room.
        submit(false);
        sqe = io_uring_get_sqe(&ring_);
    }
    RINGDB_ASSERT(sqe != nullptr);
    op.prepare(op, sqe);
    io_uring_sqe_set_data(sqe, &op);
    ++in_flight_;
    ++unsubmitted_;
    ++unsubmitted_ops_;
}

void Ring::submit(bool wait) {
    // Bounded: EINTR and EBUSY/EAGAIN (completion backlog) are retried after reaping, a few
    // times at most; any other failure of io_uring_enter means the ring itself is broken.
    for (int attempt = 0; attempt < 16; ++attempt) {
        int r = wait ? io_uring_submit_and_wait(&ring_, 1) : io_uring_submit(&ring_);
        if (r >= 0) {
            if (unsubmitted_ops_ != 0) {
                ++stats_.submit_calls;
            }
            unsubmitted_ = 0;
            unsubmitted_ops_ = 0;
            return;
        }
        if (r == -EINTR) {
            if (wait) {
                return;  // the caller reaps and loops
            }
            continue;
        }
        if (r == -EBUSY || r == -EAGAIN) {
            reap();
            continue;
        }
        std::fprintf(stderr, "ringdb: io_uring_enter failed: errno %d\n", -r);
        RINGDB_ASSERT(false && "io_uring_enter failed");
    }
    RINGDB_ASSERT(false && "io_uring_enter kept failing");
}

void Ring::reap() {
    struct Completion {
        RingOp* op;
        std::int32_t result;
    };
    Completion batch[kReapBatch];
    // The CQ holds at most in_flight + 1 entries, so this loop ends after that many rounds.
    for (unsigned round = 0; round <= kSqEntries * 2 / kReapBatch + 1; ++round) {
        unsigned count = 0;
        unsigned head = 0;
        io_uring_cqe* cqe = nullptr;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            batch[count++] = Completion{static_cast<RingOp*>(io_uring_cqe_get_data(cqe)),
                                        cqe->res};
            if (count == kReapBatch) {
                break;
            }
        }
        io_uring_cq_advance(&ring_, count);
        for (unsigned i = 0; i < count; ++i) {
            RingOp* op = batch[i].op;
            if (op == &wake_op_) {
                wake_signalled_.store(false, std::memory_order_release);
                arm_wake();
                continue;
            }
            RINGDB_ASSERT(op != nullptr && in_flight_ > 0);
            op->result = batch[i].result;
            --in_flight_;
            ++stats_.completions;
            context_->post(op->waiter);
        }
        if (count < kReapBatch) {
            break;
        }
    }
    refill_from_waiting();
}

void Ring::refill_from_waiting() {
    while (wait_head_ != nullptr && in_flight_ < kInFlightMax) {
        RingOp* op = wait_head_;
        wait_head_ = op->next;
        if (wait_head_ == nullptr) {
            wait_tail_ = nullptr;
        }
        prepare_sqe(*op);
    }
}

void Ring::reactor_poll(bool block) {
    if (block || unsubmitted_ != 0) {
        submit(block);
    }
    reap();
    // Reaping may have re-armed the wake read or admitted waiting operations.
    if (unsubmitted_ != 0) {
        submit(false);
    }
}

}  // namespace ringdb::io
