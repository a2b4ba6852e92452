#include "engine/db/database_core.hpp"

#include "engine/compression/value_envelope.hpp"

#include <algorithm>

#include "engine/txn/savepoint.hpp"
#include "engine/txn/write_txn.hpp"
#include "io/file_device.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

DatabaseCore::~DatabaseCore() = default;

namespace {

PageStoreOptions store_options(const DatabaseOptions& options, OpenMode mode) {
    PageStoreOptions store;
    store.page_size = options.page_size;
    store.cache_bytes = options.cache_size;
    store.read_only = mode.read_only;
    store.create = mode.create;
    store.compression = options.compression;
    store.log_bytes = options.log_size;
    store.checkpoint_bytes = options.checkpoint_bytes;
    store.checkpoint_interval = options.checkpoint_interval;
    store.checkpoint_thread = mode.checkpoint_thread;
    return store;
}

}  // namespace

Task<Result<std::shared_ptr<DatabaseCore>>> DatabaseCore::open_file(std::string path,
                                                                    DatabaseOptions options,
                                                                    OpenMode mode) {
    if (mode.create) {
        RINGDB_CO_TRY(check_compression(options.compression));
    }
    mode.checkpoint_thread = true;
    std::shared_ptr<DatabaseCore> core(new DatabaseCore(std::move(options), mode));
    io::FileOptions file;
    file.create = mode.create && !mode.read_only;
    file.read_only = mode.read_only;
    file.backend = core->options_.io;
    file.direct_writes = core->options_.direct_writes;
    // Create the file before locking it (the lock needs a file to open); an existing file is
    // not modified until the lock is held.
    auto device = co_await io::open_file(path, file);
    if (!device) {
        co_return device.error();
    }
    RINGDB_CO_TRY_ASSIGN(core->lock_, FileLock::acquire(path, !mode.read_only));
    auto started = co_await start(core, std::move(*device));
    co_return started;
}

Task<Result<std::shared_ptr<DatabaseCore>>> DatabaseCore::open_device(
        std::unique_ptr<io::BlockDevice> device, DatabaseOptions options, OpenMode mode) {
    if (mode.create) {
        RINGDB_CO_TRY(check_compression(options.compression));
    }
    std::shared_ptr<DatabaseCore> core(new DatabaseCore(std::move(options), mode));
    auto started = co_await start(core, std::move(device));
    co_return started;
}

Task<Result<std::shared_ptr<DatabaseCore>>> DatabaseCore::start(
        std::shared_ptr<DatabaseCore> core, std::unique_ptr<io::BlockDevice> device) {
    RINGDB_CO_TRY_ASSIGN(auto opened, co_await PageStore::open(
                                              std::move(device),
                                              store_options(core->options_, core->mode_)));
    core->context_.attach_store(std::move(opened));
    PageStore& store = core->store();
    core->context_.set_compression(store.compression());
    core->context_.dictionaries().set_sample_target(core->options_.dictionary_sample_bytes);
    {
        // The higher mark of the two slots: a timestamp issued before a commit that recovery
        // then rolls back is still never issued again.
        const DatabaseHeader header = store.disk_header();
        std::uint64_t mark = 0;
        for (std::size_t i = 0; i < 2; ++i) {
            if (header.slot_valid[i]) {
                mark = std::max(mark, header.slots[i].clock_high_water);
            }
        }
        core->context_.set_clock_high_water(mark);
    }
    bool replay = false;
    if (core->mode_.read_only) {
        // A read-only handle never writes, so it cannot repair: the file must be clean.
        if (store.recovery_required()) {
            co_return Error{Errc::repair_aborted};
        }
    } else if (!store.was_created()) {
        if (store.recovery_required()) {
            RINGDB_CO_TRY(co_await core->recover());
            replay = true;
        } else {
            RINGDB_CO_TRY_ASSIGN(bool loaded, co_await store.load_saved_allocator());
            if (!loaded) {
                RINGDB_CO_TRY(co_await core->full_repair());
            }
            store.open_log();
        }
    }
    if (!core->mode_.read_only) {
        RINGDB_CO_TRY(co_await store.mark_open());
        RINGDB_CO_TRY(co_await load_persistent_savepoints(core->context_));
    }
    core->context_.set_next_transaction_id(store.current().transaction_id + 1);
    if (replay) {
        // After the savepoints are pinned, so that the checkpoint keeps what they need.
        RINGDB_CO_TRY(co_await core->replay_log());
    }
    core->group_committer_.emplace(std::weak_ptr<TransactionContext>(core->transactions()));
    co_return core;
}

Task<Status> DatabaseCore::close() {
    if (context_.closed()) {
        co_return ok();
    }
    if (context_.writer_active() && !group_committer_->busy()) {
        co_return Error{Errc::transaction_in_progress};
    }
    // Batches already queued are still committed; new ones get database_closed.
    co_await group_committer_->shutdown();
    if (context_.writer_active()) {
        co_return Error{Errc::transaction_in_progress};
    }
    if (!mode_.read_only && !store().poisoned()) {
        // The final commit saves the allocator state (so the next open needs no tree walk),
        // makes earlier non-durable commits durable, and trims the file.
        RINGDB_CO_TRY_ASSIGN(auto txn, co_await WriteTxn::begin(transactions()));
        CommitOptions final_commit;
        final_commit.quick_repair = true;
        final_commit.shrink = ShrinkPolicy::maximum;
        RINGDB_CO_TRY(co_await txn->commit(final_commit));
    }
    context_.mark_closed();
    Status closed = co_await store().close();
    lock_.release();
    co_return closed;
}

}  // namespace ringdb::engine
