// The public facade (include/ringdb/database.hpp, transaction.hpp) over the engine.

#include <ringdb/database.hpp>

#include "api/database_access.hpp"

#include "engine/db/database_core.hpp"
#include "engine/db/maintenance.hpp"
#include "engine/db/verify_database.hpp"
#include "engine/txn/read_txn.hpp"
#include "engine/txn/savepoint.hpp"
#include "engine/txn/write_txn.hpp"

namespace ringdb {

Task<Result<Database>> Database::open_with(std::string path, DatabaseOptions options,
                                           bool create) {
    engine::OpenMode mode{.create = create, .read_only = false};
    auto opened = co_await engine::DatabaseCore::open_file(std::move(path), std::move(options),
                                                           mode);
    if (!opened) {
        co_return opened.error();
    }
    co_return Database(std::move(*opened));
}

Task<Result<Database>> detail::DatabaseAccess::open_device(
        std::unique_ptr<io::BlockDevice> device, DatabaseOptions options, bool create) {
    engine::OpenMode mode{.create = create, .read_only = false};
    auto opened = co_await engine::DatabaseCore::open_device(std::move(device),
                                                             std::move(options), mode);
    if (!opened) {
        co_return opened.error();
    }
    co_return Database(std::move(*opened));
}

Task<Result<Database>> Database::create(std::string path, DatabaseOptions options) {
    auto db = co_await open_with(std::move(path), std::move(options), true);
    co_return db;
}

Task<Result<Database>> Database::open(std::string path, DatabaseOptions options) {
    auto db = co_await open_with(std::move(path), std::move(options), false);
    co_return db;
}

Database::~Database() = default;

Task<Result<WriteTransaction>> Database::begin_write() {
    if (core_ == nullptr) {
        co_return Error{Errc::database_closed};
    }
    auto txn = co_await engine::WriteTxn::begin(core_->transactions());
    if (!txn) {
        co_return txn.error();
    }
    co_return WriteTransaction(std::move(*txn));
}

Task<Status> Database::run_batch(const WriteBatch& batch, std::shared_ptr<engine::WriteTxn> txn) {
    WriteTransaction::BatchState state;
    WriteTransaction handle(std::move(txn), &state);
    Status applied = co_await batch(handle);
    if (applied && state.abort_requested) {
        co_return Error{Errc::cancelled};
    }
    co_return applied;
}

Task<Status> Database::submit_write_batch(WriteBatch batch) {
    if (core_ == nullptr || core_->closed()) {
        co_return Error{Errc::database_closed};
    }
    if (!batch) {
        co_return Error{Errc::invalid_argument};
    }
    // Not a coroutine: it returns run_batch's task, which refers to the lambda's capture; the
    // lambda lives in the committer until the batch has run.
    engine::GroupBatch engine_batch = [user = std::move(batch)](
                                              const std::shared_ptr<engine::WriteTxn>& txn) {
        return run_batch(user, txn);
    };
    // The committer is the database's; `core` keeps the database alive until the batch is done.
    std::shared_ptr<engine::DatabaseCore> core = core_;
    Status outcome = co_await core->group_committer().submit(std::move(engine_batch));
    co_return outcome;
}

GroupCommitStats Database::group_commit_stats() const {
    if (core_ == nullptr) {
        return {};
    }
    return core_->group_committer().stats();
}

CommitLogStats Database::commit_log_stats() const {
    if (core_ == nullptr) {
        return {};
    }
    return core_->store().log_stats();
}

Result<ReadTransaction> Database::begin_read() {
    if (core_ == nullptr) {
        return Error{Errc::database_closed};
    }
    auto txn = engine::ReadTxn::begin(core_->transactions());
    if (!txn) {
        return txn.error();
    }
    return ReadTransaction(std::move(*txn));
}

Compression Database::compression() const {
    if (core_ == nullptr) {
        return Compression{CompressionAlgorithm::none, 0, 0};
    }
    return core_->store().compression();
}

Result<HybridLogicalClock> Database::hlc_now() {
    if (core_ == nullptr) {
        return Error{Errc::database_closed};
    }
    return HybridLogicalClock::from_raw(core_->transactions()->issue_timestamp());
}

Result<HybridLogicalClock> Database::hlc_update(HybridLogicalClock received) {
    if (core_ == nullptr) {
        return Error{Errc::database_closed};
    }
    return HybridLogicalClock::from_raw(core_->transactions()->issue_timestamp(received.raw()));
}

Task<Result<VerifyReport>> Database::verify_integrity(VerifyLevel level) {
    if (core_ == nullptr || core_->closed()) {
        co_return Error{Errc::database_closed};
    }
    std::shared_ptr<engine::DatabaseCore> core = core_;
    auto report = co_await engine::verify_database(std::move(core), level);
    co_return report;
}

Task<Result<bool>> Database::compact() {
    if (core_ == nullptr || core_->closed()) {
        co_return Error{Errc::database_closed};
    }
    std::shared_ptr<engine::DatabaseCore> core = core_;
    auto compacted = co_await engine::compact_database(std::move(core));
    co_return compacted;
}

Task<Result<bool>> Database::check_integrity() {
    if (core_ == nullptr || core_->closed()) {
        co_return Error{Errc::database_closed};
    }
    std::shared_ptr<engine::DatabaseCore> core = core_;
    auto checked = co_await engine::check_database_integrity(std::move(core));
    co_return checked;
}

Task<Status> Database::close() {
    if (core_ == nullptr) {
        co_return ok();
    }
    Status closed = co_await core_->close();
    co_return closed;
}

Task<Result<ReadOnlyDatabase>> ReadOnlyDatabase::open(std::string path,
                                                      DatabaseOptions options) {
    engine::OpenMode mode{.create = false, .read_only = true};
    auto opened = co_await engine::DatabaseCore::open_file(std::move(path), std::move(options),
                                                           mode);
    if (!opened) {
        co_return opened.error();
    }
    co_return ReadOnlyDatabase(std::move(*opened));
}

ReadOnlyDatabase::~ReadOnlyDatabase() = default;

Result<ReadTransaction> ReadOnlyDatabase::begin_read() {
    if (core_ == nullptr) {
        return Error{Errc::database_closed};
    }
    auto txn = engine::ReadTxn::begin(core_->transactions());
    if (!txn) {
        return txn.error();
    }
    return ReadTransaction(std::move(*txn));
}

Task<Status> ReadOnlyDatabase::close() {
    if (core_ == nullptr) {
        co_return ok();
    }
    Status closed = co_await core_->close();
    co_return closed;
}

WriteTransaction::~WriteTransaction() {
    if (txn_ != nullptr && batch_ == nullptr) {
        txn_->abort();
    }
}

Task<Result<bool>> WriteTransaction::delete_table(std::string name) {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto deleted = co_await txn_->delete_table(std::move(name), TableKind::normal);
    co_return deleted;
}

Task<Status> WriteTransaction::rename_table(std::string from, std::string to) {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    Status renamed = co_await txn_->rename_table(std::move(from), std::move(to), TableKind::normal);
    co_return renamed;
}

Task<Result<std::vector<std::string>>> WriteTransaction::list_tables() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto names = co_await txn_->list_tables(TableKind::normal);
    co_return names;
}

