#pragma once
// Shared helpers of the codec tests: byte literals, a round-trip check, the seed of the
// randomised tests, and a user-defined key codec (the example of <ringdb/codec.hpp>).

#include <compare>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <initializer_list>
#include <optional>
#include <random>
#include <span>

#include <catch2/catch.hpp>

#include <ringdb/codec.hpp>

namespace codec_test {

inline constexpr ringdb::Int128 kI128Min = static_cast<ringdb::Int128>(ringdb::UInt128{1} << 127);
inline constexpr ringdb::Int128 kI128Max =
        static_cast<ringdb::Int128>((ringdb::UInt128{1} << 127) - 1);
inline constexpr ringdb::UInt128 kU128Max = ~ringdb::UInt128{0};

inline ringdb::Bytes bytes_of(std::initializer_list<int> values) {
    ringdb::Bytes out;
    for (const int v : values) {
        out.push_back(static_cast<std::byte>(v));
    }
    return out;
}

/// Encodes, checks the size contract, decodes and returns the decoded value. The encoded
/// buffers are kept until the end of the run, so that decoded views stay valid.
template <ringdb::Value T>
T round_trip(const T& value) {
    static std::deque<ringdb::Bytes> buffers;
    const ringdb::Bytes& encoded = buffers.emplace_back(ringdb::encode(value));
    REQUIRE(encoded.size() == ringdb::Codec<T>::encoded_size(value));
    if constexpr (ringdb::fixed_width_v<T>.has_value()) {
        REQUIRE(encoded.size() == *ringdb::fixed_width_v<T>);
    }
    ringdb::Result<T> decoded = ringdb::Codec<T>::decode(encoded);
    REQUIRE(decoded.has_value());
    if constexpr (ringdb::Key<T>) {
        REQUIRE(ringdb::Codec<T>::compare(encoded, encoded) == 0);
    }
    return std::move(*decoded);
}

/// The seed of the randomised tests: RINGDB_SEED if set, else random; printed once.
inline std::uint64_t seed() {
    static const std::uint64_t value = [] {
        const char* env = std::getenv("RINGDB_SEED");
        const std::uint64_t s =
                env != nullptr ? std::strtoull(env, nullptr, 0) : std::random_device{}();
        std::printf("codec tests: RINGDB_SEED=%llu\n", static_cast<unsigned long long>(s));
        return s;
    }();
    return value;
}

/// A user-defined key: a u64 ordered from largest to smallest.
struct Descending {
    std::uint64_t v = 0;
    friend bool operator==(const Descending&, const Descending&) = default;
    friend std::strong_ordering operator<=>(const Descending& a, const Descending& b) {
        return b.v <=> a.v;
    }
};

}  // namespace codec_test

template <>
struct ringdb::Codec<codec_test::Descending> {
    static TypeName type_name() { return TypeName::user_defined("test::Descending"); }
    static constexpr std::optional<std::size_t> fixed_width = 8;
    static std::size_t encoded_size(const codec_test::Descending&) { return 8; }
    static void encode(const codec_test::Descending& d, std::span<std::byte> target) {
        Codec<std::uint64_t>::encode(d.v, target);
    }
    static Result<codec_test::Descending> decode(ByteView bytes) {
        Result<std::uint64_t> v = Codec<std::uint64_t>::decode(bytes);
        if (!v) {
            return v.error();
        }
        return codec_test::Descending{*v};
    }
    static int compare(ByteView a, ByteView b) { return Codec<std::uint64_t>::compare(b, a); }
};
