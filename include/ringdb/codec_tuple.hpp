#pragma once
// The built-in tuple codec (docs/encodings.md, "Tuples"), arity 1 to 12.
// See <ringdb/codec.hpp> for the Codec contract.
//
// Encoding of std::tuple<T1..Tn>: first, for each of T1..Tn-1 that is variable-width, the
// varint length of its encoding (fixed-width elements contribute no length); then the element
// encodings concatenated; the last element extends to the end of the buffer. Consequences:
// a 1-tuple has exactly the bytes of its element, and an all-fixed tuple is the plain
// concatenation (fixed width = the sum of the widths).
//
// TypeName: "(T,)" for a 1-tuple and "(A,B,...)" otherwise, with the elements' names and no
// spaces. The classification is TypeClass::builtin, except for tuples of arity >= 2 with a
// variable-width element: TypeClass::builtin_tuple, which keeps them distinct from the older
// tuple encoding that the reference wrote under the same names (docs/encodings.md).
//
// Order: element by element, each with its own Key order. Legacy (u32-length) tuples are not
// provided.

#include <array>
#include <tuple>
#include <utility>

#include <ringdb/codec_base.hpp>

namespace ringdb {

namespace detail {

TypeName tuple_type_name(std::span<const TypeName> elements, bool variable_width);

/// Splits a tuple encoding into its elements. `widths[i]` is element i's fixed width or
/// nullopt. Returns false when the header is truncated, the lengths overrun the buffer, or a
/// fixed-width last element does not fill the rest exactly.
/// REQUIRES: parts.size() == widths.size(), 1 <= widths.size() <= 12.
bool tuple_split(ByteView bytes, std::span<const std::optional<std::size_t>> widths,
                 std::span<ByteView> parts) noexcept;

/// The size of the tuple header for elements of the given sizes.
std::size_t tuple_header_size(std::span<const std::optional<std::size_t>> widths,
                              std::span<const std::size_t> sizes) noexcept;

/// Writes the tuple header at `target`; returns its size.
std::size_t tuple_write_header(std::span<const std::optional<std::size_t>> widths,
                               std::span<const std::size_t> sizes, std::byte* target) noexcept;

}  // namespace detail

template <Value... Ts>
    requires(sizeof...(Ts) >= 1 && sizeof...(Ts) <= 12)
struct Codec<std::tuple<Ts...>> {
    using Tuple = std::tuple<Ts...>;
    static constexpr std::size_t kArity = sizeof...(Ts);
    static constexpr std::array<std::optional<std::size_t>, kArity> kWidths = {
            Codec<Ts>::fixed_width...};
    static constexpr bool kAllFixed = (Codec<Ts>::fixed_width.has_value() && ...);

    static TypeName type_name() {
        const std::array<TypeName, kArity> names = {Codec<Ts>::type_name()...};
        return detail::tuple_type_name(names, !kAllFixed);
    }
    static constexpr std::optional<std::size_t> fixed_width =
            kAllFixed ? std::optional<std::size_t>((Codec<Ts>::fixed_width.value_or(0) + ...))
                      : std::nullopt;

    static std::size_t encoded_size(const Tuple& value) {
        const std::array<std::size_t, kArity> sizes = sizes_of(value, Indices{});
        std::size_t size = detail::tuple_header_size(kWidths, sizes);
        for (const std::size_t element_size : sizes) {
            size += element_size;
        }
        return size;
    }
    /// REQUIRES: target.size() == encoded_size(value); every length fits in a u32.
    static void encode(const Tuple& value, std::span<std::byte> target) {
        const std::array<std::size_t, kArity> sizes = sizes_of(value, Indices{});
        const std::size_t header = detail::tuple_write_header(kWidths, sizes, target.data());
        encode_elements(value, sizes, target.subspan(header), Indices{});
    }
    /// Errors: Errc::corrupted for a malformed header or an element its codec rejects.
    static Result<Tuple> decode(ByteView bytes) {
        std::array<ByteView, kArity> parts{};
        if (!detail::tuple_split(bytes, kWidths, parts)) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        return decode_elements(parts, Indices{});
    }
    static int compare(ByteView a, ByteView b)
        requires(Key<Ts> && ...)
    {
        std::array<ByteView, kArity> parts_a{};
        std::array<ByteView, kArity> parts_b{};
        if (!detail::tuple_split(a, kWidths, parts_a) ||
            !detail::tuple_split(b, kWidths, parts_b)) {
            return detail::compare_bytes(a, b);
        }
        return compare_elements(parts_a, parts_b, Indices{});
    }

private:
    using Indices = std::index_sequence_for<Ts...>;

    template <std::size_t... I>
    static std::array<std::size_t, kArity> sizes_of(const Tuple& value, std::index_sequence<I...>) {
        return {Codec<Ts>::encoded_size(std::get<I>(value))...};
    }

    template <std::size_t... I>
    static void encode_elements(const Tuple& value, const std::array<std::size_t, kArity>& sizes,
                                std::span<std::byte> target, std::index_sequence<I...>) {
        std::size_t offset = 0;
        ((Codec<Ts>::encode(std::get<I>(value), target.subspan(offset, sizes[I])),
          offset += sizes[I]),
         ...);
    }

    template <std::size_t... I>
    static Result<Tuple> decode_elements(const std::array<ByteView, kArity>& parts,
                                         std::index_sequence<I...>) {
        std::tuple<Result<Ts>...> elements{Codec<Ts>::decode(parts[I])...};
        Error error{};
        const bool failed =
                (... || (!std::get<I>(elements) && (error = std::get<I>(elements).error(), true)));
        if (failed) {
            return error;
        }
        return Tuple(std::move(*std::get<I>(elements))...);
    }

    template <std::size_t... I>
    static int compare_elements(const std::array<ByteView, kArity>& a,
                                const std::array<ByteView, kArity>& b, std::index_sequence<I...>) {
        int order = 0;
        (void)(... || ((order = Codec<Ts>::compare(a[I], b[I])) != 0));
        return order;
    }
};

}  // namespace ringdb
