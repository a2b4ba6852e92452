#pragma once
// TransactionContext: what the transactions of one database share, and nothing else.
//
// The database (db/database_core.hpp) owns one and hands transactions a shared_ptr to it that
// also keeps the database alive. It holds the page store, the tracker of live snapshots and
// savepoints, the writer mutex (one write transaction at a time), the next transaction id,
// the blocks freed by non-durable commits that wait for their readers, and the two bounds
// computed from these.
//
// Snapshot publication: acquire_snapshot reads the latest commit and registers it with the
// tracker under one mutex, and a commit computes its reclamation bound under the same mutex,
// so a reader can never register a snapshot whose pages a concurrent commit is reclaiming.
//
// Thread rules: acquire_snapshot, release_snapshot, the bounds and the flags may be used from
// any thread; the id counter and deferred_frees belong to the holder of the writer mutex.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <ringdb/options.hpp>
#include <ringdb/table_schema.hpp>

#include "coro/async_mutex.hpp"
#include "engine/compression/dictionary.hpp"
#include "engine/page_store/page_store.hpp"
#include "engine/txn/transaction_tracker.hpp"

namespace ringdb::engine {

class TransactionContext {
public:
    explicit TransactionContext(bool read_only) noexcept : read_only_(read_only) {}
    TransactionContext(const TransactionContext&) = delete;
    TransactionContext& operator=(const TransactionContext&) = delete;
    ~TransactionContext();

    /// Installs the opened page store. REQUIRES: called once, before any transaction begins.
    void attach_store(std::unique_ptr<PageStore> store) noexcept { store_ = std::move(store); }
    PageStore& store() noexcept { return *store_; }
    TransactionTracker& tracker() noexcept { return tracker_; }
    coro::AsyncMutex& writer_mutex() noexcept { return writer_mutex_; }
    bool read_only() const noexcept { return read_only_; }
    /// The wall clock of TTL tables and the hybrid logical clock (DatabaseOptions::clock).
    void set_clock(WallClock clock) {
        clock_ = std::make_shared<const WallClock>(std::move(clock));
    }
    const std::shared_ptr<const WallClock>& clock() const noexcept { return clock_; }

    /// The database's hybrid logical clock (docs/hlc.md): the next timestamp, greater than
    /// every one issued before by this handle and than the high-water mark it was opened with.
    /// With `received` (a raw timestamp from elsewhere), also greater than it.
    std::uint64_t issue_timestamp(std::optional<std::uint64_t> received = std::nullopt);
    /// The highest timestamp issued (or loaded from the file); commits record it.
    std::uint64_t clock_high_water() const noexcept {
        return clock_high_.load(std::memory_order_acquire);
    }
    /// After open: the high-water mark of the last commit.
    void set_clock_high_water(std::uint64_t raw) noexcept {
        clock_high_.store(raw, std::memory_order_release);
    }

    /// The file's value compression. REQUIRES: called once, before any transaction begins.
    void set_compression(const Compression& config) {
        if (config.algorithm != CompressionAlgorithm::none) {
            compression_ = config;
        }
    }
    /// The compression of a table's values, or null when they are stored as they are: only
    /// normal tables with variable-width values whose type allows compression are compressed
    /// (docs/compression.md).
    const Compression* compression_for(const ringdb::TableSchema& schema) const noexcept {
        if (!compression_ || schema.kind != ringdb::TableKind::normal || schema.value_width ||
            !schema.compressible) {
            return nullptr;
        }
        return &*compression_;
    }
    /// The tables' compression dictionaries in memory, and the samplers that train them.
    DictionaryRegistry& dictionaries() noexcept { return dictionaries_; }

    /// Set by the database once it is closed: new transactions get database_closed.
    bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
    void mark_closed() noexcept { closed_.store(true, std::memory_order_release); }
    /// Set while a write transaction is live (close refuses to run then).
    void set_writer_active(bool active) noexcept { writer_active_ = active; }
    bool writer_active() const noexcept { return writer_active_; }

    /// The latest commit, registered as a reader (release with release_snapshot).
    CommitSlot acquire_snapshot();
    void release_snapshot(std::uint64_t transaction_id);
    /// Transaction ids of committed blocks that no reader can see any more are <= this.
    std::uint64_t reclaim_bound();
    /// Deferred blocks freed by commits <= this are seen by no reader and no valid savepoint,
    /// and by no reader that begins later: new readers get the published snapshot, which
    /// may be older than the writer's base while a group's sync is pending.
    std::uint64_t deferred_bound();

    /// Blocks freed by a non-durable commit that no durable commit references ("unpersisted"
    /// blocks), kept in memory instead of the freed-page tables until no reader can see them
    /// (docs/design.md section 7). Writer only; a crash loses them with the commits, and a
    /// durable commit moves what is left into the tables.
    struct DeferredFree {
        std::uint64_t transaction_id = 0;  // the commit that freed them
        std::vector<PageNumber> data;
        std::vector<PageNumber> system;
    };
    std::vector<DeferredFree>& deferred_frees() noexcept { return deferred_frees_; }

    std::uint64_t next_transaction_id() const noexcept { return next_transaction_id_; }
    void advance_transaction_id() noexcept { ++next_transaction_id_; }
    /// After open: ids continue after the last commit of the file.
    void set_next_transaction_id(std::uint64_t id) noexcept { next_transaction_id_ = id; }

private:
    const bool read_only_;
    std::unique_ptr<PageStore> store_;
    TransactionTracker tracker_;
    coro::AsyncMutex writer_mutex_;
    std::mutex snapshot_mutex_;
    std::uint64_t next_transaction_id_ = 1;
    std::vector<DeferredFree> deferred_frees_;  // ascending by transaction; writer only
    std::shared_ptr<const WallClock> clock_ = std::make_shared<const WallClock>();
    std::optional<Compression> compression_;
    DictionaryRegistry dictionaries_;
    std::atomic<std::uint64_t> clock_high_{0};
    bool writer_active_ = false;
    std::atomic<bool> closed_{false};
};

}  // namespace ringdb::engine
