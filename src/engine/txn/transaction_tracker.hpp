#pragma once
// TransactionTracker: which committed snapshots are still in use.
//
// Every read transaction (and, later, every savepoint) registers the transaction id it reads;
// the oldest registered id bounds freed-page reclamation (docs/design.md section 7).
// Thread-safe; registration is reference counted per id.

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
    std::size_t live_readers() const;

private:
    mutable std::mutex mutex_;
    std::map<std::uint64_t, std::uint64_t> readers_;  // id -> count; guarded by mutex_
};

}  // namespace ringdb::engine
