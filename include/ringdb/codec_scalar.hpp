#pragma once
// Built-in scalar codecs (docs/encodings.md, "Scalars"): unit, bool, integers, floats and
// char. Strings and byte strings are in <ringdb/codec_bytes.hpp>. See <ringdb/codec.hpp> for
// the Codec contract.
//
//   C++ type                                TypeName   width  key order
//   std::monostate                          ()         0      all equal
//   bool                                    bool       1      false < true
//   [un]signed char .. [unsigned] long long i8..u64    1..8   numeric
//   Int128 / UInt128                        i128/u128  16     numeric
//   std::byte                               u8         1      numeric
//   float / double                          f32/f64    4/8    (values only)
//   char32_t                                char       3      code point
//
// Integers are two's complement little-endian; their compare() decodes both sides, so the
// order is numeric although the bytes are not big-endian.

#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <variant>

#include <ringdb/codec_base.hpp>

namespace ringdb {

namespace detail {

TypeName integer_type_name(std::size_t width_bytes, bool is_signed);

template <class T>
concept CodecInteger = std::same_as<T, std::remove_cv_t<T>> &&
        ((std::is_integral_v<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
          !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> && !std::same_as<T, char16_t> &&
          !std::same_as<T, char32_t>) ||
         std::same_as<T, Int128> || std::same_as<T, UInt128>);

template <std::size_t Width>
struct UnsignedOfWidth;
template <>
struct UnsignedOfWidth<1> {
    using Type = std::uint8_t;
};
template <>
struct UnsignedOfWidth<2> {
    using Type = std::uint16_t;
};
template <>
struct UnsignedOfWidth<4> {
    using Type = std::uint32_t;
};
template <>
struct UnsignedOfWidth<8> {
    using Type = std::uint64_t;
};
template <>
struct UnsignedOfWidth<16> {
    using Type = UInt128;
};

}  // namespace detail

template <>
struct Codec<std::monostate> {
    static TypeName type_name() { return TypeName::builtin("()"); }
    static constexpr std::optional<std::size_t> fixed_width = 0;
    static std::size_t encoded_size(const std::monostate&) noexcept { return 0; }
    static void encode(const std::monostate&, std::span<std::byte>) noexcept {}
    static Result<std::monostate> decode(ByteView bytes) {
        if (!bytes.empty()) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        return std::monostate{};
    }
    static int compare(ByteView, ByteView) noexcept { return 0; }
};

template <>
struct Codec<bool> {
    static TypeName type_name() { return TypeName::builtin("bool"); }
    static constexpr std::optional<std::size_t> fixed_width = 1;
    static std::size_t encoded_size(const bool&) noexcept { return 1; }
    static void encode(const bool& value, std::span<std::byte> target) noexcept {
        target[0] = std::byte{value ? std::uint8_t{1} : std::uint8_t{0}};
    }
    /// Errors: Errc::corrupted unless `bytes` is exactly one byte holding 0 or 1.
    static Result<bool> decode(ByteView bytes) {
        if (bytes.size() != 1 || std::to_integer<unsigned>(bytes[0]) > 1) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        return bytes[0] == std::byte{1};
    }
    static int compare(ByteView a, ByteView b) noexcept { return detail::compare_bytes(a, b); }
};

template <detail::CodecInteger T>
struct Codec<T> {
    using Unsigned = typename detail::UnsignedOfWidth<sizeof(T)>::Type;
    static constexpr bool kSigned = std::is_signed_v<T> || std::same_as<T, Int128>;

