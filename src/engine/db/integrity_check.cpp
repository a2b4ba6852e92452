// Database::check_integrity (docs/api.md, "Compaction and integrity check"): re-read the last
// durable commit from the file, verify it, fall back to the previous commit when it is damaged,
// and make the allocator agree with the trees.

#include "engine/db/maintenance.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

Task<Status> durable_commit(const std::shared_ptr<DatabaseCore>& core) {
    RINGDB_CO_TRY_ASSIGN(auto txn, co_await WriteTxn::begin(core->transactions()));
    CommitOptions options;
    options.two_phase = true;
    options.shrink = ShrinkPolicy::never;
    Status committed = co_await txn->commit(options);
    co_return committed;
}

}  // namespace

Task<Result<bool>> check_database_integrity(std::shared_ptr<DatabaseCore> core) {
    if (core->read_only()) {
        co_return Error{Errc::invalid_argument};
    }
    if (core->transactions()->tracker().oldest()) {
        co_return Error{Errc::transaction_in_progress};
    }
    // Make every earlier commit durable, so that the file holds what readers would see. Not
    // otherwise: a commit now would build on the last commit before it is checked.
    if (core->store().current().transaction_id != core->store().durable().transaction_id) {
        RINGDB_CO_TRY(co_await durable_commit(core));
    }
    // The write transaction keeps other writers out while the file is examined.
    RINGDB_CO_TRY_ASSIGN(auto txn, co_await WriteTxn::begin(core->transactions()));
    if (core->transactions()->tracker().oldest()) {
        co_return Error{Errc::transaction_in_progress};
    }
    PageStore& store = core->store();
    store.drop_cache();
    bool clean = true;
    auto on_disk = co_await store.read_header_from_device();
    if (!on_disk) {
        if (on_disk.error().code != Errc::corrupted) {
            co_return on_disk.error();
        }
        clean = false;  // the next commit rewrites the whole header
    } else {
        const DatabaseHeader expected = store.disk_header();
        clean = on_disk->primary_index() == expected.primary_index() &&
                on_disk->slot_valid[on_disk->primary_index()] &&
                on_disk->primary() == expected.primary();
    }
    RINGDB_CO_TRY_ASSIGN(bool trees_ok, co_await core->slot_verifies());
    bool restored_previous = false;
    if (!trees_ok) {
        // The last commit is damaged; the one before it is intact unless its pages were
        // damaged too (it is what recovery after a crash would choose).
        RINGDB_CO_TRY(store.use_secondary_slot());
        RINGDB_CO_TRY_ASSIGN(bool previous_ok, co_await core->slot_verifies());
        if (!previous_ok) {
            co_return Error{Errc::corrupted};
        }
        clean = false;
        restored_previous = true;
    }
    RINGDB_CO_TRY_ASSIGN(BuddyAllocator rebuilt, co_await core->rebuild_allocator());
    if (restored_previous || !store.allocator_matches(rebuilt)) {
        store.install_allocator(std::move(rebuilt));
        clean = false;
    }
    if (clean) {
        txn->abort();
        co_return true;
    }
    if (restored_previous) {
        // This transaction started from the damaged commit: start over from the restored one.
        txn->abort();
        RINGDB_CO_TRY(co_await durable_commit(core));
    } else {
        CommitOptions options;
        options.two_phase = true;
        options.shrink = ShrinkPolicy::never;
        RINGDB_CO_TRY(co_await txn->commit(options));
    }
    co_return false;
}

}  // namespace ringdb::engine
