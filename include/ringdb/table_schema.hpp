#pragma once
// TableSchema: the untyped description of a table that the engine stores in its table tree
// and compares on every open (docs/encodings.md, "Schema checks on open"), plus the key/value
// size limits (docs/encodings.md, "Size limits").
//
// A typed TableDefinition (<ringdb/table_definition.hpp>) produces the requested schema; the
// engine decodes the stored one. Neither check touches the disk; both are thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <ringdb/result.hpp>
#include <ringdb/type_name.hpp>

namespace ringdb {

/// A key or a value may be at most 3 GiB long (each separately).
inline constexpr std::uint64_t kMaxValueLength = std::uint64_t{3} << 30;

/// A key plus its value may be at most 3 GiB + 768 MiB long.
inline constexpr std::uint64_t kMaxPairLength = kMaxValueLength + (std::uint64_t{768} << 20);

/// A table name is 1 to 65535 bytes (docs/design.md section 6).
inline constexpr std::size_t kMaxTableNameLength = 65535;

/// Bits of Error::detail for table_type_mismatch and type_definition_changed: which side
/// differs.
inline constexpr std::uint64_t kSchemaKeyDiffers = 1;
inline constexpr std::uint64_t kSchemaValueDiffers = 2;

enum class TableKind : std::uint8_t {
    normal = 1,
    multimap = 2,
};

struct TableSchema {
    std::string name;
    TableKind kind = TableKind::normal;
    TypeName key_type;
    TypeName value_type;
    std::optional<std::uint32_t> key_width;    // fixed key width; nullopt = variable
    std::optional<std::uint32_t> value_width;  // fixed value width; nullopt = variable
    /// Whether the value type allows compression in a compressed database (its codec's
    /// `compressible`, default true). Not stored: it follows from the value type.
    bool compressible = true;

    friend bool operator==(const TableSchema& a, const TableSchema& b) = default;
};

/// Checks that a table stored as `stored` may be opened as `requested`, in this order
/// (names are not compared: the caller looked the table up by name):
///   1. kinds differ: Errc::table_is_multimap (stored is a multimap, a normal table was
///      requested) or Errc::table_is_not_multimap (the reverse);
///   2. key or value TypeNames differ: Errc::table_type_mismatch;
///   3. same names but a different fixed width: Errc::type_definition_changed.
/// For 2 and 3, Error::detail holds kSchemaKeyDiffers | kSchemaValueDiffers for the sides that
/// differ. Returns success when the schemas match.
Status check_table_schema(const TableSchema& stored, const TableSchema& requested);

/// Checks a table name. Errors: Errc::invalid_argument (detail: the length) when the name is
/// empty or longer than kMaxTableNameLength; Errc::invalid_argument (detail 0) when its first
/// byte is 0xFF, which no UTF-8 text begins with: such names are reserved for the engine's own
/// tables.
Status check_table_name(std::string_view name);

/// Checks one key or value length against kMaxValueLength.
/// Errors: Errc::value_too_large with the length in Error::detail.
Status check_value_length(std::uint64_t length);

/// Checks a key/value pair: each side against kMaxValueLength (key first), then the sum
/// against kMaxPairLength. Errors: Errc::value_too_large with the offending length (the key's,
/// the value's, or the sum) in Error::detail.
Status check_pair_length(std::uint64_t key_length, std::uint64_t value_length);

/// The display form "name<KeyTypeName, ValueTypeName>" (docs/encodings.md, "Table
/// definitions").
std::string to_string(const TableSchema& schema);

}  // namespace ringdb
