// Tests of the public codecs (<ringdb/codec.hpp>): round trips, exact encodings of
// docs/encodings.md, type names and widths, agreement of the key order with the values' order on
// randomised samples, and malformed input. Randomised tests print their seed; set RINGDB_SEED to
// replay.

#include <algorithm>
#include <array>
#include <cmath>
#include <compare>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/codec.hpp>

#include "engine/table/codec_test_support.hpp"

using namespace std::string_view_literals;
using codec_test::bytes_of;
using codec_test::Descending;
using codec_test::kI128Max;
using codec_test::kI128Min;
using codec_test::kU128Max;
using codec_test::round_trip;
using ringdb::Bytes;
using ringdb::ByteView;
using ringdb::Codec;
using ringdb::Errc;
using ringdb::Int128;
using ringdb::TypeClass;
using ringdb::TypeName;
using ringdb::UInt128;

namespace {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
using i8 = std::int8_t;
using i16 = std::int16_t;
using i32 = std::int32_t;
using i64 = std::int64_t;

template <class T>
bool same_name(const char* name, TypeClass classification = TypeClass::builtin) {
    return Codec<T>::type_name() == TypeName(classification, name);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Concepts.

static_assert(ringdb::Key<u64> && ringdb::Key<Int128> && ringdb::Key<UInt128>);
static_assert(ringdb::Key<long long> && ringdb::Key<unsigned char> && ringdb::Key<signed char>);
static_assert(ringdb::Key<std::string> && ringdb::Key<std::string_view> && ringdb::Key<Bytes>);
static_assert(ringdb::Key<ByteView> && ringdb::Key<char32_t> && ringdb::Key<std::monostate>);
static_assert(ringdb::Value<double> && !ringdb::Key<double> && !ringdb::Key<float>);
static_assert(ringdb::Value<std::vector<u8>> && !ringdb::Key<std::vector<u8>>);
static_assert(ringdb::Key<std::optional<u64>> && !ringdb::Key<std::optional<float>>);
static_assert(ringdb::Value<std::optional<float>>);
static_assert(ringdb::Key<std::tuple<u64, std::string>>);
static_assert(ringdb::Value<std::tuple<u64, double>> && !ringdb::Key<std::tuple<u64, double>>);
static_assert(ringdb::Key<std::array<std::string, 3>> && !ringdb::Key<std::array<float, 2>>);
static_assert(!ringdb::Value<char> && !ringdb::Value<int*> && !ringdb::Value<const int>);
static_assert(!ringdb::Value<std::tuple<>> && !ringdb::Value<std::vector<int*>>);
static_assert(ringdb::Key<Descending>);

// ---------------------------------------------------------------------------------------------
// Type names and widths.

TEST_CASE("codec: scalar type names and fixed widths", "[codec]") {
    CHECK(same_name<std::monostate>("()"));
    CHECK(same_name<bool>("bool"));
    CHECK(same_name<u8>("u8"));
    CHECK(same_name<std::byte>("u8"));
    CHECK(same_name<i16>("i16"));
    CHECK(same_name<u32>("u32"));
    CHECK(same_name<i64>("i64"));
    CHECK(same_name<long long>("i64"));
    CHECK(same_name<unsigned long>("u64"));
    CHECK(same_name<Int128>("i128"));
    CHECK(same_name<UInt128>("u128"));
    CHECK(same_name<float>("f32"));
    CHECK(same_name<double>("f64"));
    CHECK(same_name<char32_t>("char"));
    CHECK(same_name<std::string>("String"));
    CHECK(same_name<std::string_view>("&str"));
    CHECK(same_name<Bytes>("&[u8]"));
    CHECK(same_name<ByteView>("&[u8]"));
    CHECK(Codec<std::string>::type_name() != Codec<std::string_view>::type_name());

    CHECK(ringdb::fixed_width_v<std::monostate> == 0u);
    CHECK(ringdb::fixed_width_v<bool> == 1u);
    CHECK(ringdb::fixed_width_v<i16> == 2u);
    CHECK(ringdb::fixed_width_v<Int128> == 16u);
    CHECK(ringdb::fixed_width_v<double> == 8u);
    CHECK(ringdb::fixed_width_v<char32_t> == 3u);
    CHECK(!ringdb::fixed_width_v<std::string>.has_value());
    CHECK(!ringdb::fixed_width_v<ByteView>.has_value());
}

TEST_CASE("codec: composite type names compose as documented", "[codec]") {
    CHECK(same_name<std::optional<u64>>("Option<u64>"));
    CHECK(same_name<std::optional<std::optional<std::string_view>>>("Option<Option<&str>>"));
    CHECK(same_name<std::array<u8, 5>>("[u8;5]"));
    CHECK(same_name<std::array<std::string_view, 2>>("[&str;2]"));
    CHECK(same_name<std::vector<std::string_view>>("Vec<&str>"));
    CHECK(same_name<std::vector<u8>>("Vec<u8>"));
    CHECK(same_name<std::tuple<u64>>("(u64,)"));
    CHECK(same_name<std::tuple<std::string_view>>("(&str,)"));
    CHECK(same_name<std::tuple<u64, i8>>("(u64,i8)"));
    CHECK(same_name<std::tuple<u64, std::string_view>>("(u64,&str)", TypeClass::builtin_tuple));
    CHECK(same_name<std::tuple<std::optional<u16>, std::array<std::string, 2>, bool>>(
            "(Option<u16>,[String;2],bool)", TypeClass::builtin_tuple));
    CHECK(same_name<std::optional<Descending>>("Option<test::Descending>"));
    CHECK(same_name<Descending>("test::Descending", TypeClass::user_defined));

    CHECK(ringdb::fixed_width_v<std::optional<u32>> == 5u);
    CHECK(!ringdb::fixed_width_v<std::optional<std::string>>.has_value());
    CHECK(ringdb::fixed_width_v<std::array<u16, 7>> == 14u);
    CHECK(ringdb::fixed_width_v<std::array<std::optional<u8>, 3>> == 6u);
    CHECK(!ringdb::fixed_width_v<std::array<std::string, 3>>.has_value());
    CHECK(!ringdb::fixed_width_v<std::vector<u8>>.has_value());
    CHECK(ringdb::fixed_width_v<std::tuple<u64, i8, bool>> == 10u);
    CHECK(ringdb::fixed_width_v<std::tuple<std::monostate>> == 0u);
    CHECK(!ringdb::fixed_width_v<std::tuple<u64, std::string>>.has_value());
}

TEST_CASE("codec: [u8;N] byte arrays share name, bytes and order", "[codec]") {
    using A = std::array<std::byte, 4>;
    using B = std::array<u8, 4>;
    using S = std::span<const std::byte, 4>;
    CHECK(Codec<A>::type_name() == Codec<B>::type_name());
    CHECK(Codec<A>::type_name() == Codec<S>::type_name());
    CHECK(same_name<A>("[u8;4]"));
    CHECK(ringdb::fixed_width_v<A> == 4u);
    CHECK(ringdb::fixed_width_v<S> == 4u);

    const A a{std::byte{1}, std::byte{0xff}, std::byte{0}, std::byte{7}};
    const B b{1, 0xff, 0, 7};
    CHECK(ringdb::encode(a) == ringdb::encode(b));
    CHECK(ringdb::encode(S(a)) == ringdb::encode(a));
    CHECK(round_trip(a) == a);
    CHECK(round_trip(b) == b);
    const Bytes encoded = ringdb::encode(a);
    const auto view = ringdb::decode<S>(encoded);
    REQUIRE(view);
    CHECK(view->data() == encoded.data());

    const Bytes low = bytes_of({1, 0x80, 0, 0});
    const Bytes high = bytes_of({1, 0xff, 0, 0});
    CHECK(Codec<A>::compare(low, high) < 0);
    CHECK(Codec<B>::compare(low, high) < 0);
    CHECK(Codec<S>::compare(high, low) > 0);
    CHECK(Codec<A>::compare(high, high) == 0);
}

// ---------------------------------------------------------------------------------------------
// Exact encodings.

TEST_CASE("codec: scalar encodings are little-endian as documented", "[codec]") {
    CHECK(ringdb::encode(u32{0x01020304}) == bytes_of({4, 3, 2, 1}));
    CHECK(ringdb::encode(i8{-1}) == bytes_of({0xff}));
    CHECK(ringdb::encode(i16{-2}) == bytes_of({0xfe, 0xff}));
    CHECK(ringdb::encode(true) == bytes_of({1}));
    CHECK(ringdb::encode(std::monostate{}).empty());
    CHECK(ringdb::encode(char32_t{0x1F600}) == bytes_of({0x00, 0xf6, 0x01}));
    CHECK(ringdb::encode(1.0f) == bytes_of({0x00, 0x00, 0x80, 0x3f}));
    CHECK(ringdb::encode(std::string("ab")) == bytes_of({'a', 'b'}));
    CHECK(ringdb::encode("ab"sv) == bytes_of({'a', 'b'}));
    Bytes expected(16, std::byte{0});
    expected[15] = std::byte{0x80};
    CHECK(ringdb::encode(codec_test::kI128Min) == expected);
}

TEST_CASE("codec: composite encodings follow the documented layout", "[codec]") {
    CHECK(ringdb::encode(std::optional<u16>()) == bytes_of({0, 0, 0}));
    CHECK(ringdb::encode(std::optional<u16>(5)) == bytes_of({1, 5, 0}));
    CHECK(ringdb::encode(std::optional<std::string_view>()) == bytes_of({0}));
    CHECK(ringdb::encode(std::optional<std::string_view>("x")) == bytes_of({1, 'x'}));
    // [T;N]: fixed elements concatenate; variable ones get absolute u32 end offsets.
    CHECK(ringdb::encode(std::array<u16, 2>{1, 2}) == bytes_of({1, 0, 2, 0}));
    CHECK(ringdb::encode(std::array<std::string_view, 2>{"a", "bc"}) ==
          bytes_of({9, 0, 0, 0, 11, 0, 0, 0, 'a', 'b', 'c'}));
    // Vec<T>: varint count, then elements; variable ones prefixed by a varint length.
    CHECK(ringdb::encode(std::vector<u16>{1, 2}) == bytes_of({2, 1, 0, 2, 0}));
    CHECK(ringdb::encode(std::vector<std::string_view>{"a", ""}) == bytes_of({2, 1, 'a', 0}));
    // Tuples: varint lengths of the variable elements among the first N-1, then the data.
    CHECK(ringdb::encode(std::tuple<u16, std::string_view, std::string_view>(1, "ab", "c")) ==
          bytes_of({2, 1, 0, 'a', 'b', 'c'}));
    CHECK(ringdb::encode(std::tuple<u16, i8>(0x0102, -1)) == bytes_of({2, 1, 0xff}));
    CHECK(ringdb::encode(std::tuple<std::string_view>("abc")) == ringdb::encode("abc"sv));
    CHECK(ringdb::encode(std::tuple<u32>(7)) == ringdb::encode(u32{7}));
}

TEST_CASE("codec: varint boundaries", "[codec]") {
    using ringdb::detail::varint_read;
    using ringdb::detail::varint_size;
    using ringdb::detail::varint_write;
    const std::pair<std::size_t, Bytes> cases[] = {
            {0, bytes_of({0})},
            {253, bytes_of({253})},
            {254, bytes_of({254, 254, 0})},
            {65535, bytes_of({254, 0xff, 0xff})},
            {65536, bytes_of({255, 0, 0, 1, 0})},
            {0xFFFFFFFF, bytes_of({255, 0xff, 0xff, 0xff, 0xff})},
    };
    for (const auto& [value, bytes] : cases) {
        CAPTURE(value);
        Bytes out(varint_size(value));
        CHECK(varint_write(value, out.data()) == out.size());
        CHECK(out == bytes);
        const auto read = varint_read(out);
        CHECK(read.value == value);
        CHECK(read.size == out.size());
        CHECK(varint_read(ByteView(out).first(out.size() - 1)).size == 0);
    }
    // Long strings inside composites switch to the 3- and 5-byte varints.
    const std::string s300(300, 'x');
    const std::string s70k(70000, 'y');
    const std::vector<std::string> strings{s300, s70k, ""};
    CHECK(round_trip(strings) == strings);
    CHECK(ringdb::encode(strings).size() == 1 + 3 + 300 + 5 + 70000 + 1);
    const std::tuple<std::string, std::string, u8> t(s70k, s300, 9);
    CHECK(round_trip(t) == t);
    CHECK(ringdb::encode(t).size() == 5 + 3 + 70000 + 300 + 1);
}

// ---------------------------------------------------------------------------------------------
// Round trips.

namespace {

template <class T>
void check_integer_round_trips() {
    for (const T v : {std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), T{0}, T{1},
                      static_cast<T>(std::numeric_limits<T>::max() / 3)}) {
        CHECK(round_trip(v) == v);
    }
}

}  // namespace

TEST_CASE("codec: scalar round trips at the edges", "[codec]") {
    check_integer_round_trips<u8>();
    check_integer_round_trips<i8>();
    check_integer_round_trips<u16>();
    check_integer_round_trips<i16>();
    check_integer_round_trips<u32>();
    check_integer_round_trips<i32>();
    check_integer_round_trips<u64>();
    check_integer_round_trips<i64>();
    for (const Int128 v : {kI128Min, kI128Max, Int128{0}, Int128{-1}, kI128Min + 1}) {
        CHECK((round_trip(v) == v));
    }
    for (const UInt128 v : {UInt128{0}, kU128Max, UInt128{1} << 64, kU128Max >> 1}) {
        CHECK((round_trip(v) == v));
    }
    CHECK(round_trip(false) == false);
    CHECK(round_trip(true) == true);
    CHECK(round_trip(std::byte{0xab}) == std::byte{0xab});
    CHECK(round_trip(std::monostate{}) == std::monostate{});
    for (const char32_t c : {U'\0', U'a', char32_t{0xD7FF}, char32_t{0xE000}, char32_t{0x10FFFF}}) {
        CHECK(round_trip(c) == c);
    }
    for (const double d :
         {0.0, -0.0, 1.5, std::numeric_limits<double>::infinity(),
          std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::lowest()}) {
        CHECK(round_trip(d) == d);
    }
    CHECK(std::signbit(round_trip(-0.0f)));
    const double nan = round_trip(std::numeric_limits<double>::quiet_NaN());
    CHECK(nan != nan);
}

TEST_CASE("codec: strings and byte strings round trip, views point into the buffer", "[codec]") {
    const std::string with_nul("a\0b\xff", 4);
    CHECK(round_trip(std::string()) == "");
    CHECK(round_trip(with_nul) == with_nul);
    CHECK(round_trip(std::string_view()) == "");
    CHECK(round_trip(std::string_view(with_nul)) == with_nul);
    CHECK(ringdb::encode(with_nul) == ringdb::encode(std::string_view(with_nul)));
    const Bytes bytes = bytes_of({0, 1, 0xff});
    CHECK(round_trip(bytes) == bytes);
    CHECK(round_trip(Bytes()).empty());

    const Bytes encoded = ringdb::encode(with_nul);
    const auto view = ringdb::decode<std::string_view>(encoded);
    REQUIRE(view);
    CHECK(static_cast<const void*>(view->data()) == static_cast<const void*>(encoded.data()));
    const auto span = ringdb::decode<ByteView>(encoded);
    REQUIRE(span);
    CHECK(span->data() == encoded.data());
    CHECK(span->size() == 4);
}

TEST_CASE("codec: optionals, arrays and vectors round trip", "[codec]") {
    using OptU64 = std::optional<u64>;
    CHECK(round_trip(OptU64()) == OptU64());
    CHECK(round_trip(OptU64(0)) == OptU64(0));
    CHECK(round_trip(OptU64(~u64{0})) == OptU64(~u64{0}));
    using OptStr = std::optional<std::string>;
    CHECK(round_trip(OptStr()) == OptStr());
    CHECK(round_trip(OptStr("")) == OptStr(""));
    using OptOpt = std::optional<std::optional<i8>>;
    for (const OptOpt v : {OptOpt(), OptOpt(std::optional<i8>()), OptOpt(i8{-5})}) {
        CHECK(round_trip(v) == v);
    }
    CHECK(ringdb::encode(OptOpt()) == bytes_of({0, 0, 0}));

    const std::array<std::string, 4> strings{"", "abc", "", std::string(300, 'z')};
    CHECK(round_trip(strings) == strings);
    const std::array<std::optional<std::string>, 3> opts{std::nullopt, "x", ""};
    CHECK(round_trip(opts) == opts);
    const std::array<i16, 3> ints{-1, 0, 32767};
    CHECK(round_trip(ints) == ints);
    CHECK(round_trip(std::array<std::string, 0>{}) == std::array<std::string, 0>{});
    const std::array<std::array<std::string_view, 2>, 2> nested{{{"a", ""}, {"", "bc"}}};
    CHECK(round_trip(nested) == nested);

    CHECK(round_trip(std::vector<u8>()).empty());
    const std::vector<float> floats{1.0f, -2.5f};
    CHECK(round_trip(floats) == floats);
    const std::vector<bool> flags{true, false, true};
    CHECK(round_trip(flags) == flags);
    const std::vector<std::vector<std::string>> lists{{}, {"a", ""}, {"bcd"}};
    CHECK(round_trip(lists) == lists);
    const std::vector<std::optional<u32>> maybe{std::nullopt, 7u};
    CHECK(round_trip(maybe) == maybe);
    CHECK(ringdb::encode(maybe) == bytes_of({2, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0}));
}

TEST_CASE("codec: tuples round trip, including 12-tuples with strings anywhere", "[codec]") {
    using Fixed = std::tuple<u8, i64, bool, char32_t>;
    const Fixed fixed(255, std::numeric_limits<i64>::min(), true, U'z');
    CHECK(round_trip(fixed) == fixed);
    using One = std::tuple<std::string>;
    CHECK(round_trip(One("solo")) == One("solo"));
    CHECK(round_trip(One("")) == One(""));

    using S = std::string;
    using Twelve = std::tuple<S, u8, u16, u32, u64, S, i8, i16, i32, i64, bool, S>;
    const Twelve full("first", 1, 2, 3, 4, "middle", -1, -2, -3, -4, true, "last");
    CHECK(round_trip(full) == full);
    const Twelve empty_strings("", 0, 0, 0, 0, "", 0, 0, 0, 0, false, "");
    CHECK(round_trip(empty_strings) == empty_strings);
    CHECK(ringdb::encode(empty_strings).size() == 1 + 1 + 1 + 2 + 4 + 8 + 1 + 2 + 4 + 8 + 1);
    using AllStrings = std::tuple<S, S, S, S, S, S, S, S, S, S, S, S>;
    const AllStrings letters("a", "", "bb", "", "ccc", "", "d", "", "", "e", "f", "");
    CHECK(round_trip(letters) == letters);

    using Nested = std::tuple<std::optional<std::string_view>, std::array<std::string_view, 2>,
                              std::tuple<std::string_view, u8>, std::vector<u16>>;
    const Nested nested(std::nullopt, {"p", "q"}, {"r", 3}, {1, 2, 3});
    CHECK(round_trip(nested) == nested);
}

// ---------------------------------------------------------------------------------------------
// Malformed input.

namespace {

template <class T>
bool corrupted(const Bytes& bytes) {
    const ringdb::Result<T> r = Codec<T>::decode(bytes);
    return !r.has_value() && r.error().code == Errc::corrupted;
}

/// Decodes and compares random byte strings: results may be anything but corrupted-or-value,
/// and nothing may read out of bounds (the ASan build checks that).
template <class T>
void fuzz_decode(std::mt19937_64& rng, int rounds) {
    std::uniform_int_distribution<int> length(0, 40);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> small(0, 6);
    Bytes previous;
    for (int i = 0; i < rounds; ++i) {
        Bytes bytes(static_cast<std::size_t>(length(rng)));
        for (auto& b : bytes) {
            // Bias towards small values so that tags and lengths are often plausible.
            b = static_cast<std::byte>(i % 2 == 0 ? small(rng) : byte(rng));
        }
        const ringdb::Result<T> r = Codec<T>::decode(bytes);
        if (r) {
            const Bytes again = ringdb::encode(*r);
            CHECK(Codec<T>::decode(again).has_value());
        } else {
            CHECK(r.error().code == Errc::corrupted);
        }
        if constexpr (ringdb::Key<T>) {
            const int order = Codec<T>::compare(bytes, previous);
            CHECK(order == -Codec<T>::compare(previous, bytes));
        }
        previous = std::move(bytes);
    }
}

}  // namespace

TEST_CASE("codec: malformed scalars decode as corrupted", "[codec]") {
    CHECK(corrupted<bool>(bytes_of({2})));
    CHECK(corrupted<bool>(bytes_of({})));
    CHECK(corrupted<bool>(bytes_of({1, 0})));
    CHECK(corrupted<u32>(bytes_of({1, 2, 3})));
    CHECK(corrupted<i8>(bytes_of({})));
    CHECK(corrupted<Int128>(Bytes(15)));
    CHECK(corrupted<double>(Bytes(4)));
    CHECK(corrupted<std::monostate>(bytes_of({0})));
    CHECK(corrupted<char32_t>(bytes_of({0x00, 0x00, 0x11})));  // 0x110000
    CHECK(corrupted<char32_t>(bytes_of({0x00, 0xd8, 0x00})));  // a surrogate
    CHECK(corrupted<char32_t>(bytes_of({0x41, 0x00})));
    CHECK(corrupted<std::array<std::byte, 3>>(bytes_of({1, 2})));
    CHECK(corrupted<std::span<const std::byte, 2>>(bytes_of({1, 2, 3})));
    CHECK(corrupted<std::byte>(bytes_of({})));
    CHECK(ringdb::decode<std::string>(bytes_of({0xff, 0xfe})).has_value());  // no UTF-8 check
}

TEST_CASE("codec: malformed composites decode as corrupted", "[codec]") {
    using OptU16 = std::optional<u16>;
    CHECK(corrupted<OptU16>(bytes_of({})));
    CHECK(corrupted<OptU16>(bytes_of({2, 0, 0})));
    CHECK(corrupted<OptU16>(bytes_of({0})));     // None without padding
    CHECK(corrupted<OptU16>(bytes_of({1, 5})));  // short payload
    CHECK(corrupted<std::optional<std::string>>(bytes_of({0, 'x'})));
    CHECK(ringdb::decode<OptU16>(bytes_of({0, 9, 9})).has_value());  // padding not checked

    using Arr = std::array<std::string_view, 2>;
    CHECK(corrupted<Arr>(bytes_of({9, 0, 0, 0})));                    // short header
    CHECK(corrupted<Arr>(bytes_of({9, 0, 0, 0, 8, 0, 0, 0, 'a'})));   // decreasing
    CHECK(corrupted<Arr>(bytes_of({7, 0, 0, 0, 9, 0, 0, 0, 'a'})));   // before the data
    CHECK(corrupted<Arr>(bytes_of({9, 0, 0, 0, 10, 0, 0, 0, 'a'})));  // past the end
    CHECK(corrupted<Arr>(bytes_of({8, 0, 0, 0, 8, 0, 0, 0, 'a'})));   // trailing byte
    CHECK(corrupted<std::array<u16, 2>>(bytes_of({1, 0, 2})));

    using Vec = std::vector<std::string_view>;
    CHECK(corrupted<Vec>(bytes_of({})));
    CHECK(corrupted<Vec>(bytes_of({254, 1})));                       // truncated count varint
    CHECK(corrupted<Vec>(bytes_of({1, 3, 'a', 'b'})));               // element overruns
    CHECK(corrupted<Vec>(bytes_of({1, 1, 'a', 'b'})));               // trailing byte
    CHECK(corrupted<Vec>(bytes_of({2, 1, 'a'})));                    // missing element
    CHECK(corrupted<Vec>(bytes_of({255, 0xff, 0xff, 0xff, 0xff})));  // huge count
    CHECK(corrupted<std::vector<bool>>(bytes_of({1, 2})));

    using Tup = std::tuple<std::string_view, u16>;
    CHECK(corrupted<Tup>(bytes_of({})));
    CHECK(corrupted<Tup>(bytes_of({5, 'a', 1, 0})));     // length overruns
    CHECK(corrupted<Tup>(bytes_of({1, 'a', 1})));        // fixed last element too short
    CHECK(corrupted<Tup>(bytes_of({1, 'a', 1, 0, 0})));  // fixed last element too long
    CHECK(corrupted<std::tuple<u8, bool>>(bytes_of({1, 2})));
    CHECK(corrupted<std::tuple<std::string, std::string>>(bytes_of({255, 1, 0})));

    CHECK(!TypeName::decode(bytes_of({})).has_value());
    CHECK(!TypeName::decode(bytes_of({0, 'u'})).has_value());
    CHECK(!TypeName::decode(bytes_of({4, 'u'})).has_value());
}

TEST_CASE("codec: random bytes never crash decode or compare", "[codec]") {
    std::mt19937_64 rng(codec_test::seed());
    constexpr int kRounds = 300;
    fuzz_decode<bool>(rng, kRounds);
    fuzz_decode<i32>(rng, kRounds);
    fuzz_decode<char32_t>(rng, kRounds);
    fuzz_decode<std::optional<u16>>(rng, kRounds);
    fuzz_decode<std::optional<std::string_view>>(rng, kRounds);
    fuzz_decode<std::array<std::string_view, 3>>(rng, kRounds);
    fuzz_decode<std::array<std::optional<i8>, 2>>(rng, kRounds);
    fuzz_decode<std::vector<std::string_view>>(rng, kRounds);
    fuzz_decode<std::vector<u16>>(rng, kRounds);
    fuzz_decode<std::tuple<std::string_view, u16, std::string_view>>(rng, kRounds);
    fuzz_decode<std::tuple<std::optional<std::string>, std::array<std::string, 2>>>(rng, kRounds);
}

TEST_CASE("codec: TypeName serialization", "[codec]") {
    const TypeName name(TypeClass::builtin_tuple, "(u64,&str)");
    const Bytes bytes = name.encode();
    CHECK(bytes.size() == 11);
    CHECK(bytes[0] == std::byte{3});
    const auto decoded = TypeName::decode(bytes);
    REQUIRE(decoded);
    CHECK(*decoded == name);
    CHECK(TypeName::builtin("u64") != TypeName::user_defined("u64"));
    CHECK(TypeName::user_defined("x").encode() == bytes_of({2, 'x'}));
    const auto bare = TypeName::decode(bytes_of({1}));
    REQUIRE(bare);
    CHECK(bare->name().empty());
}
