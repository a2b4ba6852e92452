#pragma once
// TableDefinition and MultimapTableDefinition: a table's name and its static key and value
// types (docs/encodings.md, "Table definitions").
//
// A definition is a small copyable value, usually a constexpr global:
//
//   constexpr ringdb::TableDefinition<std::uint64_t, std::string_view> kUsers("users");
//
// It does not own its name: the characters must outlive the definition (string literals do).
// The name must be 1..kMaxTableNameLength bytes. An invalid name in a constexpr definition is
// a compile error (the diagnostic names `table_name_must_be_1_to_65535_bytes`); a definition
// built at run time with an invalid name is refused when a table is opened with it
// (Errc::invalid_argument, from check_table_name()).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <ringdb/codec.hpp>
#include <ringdb/table_schema.hpp>

namespace ringdb {

namespace detail {

/// Not constexpr on purpose: reaching it during constant evaluation fails compilation.
inline void table_name_must_be_1_to_65535_bytes() noexcept {}

constexpr void table_definition_check_name(std::string_view name) noexcept {
    if (std::is_constant_evaluated() && (name.empty() || name.size() > kMaxTableNameLength)) {
        table_name_must_be_1_to_65535_bytes();
    }
}

/// True when T's fixed width (if any) is within kMaxValueLength.
template <class T>
inline constexpr bool table_width_fits =
        !Codec<T>::fixed_width.has_value() || *Codec<T>::fixed_width <= kMaxValueLength;

template <class T>
std::optional<std::uint32_t> table_definition_width() {
    if constexpr (Codec<T>::fixed_width.has_value()) {
        return static_cast<std::uint32_t>(*Codec<T>::fixed_width);
    } else {
        return std::nullopt;
    }
}

/// Codec<T>::compressible when the codec declares it, else true.
template <class T>
constexpr bool value_compressible() noexcept {
    if constexpr (requires { Codec<T>::compressible; }) {
        return Codec<T>::compressible;
    } else {
        return true;
    }
}

template <class K, class V>
TableSchema table_definition_schema(std::string_view name, TableKind kind) {
    return TableSchema{std::string(name),           kind,
                       Codec<K>::type_name(),       Codec<V>::type_name(),
                       table_definition_width<K>(), table_definition_width<V>(),
                       value_compressible<V>()};
}

}  // namespace detail

/// A table mapping each K to one V.
template <Key K, Value V>
class TableDefinition {
    static_assert(detail::table_width_fits<K>, "the key's fixed width exceeds kMaxValueLength");
    static_assert(detail::table_width_fits<V>, "the value's fixed width exceeds kMaxValueLength");

public:
    using KeyType = K;
    using ValueType = V;

    /// REQUIRES: `name` outlives the definition. See the header comment for name rules.
    constexpr explicit TableDefinition(std::string_view name) noexcept : name_(name) {
        detail::table_definition_check_name(name);
    }

    constexpr std::string_view name() const noexcept { return name_; }

    /// The schema a table opened with this definition must match (kind normal).
    TableSchema schema() const {
        return detail::table_definition_schema<K, V>(name_, TableKind::normal);
    }

private:
    std::string_view name_;
};

/// A table mapping each K to a set of V; values are kept sorted, so V is a Key or a
/// bytewise-ordered value type (MultimapValueType).
template <Key K, MultimapValueType V>
class MultimapTableDefinition {
    static_assert(detail::table_width_fits<K>, "the key's fixed width exceeds kMaxValueLength");
    static_assert(detail::table_width_fits<V>, "the value's fixed width exceeds kMaxValueLength");

public:
    using KeyType = K;
    using ValueType = V;

    /// REQUIRES: `name` outlives the definition. See the header comment for name rules.
    constexpr explicit MultimapTableDefinition(std::string_view name) noexcept : name_(name) {
        detail::table_definition_check_name(name);
    }

    constexpr std::string_view name() const noexcept { return name_; }

    /// The schema a table opened with this definition must match (kind multimap).
    TableSchema schema() const {
        return detail::table_definition_schema<K, V>(name_, TableKind::multimap);
    }

private:
    std::string_view name_;
};

}  // namespace ringdb
