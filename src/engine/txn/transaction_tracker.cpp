#include "engine/txn/transaction_tracker.hpp"

#include <algorithm>

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

std::optional<std::uint64_t> TransactionTracker::oldest_after(
        std::uint64_t transaction_id) const {
    std::lock_guard lock(mutex_);
    auto it = readers_.upper_bound(transaction_id);
    if (it == readers_.end()) {
        return std::nullopt;
    }
    return it->first;
}

std::size_t TransactionTracker::live_readers() const {
    std::lock_guard lock(mutex_);
    std::size_t count = 0;
    for (const auto& [id, n] : readers_) {
        count += n;
    }
    return count;
}

std::uint64_t TransactionTracker::allocate_savepoint(std::uint64_t transaction_id) {
    std::lock_guard lock(mutex_);
    std::uint64_t id = next_savepoint_id_++;
    ++readers_[transaction_id];
    savepoints_[id] = transaction_id;
    return id;
}

void TransactionTracker::register_savepoint(std::uint64_t id, std::uint64_t transaction_id) {
    std::lock_guard lock(mutex_);
    ++readers_[transaction_id];
    savepoints_[id] = transaction_id;
    next_savepoint_id_ = std::max(next_savepoint_id_, id + 1);
}

void TransactionTracker::deallocate_savepoint(std::uint64_t id, std::uint64_t transaction_id) {
    std::lock_guard lock(mutex_);
    auto it = readers_.find(transaction_id);
    RINGDB_ASSERT_CTX(it != readers_.end(), "releasing an unregistered savepoint", id);
    if (--it->second == 0) {
        readers_.erase(it);
    }
    savepoints_.erase(id);
}

bool TransactionTracker::is_valid_savepoint(std::uint64_t id) const {
    std::lock_guard lock(mutex_);
    return savepoints_.count(id) != 0;
}

void TransactionTracker::invalidate_savepoints_after(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    savepoints_.erase(savepoints_.upper_bound(id), savepoints_.end());
}

std::optional<std::uint64_t> TransactionTracker::oldest_savepoint() const {
    std::lock_guard lock(mutex_);
    std::optional<std::uint64_t> oldest;
    for (const auto& [id, transaction_id] : savepoints_) {
        if (!oldest || transaction_id < *oldest) {
            oldest = transaction_id;
        }
    }
    return oldest;
}

bool TransactionTracker::any_savepoint() const {
    std::lock_guard lock(mutex_);
    return !savepoints_.empty();
}

std::uint64_t TransactionTracker::next_savepoint_id() const {
    std::lock_guard lock(mutex_);
    return next_savepoint_id_;
}

void TransactionTracker::raise_next_savepoint_id(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    next_savepoint_id_ = std::max(next_savepoint_id_, id);
}

}  // namespace ringdb::engine
