// Serialization of TypeName (<ringdb/type_name.hpp>): classification byte + name bytes.

#include <cstring>

#include <ringdb/type_name.hpp>

namespace ringdb {

Bytes TypeName::encode() const {
    Bytes out(1 + name_.size());
    out[0] = static_cast<std::byte>(classification_);
    if (!name_.empty()) {
        std::memcpy(out.data() + 1, name_.data(), name_.size());
    }
    return out;
}

Result<TypeName> TypeName::decode(ByteView bytes) {
    if (bytes.empty()) {
        return Error{Errc::corrupted};
    }
    const auto classification = std::to_integer<std::uint8_t>(bytes[0]);
    if (classification < static_cast<std::uint8_t>(TypeClass::builtin) ||
        classification > static_cast<std::uint8_t>(TypeClass::builtin_tuple)) {
        return Error{Errc::corrupted, 0, classification};
    }
    std::string name(bytes.size() - 1, '\0');
    if (!name.empty()) {
        std::memcpy(name.data(), bytes.data() + 1, name.size());
    }
    return TypeName(static_cast<TypeClass>(classification), std::move(name));
}

}  // namespace ringdb
