#include "engine/txn/read_txn.hpp"

#include <cstring>

#include "engine/btree/cursor.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

ReadTxn::ReadTxn(std::shared_ptr<DatabaseCore> core, const CommitSlot& slot)
    : core_(std::move(core)),
      slot_(slot),
      pages_(core_->store()),
      user_tree_(pages_, slot.user_root) {}

ReadTxn::~ReadTxn() { core_->release_snapshot(slot_.transaction_id); }

Result<std::shared_ptr<ReadTxn>> ReadTxn::begin(std::shared_ptr<DatabaseCore> core) {
    if (core->closed()) {
        return Error{Errc::database_closed};
    }
    CommitSlot slot = core->acquire_snapshot();
    return std::shared_ptr<ReadTxn>(new ReadTxn(std::move(core), slot));
}

Task<Result<std::shared_ptr<ReadTable>>> ReadTxn::open_table(TableSchema schema,
                                                             KeyCompare compare) {
    RINGDB_CO_TRY(check_table_name(schema.name));
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await user_tree_.get(schema.name));
    if (!stored) {
        co_return Error{Errc::table_does_not_exist};
    }
    RINGDB_CO_TRY(check_table_schema(stored->schema, schema));
    auto table = std::make_shared<ReadTable>(shared_from_this(), std::move(schema), compare,
                                             pages_, stored->root);
    table->pairs = stored->pairs;
    co_return table;
}

Task<Result<std::vector<std::string>>> ReadTxn::list_tables(TableKind kind) {
    auto names = co_await list_table_names(user_tree_.tree(), kind);
    co_return names;
}

Task<Result<std::vector<std::string>>> list_table_names(const Btree& tree, TableKind kind) {
    std::vector<std::string> names;
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= tree.length(); ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            break;
        }
        if (entry->value.empty()) {
            co_return Error{Errc::corrupted};
        }
        if (static_cast<TableKind>(std::to_integer<std::uint8_t>(entry->value[0])) == kind) {
            std::string name(entry->key.size(), '\0');
            std::memcpy(name.data(), entry->key.data(), entry->key.size());
            names.push_back(std::move(name));
        }
    }
    co_return names;
}

}  // namespace ringdb::engine
