#include "engine/table/table_tree.hpp"

#include <cstring>

#include "engine/btree/cursor.hpp"
#include "util/endian.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

constexpr std::uint32_t kVariableWidth = 0xFFFFFFFF;
constexpr std::size_t kFixedPart = 44;
// A multimap definition also stores its number of pairs (u64) after the fixed part; a normal
// table with a compression dictionary stores the dictionary's id (u64) there, and says so with
// bit 0 of byte 1. No other flag bit is defined.
constexpr std::size_t kPairsSize = 8;
constexpr std::size_t kDictionarySize = 8;
constexpr std::uint8_t kHasDictionary = 1;

std::size_t names_offset(TableKind kind, std::uint8_t flags) {
    if (kind == TableKind::multimap) {
        return kFixedPart + kPairsSize;
    }
    return (flags & kHasDictionary) != 0 ? kFixedPart + kDictionarySize : kFixedPart;
}

std::uint32_t encode_width(const std::optional<std::uint32_t>& width) {
    return width ? *width : kVariableWidth;
}

std::optional<std::uint32_t> decode_width(std::uint32_t raw) {
    if (raw == kVariableWidth) {
        return std::nullopt;
    }
    return raw;
}

}  // namespace

Bytes StoredTable::encode() const {
    Bytes key_name = schema.key_type.encode();
    Bytes value_name = schema.value_type.encode();
    const bool dictionary_kept = dictionary != 0 && schema.kind == TableKind::normal;
    const std::uint8_t flags = dictionary_kept ? kHasDictionary : 0;
    const std::size_t names = names_offset(schema.kind, flags);
    Bytes out(names + key_name.size() + value_name.size());
    out[0] = static_cast<std::byte>(schema.kind);
    out[1] = static_cast<std::byte>(flags);
    util::store_le16(out.data() + 2, static_cast<std::uint16_t>(key_name.size()));
    util::store_le32(out.data() + 4, encode_width(schema.key_width));
    util::store_le32(out.data() + 8, encode_width(schema.value_width));
    root.encode(out.data() + 12);
    if (schema.kind == TableKind::multimap) {
        util::store_le64(out.data() + kFixedPart, pairs);
    }
    if (dictionary_kept) {
        util::store_le64(out.data() + kFixedPart, dictionary);
    }
    std::memcpy(out.data() + names, key_name.data(), key_name.size());
    std::memcpy(out.data() + names + key_name.size(), value_name.data(), value_name.size());
    return out;
}

Result<StoredTable> StoredTable::decode(std::string_view name, ByteView bytes) {
    if (bytes.size() < kFixedPart) {
        return Error{Errc::corrupted, 0, bytes.size()};
    }
    auto kind = std::to_integer<std::uint8_t>(bytes[0]);
    if (kind != static_cast<std::uint8_t>(TableKind::normal) &&
        kind != static_cast<std::uint8_t>(TableKind::multimap)) {
        return Error{Errc::corrupted, 0, 0};
    }
    const auto flags = std::to_integer<std::uint8_t>(bytes[1]);
    if ((flags & ~kHasDictionary) != 0 ||
        (flags != 0 && kind != static_cast<std::uint8_t>(TableKind::normal))) {
        return Error{Errc::corrupted, 0, 1};
    }
    const std::size_t names = names_offset(static_cast<TableKind>(kind), flags);
    if (bytes.size() < names) {
        return Error{Errc::corrupted, 0, bytes.size()};
    }
    std::size_t key_name_length = util::load_le16(bytes.data() + 2);
    if (names + key_name_length > bytes.size()) {
        return Error{Errc::corrupted, 0, 2};
    }
    StoredTable table;
    table.schema.name = std::string(name);
    table.schema.kind = static_cast<TableKind>(kind);
    table.schema.key_width = decode_width(util::load_le32(bytes.data() + 4));
    table.schema.value_width = decode_width(util::load_le32(bytes.data() + 8));
    table.root = BtreeRoot::decode(bytes.data() + 12);
    if (table.schema.kind == TableKind::multimap) {
        table.pairs = util::load_le64(bytes.data() + kFixedPart);
    }
    if ((flags & kHasDictionary) != 0) {
        table.dictionary = util::load_le64(bytes.data() + kFixedPart);
        if (table.dictionary == 0) {
            return Error{Errc::corrupted, 0, kFixedPart};
        }
    }
    auto key_type = TypeName::decode(bytes.subspan(names, key_name_length));
    auto value_type = TypeName::decode(bytes.subspan(names + key_name_length));
    if (!key_type || !value_type) {
        return Error{Errc::corrupted, 0, names};
    }
    table.schema.key_type = *key_type;
    table.schema.value_type = *value_type;
    if (!table.root.page.is_null() && !table.root.page.is_valid()) {
        return Error{Errc::corrupted, 0, 12};
    }
    return table;
}

Task<Result<std::optional<StoredTable>>> TableTree::get(std::string_view name) const {
    RINGDB_CO_TRY_ASSIGN(auto found, co_await tree_.get(name_bytes(name)));
    if (!found) {
        co_return std::optional<StoredTable>{};
    }
    RINGDB_CO_TRY_ASSIGN(StoredTable table, StoredTable::decode(name, found->bytes));
    co_return std::optional<StoredTable>{std::move(table)};
}

Task<Status> TableTree::put(std::string_view name, const StoredTable& table) {
    Bytes encoded = table.encode();
    RINGDB_CO_TRY(co_await tree_.insert(name_bytes(name), encoded));
    co_return ok();
}

Task<Result<bool>> TableTree::remove(std::string_view name) {
    RINGDB_CO_TRY_ASSIGN(auto old, co_await tree_.remove(name_bytes(name)));
    co_return old.has_value();
}

Task<Result<std::vector<std::pair<std::string, StoredTable>>>> collect_tables(const Btree& tree) {
    std::vector<std::pair<std::string, StoredTable>> tables;
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= tree.length(); ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            co_return tables;
        }
        std::string name(entry->key.size(), '\0');
        std::memcpy(name.data(), entry->key.data(), entry->key.size());
        RINGDB_CO_TRY_ASSIGN(StoredTable table, StoredTable::decode(name, entry->value));
        tables.emplace_back(std::move(name), std::move(table));
    }
    co_return Error{Errc::corrupted};
}

}  // namespace ringdb::engine
