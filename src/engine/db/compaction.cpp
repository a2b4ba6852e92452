// Compaction (docs/api.md): relocation rounds, each a durable commit that moves the pages
// lying past the packed size of the file into lower free blocks, followed by commits that
// reclaim the old blocks and trim the file.

#include "engine/db/maintenance.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

// A round that moves nothing ends compaction; this bounds the rounds otherwise (each round
// lowers the addresses it touches, so the loop converges long before).
constexpr int kMaxRounds = 64;


bool has_readers(DatabaseCore& core) {
    return core.transactions()->tracker().oldest().has_value();
}

/// One durable commit with no changes (reclaims what readers no longer need).
Task<Status> empty_commit(const std::shared_ptr<DatabaseCore>& core, ShrinkPolicy shrink) {
    RINGDB_CO_TRY_ASSIGN(auto txn, co_await WriteTxn::begin(core->transactions()));
    CommitOptions options;
    options.two_phase = true;
    options.shrink = shrink;
    Status committed = co_await txn->commit(options);
    co_return committed;
}

}  // namespace

Task<Result<bool>> compact_database(std::shared_ptr<DatabaseCore> core) {
    if (core->read_only()) {
        co_return Error{Errc::invalid_argument};
    }
    if (has_readers(*core)) {
        co_return Error{Errc::transaction_in_progress};
    }
    // Compaction wants every page as low as it can go, not contiguous commits: no extents
    // (WritePages) until it ends, whichever way it ends.
    struct ExtentsOff {
        PageStore& store;
        explicit ExtentsOff(PageStore& s) : store(s) { store.set_extents_enabled(false); }
        ExtentsOff(const ExtentsOff&) = delete;
        ExtentsOff& operator=(const ExtentsOff&) = delete;
        ~ExtentsOff() { store.set_extents_enabled(true); }
    };
    ExtentsOff extents_off(core->store());
    // Two commits make every earlier commit durable and reclaim what they freed.
    RINGDB_CO_TRY(co_await empty_commit(core, ShrinkPolicy::never));
    RINGDB_CO_TRY(co_await empty_commit(core, ShrinkPolicy::maximum));
    bool moved_any = false;
    for (int round = 0; round < kMaxRounds; ++round) {
        if (has_readers(*core)) {
            co_return Error{Errc::transaction_in_progress};
        }
        RINGDB_CO_TRY_ASSIGN(auto txn, co_await WriteTxn::begin(core->transactions()));
        // Page 0 is the header; a file holding exactly the allocated pages ends here.
        std::uint64_t packed_end = core->store().allocated_pages() + 1;
        RINGDB_CO_TRY_ASSIGN(std::uint64_t moved, co_await txn->relocate_pages(packed_end));
        if (moved == 0) {
            txn->abort();
            break;
        }
        moved_any = true;
        CommitOptions options;
        options.two_phase = true;
        options.shrink = ShrinkPolicy::never;
        RINGDB_CO_TRY(co_await txn->commit(options));
        // The first commit reclaims the blocks the relocation freed, the second those the
        // first one freed; both trim the file to its last allocated block.
        RINGDB_CO_TRY(co_await empty_commit(core, ShrinkPolicy::maximum));
        RINGDB_CO_TRY(co_await empty_commit(core, ShrinkPolicy::maximum));
    }
    co_return moved_any;
}

}  // namespace ringdb::engine
