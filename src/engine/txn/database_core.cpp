#include "engine/txn/database_core.hpp"

#include <algorithm>

#include "engine/txn/write_txn.hpp"
#include "io/file_device.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

DatabaseCore::~DatabaseCore() = default;

Task<Result<std::shared_ptr<DatabaseCore>>> DatabaseCore::open_file(std::string path,
                                                                    CoreOptions options) {
    std::shared_ptr<DatabaseCore> core(new DatabaseCore(options));
    io::FileOptions file;
    file.create = options.create && !options.read_only;
    file.read_only = options.read_only;
    file.backend = options.io;
    file.direct_writes = options.direct_writes;
    // Create the file before locking it (the lock needs a file to open); an existing file is
    // not modified until the lock is held.
    auto device = co_await io::open_file(path, file);
    if (!device) {
        co_return device.error();
    }
    RINGDB_CO_TRY_ASSIGN(core->lock_, FileLock::acquire(path, !options.read_only));
    auto started = co_await start(core, std::move(*device));
    co_return started;
}

Task<Result<std::shared_ptr<DatabaseCore>>> DatabaseCore::open_device(
        std::unique_ptr<io::BlockDevice> device, CoreOptions options) {
    std::shared_ptr<DatabaseCore> core(new DatabaseCore(options));
    auto started = co_await start(core, std::move(device));
    co_return started;
}

Task<Result<std::shared_ptr<DatabaseCore>>> DatabaseCore::start(
        std::shared_ptr<DatabaseCore> core, std::unique_ptr<io::BlockDevice> device) {
    PageStoreOptions store_options;
    store_options.page_size = core->options_.page_size;
    store_options.cache_bytes = core->options_.cache_bytes;
    store_options.read_only = core->options_.read_only;
    store_options.create = core->options_.create;
    RINGDB_CO_TRY_ASSIGN(core->store_,
                         co_await PageStore::open(std::move(device), store_options));
    PageStore& store = *core->store_;
    if (core->options_.read_only) {
        // A read-only handle never writes, so it cannot repair: the file must be clean.
        if (store.recovery_required()) {
            co_return Error{Errc::repair_aborted};
        }
    } else if (!store.was_created()) {
        if (store.recovery_required()) {
            RINGDB_CO_TRY(co_await core->recover());
        } else {
            RINGDB_CO_TRY_ASSIGN(bool loaded, co_await store.load_saved_allocator());
            if (!loaded) {
                RINGDB_CO_TRY(co_await core->full_repair());
            }
        }
    }
    if (!core->options_.read_only) {
        RINGDB_CO_TRY(co_await store.mark_open());
        RINGDB_CO_TRY(co_await core->load_savepoints());
    }
    core->next_transaction_id_ = store.current().transaction_id + 1;
    co_return core;
}

CommitSlot DatabaseCore::acquire_snapshot() {
    std::lock_guard lock(snapshot_mutex_);
    CommitSlot slot = store_->current();
    tracker_.register_reader(slot.transaction_id);
    return slot;
}

void DatabaseCore::release_snapshot(std::uint64_t transaction_id) {
    tracker_.release_reader(transaction_id);
}

std::uint64_t DatabaseCore::reclaim_bound() {
    std::lock_guard lock(snapshot_mutex_);
    std::uint64_t bound = store_->durable().transaction_id;
    if (auto oldest = tracker_.oldest()) {
        bound = std::min(bound, *oldest);
    }
    return bound;
}

std::uint64_t DatabaseCore::deferred_bound(std::uint64_t transaction_id) {
    std::lock_guard lock(snapshot_mutex_);
    std::uint64_t bound = tracker_.oldest().value_or(transaction_id);
    if (auto savepoint = tracker_.oldest_savepoint()) {
        bound = std::min(bound, *savepoint);
    }
    return bound;
}

Task<Status> DatabaseCore::close() {
    if (closed_) {
        co_return ok();
    }
    if (writer_active_ && !group_committer_.busy()) {
        co_return Error{Errc::transaction_in_progress};
    }
    // Batches already queued are still committed; new ones get database_closed.
    co_await group_committer_.shutdown();
    if (writer_active_) {
        co_return Error{Errc::transaction_in_progress};
    }
    if (!options_.read_only && !store_->poisoned()) {
        // The final commit saves the allocator state (so the next open needs no tree walk),
        // makes earlier non-durable commits durable, and trims the file.
        RINGDB_CO_TRY_ASSIGN(auto txn, co_await WriteTxn::begin(shared_from_this()));
        CommitOptions final_commit;
        final_commit.quick_repair = true;
        final_commit.shrink = ShrinkPolicy::maximum;
        RINGDB_CO_TRY(co_await txn->commit(final_commit));
    }
    closed_ = true;
    Status closed = co_await store_->close();
    lock_.release();
    co_return closed;
}

}  // namespace ringdb::engine
