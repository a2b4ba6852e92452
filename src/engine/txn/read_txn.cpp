#include "engine/txn/read_txn.hpp"

#include <cstring>

#include "engine/btree/cursor.hpp"
#include "engine/txn/dictionaries.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

ReadTxn::ReadTxn(std::shared_ptr<TransactionContext> context, const CommitSlot& slot)
    : TableHost(false),
      context_(std::move(context)),
      slot_(slot),
      pages_(context_->store()),
      user_tree_(pages_, slot.user_root) {}

ReadTxn::~ReadTxn() { context_->release_snapshot(slot_.transaction_id); }

Result<std::shared_ptr<ReadTxn>> ReadTxn::begin(std::shared_ptr<TransactionContext> context) {
    if (context->closed()) {
        return Error{Errc::database_closed};
    }
    CommitSlot slot = context->acquire_snapshot();
    return std::shared_ptr<ReadTxn>(new ReadTxn(std::move(context), slot));
}

Task<Result<std::unique_ptr<OpenTable>>> ReadTxn::open_table(TableSchema schema,
                                                             KeyCompare compare) {
    RINGDB_CO_TRY(check_table_name(schema.name));
    RINGDB_CO_TRY_ASSIGN(auto stored, co_await user_tree_.get(schema.name));
    if (!stored) {
        co_return Error{Errc::table_does_not_exist};
    }
    RINGDB_CO_TRY(check_table_schema(stored->schema, schema));
    const Compression* compression = context_->compression_for(schema);
    auto table = std::make_unique<OpenTable>(pages_, compare, std::move(schema), stored->root);
    table->multimap.pairs = stored->pairs;
    if (compression != nullptr) {
        std::shared_ptr<const CompressionDictionary> dictionary;
        table->dictionary = stored->dictionary;
        if (stored->dictionary != 0) {
            dictionary = context_->dictionaries().find(stored->dictionary);
        }
        if (stored->dictionary != 0 && !dictionary) {
            RINGDB_CO_TRY_ASSIGN(auto holder, co_await user_tree_.get(kDictionaryTable));
            if (!holder) {
                co_return Error{Errc::corrupted};
            }
            RINGDB_CO_TRY_ASSIGN(dictionary, co_await read_dictionary(
                                                     pages_, holder->root, stored->dictionary,
                                                     *compression, context_->dictionaries()));
        }
        table->value_envelope.emplace(*compression, std::move(dictionary));
    }
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
        const bool reserved = !entry->key.empty() && entry->key[0] == std::byte{0xFF};
        if (!reserved &&
            static_cast<TableKind>(std::to_integer<std::uint8_t>(entry->value[0])) == kind) {
            std::string name(entry->key.size(), '\0');
            std::memcpy(name.data(), entry->key.data(), entry->key.size());
            names.push_back(std::move(name));
        }
    }
    co_return names;
}

}  // namespace ringdb::engine
