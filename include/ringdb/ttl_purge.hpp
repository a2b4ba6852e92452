#pragma once
// Purging expired TTL entries in bounded batches, once or in the background (docs/ttl.md).
//
// A batch is one write transaction that removes at most `batch` expired entries and commits
// (with the durability given; a batch that finds nothing expired aborts instead, so an idle
// purger writes nothing), so a purge holds the writer for one batch at a time and other
// writers run between batches. The background purger repeats a pass (batches until one finds
// fewer than `batch` expired entries) every `interval`, as a coroutine on a thread the caller
// chooses (for example a WorkerThread's context); its pauses are io_uring timeouts, so that
// thread keeps serving its other coroutines.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <ringdb/database.hpp>
#include <ringdb/runtime.hpp>
#include <ringdb/task.hpp>
#include <ringdb/task_scope.hpp>
#include <ringdb/ttl_table.hpp>

namespace ringdb {

struct TtlPurgeOptions {
    /// Expired entries removed per write transaction (at least 1).
    std::uint64_t batch = 1000;
    /// Pause between passes of the background purger.
    std::chrono::milliseconds interval{1000};
    /// Durability of each batch's commit.
    Durability durability = Durability::immediate;
};

namespace detail {

/// One batch: removes at most `limit` expired entries of one table and commits; returns how
/// many were removed.
using PurgeBatch = std::function<Task<Result<std::uint64_t>>(std::uint64_t limit)>;

/// Batches until one removes fewer than `batch` entries; returns the total. Stops early when
/// `stop` is set.
Task<Result<std::uint64_t>> purge_pass(PurgeBatch batch, std::uint64_t limit,
                                       const std::atomic<bool>* stop);

template <Key K, Value V>
PurgeBatch ttl_purge_batch(Database& db, TtlTableDefinition<K, V> definition,
                           Durability durability) {
    return [&db, definition, durability](std::uint64_t limit) -> Task<Result<std::uint64_t>> {
        auto txn = co_await db.begin_write();
        if (!txn) {
            co_return txn.error();
        }
        txn->set_durability(durability);
        std::uint64_t removed = 0;
        {
            auto table = co_await txn->open_ttl_table(definition);
            if (!table) {
                co_return table.error();  // the transaction aborts
            }
            auto purged = co_await table->purge_expired(limit);
            if (!purged) {
                co_return purged.error();
            }
            removed = *purged;
        }
        if (removed == 0) {
            txn->abort();  // nothing expired: no commit, nothing written
            co_return removed;
        }
        Status committed = co_await txn->commit();
        if (!committed) {
            co_return committed.error();
        }
        co_return removed;
    };
}

}  // namespace detail

/// Removes every expired entry of the table in batches of at most options.batch, one write
/// transaction each; returns how many. Errors: as begin_write, open_ttl_table (a missing table
/// is created, empty), purge_expired and commit; batches committed before an error stay.
template <Key K, Value V>
Task<Result<std::uint64_t>> purge_expired_in_batches(Database& db,
                                                     TtlTableDefinition<K, V> definition,
                                                     TtlPurgeOptions options = {}) {
    detail::PurgeBatch batch = detail::ttl_purge_batch(db, definition, options.durability);
    auto total = co_await detail::purge_pass(std::move(batch), options.batch, nullptr);
    co_return total;
}

/// A background purge of one TTL table. Runs until stop() or destruction.
class TtlPurger {
public:
    /// Starts purging `definition`'s table on `where`'s thread, which must be driving its
    /// context (WorkerThread, ThreadContext::run, sync_wait or an Asio pump). REQUIRES: `db`
    /// outlives the purger.
    template <Key K, Value V>
    static std::unique_ptr<TtlPurger> start(Database& db, TtlTableDefinition<K, V> definition,
                                            TtlPurgeOptions options,
                                            coro::ThreadContext& where) {
        std::unique_ptr<TtlPurger> purger(new TtlPurger());
        purger->run(detail::ttl_purge_batch(db, definition, options.durability), options,
                    where);
        return purger;
    }

    TtlPurger(const TtlPurger&) = delete;
    TtlPurger& operator=(const TtlPurger&) = delete;
    /// Stops (see stop()).
    ~TtlPurger();

    /// Asks the purger to stop and waits until it has: a batch in progress finishes (and
    /// commits) first. Idempotent. REQUIRES: not called on the purger's own thread, and that
    /// thread still serves its context (destroy a WorkerThread after the purger, not before).
    void stop();

    /// Entries removed so far, completed passes, and failed batches (a failed batch ends its
    /// pass; the next pass tries again after the interval).
    std::uint64_t purged() const noexcept { return purged_.load(std::memory_order_acquire); }
    std::uint64_t passes() const noexcept { return passes_.load(std::memory_order_acquire); }
    std::uint64_t failures() const noexcept {
        return failures_.load(std::memory_order_acquire);
    }

private:
    TtlPurger() = default;
    void run(detail::PurgeBatch batch, TtlPurgeOptions options, coro::ThreadContext& where);
    static Task<void> loop(TtlPurger* self, detail::PurgeBatch batch, TtlPurgeOptions options,
                           coro::ThreadContext* where);

    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> purged_{0};
    std::atomic<std::uint64_t> passes_{0};
    std::atomic<std::uint64_t> failures_{0};
    bool joined_ = false;
    TaskScope scope_;
};

}  // namespace ringdb
