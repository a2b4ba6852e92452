#include "engine/txn/write_txn.hpp"

#include <algorithm>
#include <cstring>

#include "engine/table/key_order.hpp"
#include "engine/txn/read_txn.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

WriteTxn::WriteTxn(std::shared_ptr<TransactionContext> context, coro::AsyncLockGuard lock,
                   std::uint64_t id, const CommitSlot& base)
    : TableHost(true),
      context_(std::move(context)),
      lock_(std::move(lock)),
      id_(id),
      pages_(context_->store()),
      data_pages_(pages_),
      user_tree_(data_pages_, base.user_root),
      system_tree_(pages_, base.system_root),
      base_(base) {
    // A record larger than the log accepts is never needed: the commit will be a checkpoint.
    log_.set_limit(context_->store().log_record_limit());
}

WriteTxn::~WriteTxn() { abort(); }

Task<Result<std::shared_ptr<WriteTxn>>> WriteTxn::begin(
        std::shared_ptr<TransactionContext> context) {
    if (context->read_only()) {
        co_return Error{Errc::invalid_argument};
    }
    if (context->closed()) {
        co_return Error{Errc::database_closed};
    }
    coro::AsyncLockGuard lock = co_await context->writer_mutex().scoped_lock();
    if (context->closed()) {
        co_return Error{Errc::database_closed};
    }
    if (context->store().poisoned()) {
        co_return Error{Errc::previous_io};
    }
    context->set_writer_active(true);
    CommitSlot base = context->store().writer_base();
    std::uint64_t id = context->next_transaction_id();
    std::shared_ptr<WriteTxn> txn(new WriteTxn(context, std::move(lock), id, base));
    // Blocks earlier commits replaced that no reader sees any more are freed before this
    // transaction allocates: it reuses their memory and blocks instead of growing both.
    RINGDB_CO_TRY(txn->reclaim_deferred());
    co_return txn;
}

void WriteTxn::finish() noexcept {
    tables_.clear();
    context_->set_writer_active(false);
    lock_ = coro::AsyncLockGuard{};
}

void WriteTxn::abort() noexcept {
    if (state_ != State::active) {
        return;
    }
    state_ = State::aborted;
    finish_tables();
    tables_.clear();
    pages_.rollback();
    end_savepoint_changes(false);
    finish();
}

void WriteTxn::begin_data_change() {
    dirty_ = true;
    if (!tracking_decided_) {
        // A savepoint can only be created in a clean transaction, so if none exists now, none
        // can appear (and be restored) before this transaction ends.
        tracking_decided_ = true;
        data_pages_.set_tracking(context_->tracker().any_savepoint());
    }
}

Task<Result<std::optional<StoredTable>>> WriteTxn::find_table(std::string_view name) {
    auto open = tables_.find(std::string(name));
    if (open != tables_.end()) {
        StoredTable staged{open->second->schema, open->second->tree.root(),
                           open->second->multimap.pairs, open->second->dictionary};
        co_return std::optional<StoredTable>{std::move(staged)};
    }
    auto found = co_await user_tree_.get(name);
    co_return found;
}

Task<Result<OpenTable*>> WriteTxn::open_table(TableSchema schema, KeyCompare compare,
                                              bool internal) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    if (!internal) {
        RINGDB_CO_TRY(check_table_name(schema.name));
    }
    begin_data_change();
    auto open = tables_.find(schema.name);
    if (open != tables_.end()) {
        OpenTable& table = *open->second;
        RINGDB_CO_TRY(check_table_schema(table.schema, schema));
        if (table.in_use) {
            co_return Error{Errc::table_already_open};
        }
        table.in_use = true;
        co_return &table;
    }
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await user_tree_.get(schema.name));
    BtreeRoot root;
    std::uint64_t pairs = 0;
    if (stored) {
        RINGDB_CO_TRY(check_table_schema(stored->schema, schema));
        root = stored->root;
        pairs = stored->pairs;
    } else {
        // Record the new table at once so that list_tables sees it; its root is written at
        // commit.
        StoredTable fresh{schema, BtreeRoot{}};
        RINGDB_CO_TRY(co_await user_tree_.put(schema.name, fresh));
        if (!replaying_) {
            const Bytes definition = fresh.encode();
            log_.create_table(schema.name, definition);
        }
    }
    auto table = std::make_unique<OpenTable>(data_pages_, compare, schema, root);
    if (context_->compression_for(schema) != nullptr) {
        RINGDB_CO_TRY(co_await attach_envelope(*table, stored));
    }
    attach_sink(*table);
    OpenTable* raw = table.get();
    raw->in_use = true;
    raw->multimap.pairs = pairs;
    tables_.emplace(schema.name, std::move(table));
    co_return raw;
}

