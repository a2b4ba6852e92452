#pragma once
// The Codec customisation point and the Value/Key concepts.
//
// This header declares `Codec<T>`, the concepts a table's key and value types must satisfy,
// and the helpers shared by the built-in codecs. The full contract a Codec specialisation must
// meet is documented in <ringdb/codec.hpp>, which is the header users include.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include <ringdb/bytes.hpp>
#include <ringdb/result.hpp>
#include <ringdb/type_name.hpp>

namespace ringdb {

/// 128-bit integers ("i128" and "u128", docs/encodings.md). `__extension__` keeps -Wpedantic
/// quiet.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

/// The encoding of T. Not defined: ringdb specialises it for the built-in types and users
/// specialise it for their own (see <ringdb/codec.hpp>).
template <class T>
struct Codec;

/// A type that can be stored as a table key or value: `Codec<T>` is specialised with
/// type_name(), fixed_width, encoded_size(), encode() and decode().
template <class T>
concept Value = std::is_object_v<T> && std::same_as<T, std::remove_cv_t<T>> &&
        requires(const T& value, std::span<std::byte> target, ByteView source) {
    { Codec<T>::type_name() } -> std::same_as<TypeName>;
    requires std::same_as<std::remove_cv_t<decltype(Codec<T>::fixed_width)>,
                          std::optional<std::size_t>>;
    { Codec<T>::encoded_size(value) } -> std::same_as<std::size_t>;
    Codec<T>::encode(value, target);
    { Codec<T>::decode(source) } -> std::same_as<Result<T>>;
};

/// A Value with a total order on its encoded bytes: `Codec<T>::compare(a, b)`.
template <class T>
concept Key = Value<T> && requires(ByteView a, ByteView b) {
    { Codec<T>::compare(a, b) } -> std::same_as<int>;
};

/// A type a multimap table can hold as its values, which it keeps sorted and unique per key:
/// a Key (sorted by Codec<T>::compare), or a Value whose codec declares
/// `static constexpr bool multimap_bytewise = true` (sorted by its encoded bytes: for types
/// without a natural order, such as vectors; equal values are equal bytes).
template <class T>
concept MultimapValueType = Key<T> || (Value<T> && requires {
    requires Codec<T>::multimap_bytewise;
});

namespace detail {

/// Order of encoded bytes: shorter first on a common prefix, like memcmp otherwise.
inline int bytewise_order(ByteView a, ByteView b) noexcept {
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
    }
    return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

/// The order a multimap keeps its values of type T in.
template <MultimapValueType T>
constexpr auto multimap_value_order() noexcept -> int (*)(ByteView, ByteView) {
    if constexpr (Key<T>) {
        return &Codec<T>::compare;
    } else {
        return &bytewise_order;
    }
}

}  // namespace detail

/// The fixed encoded width of T in bytes, or nullopt when T is variable-width.
template <Value T>
inline constexpr std::optional<std::size_t> fixed_width_v = Codec<T>::fixed_width;

/// Encodes `value` into a new byte string (one allocation of exactly the encoded size).
/// To encode without allocating, size a buffer with `Codec<T>::encoded_size(value)` and call
/// `Codec<T>::encode(value, buffer)`.
template <Value T>
Bytes encode(const T& value) {
    Bytes out(Codec<T>::encoded_size(value));
    Codec<T>::encode(value, out);
    return out;
}

/// Decodes the whole of `bytes` as a T. View types (std::string_view, ByteView, and
/// composites holding them) point into `bytes` and must not outlive it.
/// Errors: Errc::corrupted when `bytes` is not a valid encoding of T.
template <Value T>
Result<T> decode(ByteView bytes) {
    return Codec<T>::decode(bytes);
}

/// Compares two encoded keys: negative, zero or positive as `a` orders before, equal to or
/// after `b`.
template <Key T>
int compare_keys(ByteView a, ByteView b) {
    return Codec<T>::compare(a, b);
}

namespace detail {

/// Terminates with a message: a caller broke a codec precondition (a programming error).
[[noreturn]] void codec_contract_violation(const char* what) noexcept;

/// Lexicographic byte order (shorter prefix first): -1, 0 or 1. The built-in codecs also use
/// it as their deterministic fallback order for malformed encodings.
int compare_bytes(ByteView a, ByteView b) noexcept;

/// The varint (docs/encodings.md, "Varint"): < 254 in one byte; <= 65535 as 254 + u16 LE;
/// else 255 + u32 LE.
std::size_t varint_size(std::size_t value) noexcept;

/// Writes the varint of `value` at `target` and returns the number of bytes written.
/// REQUIRES: value <= 0xFFFFFFFF and `target` has room for varint_size(value) bytes.
std::size_t varint_write(std::size_t value, std::byte* target) noexcept;

/// A varint read from the front of a buffer; `size` is 0 when the buffer is truncated.
struct VarintRead {
    std::size_t value = 0;
    std::size_t size = 0;
};
VarintRead varint_read(ByteView source) noexcept;

/// Little-endian store and load of an unsigned integer type (up to UInt128).
template <class U>
constexpr void store_le(std::byte* target, U value) noexcept {
    for (std::size_t i = 0; i < sizeof(U); ++i) {
        target[i] = static_cast<std::byte>(static_cast<unsigned char>(value & 0xffU));
        value = static_cast<U>(value >> 8);
    }
}

template <class U>
constexpr U load_le(const std::byte* source) noexcept {
    U value = 0;
    for (std::size_t i = sizeof(U); i-- > 0;) {
        value = static_cast<U>(static_cast<U>(value << 8) |
                               static_cast<U>(std::to_integer<unsigned>(source[i])));
    }
    return value;
}

/// -1, 0 or 1 for two ordered values.
template <class T>
constexpr int three_way(const T& a, const T& b) noexcept {
    return static_cast<int>(b < a) - static_cast<int>(a < b);
}

}  // namespace detail

}  // namespace ringdb
