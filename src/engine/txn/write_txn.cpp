#include "engine/txn/write_txn.hpp"

#include <algorithm>
#include <cstring>

#include "engine/btree/cursor.hpp"
#include "engine/txn/read_txn.hpp"
#include "util/assert.hpp"
#include "util/endian.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

constexpr std::string_view kFreedTable = "freed";
// Page numbers per `freed` entry.
constexpr std::size_t kFreedChunk = 500;
// Recording freed blocks can free more blocks (copy-on-write of the system trees); after the
// first round every touched page is dirty, so a few rounds always suffice.
constexpr int kFreedRounds = 16;

std::array<std::byte, 12> freed_key(std::uint64_t txn, std::uint32_t sequence) {
    std::array<std::byte, 12> key{};
    for (int i = 0; i < 8; ++i) {
        key[static_cast<std::size_t>(i)] = static_cast<std::byte>(txn >> (56 - 8 * i));
    }
    for (int i = 0; i < 4; ++i) {
        key[static_cast<std::size_t>(8 + i)] =
                static_cast<std::byte>(sequence >> (24 - 8 * i));
    }
    return key;
}

std::uint64_t freed_key_txn(ByteView key) {
    std::uint64_t txn = 0;
    for (std::size_t i = 0; i < 8 && i < key.size(); ++i) {
        txn = (txn << 8) | std::to_integer<std::uint64_t>(key[i]);
    }
    return txn;
}

}  // namespace

TableSchema freed_table_schema() {
    TableSchema schema;
    schema.name = std::string(kFreedTable);
    schema.kind = TableKind::normal;
    schema.key_type = TypeName::builtin("ringdb::FreedKey");
    schema.value_type = TypeName::builtin("ringdb::PageList");
    schema.key_width = 12;
    return schema;
}

WriteTxn::WriteTxn(std::shared_ptr<DatabaseCore> core, coro::AsyncLockGuard lock,
                   std::uint64_t id, const CommitSlot& base)
    : core_(std::move(core)),
      lock_(std::move(lock)),
      id_(id),
      pages_(core_->store()),
      user_tree_(pages_, base.user_root),
      system_tree_(pages_, base.system_root) {}

WriteTxn::~WriteTxn() { abort(); }

Task<Result<std::shared_ptr<WriteTxn>>> WriteTxn::begin(std::shared_ptr<DatabaseCore> core) {
    if (core->read_only()) {
        co_return Error{Errc::invalid_argument};
    }
    if (core->closed()) {
        co_return Error{Errc::database_closed};
    }
    coro::AsyncLockGuard lock = co_await core->writer_mutex().scoped_lock();
    if (core->closed()) {
        co_return Error{Errc::database_closed};
    }
    if (core->store().poisoned()) {
        co_return Error{Errc::previous_io};
    }
    core->set_writer_active(true);
    CommitSlot base = core->store().current();
    std::uint64_t id = core->next_transaction_id();
    std::shared_ptr<WriteTxn> txn(new WriteTxn(core, std::move(lock), id, base));
    co_return txn;
}

void WriteTxn::finish() noexcept {
    tables_.clear();
    core_->set_writer_active(false);
    lock_ = coro::AsyncLockGuard{};
}

void WriteTxn::abort() noexcept {
    if (state_ != State::active) {
        return;
    }
    state_ = State::aborted;
    tables_.clear();
    pages_.rollback();
    finish();
}

Task<Result<std::optional<StoredTable>>> WriteTxn::find_table(std::string_view name) {
    auto open = tables_.find(std::string(name));
    if (open != tables_.end()) {
        StoredTable staged{open->second->schema, open->second->tree.root()};
        co_return std::optional<StoredTable>{std::move(staged)};
    }
    auto found = co_await user_tree_.get(name);
    co_return found;
}

Task<Result<OpenTable*>> WriteTxn::open_table(TableSchema schema, KeyCompare compare) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    RINGDB_CO_TRY(check_table_name(schema.name));
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
    if (stored) {
        RINGDB_CO_TRY(check_table_schema(stored->schema, schema));
        root = stored->root;
    } else {
        // Record the new table at once so that list_tables sees it; its root is written at
        // commit.
        StoredTable fresh{schema, BtreeRoot{}};
        RINGDB_CO_TRY(co_await user_tree_.put(schema.name, fresh));
    }
    auto table = std::make_unique<OpenTable>(pages_, compare, schema, root);
    OpenTable* raw = table.get();
    raw->in_use = true;
    tables_.emplace(schema.name, std::move(table));
    co_return raw;
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
        RINGDB_CO_TRY(co_await open->second->tree.free_all());
        tables_.erase(open);
    } else {
        Btree tree(pages_, &compare_bytes, stored->root);
        RINGDB_CO_TRY(co_await tree.free_all());
    }
    RINGDB_CO_TRY(co_await user_tree_.remove(name));
    co_return true;
}

