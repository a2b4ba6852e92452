// Batched and background purging of TTL tables (include/ringdb/ttl_purge.hpp).

#include <ringdb/ttl_purge.hpp>

#include <ringdb/sync_wait.hpp>

#include "io/timer.hpp"

namespace ringdb {

namespace detail {

Task<Result<std::uint64_t>> purge_pass(PurgeBatch batch, std::uint64_t limit,
                                       const std::atomic<bool>* stop) {
    limit = limit == 0 ? 1 : limit;
    std::uint64_t total = 0;
    for (;;) {
        if (stop != nullptr && stop->load(std::memory_order_acquire)) {
            co_return total;
        }
        Result<std::uint64_t> removed = co_await batch(limit);
        if (!removed) {
            co_return removed.error();
        }
        total += *removed;
        if (*removed < limit) {
            co_return total;
        }
        // Let the writers queued behind this batch go first.
        co_await coro::yield_now();
    }
}

}  // namespace detail

namespace {

// How often a pause checks for stop(): a stop waits at most this long for a sleeping purger.
constexpr std::chrono::milliseconds kStopPoll{20};

}  // namespace

void TtlPurger::run(detail::PurgeBatch batch, TtlPurgeOptions options,
                    coro::ThreadContext& where) {
    scope_.spawn(loop(this, std::move(batch), options, &where));
}

Task<void> TtlPurger::loop(TtlPurger* self, detail::PurgeBatch batch, TtlPurgeOptions options,
                           coro::ThreadContext* where) {
    co_await coro::schedule_on(*where);
    while (!self->stop_.load(std::memory_order_acquire)) {
        Result<std::uint64_t> removed =
                co_await detail::purge_pass(batch, options.batch, &self->stop_);
        if (removed) {
            self->purged_.fetch_add(*removed, std::memory_order_acq_rel);
            self->passes_.fetch_add(1, std::memory_order_acq_rel);
        } else {
            self->failures_.fetch_add(1, std::memory_order_acq_rel);
        }
        auto waited = std::chrono::milliseconds(0);
        while (waited < options.interval && !self->stop_.load(std::memory_order_acquire)) {
            const auto step = std::min(kStopPoll, options.interval - waited);
            co_await io::sleep_for(step);
            waited += step;
        }
    }
}

void TtlPurger::stop() {
    if (joined_) {
        return;
    }
    stop_.store(true, std::memory_order_release);
    sync_wait(scope_.join());
    joined_ = true;
}

TtlPurger::~TtlPurger() { stop(); }

}  // namespace ringdb
