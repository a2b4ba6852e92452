// AsioDriver: the thread's ringdb runtime driven by an asio::io_context through an eventfd.
//
// Invariants (all state below is touched by the owning thread only):
//  - t_adapter.outstanding counts adapter operations and Holds started on this thread and not
//    yet ended. It lives in the thread, not in the driver, so operations survive a driver.
//  - read_pending is true from async_read_some until its handler runs (completed or aborted);
//    at most one read is pending. While outstanding != 0 a read is pending or about to be
//    re-armed by the handler running now; when outstanding drops to 0 the read is cancelled,
//    so the driver itself never keeps io_context::run() alive.
//  - Every eventfd signal is followed by a pump: the signal (a CQE posted after the last
//    read of the counter) leaves the counter non-zero, and a read armed later completes at
//    once because Asio tries descriptor reads speculatively. A pump that resumed anything is
//    followed by another pump, since coroutines made ready by its last round announce
//    themselves through no eventfd.
//  - Handlers hold a weak_ptr to the Impl, so handlers still queued when the driver is
//    destroyed do nothing.

#include <ringdb/asio.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>
#include <thread>

#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "io/ring.hpp"
#include "util/assert.hpp"

namespace ringdb {

namespace {

/// The reactor of a thread without io_uring. Other threads' posts to this thread's context
/// (ThreadContext::post calls reactor_wake) write an eventfd that the Asio driver watches, and
/// a nested sync_wait on the thread blocks in poll(2) on the same eventfd. Like a ring, it is
/// owned by the thread's context (adopt) and lives until the thread exits.
class FallbackReactor final : public coro::Reactor {
public:
    explicit FallbackReactor(coro::ThreadContext& context) : context_(context) {
        fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd_ < 0) {
            throw std::system_error(errno, std::system_category(), "ringdb: eventfd");
        }
    }
    ~FallbackReactor() override;
    FallbackReactor(const FallbackReactor&) = delete;
    FallbackReactor& operator=(const FallbackReactor&) = delete;

    void reactor_poll(bool block) override {
        // A non-blocking poll must leave the counter alone: draining it here could swallow
        // a wake-up that arrived after the caller's last look at the inbox, and the Asio read
        // is then the only thing that would have reported it.
        if (!block) {
            return;
        }
        pollfd p{fd_, POLLIN, 0};
        while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
        // Safe to drain after a blocking wait: the caller runs its ready work next.
        std::uint64_t count = 0;
        ssize_t n = ::read(fd_, &count, sizeof(count));
        static_cast<void>(n);
    }

    // Called with the context's inbox mutex held; a write to an eventfd never blocks on us.
    void reactor_wake() override {
        std::uint64_t one = 1;
        ssize_t n = ::write(fd_, &one, sizeof(one));
        RINGDB_ASSERT(n == static_cast<ssize_t>(sizeof(one)));
    }

    int fd() const noexcept { return fd_; }

private:
    coro::ThreadContext& context_;
    int fd_ = -1;
};

struct AdapterThreadState {
    AsioDriver::Impl* driver = nullptr;
    std::size_t outstanding = 0;
    FallbackReactor* fallback = nullptr;  // installed on this thread, if any
};

thread_local AdapterThreadState t_adapter;

FallbackReactor::~FallbackReactor() {
    if (context_.reactor() == this) {
        context_.set_reactor(nullptr);
    }
    if (t_adapter.fallback == this) {
        t_adapter.fallback = nullptr;
    }
    ::close(fd_);
}

FallbackReactor& fallback_reactor(coro::ThreadContext& context) {
    if (t_adapter.fallback != nullptr) {
        return *t_adapter.fallback;
    }
    RINGDB_ASSERT(context.reactor() == nullptr);
    auto owned = std::make_unique<FallbackReactor>(context);
    FallbackReactor& reactor = *owned;
    context.set_reactor(&reactor);
    context.adopt(std::move(owned));
    t_adapter.fallback = &reactor;
    return reactor;
}

int duplicate_fd(int fd) {
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
        throw std::system_error(errno, std::system_category(), "ringdb: dup of the eventfd");
    }
    return copy;
}

/// Chooses the mode and returns a descriptor (owned by the caller) that becomes readable
/// whenever the thread's runtime has something to do.
int open_driver_fd(coro::ThreadContext& context, const AsioDriverOptions& options,
                   bool& uses_ring) {
    coro::Reactor* installed = context.reactor();
    bool has_ring = installed != nullptr && installed != t_adapter.fallback;
    if (options.use_ring || has_ring) {
        auto ring = io::Ring::for_this_thread();
        if (ring) {
            auto notify = (*ring)->notify_fd();
            if (!notify) {
                throw std::system_error(to_error_code(notify.error()),
                                        "ringdb: cannot register the ring's eventfd");
            }
            uses_ring = true;
            // The ring owns its notify fd; the stream_descriptor closes its own copy.
            return duplicate_fd(*notify);
        }
    }
    FallbackReactor& fallback = fallback_reactor(context);
    RINGDB_ASSERT(context.reactor() == &fallback);
    uses_ring = false;
    return duplicate_fd(fallback.fd());
}

}  // namespace

struct AsioDriver::Impl : std::enable_shared_from_this<AsioDriver::Impl> {
    Impl(asio::io_context& io_context, coro::ThreadContext& thread_context)
        : io(io_context), context(thread_context), descriptor(io_context) {}

