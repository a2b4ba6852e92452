#pragma once
// Built-in composite codecs (docs/encodings.md, "Composites"): std::optional ("Option<T>"),
// std::array ("[T;N]") and std::vector ("Vec<T>"). Tuples are in <ringdb/codec_tuple.hpp>.
// See <ringdb/codec.hpp> for the Codec contract.
//
// Option<T>: a tag byte (0 None, 1 Some), then T's bytes. A None of a fixed-width T is padded
// with width(T) zero bytes so the width stays fixed; decode checks the length of the padding
// but ignores its content. Order: None < Some; two Somes compare as T.
//
// [T;N]: fixed-width T: the N encodings concatenated. Variable-width T: N u32 LE end offsets,
// absolute from the start of the encoding (the first element starts at 4*N), then the
// elements. Decode requires the offsets to be non-decreasing, the first element to start at
// 4*N and the last to end at the end of the buffer. Order: element by element, each with T's
// order. Decoding requires T to be default-initialisable.
//
// Vec<T> (values only): a varint element count, then the elements, each preceded by its varint
// length when T is variable-width. std::vector<std::byte> is not a Vec: it is Bytes ("&[u8]").
// Decoding is bounded by the input size, except for zero-width elements (Vec<()>), whose
// count alone decides the decoded size.
//
// This header includes <ringdb/codec_bytes.hpp> so that the [u8;N] specialisations of
// std::array are always visible wherever the generic [T;N] one is.

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include <ringdb/codec_base.hpp>
#include <ringdb/codec_bytes.hpp>

namespace ringdb {

namespace detail {

TypeName option_type_name(const TypeName& inner);
TypeName array_type_name(const TypeName& inner, std::size_t count);
TypeName vec_type_name(const TypeName& inner);

/// Checks the offset header of a variable-width [T;count] encoding (see above).
bool array_offsets_valid(ByteView bytes, std::size_t count) noexcept;

/// Element `index` of a variable-width array encoding that passed array_offsets_valid().
ByteView array_element(ByteView bytes, std::size_t count, std::size_t index) noexcept;

/// Writes the offset header for elements of the given sizes; returns its size (4*count).
/// REQUIRES: the total encoding fits in a u32 and `target` has room for the header.
std::size_t array_write_offsets(std::span<const std::size_t> sizes, std::byte* target) noexcept;

}  // namespace detail

template <Value T>
struct Codec<std::optional<T>> {
    static constexpr std::optional<std::size_t> kInnerWidth = Codec<T>::fixed_width;

    static TypeName type_name() { return detail::option_type_name(Codec<T>::type_name()); }
    static constexpr std::optional<std::size_t> fixed_width =
            kInnerWidth ? std::optional<std::size_t>(*kInnerWidth + 1) : std::nullopt;

    static std::size_t encoded_size(const std::optional<T>& value) {
        return 1 + (value ? Codec<T>::encoded_size(*value) : kInnerWidth.value_or(0));
    }
    /// REQUIRES: target.size() == encoded_size(value).
    static void encode(const std::optional<T>& value, std::span<std::byte> target) {
        target[0] = std::byte{value ? std::uint8_t{1} : std::uint8_t{0}};
        if (value) {
            Codec<T>::encode(*value, target.subspan(1));
        } else {
            std::fill(target.begin() + 1, target.end(), std::byte{0});
        }
    }
    /// Errors: Errc::corrupted for an empty buffer, a tag other than 0 or 1, a None of the
    /// wrong length, or a Some whose payload T rejects.
    static Result<std::optional<T>> decode(ByteView bytes) {
        if (bytes.empty()) {
            return Error{Errc::corrupted};
        }
        if (bytes[0] == std::byte{0}) {
            if (bytes.size() != 1 + kInnerWidth.value_or(0)) {
                return Error{Errc::corrupted, 0, bytes.size()};
            }
            return std::optional<T>();
        }
        if (bytes[0] != std::byte{1}) {
            return Error{Errc::corrupted, 0, std::to_integer<std::uint64_t>(bytes[0])};
        }
        Result<T> inner = Codec<T>::decode(bytes.subspan(1));
        if (!inner) {
            return inner.error();
        }
        return std::optional<T>(std::move(*inner));
    }
    static int compare(ByteView a, ByteView b)
        requires Key<T>
    {
        if (a.empty() || b.empty() || a[0] != b[0]) {
            return detail::compare_bytes(a.first(std::min<std::size_t>(a.size(), 1)),
                                         b.first(std::min<std::size_t>(b.size(), 1)));
        }
        return a[0] == std::byte{1} ? Codec<T>::compare(a.subspan(1), b.subspan(1)) : 0;
    }
};

template <Value T, std::size_t N>
struct Codec<std::array<T, N>> {
    static constexpr std::optional<std::size_t> kElementWidth = Codec<T>::fixed_width;

    static TypeName type_name() { return detail::array_type_name(Codec<T>::type_name(), N); }
    static constexpr std::optional<std::size_t> fixed_width =
            kElementWidth ? std::optional<std::size_t>(*kElementWidth * N) : std::nullopt;