namespace {

// The sink of a table whose key (or multimap value) order the engine does not know without the
// application's types: replay could not order its keys, so a change to it makes the
// transaction a checkpoint.
class CheckpointSink final : public MutationSink {
public:
    explicit CheckpointSink(WriteTxn& txn) : txn_(txn) {}
    void inserted(std::span<const std::byte>, std::span<const std::byte>) override {
        txn_.require_checkpoint();
    }
    void removed(std::span<const std::byte>) override { txn_.require_checkpoint(); }
    void multimap_inserted(std::span<const std::byte>, std::span<const std::byte>) override {
        txn_.require_checkpoint();
    }
    void multimap_removed(std::span<const std::byte>, std::span<const std::byte>) override {
        txn_.require_checkpoint();
    }
    void multimap_key_removed(std::span<const std::byte>) override {
        txn_.require_checkpoint();
    }

private:
    WriteTxn& txn_;
};

}  // namespace

void WriteTxn::attach_sink(OpenTable& table) {
    if (replaying_) {
        return;
    }
    const bool multimap = table.schema.kind == TableKind::multimap;
    const bool ordered = key_order_for(table.schema.key_type) != nullptr &&
                         (!multimap || key_order_for(table.schema.value_type) != nullptr);
    if (ordered) {
        table.sink = log_.sink_for(&table.schema.name);
    } else {
        table.sink = std::make_unique<CheckpointSink>(*this);
    }
    if (!multimap) {
        table.tree.set_sink(table.sink.get());
    }
}

void WriteTxn::release_tables() noexcept {
    for (auto& [name, table] : tables_) {
        table->in_use = false;
    }
}

void WriteTxn::close_table(OpenTable* table) noexcept {
    if (table != nullptr && state_ == State::active) {
        table->in_use = false;
    }
}

Task<Result<bool>> WriteTxn::delete_table(std::string name, TableKind kind) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    RINGDB_CO_TRY(check_table_name(name));
    begin_data_change();
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await find_table(name));
    if (!stored) {
        co_return false;
    }
    if (stored->schema.kind != kind) {
        co_return Error{kind == TableKind::normal ? Errc::table_is_multimap
                                                  : Errc::table_is_not_multimap};
    }
    auto open = tables_.find(name);
    if (open != tables_.end()) {
        if (open->second->in_use) {
            co_return Error{Errc::table_already_open};
        }
        if (kind == TableKind::multimap) {
            RINGDB_CO_TRY(co_await multimap_free_all(open->second->tree));
        } else {
            RINGDB_CO_TRY(co_await open->second->tree.free_all());
        }
        tables_.erase(open);
    } else {
        Btree tree(data_pages_, &compare_bytes, stored->root);
        if (kind == TableKind::multimap) {
            RINGDB_CO_TRY(co_await multimap_free_all(tree));
        } else {
            RINGDB_CO_TRY(co_await tree.free_all());
        }
    }
    RINGDB_CO_TRY(co_await user_tree_.remove(name));
    if (!replaying_) {
        log_.delete_table(name, kind);
    }
    if (stored->dictionary != 0) {
        RINGDB_CO_TRY(co_await release_dictionary(stored->dictionary));
    }
    co_return true;
}

Task<Status> WriteTxn::rename_table(std::string from, std::string to, TableKind kind) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    RINGDB_CO_TRY(check_table_name(from));
    RINGDB_CO_TRY(check_table_name(to));
    begin_data_change();
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await find_table(from));
    if (!stored) {
        co_return Error{Errc::table_does_not_exist};
    }
    if (stored->schema.kind != kind) {
        co_return Error{kind == TableKind::normal ? Errc::table_is_multimap
                                                  : Errc::table_is_not_multimap};
    }
    auto open = tables_.find(from);
    if (open != tables_.end() && open->second->in_use) {
        co_return Error{Errc::table_already_open};
    }
    RINGDB_CO_TRY_ASSIGN(auto target, co_await find_table(to));
    if (target) {
        co_return Error{Errc::table_exists};
    }
    stored->schema.name = to;
    RINGDB_CO_TRY(co_await user_tree_.remove(from));
    RINGDB_CO_TRY(co_await user_tree_.put(to, *stored));
    if (open != tables_.end()) {
        auto table = std::move(open->second);
        tables_.erase(open);
        table->schema.name = to;
        tables_.emplace(to, std::move(table));
    }
    if (!replaying_) {
        log_.rename_table(from, to, kind);
    }
    co_return ok();
}

Task<Result<std::vector<std::string>>> WriteTxn::list_tables(TableKind kind) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    auto names = co_await list_table_names(user_tree_.tree(), kind);
    co_return names;
}

Task<Status> WriteTxn::flush_tables() {
    for (auto& [name, table] : tables_) {
        if (table->schema.kind == TableKind::multimap) {
            RINGDB_CO_TRY(co_await multimap_finalize_subtrees(table->tree, table->multimap));
        }
        RINGDB_CO_TRY_ASSIGN(BtreeRoot root, co_await table->tree.finalize());
        StoredTable stored{table->schema, root, table->multimap.pairs, table->dictionary};
        RINGDB_CO_TRY(co_await user_tree_.put(name, stored));
    }
    co_return ok();
}

}  // namespace ringdb::engine