    /// Handlers of a destroyed driver do nothing; a live driver's handlers must run on its
    /// thread, since ThreadContext::pump() belongs to that thread (the io_context is run by
    /// that thread only).
    struct PumpHandler {
        std::weak_ptr<Impl> impl;
        void operator()() const {
            if (auto live = impl.lock()) {
                RINGDB_ASSERT(std::this_thread::get_id() == live->owner);
                live->on_pump();
            }
        }
    };
    struct ReadHandler {
        std::weak_ptr<Impl> impl;
        void operator()(const std::error_code& ec, std::size_t) const {
            if (auto live = impl.lock()) {
                RINGDB_ASSERT(std::this_thread::get_id() == live->owner);
                live->on_read(ec);
            }
        }
    };

    void schedule_pump() {
        if (pump_pending) {
            return;
        }
        pump_pending = true;
        asio::post(io.get_executor(), PumpHandler{weak_from_this()});
    }

    void on_pump() {
        pump_pending = false;
        pump_now();
        update_read();
    }

    void on_read(const std::error_code& ec) {
        read_pending = false;
        if (!ec) {
            ++stats.wakeups;
            pump_now();
        } else if (ec != asio::error::operation_aborted) {
            // EBADF or similar: nothing can drive the ring any more, and continuing would
            // hang every outstanding operation silently.
            std::fprintf(stderr, "ringdb: the Asio driver's eventfd read failed: %s\n",
                         ec.message().c_str());
            RINGDB_ASSERT(false && "eventfd read failed");
        }
        update_read();
    }

    void pump_now() {
        // A ring created on this thread after a ring-less driver replaces the fallback
        // reactor; its completions would then reach no eventfd this driver watches.
        RINGDB_ASSERT(uses_ring || context.reactor() == t_adapter.fallback);
        ++stats.pumps;
        if (context.pump()) {
            schedule_pump();
        }
    }

    /// Arms the eventfd read while work is outstanding and cancels it when none is left.
    void update_read() {
        if (t_adapter.outstanding != 0 && !read_pending && descriptor.is_open()) {
            read_pending = true;
            descriptor.async_read_some(asio::buffer(&counter, sizeof(counter)),
                                       ReadHandler{weak_from_this()});
        } else if (t_adapter.outstanding == 0 && read_pending) {
            std::error_code ignored;
            descriptor.cancel(ignored);
        }
    }

    asio::io_context& io;
    coro::ThreadContext& context;
    std::thread::id owner = std::this_thread::get_id();
    asio::posix::stream_descriptor descriptor;
    std::uint64_t counter = 0;  // target of the eventfd read; only the reset matters
    bool uses_ring = false;
    bool read_pending = false;
    bool pump_pending = false;
    AsioDriverStats stats;
};

AsioDriver::AsioDriver(asio::io_context& io, AsioDriverOptions options) {
    coro::ThreadContext& context = coro::ThreadContext::current();
    RINGDB_ASSERT(t_adapter.driver == nullptr && "one AsioDriver per thread");
    auto impl = std::make_shared<Impl>(io, context);
    int fd = open_driver_fd(context, options, impl->uses_ring);
    std::error_code ec;
    impl->descriptor.assign(fd, ec);
    if (ec) {
        ::close(fd);
        throw std::system_error(ec, "ringdb: cannot watch the eventfd");
    }
    impl_ = std::move(impl);
    t_adapter.driver = impl_.get();
    if (t_adapter.outstanding != 0) {
        // Operations left by an earlier driver of this thread.
        impl_->schedule_pump();
    }
}

AsioDriver::~AsioDriver() {
    t_adapter.driver = nullptr;
    // Closing aborts the pending read; its handler finds the Impl gone and does nothing.
    std::error_code ignored;
    impl_->descriptor.close(ignored);
}

AsioDriver::executor_type AsioDriver::get_executor() const noexcept {
    return impl_->io.get_executor();
}

bool AsioDriver::uses_ring() const noexcept { return impl_->uses_ring; }

std::size_t AsioDriver::outstanding() const noexcept { return t_adapter.outstanding; }

AsioDriverStats AsioDriver::stats() const noexcept { return impl_->stats; }

void AsioDriver::schedule_pump() { impl_->schedule_pump(); }

AsioDriver::Hold AsioDriver::hold() {
    RINGDB_ASSERT(t_adapter.driver == impl_.get());
    static_cast<void>(detail::asio_operation_begin());
    return Hold{};
}

AsioDriver::Hold::~Hold() {
    if (active_) {
        detail::asio_operation_end();
    }
}

namespace detail {

asio::io_context::executor_type asio_operation_begin() {
    AsioDriver::Impl* driver = t_adapter.driver;
    if (driver == nullptr) {
        std::fprintf(stderr,
                     "ringdb: an Asio adapter operation was started on a thread without an "
                     "AsioDriver\n");
    }
    RINGDB_ASSERT(driver != nullptr);
    ++t_adapter.outstanding;
    // The operation's coroutine prepares its first SQE without submitting it; the pump
    // submits it (together with those of every operation started before the pump runs).
    driver->schedule_pump();
    return driver->io.get_executor();
}

void asio_operation_end() noexcept {
    RINGDB_ASSERT(t_adapter.outstanding > 0);
    --t_adapter.outstanding;
    if (t_adapter.outstanding == 0 && t_adapter.driver != nullptr) {
        t_adapter.driver->update_read();
    }
}

}  // namespace detail

}  // namespace ringdb