Task<Result<bool>> WriteTransaction::delete_multimap_table(std::string name) {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto deleted = co_await txn_->delete_table(std::move(name), TableKind::multimap);
    co_return deleted;
}

Task<Status> WriteTransaction::rename_multimap_table(std::string from, std::string to) {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    Status renamed =
            co_await txn_->rename_table(std::move(from), std::move(to), TableKind::multimap);
    co_return renamed;
}

Task<Result<std::vector<std::string>>> WriteTransaction::list_multimap_tables() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto names = co_await txn_->list_tables(TableKind::multimap);
    co_return names;
}

Task<Status> WriteTransaction::commit() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    if (batch_ != nullptr) {
        co_return Error{Errc::invalid_argument};  // the group commits
    }
    engine::CommitOptions options;
    options.durability = durability_;
    options.two_phase = two_phase_;
    options.quick_repair = quick_repair_;
    options.shrink = shrink_;
    Status committed = co_await txn_->commit(options);
    co_return committed;
}

void WriteTransaction::abort() {
    if (batch_ != nullptr) {
        batch_->abort_requested = true;  // the group decides; this batch fails
        return;
    }
    if (txn_ != nullptr) {
        txn_->abort();
    }
}

Task<Result<detail::RawTable>> WriteTransaction::open_raw(TableSchema schema,
                                                          detail::KeyOrder order) {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};  // moved from
    }
    std::shared_ptr<engine::WriteTxn> txn = txn_;
    auto raw = co_await detail::RawTable::open_write(std::move(txn), std::move(schema), order);
    co_return raw;
}

