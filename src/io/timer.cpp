#include "io/timer.hpp"

#include <thread>

#include <liburing.h>

#include "io/ring.hpp"

namespace ringdb::io {

namespace {

struct TimeoutOp : RingOp {
    explicit TimeoutOp(std::chrono::nanoseconds duration) : RingOp(&prep) {
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(duration);
        spec.tv_sec = seconds.count();
        spec.tv_nsec = (duration - seconds).count();
    }
    static void prep(RingOp& op, io_uring_sqe* sqe) {
        auto& self = static_cast<TimeoutOp&>(op);
        io_uring_prep_timeout(sqe, &self.spec, 0, 0);
    }
    __kernel_timespec spec{};
};

}  // namespace

Task<void> sleep_for(std::chrono::nanoseconds duration) {
    if (duration.count() <= 0) {
        co_return;
    }
    auto ring = Ring::for_this_thread();
    if (!ring) {
        std::this_thread::sleep_for(duration);
        co_return;
    }
    TimeoutOp op(duration);
    // The timeout completes with -ETIME when it expires; any result ends the pause.
    (void)co_await (*ring)->run(op);
}

}  // namespace ringdb::io
