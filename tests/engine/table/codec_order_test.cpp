// The key order of every built-in Key codec must agree with its encoding: for random values a
// and b, Codec<K>::compare(encode(a), encode(b)) has the sign of a <=> b. Values are drawn from
// small domains mixed with extremes, so that ties, prefixes and sign boundaries are frequent.
// The seed is printed; set RINGDB_SEED to replay a failure.

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/codec.hpp>

#include "engine/table/codec_test_support.hpp"

using codec_test::Descending;
using ringdb::Bytes;
using ringdb::ByteView;
using ringdb::Codec;
using ringdb::Int128;
using ringdb::UInt128;

namespace {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsArray : std::false_type {};
template <class T, std::size_t N>
struct IsArray<std::array<T, N>> : std::true_type {};
template <class T>
struct IsTuple : std::false_type {};
template <class... Ts>
struct IsTuple<std::tuple<Ts...>> : std::true_type {};

/// Random values of any key type under test. Views point into storage owned by the generator.
class Generator {
public:
    explicit Generator(std::uint64_t seed) : rng_(seed) {}

    template <class T>
    T make() {
        if constexpr (std::is_same_v<T, bool>) {
            return pick(2) == 1;
        } else if constexpr (std::is_same_v<T, std::monostate>) {
            return {};
        } else if constexpr (std::is_same_v<T, std::byte>) {
            return static_cast<std::byte>(make<std::uint8_t>());
        } else if constexpr (std::is_same_v<T, char32_t>) {
            static constexpr char32_t kChars[] = {0,      1,      0x7f,   0x80,    0xff,    0x100,
                                                  0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF};
            return kChars[pick(std::size(kChars))];
        } else if constexpr (ringdb::detail::CodecInteger<T>) {
            return make_integer<T>();
        } else if constexpr (std::is_same_v<T, std::string>) {
            return make_string();
        } else if constexpr (std::is_same_v<T, std::string_view>) {
            return strings_.emplace_back(make_string());
        } else if constexpr (std::is_same_v<T, Bytes>) {
            const std::string s = make_string();
            const ByteView view = ringdb::detail::bytes_of(s);
            return Bytes(view.begin(), view.end());
        } else if constexpr (std::is_same_v<T, Descending>) {
            return Descending{make<std::uint64_t>()};
        } else if constexpr (IsOptional<T>::value) {
            return pick(3) == 0 ? T() : T(make<typename T::value_type>());
        } else if constexpr (IsArray<T>::value) {
            T value{};
            for (auto& element : value) {
                element = make<typename T::value_type>();
            }
            return value;
        } else {
            static_assert(IsTuple<T>::value);
            return make_tuple(static_cast<T*>(nullptr));
        }
    }

private:
    std::size_t pick(std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    }

    template <class T>
    T make_integer() {
        using U = typename ringdb::Codec<T>::Unsigned;
        constexpr bool kSigned = ringdb::Codec<T>::kSigned;
        constexpr U kTop = static_cast<U>(U{1} << (8 * sizeof(T) - 1));
        const U random = static_cast<U>((static_cast<UInt128>(rng_()) << 64) | rng_());
        switch (pick(6)) {
            case 0:
                return static_cast<T>(kSigned ? kTop : U{0});  // min
            case 1:
                return static_cast<T>(kSigned ? static_cast<U>(kTop - 1) : ~U{0});  // max
            case 2:
                return static_cast<T>(static_cast<int>(pick(5)) - 2);  // near zero
            case 3:
                return static_cast<T>(static_cast<U>(random % 300));  // byte edges
            default:
                return static_cast<T>(random);
        }
    }

    std::string make_string() {
        // A tiny alphabet with NUL and 0xFF makes ties, prefixes and signedness matter.
        static constexpr char kAlphabet[] = {'\0', 'a', 'b', '\x7f', '\x80', '\xff'};
        std::string s(pick(5), '\0');
        for (char& c : s) {
            c = kAlphabet[pick(sizeof(kAlphabet))];
        }
        if (pick(20) == 0) {
            s.append(300, 'a');  // long enough for a 3-byte varint in a tuple header
        }
        return s;
    }

    template <class... Ts>
    std::tuple<Ts...> make_tuple(std::tuple<Ts...>*) {
        return std::tuple<Ts...>{make<Ts>()...};
    }

