// The public facade (include/ringdb/database.hpp, transaction.hpp) over the engine.

#include <ringdb/database.hpp>

#include "api/database_access.hpp"

#include "engine/txn/database_core.hpp"
#include "engine/txn/read_txn.hpp"
#include "engine/txn/verify_database.hpp"
#include "engine/txn/write_txn.hpp"

namespace ringdb {

namespace {

engine::CoreOptions core_options(const DatabaseOptions& options, bool create, bool read_only) {
    engine::CoreOptions core;
    core.page_size = options.page_size;
    core.cache_bytes = options.cache_size;
    core.io = options.io;
    core.create = create;
    core.read_only = read_only;
    core.repair_progress = options.repair_callback;
    return core;
}

}  // namespace

Task<Result<Database>> Database::open_with(std::string path, DatabaseOptions options,
                                           bool create) {
    engine::CoreOptions core = core_options(options, create, false);
    auto opened = co_await engine::DatabaseCore::open_file(std::move(path), std::move(core));
    if (!opened) {
        co_return opened.error();
    }
    co_return Database(std::move(*opened));
}

Task<Result<Database>> detail::DatabaseAccess::open_device(
        std::unique_ptr<io::BlockDevice> device, DatabaseOptions options, bool create) {
    engine::CoreOptions core = core_options(options, create, false);
    auto opened = co_await engine::DatabaseCore::open_device(std::move(device), std::move(core));
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
    std::shared_ptr<engine::DatabaseCore> core = core_;
    auto txn = co_await engine::WriteTxn::begin(std::move(core));
    if (!txn) {
        co_return txn.error();
    }
    co_return WriteTransaction(std::move(*txn));
}

Result<ReadTransaction> Database::begin_read() {
    if (core_ == nullptr) {
        return Error{Errc::database_closed};
    }
    auto txn = engine::ReadTxn::begin(core_);
    if (!txn) {
        return txn.error();
    }
    return ReadTransaction(std::move(*txn));
}

Task<Result<VerifyReport>> Database::verify_integrity(VerifyLevel level) {
    if (core_ == nullptr || core_->closed()) {
        co_return Error{Errc::database_closed};
    }
    std::shared_ptr<engine::DatabaseCore> core = core_;
    auto report = co_await engine::verify_database(std::move(core), level);
    co_return report;
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
    engine::CoreOptions core = core_options(options, false, true);
    auto opened = co_await engine::DatabaseCore::open_file(std::move(path), std::move(core));
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
    auto txn = engine::ReadTxn::begin(core_);
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
    if (txn_ != nullptr) {
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

Task<Status> WriteTransaction::commit() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    engine::CommitOptions options;
    options.durability = durability_ == Durability::none ? engine::Durability::none
                                                         : engine::Durability::immediate;
    options.two_phase = two_phase_;
    options.quick_repair = quick_repair_;
    Status committed = co_await txn_->commit(options);
    co_return committed;
}

void WriteTransaction::abort() {
    if (txn_ != nullptr) {
        txn_->abort();
    }
}

std::uint64_t WriteTransaction::id() const { return txn_ != nullptr ? txn_->id() : 0; }

ReadTransaction::~ReadTransaction() = default;

Task<Result<std::vector<std::string>>> ReadTransaction::list_tables() {
    if (txn_ == nullptr) {
        co_return Error{Errc::transaction_finished};
    }
    auto names = co_await txn_->list_tables(TableKind::normal);
    co_return names;
}

std::uint64_t ReadTransaction::id() const { return txn_ != nullptr ? txn_->id() : 0; }

}  // namespace ringdb
