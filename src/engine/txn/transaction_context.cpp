#include "engine/txn/transaction_context.hpp"

#include <algorithm>

#include <ringdb/hlc.hpp>

namespace ringdb::engine {

TransactionContext::~TransactionContext() = default;

std::uint64_t TransactionContext::issue_timestamp(std::optional<std::uint64_t> received) {
    std::uint64_t current = clock_high_.load(std::memory_order_acquire);
    for (;;) {
        const auto last = HybridLogicalClock::from_raw(current);
        const std::uint64_t wall = now_ms(*clock_);
        const auto next =
                received ? last.merge(HybridLogicalClock::from_raw(*received), wall).raw()
                         : last.advance(wall).raw();
        if (clock_high_.compare_exchange_weak(current, next, std::memory_order_acq_rel)) {
            return next;
        }
    }
}

CommitSlot TransactionContext::acquire_snapshot() {
    std::lock_guard lock(snapshot_mutex_);
    CommitSlot slot = store_->current();
    tracker_.register_reader(slot.transaction_id);
    return slot;
}

void TransactionContext::release_snapshot(std::uint64_t transaction_id) {
    tracker_.release_reader(transaction_id);
}

std::uint64_t TransactionContext::reclaim_bound() {
    std::lock_guard lock(snapshot_mutex_);
    std::uint64_t bound = store_->durable().transaction_id;
    if (auto oldest = tracker_.oldest()) {
        bound = std::min(bound, *oldest);
    }
    return bound;
}

std::uint64_t TransactionContext::deferred_bound() {
    std::lock_guard lock(snapshot_mutex_);
    std::uint64_t bound = store_->current().transaction_id;
    if (auto oldest = tracker_.oldest()) {
        bound = std::min(bound, *oldest);
    }
    if (auto savepoint = tracker_.oldest_savepoint()) {
        bound = std::min(bound, *savepoint);
    }
    return bound;
}

}  // namespace ringdb::engine
