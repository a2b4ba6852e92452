#include "engine/txn/dictionaries.hpp"

#include "engine/table/table_tree.hpp"
#include "engine/txn/write_txn.hpp"

#include "util/try.hpp"

namespace ringdb::engine {

TableSchema dictionary_table_schema() {
    TableSchema schema;
    schema.name = std::string(kDictionaryTable);
    schema.kind = TableKind::normal;
    schema.key_type = TypeName::builtin("[u8;8]");
    schema.value_type = TypeName::builtin("&[u8]");
    schema.key_width = 8;
    schema.value_width = std::nullopt;
    schema.compressible = false;
    return schema;
}

std::array<std::byte, 8> dictionary_key(std::uint64_t id) noexcept {
    std::array<std::byte, 8> key{};
    for (std::size_t i = 0; i < key.size(); ++i) {
        key[i] = static_cast<std::byte>((id >> (56 - 8 * i)) & 0xff);
    }
    return key;
}

Task<Result<std::shared_ptr<const CompressionDictionary>>> read_dictionary(
        TreePages& pages, BtreeRoot root, std::uint64_t id, const Compression& config,
        DictionaryRegistry& registry) {
    Btree tree(pages, &compare_bytes, root);
    const std::array<std::byte, 8> key = dictionary_key(id);
    RINGDB_CO_TRY_ASSIGN(auto found, co_await tree.get(key));
    if (!found) {
        co_return Error{Errc::corrupted};
    }
    RINGDB_CO_TRY_ASSIGN(auto digested, CompressionDictionary::digest(id, found->bytes, config));
    co_return registry.remember(std::move(digested));
}

// WriteTxn's side (write_txn.hpp).

Task<Status> WriteTxn::attach_envelope(OpenTable& table,
                                       const std::optional<StoredTable>& stored) {
    // REQUIRES (open_table checks it): the table's values are compressed.
    const Compression* compression = context_->compression_for(table.schema);
    DictionaryRegistry& registry = context_->dictionaries();
    std::shared_ptr<const CompressionDictionary> dictionary;
    table.dictionary = stored ? stored->dictionary : 0;
    if (table.dictionary != 0) {
        dictionary = registry.find(table.dictionary);
    }
    if (table.dictionary != 0 && !dictionary) {
        RINGDB_CO_TRY_ASSIGN(auto holder, co_await find_table(kDictionaryTable));
        if (!holder) {
            co_return Error{Errc::corrupted};
        }
        RINGDB_CO_TRY_ASSIGN(dictionary, co_await read_dictionary(data_pages_, holder->root,
                                                                  table.dictionary,
                                                                  *compression, registry));
    }
    // Replay applies stored forms and never compresses; only new writes feed a sampler.
    DictionarySampler* sampler =
            dictionary || replaying_ ? nullptr : registry.sampler(table.schema.name);
    table.value_envelope.emplace(*compression, std::move(dictionary), sampler);
    co_return ok();
}

Task<Status> WriteTxn::create_dictionaries() {
    if (replaying_) {
        co_return ok();
    }
    DictionaryRegistry& registry = context_->dictionaries();
    std::vector<OpenTable*> ready;
    for (auto& [name, table] : tables_) {
        if (table->envelope() != nullptr && table->dictionary == 0 &&
            registry.ready_sampler(name) != nullptr) {
            ready.push_back(table.get());
        }
    }
    for (OpenTable* table : ready) {
        const Compression config = table->envelope()->config();
        std::optional<Bytes> trained = registry.ready_sampler(table->schema.name)->train(config);
        if (!trained) {
            continue;  // training failed or did not pay: the table goes on without one
        }
        const std::uint64_t id = dictionary_id(*trained);
        RINGDB_CO_TRY_ASSIGN(auto digested, CompressionDictionary::digest(id, *trained, config));
        RINGDB_CO_TRY_ASSIGN(OpenTable * holder,
                             co_await open_table(dictionary_table_schema(), &compare_bytes, true));
        const std::array<std::byte, 8> key = dictionary_key(id);
        auto inserted = co_await holder->tree.insert(key, *trained);
        close_table(holder);
        if (!inserted) {
            co_return inserted.error();
        }
        registry.remember(std::move(digested));
        table->dictionary = id;
        require_checkpoint();
    }
    co_return ok();
}

Task<Status> WriteTxn::release_dictionary(std::uint64_t id) {
    RINGDB_CO_TRY_ASSIGN(auto tables, co_await collect_tables(user_tree_.tree()));
    for (const auto& [name, stored] : tables) {
        auto open = tables_.find(name);
        const std::uint64_t named =
                open != tables_.end() ? open->second->dictionary : stored.dictionary;
        if (named == id) {
            co_return ok();
        }
    }
    RINGDB_CO_TRY_ASSIGN(OpenTable * holder,
                         co_await open_table(dictionary_table_schema(), &compare_bytes, true));
    const std::array<std::byte, 8> key = dictionary_key(id);
    auto removed = co_await holder->tree.remove(key);
    close_table(holder);
    if (!removed) {
        co_return removed.error();
    }
    co_return ok();
}

}  // namespace ringdb::engine