    static TypeName type_name() { return detail::integer_type_name(sizeof(T), kSigned); }
    static constexpr std::optional<std::size_t> fixed_width = sizeof(T);
    static std::size_t encoded_size(const T&) noexcept { return sizeof(T); }
    static void encode(const T& value, std::span<std::byte> target) noexcept {
        detail::store_le(target.data(), static_cast<Unsigned>(value));
    }
    /// Errors: Errc::corrupted unless `bytes` has exactly sizeof(T) bytes.
    static Result<T> decode(ByteView bytes) {
        if (bytes.size() != sizeof(T)) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        return static_cast<T>(detail::load_le<Unsigned>(bytes.data()));
    }
    /// Numeric order. Malformed (wrong-length) operands fall back to byte order.
    static int compare(ByteView a, ByteView b) noexcept {
        if (a.size() != sizeof(T) || b.size() != sizeof(T)) {
            return detail::compare_bytes(a, b);
        }
        return detail::three_way(static_cast<T>(detail::load_le<Unsigned>(a.data())),
                                 static_cast<T>(detail::load_le<Unsigned>(b.data())));
    }
};

/// std::byte is "u8": same name, bytes and order as std::uint8_t (docs/encodings.md).
template <>
struct Codec<std::byte> {
    static TypeName type_name() { return Codec<std::uint8_t>::type_name(); }
    static constexpr std::optional<std::size_t> fixed_width = 1;
    static std::size_t encoded_size(const std::byte&) noexcept { return 1; }
    static void encode(const std::byte& value, std::span<std::byte> target) noexcept {
        target[0] = value;
    }
    static Result<std::byte> decode(ByteView bytes) {
        if (bytes.size() != 1) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        return bytes[0];
    }
    static int compare(ByteView a, ByteView b) noexcept { return detail::compare_bytes(a, b); }
};

/// f32 and f64: IEEE-754 little-endian. Values only: floats have no key order.
template <class F>
    requires std::same_as<F, float> || std::same_as<F, double>
struct Codec<F> {
    static_assert(std::numeric_limits<F>::is_iec559);
    using Bits = std::conditional_t<sizeof(F) == 4, std::uint32_t, std::uint64_t>;
    static_assert(sizeof(Bits) == sizeof(F));

    static TypeName type_name() { return TypeName::builtin(sizeof(F) == 4 ? "f32" : "f64"); }
    static constexpr std::optional<std::size_t> fixed_width = sizeof(F);
    static std::size_t encoded_size(const F&) noexcept { return sizeof(F); }
    static void encode(const F& value, std::span<std::byte> target) noexcept {
        detail::store_le(target.data(), std::bit_cast<Bits>(value));
    }
    /// Errors: Errc::corrupted unless `bytes` has exactly sizeof(F) bytes.
    static Result<F> decode(ByteView bytes) {
        if (bytes.size() != sizeof(F)) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        return std::bit_cast<F>(detail::load_le<Bits>(bytes.data()));
    }
};

/// "char": a Unicode scalar value in the low 3 bytes of its LE u32 (docs/encodings.md).
template <>
struct Codec<char32_t> {
    static constexpr bool is_scalar_value(std::uint32_t c) noexcept {
        return c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF);
    }
    static TypeName type_name() { return TypeName::builtin("char"); }
    static constexpr std::optional<std::size_t> fixed_width = 3;
    static std::size_t encoded_size(const char32_t&) noexcept { return 3; }
    /// REQUIRES: `value` is a Unicode scalar value (<= 0x10FFFF, not a surrogate); anything
    /// else terminates the process, because it could not be read back.
    static void encode(const char32_t& value, std::span<std::byte> target) noexcept {
        const auto code = static_cast<std::uint32_t>(value);
        if (!is_scalar_value(code)) {
            detail::codec_contract_violation("char32_t is not a Unicode scalar value");
        }
        std::array<std::byte, 4> le{};
        detail::store_le(le.data(), code);
        std::memcpy(target.data(), le.data(), 3);
    }
    /// Errors: Errc::corrupted unless `bytes` is 3 bytes holding a Unicode scalar value.
    static Result<char32_t> decode(ByteView bytes) {
        if (bytes.size() != 3) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        const std::uint32_t code = load(bytes);
        if (!is_scalar_value(code)) {
            return Error{Errc::corrupted, 0, code};
        }
        return static_cast<char32_t>(code);
    }
    static int compare(ByteView a, ByteView b) noexcept {
        if (a.size() != 3 || b.size() != 3) {
            return detail::compare_bytes(a, b);
        }
        return detail::three_way(load(a), load(b));
    }

private:
    static std::uint32_t load(ByteView bytes) noexcept {
        std::array<std::byte, 4> le{};
        std::memcpy(le.data(), bytes.data(), 3);
        return detail::load_le<std::uint32_t>(le.data());
    }
};

}  // namespace ringdb
