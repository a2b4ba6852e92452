// System table names, schemas and record codecs (see system_tables.hpp).

#include "engine/txn/system_tables.hpp"

#include <string>

#include "util/endian.hpp"

namespace ringdb::engine {

namespace {

constexpr std::uint8_t kSavepointVersion = 1;

void store_be(std::byte* target, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) {
        target[i] = static_cast<std::byte>(value >> (8 * (bytes - 1 - i)));
    }
}

std::uint64_t load_be(const std::byte* source, int bytes) {
    std::uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) {
        value = (value << 8) | std::to_integer<std::uint64_t>(source[i]);
    }
    return value;
}

TableSchema system_schema(std::string_view name, const char* key_type, const char* value_type,
                          std::uint32_t key_width) {
    TableSchema schema;
    schema.name = std::string(name);
    schema.kind = TableKind::normal;
    schema.key_type = TypeName::builtin(key_type);
    schema.value_type = TypeName::builtin(value_type);
    schema.key_width = key_width;
    return schema;
}

}  // namespace

TableSchema page_list_schema(std::string_view name) {
    return system_schema(name, "ringdb::FreedKey", "ringdb::PageList", 12);
}

TableSchema freed_table_schema() { return page_list_schema(kFreedTable); }

TableSchema savepoints_schema() {
    return system_schema(kSavepointsTable, "ringdb::SavepointId", "ringdb::SavepointRecord", 8);
}

TableSchema next_savepoint_schema() {
    return system_schema(kNextSavepointTable, "ringdb::Unit", "u64", 1);
}

PageListKey page_list_key(std::uint64_t transaction_id, std::uint32_t sequence) {
    PageListKey key{};
    store_be(key.data(), transaction_id, 8);
    store_be(key.data() + 8, sequence, 4);
    return key;
}

Result<std::uint64_t> page_list_key_transaction(ByteView key) {
    if (key.size() != 12) {
        return Error{Errc::corrupted, 0, key.size()};
    }
    return load_be(key.data(), 8);
}

Bytes encode_page_list(std::span<const PageNumber> pages) {
    Bytes value(pages.size() * 8);
    for (std::size_t i = 0; i < pages.size(); ++i) {
        util::store_le64(value.data() + 8 * i, pages[i].raw());
    }
    return value;
}

Result<std::vector<PageNumber>> decode_page_list(ByteView value) {
    if (value.size() % 8 != 0 || value.size() / 8 > kPageListChunk) {
        return Error{Errc::corrupted, 0, value.size()};
    }
    std::vector<PageNumber> pages;
    pages.reserve(value.size() / 8);
    for (std::size_t i = 0; i < value.size(); i += 8) {
        pages.push_back(PageNumber::from_raw(util::load_le64(value.data() + i)));
    }
    return pages;
}

Bytes SavepointRecord::encode() const {
    Bytes bytes(kEncodedSize);
    bytes[0] = std::byte{kSavepointVersion};
    util::store_le64(bytes.data() + 8, id);
    util::store_le64(bytes.data() + 16, transaction_id);
    user_root.encode(bytes.data() + 24);
    return bytes;
}

Result<SavepointRecord> SavepointRecord::decode(ByteView bytes) {
    if (bytes.size() != kEncodedSize) {
        return Error{Errc::corrupted, 0, bytes.size()};
    }
    if (std::to_integer<std::uint8_t>(bytes[0]) != kSavepointVersion) {
        return Error{Errc::corrupted, 0, 0};
    }
    SavepointRecord record;
    record.id = util::load_le64(bytes.data() + 8);
    record.transaction_id = util::load_le64(bytes.data() + 16);
    record.user_root = BtreeRoot::decode(bytes.data() + 24);
    if (record.id == 0) {
        return Error{Errc::corrupted, 0, 8};
    }
    return record;
}

SavepointKey savepoint_key(std::uint64_t id) {
    SavepointKey key{};
    store_be(key.data(), id, 8);
    return key;
}

Result<std::uint64_t> savepoint_key_id(ByteView key) {
    if (key.size() != 8) {
        return Error{Errc::corrupted, 0, key.size()};
    }
    return load_be(key.data(), 8);
}

}  // namespace ringdb::engine
