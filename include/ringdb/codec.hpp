#pragma once
// Codecs: how C++ values become the bytes a table stores (docs/encodings.md), and the Key and
// Value concepts a table's types must satisfy.
//
// A type T is a `Value` when `ringdb::Codec<T>` is specialised with these static members:
//
//   static TypeName type_name();
//       The persisted identity of the type. Built-ins use TypeName::builtin; user types must
//       use TypeName::user_defined("some::unique::Name"). Tables store it and every open
//       compares it (Errc::table_type_mismatch when it differs).
//   static constexpr std::optional<std::size_t> fixed_width;
//       The exact encoded width of every value, or std::nullopt for a variable-width type.
//       Stored with the table; changing it for the same name gives
//       Errc::type_definition_changed. Must not exceed kMaxValueLength.
//   static std::size_t encoded_size(const T& value);
//       The exact number of bytes encode() writes for `value` (== *fixed_width if fixed).
//   static void encode(const T& value, std::span<std::byte> target);
//       Writes the encoding into `target`, which the caller sized with encoded_size(value)
//       (REQUIRES: target.size() == encoded_size(value)). It cannot fail and must not allocate
//       more than it needs: this shape lets the engine encode straight into a page or a
//       stack buffer. ringdb::encode(value) is the allocating convenience.
//   static Result<T> decode(ByteView bytes);
//       Reconstructs the value from exactly `bytes` (the whole buffer is the encoding). Bytes
//       come from disk: anything malformed must return Errc::corrupted and never crash or
//       read out of bounds. View types (std::string_view, ByteView) may point into `bytes`;
//       such a result is valid only while `bytes` is.
//
// A T is a `Key` when, in addition:
//
//   static int compare(ByteView a, ByteView b);
//       The key order on encoded bytes: negative, 0 or positive. It must be a strict weak
//       order consistent with encode() (compare(encode(x), encode(y)) has the sign of
//       x <=> y in the type's intended order) and must never read outside `a` or `b`, even
//       for malformed input (its result is then unspecified; the built-ins fall back to byte
//       order). It must be pure: the B-tree calls it for every key comparison.
//
// Optional members:
//
//   static constexpr bool multimap_bytewise = true;
//       Lets a Value that is not a Key be a multimap table's value type, ordered by its bytes.
//   static constexpr bool compressible = false;
//       Keeps the type's values uncompressed in a compressed database (the vector types do:
//       nearest_k reads them in place). Like the type name, it must not change for a table.
//
// Specialise Codec in namespace ringdb, before the first use of the type with a table. Example
// (a u64 key ordered from largest to smallest):
//
//   struct Descending { std::uint64_t v; };
//   template <> struct ringdb::Codec<Descending> {
//       static TypeName type_name() { return TypeName::user_defined("myapp::Descending"); }
//       static constexpr std::optional<std::size_t> fixed_width = 8;
//       static std::size_t encoded_size(const Descending&) { return 8; }
//       static void encode(const Descending& d, std::span<std::byte> t) {
//           Codec<std::uint64_t>::encode(d.v, t);
//       }
//       static Result<Descending> decode(ByteView b) {
//           auto v = Codec<std::uint64_t>::decode(b);
//           if (!v) return v.error();
//           return Descending{*v};
//       }
//       static int compare(ByteView a, ByteView b) { return Codec<std::uint64_t>::compare(b, a); }
//   };
//
// Built-in codecs (names compose: "Option<u64>", "(u64,&str)", "[u8;5]", "Vec<&str>"):
//   <ringdb/codec_scalar.hpp>     unit, bool, integers up to 128 bits, floats, char32_t
//   <ringdb/codec_bytes.hpp>      strings, byte strings, byte arrays
//   <ringdb/codec_composite.hpp>  std::optional, std::array, std::vector
//   <ringdb/codec_tuple.hpp>      std::tuple (arity 1..12)
// Floats, and composites containing them or a Vec, are Values only. Strings are stored as
// given: UTF-8 is the convention (and what files written by the reference contain) but is not
// validated on encode or decode.
//
// Thread safety: codecs are stateless; all functions may be called concurrently.

#include <ringdb/codec_base.hpp>
#include <ringdb/codec_bytes.hpp>
#include <ringdb/codec_composite.hpp>
#include <ringdb/codec_scalar.hpp>
#include <ringdb/codec_tuple.hpp>
