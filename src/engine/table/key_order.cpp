#include "engine/table/key_order.hpp"

#include <cstdint>
#include <string_view>

#include <ringdb/codec.hpp>

namespace ringdb::engine {

namespace {

struct Known {
    std::string_view name;
    KeyCompare compare;
};

const Known kKnown[] = {
        {"u8", &Codec<std::uint8_t>::compare},   {"u16", &Codec<std::uint16_t>::compare},
        {"u32", &Codec<std::uint32_t>::compare}, {"u64", &Codec<std::uint64_t>::compare},
        {"u128", &Codec<UInt128>::compare},      {"i8", &Codec<std::int8_t>::compare},
        {"i16", &Codec<std::int16_t>::compare},  {"i32", &Codec<std::int32_t>::compare},
        {"i64", &Codec<std::int64_t>::compare},  {"i128", &Codec<Int128>::compare},
        {"bool", &Codec<bool>::compare},         {"char", &Codec<char32_t>::compare},
        {"&str", &compare_bytes},                {"String", &compare_bytes},
        {"&[u8]", &compare_bytes},               {"()", &Codec<std::monostate>::compare},
};

}  // namespace

KeyCompare key_order_for(const TypeName& key_type) {
    if (key_type.classification() != TypeClass::builtin) {
        return nullptr;
    }
    std::string_view name = key_type.name();
    for (const auto& known : kKnown) {
        if (known.name == name) {
            return known.compare;
        }
    }
    if (name.starts_with("[u8;")) {
        return &compare_bytes;
    }
    return nullptr;
}

}  // namespace ringdb::engine