Task<Status> WriteTxn::rename_table(std::string from, std::string to, TableKind kind) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    RINGDB_CO_TRY(check_table_name(to));
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
        RINGDB_CO_TRY_ASSIGN(BtreeRoot root, co_await table->tree.finalize());
        StoredTable stored{table->schema, root};
        RINGDB_CO_TRY(co_await user_tree_.put(name, stored));
    }
    co_return ok();
}

Task<Status> WriteTxn::reclaim_freed(Btree& freed) {
    std::uint64_t bound = core_->reclaim_bound();
    // Each round removes one entry; the tree shrinks, so this ends.
    for (std::uint64_t round = 0; round <= freed.length() + 1; ++round) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await freed.first());
        if (!entry || freed_key_txn(entry->key) > bound) {
            break;
        }
        if (entry->value.size() % 8 != 0) {
            co_return Error{Errc::corrupted};
        }
        for (std::size_t i = 0; i < entry->value.size(); i += 8) {
            auto page = PageNumber::from_raw(util::load_le64(entry->value.data() + i));
            RINGDB_CO_TRY(core_->store().free_committed(page));
            reclaimed_.push_back(page);
        }
        Bytes key(entry->key.begin(), entry->key.end());
        RINGDB_CO_TRY(co_await freed.remove(key));
    }
    co_return ok();
}

Task<Status> WriteTxn::record_freed(Btree& freed, std::uint32_t& sequence) {
    std::vector<PageNumber> pages = pages_.take_freed();
    for (std::size_t start = 0; start < pages.size(); start += kFreedChunk) {
        std::size_t count = std::min(kFreedChunk, pages.size() - start);
        Bytes value(count * 8);
        for (std::size_t i = 0; i < count; ++i) {
            util::store_le64(value.data() + 8 * i, pages[start + i].raw());
        }
        auto key = freed_key(id_, sequence++);
        RINGDB_CO_TRY(co_await freed.insert(key, value));
    }
    co_return ok();
}

Task<Status> WriteTxn::commit_system_tables() {
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await system_tree_.get(kFreedTable));
    BtreeRoot freed_root = stored ? stored->root : BtreeRoot{};
    Btree freed(pages_, &compare_bytes, freed_root);
    RINGDB_CO_TRY(co_await reclaim_freed(freed));
    std::uint32_t sequence = 0;
    for (int round = 0; round < kFreedRounds; ++round) {
        RINGDB_CO_TRY(co_await record_freed(freed, sequence));
        RINGDB_CO_TRY_ASSIGN(BtreeRoot root, co_await freed.finalize());
        StoredTable table{freed_table_schema(), root};
        RINGDB_CO_TRY(co_await system_tree_.put(kFreedTable, table));
        if (pages_.freed_count() == 0) {
            co_return ok();
        }
    }
    RINGDB_ASSERT(false && "recording freed pages did not converge");
    co_return Error{Errc::corrupted};
}

Task<Status> WriteTxn::commit(CommitOptions options) {
    if (state_ != State::active) {
        co_return Error{Errc::transaction_finished};
    }
    // Whatever happens now, the transaction is over; a failure leaves the database poisoned
    // or unchanged (nothing reaches the header unless every step succeeded).
    state_ = State::committed;
    Status status = co_await flush_tables();
    if (status) {
        status = co_await commit_system_tables();
    }
    BtreeRoot user_root;
    BtreeRoot system_root;
    if (status) {
        auto user = co_await user_tree_.tree().finalize();
        auto system = co_await system_tree_.tree().finalize();
        if (!user || !system) {
            status = !user ? user.error() : system.error();
        } else {
            user_root = *user;
            system_root = *system;
        }
    }
    if (status) {
        CommitRequest request;
        request.transaction_id = id_;
        request.user_root = user_root;
        request.system_root = system_root;
        request.dirty_pages = pages_.take_dirty();
        request.durability = options.durability;
        request.two_phase = options.two_phase;
        request.save_allocator_state = options.quick_repair;
        request.shrink = options.shrink;
        status = co_await core_->store().commit(std::move(request));
    }
    tables_.clear();
    if (status) {
        core_->advance_transaction_id();
    } else {
        pages_.rollback();
        // A commit that failed without poisoning the store (a failed read) must leave the
        // allocator as it was: the reclaimed blocks are still listed in the committed `freed`
        // table, and freeing them twice, or handing them out while listed, would corrupt it.
        if (!core_->store().poisoned()) {
            for (PageNumber page : reclaimed_) {
                core_->store().restore_committed(page);
            }
        }
    }
    reclaimed_.clear();
    finish();
    co_return status;
}

}  // namespace ringdb::engine