    std::mt19937_64 rng_;
    std::deque<std::string> strings_;
};

int sign(int v) {
    return (v > 0) - (v < 0);
}
int sign(std::strong_ordering o) {
    return (o > 0) - (o < 0);
}

/// Checks compare() against the values' order on random pairs and on a sorted sample.
template <ringdb::Key T>
void check_order(Generator& generator, int count) {
    std::vector<T> values;
    std::vector<Bytes> encoded;
    for (int i = 0; i < count; ++i) {
        const T value = generator.make<T>();
        REQUIRE((codec_test::round_trip(value) == value));
        values.push_back(value);
        encoded.push_back(ringdb::encode(value));
    }
    std::size_t mismatches = 0;
    for (int i = 0; i < count; ++i) {
        for (int j = i; j < count && j < i + 24; ++j) {
            const int got = sign(Codec<T>::compare(encoded[i], encoded[j]));
            const int want = sign(values[i] <=> values[j]);
            if (got != want) {
                ++mismatches;
                UNSCOPED_INFO("pair " << i << "," << j << ": compare " << got << " want " << want);
            }
            CHECK(sign(Codec<T>::compare(encoded[j], encoded[i])) == -got);
        }
    }
    INFO("type " << Codec<T>::type_name().name());
    CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("codec: key order agrees with value order on random samples", "[codec]") {
    Generator g(codec_test::seed());
    constexpr int kCount = 120;
    check_order<bool>(g, kCount);
    check_order<std::monostate>(g, 8);
    check_order<std::byte>(g, kCount);
    check_order<std::uint8_t>(g, kCount);
    check_order<std::int8_t>(g, kCount);
    check_order<std::uint16_t>(g, kCount);
    check_order<std::int16_t>(g, kCount);
    check_order<std::uint32_t>(g, kCount);
    check_order<std::int32_t>(g, kCount);
    check_order<std::uint64_t>(g, kCount);
    check_order<std::int64_t>(g, kCount);
    check_order<long long>(g, kCount);
    check_order<Int128>(g, kCount);
    check_order<UInt128>(g, kCount);
    check_order<char32_t>(g, kCount);
    check_order<std::string>(g, kCount);
    check_order<std::string_view>(g, kCount);
    check_order<Bytes>(g, kCount);
    check_order<Descending>(g, kCount);
}

TEST_CASE("codec: composite key order agrees with value order on random samples", "[codec]") {
    Generator g(codec_test::seed() + 1);
    constexpr int kCount = 120;
    check_order<std::array<std::byte, 3>>(g, kCount);
    check_order<std::array<std::uint8_t, 3>>(g, kCount);
    check_order<std::array<std::int16_t, 3>>(g, kCount);
    check_order<std::array<std::string, 3>>(g, kCount);
    check_order<std::array<std::optional<std::int8_t>, 2>>(g, kCount);
    check_order<std::optional<std::uint64_t>>(g, kCount);
    check_order<std::optional<std::int32_t>>(g, kCount);
    check_order<std::optional<std::string>>(g, kCount);
    check_order<std::optional<std::optional<std::int8_t>>>(g, kCount);
    check_order<std::optional<Descending>>(g, kCount);
    check_order<std::tuple<std::int64_t>>(g, kCount);
    check_order<std::tuple<std::string>>(g, kCount);
    check_order<std::tuple<std::uint16_t, std::int8_t>>(g, kCount);
    check_order<std::tuple<std::string, std::int64_t, std::string>>(g, kCount);
    check_order<std::tuple<std::string_view, std::string_view>>(g, kCount);
    check_order<std::tuple<Int128, std::optional<std::string>, bool>>(g, kCount);
    check_order<std::tuple<std::optional<std::string>, std::array<std::string, 2>, std::int8_t>>(
            g, kCount);
    check_order<std::tuple<Descending, std::string>>(g, kCount);
    using S = std::string;
    using Twelve = std::tuple<S, std::uint8_t, S, std::int16_t, bool, S, char32_t, std::int8_t,
                              std::optional<S>, std::uint64_t, S, S>;
    check_order<Twelve>(g, kCount);
}

TEST_CASE("codec: sorting encodings with compare sorts the values", "[codec]") {
    Generator g(codec_test::seed() + 2);
    using K = std::tuple<std::string, std::int32_t, std::optional<std::string>>;
    std::vector<K> values;
    for (int i = 0; i < 500; ++i) {
        values.push_back(g.make<K>());
    }
    std::vector<Bytes> encoded;
    for (const K& v : values) {
        encoded.push_back(ringdb::encode(v));
    }
    std::sort(encoded.begin(), encoded.end(),
              [](const Bytes& a, const Bytes& b) { return Codec<K>::compare(a, b) < 0; });
    std::sort(values.begin(), values.end());
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto decoded = ringdb::decode<K>(encoded[i]);
        REQUIRE(decoded);
        CHECK(*decoded == values[i]);
    }
}
