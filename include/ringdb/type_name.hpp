#pragma once
// TypeName: the persisted identity of a key or value type (docs/encodings.md, "Type names").
//
// A TypeName is a classification plus a name string such as "u64", "Option<&str>" or
// "(u64,&str)". Table definitions store the key and value TypeNames, and opening a table
// compares them with the requested types (docs/encodings.md, "Schema checks on open"): two
// TypeNames are equal only when both
// the classification and the string are equal.
//
// Serialized form: one classification byte followed by the name's bytes (UTF-8 by convention;
// not validated). The name has no length prefix: the caller frames the whole encoding.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <ringdb/bytes.hpp>
#include <ringdb/result.hpp>

namespace ringdb {

/// Who defines a type. The values are the on-disk classification bytes.
enum class TypeClass : std::uint8_t {
    builtin = 1,        // a ringdb built-in type (the reference's "Internal")
    user_defined = 2,   // a user's Codec specialisation
    builtin_tuple = 3,  // a built-in tuple with a variable-width element ("Internal2")
};

class TypeName {
public:
    /// An empty built-in name. No codec produces it; it exists so that aggregates holding a
    /// TypeName are default-constructible.
    TypeName() = default;

    TypeName(TypeClass classification, std::string name)
        : name_(std::move(name)), classification_(classification) {}

    /// A built-in type's name. Reserved for ringdb's own codecs.
    static TypeName builtin(std::string name) {
        return TypeName(TypeClass::builtin, std::move(name));
    }

    /// The name of a user-defined type: what a user's `Codec<T>::type_name()` returns. Pick a
    /// globally unique, stable string such as "myapp::Timestamp"; renaming it later makes
    /// existing tables fail to open with Errc::table_type_mismatch.
    static TypeName user_defined(std::string name) {
        return TypeName(TypeClass::user_defined, std::move(name));
    }

    TypeClass classification() const noexcept { return classification_; }
    const std::string& name() const noexcept { return name_; }

    /// The serialized form: classification byte, then the name bytes.
    Bytes encode() const;

    /// Parses a serialized TypeName.
    /// Errors: Errc::corrupted when `bytes` is empty or the classification byte is not 1, 2
    /// or 3.
    static Result<TypeName> decode(ByteView bytes);

    friend bool operator==(const TypeName& a, const TypeName& b) = default;

private:
    std::string name_;
    TypeClass classification_ = TypeClass::builtin;
};

}  // namespace ringdb
