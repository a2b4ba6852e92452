#include "engine/txn/transaction_tracker.hpp"

#include "util/assert.hpp"

namespace ringdb::engine {

void TransactionTracker::register_reader(std::uint64_t transaction_id) {
    std::lock_guard lock(mutex_);
    ++readers_[transaction_id];
}

void TransactionTracker::release_reader(std::uint64_t transaction_id) {
    std::lock_guard lock(mutex_);
    auto it = readers_.find(transaction_id);
    RINGDB_ASSERT_CTX(it != readers_.end(), "releasing an unregistered reader", transaction_id);
    if (--it->second == 0) {
        readers_.erase(it);
    }
}

std::optional<std::uint64_t> TransactionTracker::oldest() const {
    std::lock_guard lock(mutex_);
    if (readers_.empty()) {
        return std::nullopt;
    }
    return readers_.begin()->first;
}

std::size_t TransactionTracker::live_readers() const {
    std::lock_guard lock(mutex_);
    std::size_t count = 0;
    for (const auto& [id, n] : readers_) {
        count += n;
    }
    return count;
}

}  // namespace ringdb::engine
