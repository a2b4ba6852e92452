#pragma once
// Vector value types and their codecs (docs/encodings.md, "Vectors"; docs/vectors.md):
//
//   type                  bytes     encoding
//   FixedVec<N>           4 N       N f32, little-endian
//   DynVec                4 n       n f32, little-endian (any n per row)
//   BinaryQuantized<N>    N         N bytes: 8 N sign bits, most significant bit first
//   ScalarQuantized<N>    8 + N     min f32, max f32, then N one-byte codes
//
// They are values only (no key order). Fixed-width ones pack tightly in leaves and can be
// filled in place with Table::insert_reserve and write_f32_le. Decoding a buffer of the wrong
// length is Errc::corrupted.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <ringdb/codec_base.hpp>

namespace ringdb {

/// N f32 values.
template <std::size_t N>
struct FixedVec {
    std::array<float, N> values{};

    std::span<const float> span() const noexcept { return values; }
    friend bool operator==(const FixedVec&, const FixedVec&) = default;
};

/// Any number of f32 values.
struct DynVec {
    std::vector<float> values;

    std::span<const float> span() const noexcept { return values; }
    friend bool operator==(const DynVec&, const DynVec&) = default;
};

/// 8 N sign bits (quantize_binary of an 8 N-element vector).
template <std::size_t N>
struct BinaryQuantized {
    std::array<std::uint8_t, N> bits{};

    std::span<const std::uint8_t> span() const noexcept { return bits; }
    friend bool operator==(const BinaryQuantized&, const BinaryQuantized&) = default;
};

/// N elements quantised to one byte each between min and max (quantize_scalar).
template <std::size_t N>
struct ScalarQuantized {
    float min = 0.0F;
    float max = 0.0F;
    std::array<std::uint8_t, N> codes{};

    /// The elements it stands for: min + code * (max - min) / 255, or min when max == min.
    std::array<float, N> dequantize() const noexcept {
        std::array<float, N> values{};
        const float range = max - min;
        const float step = range == 0.0F ? 0.0F : range / 255.0F;
        for (std::size_t i = 0; i < N; ++i) {
            values[i] = min + static_cast<float>(codes[i]) * step;
        }
        return values;
    }
    friend bool operator==(const ScalarQuantized&, const ScalarQuantized&) = default;
};

namespace detail {

inline void store_f32s(std::span<const float> values, std::byte* target) noexcept {
    for (std::size_t i = 0; i < values.size(); ++i) {
        store_le<std::uint32_t>(target + 4 * i, std::bit_cast<std::uint32_t>(values[i]));
    }
}

inline void load_f32s(const std::byte* source, std::span<float> values) noexcept {
    for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] = std::bit_cast<float>(load_le<std::uint32_t>(source + 4 * i));
    }
}

inline std::string sized_vector_name(const char* kind, std::size_t n) {
    return std::string("redb::vec::") + kind + "<" + std::to_string(n) + ">";
}

}  // namespace detail

template <std::size_t N>
struct Codec<FixedVec<N>> {
    static TypeName type_name() {
        return TypeName::builtin(detail::sized_vector_name("FixedVec", N));
    }
    static constexpr std::optional<std::size_t> fixed_width = 4 * N;
    static constexpr bool multimap_bytewise = true;  // no natural order
    static constexpr bool compressible = false;      // scanned in place by nearest_k
    static std::size_t encoded_size(const FixedVec<N>&) noexcept { return 4 * N; }
    /// REQUIRES: target.size() == 4 N.
    static void encode(const FixedVec<N>& value, std::span<std::byte> target) noexcept {
        detail::store_f32s(value.values, target.data());
    }
    /// Errors: corrupted unless bytes.size() == 4 N.
    static Result<FixedVec<N>> decode(ByteView bytes) {
        if (bytes.size() != 4 * N) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        FixedVec<N> value;
        detail::load_f32s(bytes.data(), value.values);
        return value;
    }
};

template <>
struct Codec<DynVec> {
    static TypeName type_name() { return TypeName::builtin("redb::vec::DynVec"); }
    static constexpr std::optional<std::size_t> fixed_width = std::nullopt;
    static constexpr bool multimap_bytewise = true;  // no natural order
    static constexpr bool compressible = false;      // scanned in place by nearest_k
    static std::size_t encoded_size(const DynVec& value) noexcept {
        return 4 * value.values.size();
    }
    /// REQUIRES: target.size() == encoded_size(value).
    static void encode(const DynVec& value, std::span<std::byte> target) noexcept {
        detail::store_f32s(value.values, target.data());
    }
    /// Errors: corrupted unless bytes.size() is a multiple of 4.
    static Result<DynVec> decode(ByteView bytes) {
        if (bytes.size() % 4 != 0) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        DynVec value;
        value.values.resize(bytes.size() / 4);
        detail::load_f32s(bytes.data(), value.values);
        return value;
    }
};

template <std::size_t N>
struct Codec<BinaryQuantized<N>> {
    static TypeName type_name() {
        return TypeName::builtin(detail::sized_vector_name("BinaryQuantized", N));
    }
    static constexpr std::optional<std::size_t> fixed_width = N;
    static constexpr bool multimap_bytewise = true;  // no natural order
    static constexpr bool compressible = false;      // scanned in place by nearest_k
    static std::size_t encoded_size(const BinaryQuantized<N>&) noexcept { return N; }
    /// REQUIRES: target.size() == N.
    static void encode(const BinaryQuantized<N>& value, std::span<std::byte> target) noexcept {
        for (std::size_t i = 0; i < N; ++i) {
            target[i] = static_cast<std::byte>(value.bits[i]);
        }
    }
    /// Errors: corrupted unless bytes.size() == N.
    static Result<BinaryQuantized<N>> decode(ByteView bytes) {
        if (bytes.size() != N) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        BinaryQuantized<N> value;
        for (std::size_t i = 0; i < N; ++i) {
            value.bits[i] = std::to_integer<std::uint8_t>(bytes[i]);
        }
        return value;
    }
};

template <std::size_t N>
struct Codec<ScalarQuantized<N>> {
    static TypeName type_name() {
        return TypeName::builtin(detail::sized_vector_name("ScalarQuantized", N));
    }
    static constexpr std::optional<std::size_t> fixed_width = 8 + N;
    static constexpr bool multimap_bytewise = true;  // no natural order
    static constexpr bool compressible = false;      // scanned in place by nearest_k
    static std::size_t encoded_size(const ScalarQuantized<N>&) noexcept { return 8 + N; }
    /// REQUIRES: target.size() == 8 + N.
    static void encode(const ScalarQuantized<N>& value, std::span<std::byte> target) noexcept {
        const float bounds[2] = {value.min, value.max};
        detail::store_f32s(bounds, target.data());
        for (std::size_t i = 0; i < N; ++i) {
            target[8 + i] = static_cast<std::byte>(value.codes[i]);
        }
    }
    /// Errors: corrupted unless bytes.size() == 8 + N.
    static Result<ScalarQuantized<N>> decode(ByteView bytes) {
        if (bytes.size() != 8 + N) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        ScalarQuantized<N> value;
        float bounds[2];
        detail::load_f32s(bytes.data(), bounds);
        value.min = bounds[0];
        value.max = bounds[1];
        for (std::size_t i = 0; i < N; ++i) {
            value.codes[i] = std::to_integer<std::uint8_t>(bytes[8 + i]);
        }
        return value;
    }
};

}  // namespace ringdb