std::shared_ptr<const WallClock> WriteTransaction::clock() const {
    return txn_->context().clock();
}

std::uint64_t WriteTransaction::id() const { return txn_ != nullptr ? txn_->id() : 0; }

Task<Result<DatabaseStats>> WriteTransaction::stats() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto stats = co_await txn_->stats();
    co_return stats;
}

Savepoint::~Savepoint() = default;

std::uint64_t Savepoint::id() const noexcept { return handle_ != nullptr ? handle_->id() : 0; }

bool Savepoint::persistent() const noexcept {
    return handle_ != nullptr && !handle_->ephemeral();
}

Status WriteTransaction::try_set_durability(Durability durability) {
    if (txn_ == nullptr || !txn_->active()) {
        return Error{Errc::transaction_finished};
    }
    if (durability == Durability::none && txn_->persistent_savepoints_modified()) {
        return Error{Errc::persistent_savepoint_modified};
    }
    durability_ = durability;
    return ok();
}

Durability WriteTransaction::durability() const noexcept {
    if (txn_ != nullptr && txn_->persistent_savepoints_modified()) {
        return Durability::immediate;
    }
    return durability_;
}

Task<Result<Savepoint>> WriteTransaction::ephemeral_savepoint() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto handle = co_await txn_->ephemeral_savepoint();
    if (!handle) {
        co_return handle.error();
    }
    co_return Savepoint(std::move(*handle));
}

Task<Result<std::uint64_t>> WriteTransaction::persistent_savepoint() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto id = co_await txn_->persistent_savepoint(durability_);
    co_return id;
}

Task<Result<Savepoint>> WriteTransaction::get_persistent_savepoint(std::uint64_t id) {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto handle = co_await txn_->get_persistent_savepoint(id);
    if (!handle) {
        co_return handle.error();
    }
    co_return Savepoint(std::move(*handle));
}

Task<Result<bool>> WriteTransaction::delete_persistent_savepoint(std::uint64_t id) {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto deleted = co_await txn_->delete_persistent_savepoint(id, durability_);
    co_return deleted;
}

Task<Result<std::vector<std::uint64_t>>> WriteTransaction::list_persistent_savepoints() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto ids = co_await txn_->list_persistent_savepoints();
    co_return ids;
}

Task<Status> WriteTransaction::restore_savepoint(const Savepoint& savepoint) {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    std::shared_ptr<engine::SavepointHandle> handle = savepoint.handle_;
    Status restored = co_await txn_->restore_savepoint(std::move(handle));
    co_return restored;
}

ReadTransaction::~ReadTransaction() = default;

Task<Result<std::vector<std::string>>> ReadTransaction::list_tables() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto names = co_await txn_->list_tables(TableKind::normal);
    co_return names;
}

Task<Result<std::vector<std::string>>> ReadTransaction::list_multimap_tables() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto names = co_await txn_->list_tables(TableKind::multimap);
    co_return names;
}

Task<Result<detail::RawTable>> ReadTransaction::open_raw(TableSchema schema,
                                                         detail::KeyOrder order) {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};  // moved from
    }
    std::shared_ptr<engine::ReadTxn> txn = txn_;
    auto raw = co_await detail::RawTable::open_read(std::move(txn), std::move(schema), order);
    co_return raw;
}

std::shared_ptr<const WallClock> ReadTransaction::clock() const {
    return txn_->context().clock();
}

std::uint64_t ReadTransaction::id() const { return txn_ != nullptr ? txn_->id() : 0; }

}  // namespace ringdb
