#pragma once
// TransactionTracker: which committed snapshots are still in use, and which savepoints are
// valid.
//
// Every read transaction and every savepoint registers the transaction id it reads; the oldest
// registered id bounds freed-page reclamation (docs/design.md section 7). A savepoint also has
// an entry in the valid set (id -> the transaction id it shows) until it is dropped, deleted
// (persistent) or invalidated by the restore of an older savepoint.
// Thread-safe; reader registration is reference counted per id.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

namespace ringdb::engine {

class TransactionTracker {
public:
    void register_reader(std::uint64_t transaction_id);
    void release_reader(std::uint64_t transaction_id);
    /// The oldest id still registered, if any.
    std::optional<std::uint64_t> oldest() const;
    /// The oldest registered id greater than `transaction_id`, if any.
    std::optional<std::uint64_t> oldest_after(std::uint64_t transaction_id) const;
    std::size_t live_readers() const;

    /// A new savepoint id showing `transaction_id`: registers a reader there and marks the id
    /// valid.
    std::uint64_t allocate_savepoint(std::uint64_t transaction_id);
    /// Registers a persistent savepoint found at open (reader + valid set); later ids start
    /// above it.
    void register_savepoint(std::uint64_t id, std::uint64_t transaction_id);
    /// Releases a savepoint's reader and removes it from the valid set.
    void deallocate_savepoint(std::uint64_t id, std::uint64_t transaction_id);
    bool is_valid_savepoint(std::uint64_t id) const;
    /// Removes every savepoint with an id greater than `id` from the valid set (their readers
    /// stay registered until they are dropped).
    void invalidate_savepoints_after(std::uint64_t id);
    /// The oldest transaction id shown by a valid savepoint, if any.
    std::optional<std::uint64_t> oldest_savepoint() const;
    bool any_savepoint() const;
    std::uint64_t next_savepoint_id() const;
    /// Raises the next savepoint id to at least `id` (restored from the file at open).
    void raise_next_savepoint_id(std::uint64_t id);

private:
    mutable std::mutex mutex_;
    std::map<std::uint64_t, std::uint64_t> readers_;     // id -> count; guarded by mutex_
    std::map<std::uint64_t, std::uint64_t> savepoints_;  // valid savepoint id -> txn id
    std::uint64_t next_savepoint_id_ = 1;                // guarded by mutex_
};

}  // namespace ringdb::engine
