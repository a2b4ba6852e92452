#pragma once
// Built-in string and byte-string codecs (docs/encodings.md, "Strings and byte strings").
// See <ringdb/codec.hpp> for the Codec contract.
//
//   C++ type                                TypeName     width  key order
//   std::string                             String       var    bytewise
//   std::string_view                        &str         var    bytewise
//   Bytes (std::vector<std::byte>)          &[u8]        var    bytewise
//   ByteView (std::span<const std::byte>)   &[u8]        var    bytewise
//   std::array<std::byte, N>                [u8;N]       N      bytewise
//   std::array<std::uint8_t, N>             [u8;N]       N      bytewise
//   std::span<const std::byte, N>           [u8;N]       N      bytewise
//
// "String" and "&str" have the same bytes and order but distinct TypeNames, as in the
// reference: a table created with one cannot be opened with the other. The encoding is the raw
// bytes; strings are stored as given (UTF-8 by convention, not validated). The three [u8;N]
// types share name, bytes and order. Note that std::vector<std::uint8_t> is not a byte string:
// it is the generic "Vec<u8>" of <ringdb/codec_composite.hpp>.

#include <array>
#include <cstring>
#include <string>
#include <string_view>

#include <ringdb/codec_base.hpp>

namespace ringdb {

namespace detail {

TypeName byte_array_type_name(std::size_t count);

/// Copies `source` to `target`. REQUIRES: target.size() == source.size().
inline void copy_bytes(std::span<std::byte> target, ByteView source) noexcept {
    if (!source.empty()) {
        std::memcpy(target.data(), source.data(), source.size());
    }
}

/// The bytes of a character string, without copying.
inline ByteView bytes_of(std::string_view text) noexcept {
    return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

/// Common parts of the codecs whose encoding is the raw bytes of a contiguous range.
struct RawBytesCodec {
    static constexpr std::optional<std::size_t> fixed_width = std::nullopt;
    static int compare(ByteView a, ByteView b) noexcept { return compare_bytes(a, b); }
};

}  // namespace detail

/// "String": an owned string. Bytes are stored as given (UTF-8 by convention, not checked).
template <>
struct Codec<std::string> : detail::RawBytesCodec {
    static TypeName type_name() { return TypeName::builtin("String"); }
    static std::size_t encoded_size(const std::string& value) noexcept { return value.size(); }
    static void encode(const std::string& value, std::span<std::byte> target) noexcept {
        detail::copy_bytes(target, detail::bytes_of(value));
    }
    /// Never fails: every byte string is accepted.
    static Result<std::string> decode(ByteView bytes) {
        std::string text(bytes.size(), '\0');
        if (!bytes.empty()) {
            std::memcpy(text.data(), bytes.data(), bytes.size());
        }
        return text;
    }
};

/// "&str": a string view. Same bytes and order as std::string but a distinct TypeName, as in
/// the reference. A decoded view points into the decoded buffer.
template <>
struct Codec<std::string_view> : detail::RawBytesCodec {
    static TypeName type_name() { return TypeName::builtin("&str"); }
    static std::size_t encoded_size(const std::string_view& value) noexcept { return value.size(); }
    static void encode(const std::string_view& value, std::span<std::byte> target) noexcept {
        detail::copy_bytes(target, detail::bytes_of(value));
    }
    /// Never fails: every byte string is accepted.
    static Result<std::string_view> decode(ByteView bytes) {
        return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
};

/// "&[u8]", owned. Note: std::vector<std::uint8_t> is the generic "Vec<u8>" instead.
template <>
struct Codec<Bytes> : detail::RawBytesCodec {
    static TypeName type_name() { return TypeName::builtin("&[u8]"); }
    static std::size_t encoded_size(const Bytes& value) noexcept { return value.size(); }
    static void encode(const Bytes& value, std::span<std::byte> target) noexcept {
        detail::copy_bytes(target, value);
    }
    static Result<Bytes> decode(ByteView bytes) { return Bytes(bytes.begin(), bytes.end()); }
};

/// "&[u8]", borrowed. A decoded view points into the decoded buffer.
template <>
struct Codec<ByteView> : detail::RawBytesCodec {
    static TypeName type_name() { return TypeName::builtin("&[u8]"); }
    static std::size_t encoded_size(const ByteView& value) noexcept { return value.size(); }
    static void encode(const ByteView& value, std::span<std::byte> target) noexcept {
        detail::copy_bytes(target, value);
    }
    static Result<ByteView> decode(ByteView bytes) { return bytes; }
};

namespace detail {

/// "[u8;N]" for any N-byte container C whose elements are single bytes.
template <class C, std::size_t N>
struct ByteArrayCodec {
    static TypeName type_name() { return byte_array_type_name(N); }
    static constexpr std::optional<std::size_t> fixed_width = N;
    static std::size_t encoded_size(const C&) noexcept { return N; }
    static void encode(const C& value, std::span<std::byte> target) noexcept {
        copy_bytes(target, std::as_bytes(std::span(value)));
    }
    static int compare(ByteView a, ByteView b) noexcept { return compare_bytes(a, b); }
};

}  // namespace detail

template <std::size_t N>
struct Codec<std::array<std::byte, N>> : detail::ByteArrayCodec<std::array<std::byte, N>, N> {
    /// Errors: Errc::corrupted unless `bytes` has exactly N bytes.
    static Result<std::array<std::byte, N>> decode(ByteView bytes) {
        if (bytes.size() != N) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        std::array<std::byte, N> value{};
        detail::copy_bytes(std::as_writable_bytes(std::span(value)), bytes);
        return value;
    }
};

template <std::size_t N>
struct Codec<std::array<std::uint8_t, N>> : detail::ByteArrayCodec<std::array<std::uint8_t, N>, N> {
    /// Errors: Errc::corrupted unless `bytes` has exactly N bytes.
    static Result<std::array<std::uint8_t, N>> decode(ByteView bytes) {
        if (bytes.size() != N) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        std::array<std::uint8_t, N> value{};
        detail::copy_bytes(std::as_writable_bytes(std::span(value)), bytes);
        return value;
    }
};

/// A borrowed "[u8;N]". A decoded view points into the decoded buffer.
template <std::size_t N>
    requires(N != std::dynamic_extent)
struct Codec<std::span<const std::byte, N>>
        : detail::ByteArrayCodec<std::span<const std::byte, N>, N> {
    /// Errors: Errc::corrupted unless `bytes` has exactly N bytes.
    static Result<std::span<const std::byte, N>> decode(ByteView bytes) {
        if (bytes.size() != N) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        return std::span<const std::byte, N>(bytes.data(), N);
    }
};

}  // namespace ringdb