    static std::size_t encoded_size(const std::array<T, N>& value) {
        if constexpr (kElementWidth.has_value()) {
            return *fixed_width;
        } else {
            std::size_t size = 4 * N;
            for (const T& element : value) {
                size += Codec<T>::encoded_size(element);
            }
            return size;
        }
    }
    /// REQUIRES: target.size() == encoded_size(value) <= 0xFFFFFFFF.
    static void encode(const std::array<T, N>& value, std::span<std::byte> target) {
        if constexpr (kElementWidth.has_value()) {
            for (std::size_t i = 0; i < N; ++i) {
                Codec<T>::encode(value[i], target.subspan(i * *kElementWidth, *kElementWidth));
            }
        } else {
            std::array<std::size_t, N> sizes{};
            for (std::size_t i = 0; i < N; ++i) {
                sizes[i] = Codec<T>::encoded_size(value[i]);
            }
            std::size_t offset = detail::array_write_offsets(sizes, target.data());
            for (std::size_t i = 0; i < N; ++i) {
                Codec<T>::encode(value[i], target.subspan(offset, sizes[i]));
                offset += sizes[i];
            }
        }
    }
    /// Errors: Errc::corrupted for a wrong length, a bad offset header or a bad element.
    static Result<std::array<T, N>> decode(ByteView bytes) {
        static_assert(std::default_initializable<T>, "decoding [T;N] needs a default T");
        if (!well_formed(bytes)) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        std::array<T, N> value{};
        for (std::size_t i = 0; i < N; ++i) {
            Result<T> element = Codec<T>::decode(element_of(bytes, i));
            if (!element) {
                return element.error();
            }
            value[i] = std::move(*element);
        }
        return value;
    }
    static int compare(ByteView a, ByteView b)
        requires Key<T>
    {
        if (!well_formed(a) || !well_formed(b)) {
            return detail::compare_bytes(a, b);
        }
        for (std::size_t i = 0; i < N; ++i) {
            const int order = Codec<T>::compare(element_of(a, i), element_of(b, i));
            if (order != 0) {
                return order;
            }
        }
        return 0;
    }

private:
    static bool well_formed(ByteView bytes) noexcept {
        if constexpr (kElementWidth.has_value()) {
            return bytes.size() == *fixed_width;
        } else {
            return detail::array_offsets_valid(bytes, N);
        }
    }
    static ByteView element_of(ByteView bytes, std::size_t index) noexcept {
        if constexpr (kElementWidth.has_value()) {
            return bytes.subspan(index * *kElementWidth, *kElementWidth);
        } else {
            return detail::array_element(bytes, N, index);
        }
    }
};

template <Value T>
    requires(!std::same_as<T, std::byte>)
struct Codec<std::vector<T>> {
    static constexpr std::optional<std::size_t> kElementWidth = Codec<T>::fixed_width;

    static TypeName type_name() { return detail::vec_type_name(Codec<T>::type_name()); }
    static constexpr std::optional<std::size_t> fixed_width = std::nullopt;

    static std::size_t encoded_size(const std::vector<T>& value) {
        std::size_t size = detail::varint_size(value.size());
        for (const T& element : value) {
            const std::size_t element_size = Codec<T>::encoded_size(element);
            size += element_size;
            if constexpr (!kElementWidth.has_value()) {
                size += detail::varint_size(element_size);
            }
        }
        return size;
    }
    /// REQUIRES: target.size() == encoded_size(value); every length fits in a u32.
    static void encode(const std::vector<T>& value, std::span<std::byte> target) {
        std::size_t offset = detail::varint_write(value.size(), target.data());
        for (const T& element : value) {
            const std::size_t element_size = Codec<T>::encoded_size(element);
            if constexpr (!kElementWidth.has_value()) {
                offset += detail::varint_write(element_size, target.data() + offset);
            }
            Codec<T>::encode(element, target.subspan(offset, element_size));
            offset += element_size;
        }
    }
    /// Errors: Errc::corrupted for a truncated count or length, an element T rejects, or
    /// trailing bytes after the last element.
    static Result<std::vector<T>> decode(ByteView bytes) {
        const detail::VarintRead count = detail::varint_read(bytes);
        if (count.size == 0) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        std::size_t offset = count.size;
        std::vector<T> value;
        // A corrupt count must not reserve more than the bytes present could hold.
        value.reserve(std::min(count.value, bytes.size()));
        for (std::size_t i = 0; i < count.value; ++i) {
            const ByteView rest = bytes.subspan(offset);
            std::size_t element_size = kElementWidth.value_or(0);
            if constexpr (!kElementWidth.has_value()) {
                const detail::VarintRead length = detail::varint_read(rest);
                if (length.size == 0) {
                    return Error{Errc::corrupted, 0, offset};
                }
                offset += length.size;
                element_size = length.value;
            }
            if (bytes.size() - offset < element_size) {
                return Error{Errc::corrupted, 0, offset};
            }
            Result<T> element = Codec<T>::decode(bytes.subspan(offset, element_size));
            if (!element) {
                return element.error();
            }
            value.push_back(std::move(*element));
            offset += element_size;
        }
        if (offset != bytes.size()) {
            return Error{Errc::corrupted, 0, offset};
        }
        return value;
    }
};

}  // namespace ringdb
