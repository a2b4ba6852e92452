// Non-template support for the public codecs (<ringdb/codec.hpp>): byte order, the varint,
// composite type names, and the header parsing of variable-width arrays and tuples.
//
// Every parser here treats its input as untrusted disk data: it checks each length before
// forming a subspan, so a malformed encoding yields `false` (and Errc::corrupted in the
// caller), never an out-of-bounds read.

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <ringdb/codec.hpp>

#include "util/endian.hpp"

namespace ringdb::detail {

void codec_contract_violation(const char* what) noexcept {
    std::fprintf(stderr, "ringdb: codec precondition violated: %s\n", what);
    std::abort();
}

int compare_bytes(ByteView a, ByteView b) noexcept {
    const std::size_t common = a.size() < b.size() ? a.size() : b.size();
    if (common != 0) {
        const int order = std::memcmp(a.data(), b.data(), common);
        if (order != 0) {
            return order < 0 ? -1 : 1;
        }
    }
    return three_way(a.size(), b.size());
}

namespace {

constexpr std::size_t kVarintOneByteMax = 253;
constexpr std::uint8_t kVarintU16Tag = 254;
constexpr std::uint8_t kVarintU32Tag = 255;

}  // namespace

std::size_t varint_size(std::size_t value) noexcept {
    if (value <= kVarintOneByteMax) {
        return 1;
    }
    return value <= 0xFFFF ? 3 : 5;
}

std::size_t varint_write(std::size_t value, std::byte* target) noexcept {
    if (value > 0xFFFFFFFF) {
        codec_contract_violation("a length or count exceeds the u32 varint range");
    }
    if (value <= kVarintOneByteMax) {
        target[0] = static_cast<std::byte>(value);
        return 1;
    }
    if (value <= 0xFFFF) {
        target[0] = std::byte{kVarintU16Tag};
        util::store_le16(target + 1, static_cast<std::uint16_t>(value));
        return 3;
    }
    target[0] = std::byte{kVarintU32Tag};
    util::store_le32(target + 1, static_cast<std::uint32_t>(value));
    return 5;
}

VarintRead varint_read(ByteView source) noexcept {
    if (source.empty()) {
        return {};
    }
    const auto tag = std::to_integer<std::uint8_t>(source[0]);
    if (tag <= kVarintOneByteMax) {
        return {tag, 1};
    }
    if (tag == kVarintU16Tag) {
        if (source.size() < 3) {
            return {};
        }
        return {util::load_le16(source.data() + 1), 3};
    }
    if (source.size() < 5) {
        return {};
    }
    return {util::load_le32(source.data() + 1), 5};
}

TypeName integer_type_name(std::size_t width_bytes, bool is_signed) {
    // Built with append rather than `const char* + std::string`: g++ 12 at -O2 reports a false
    // -Wrestrict on the latter (GCC bug 105329).
    std::string name(is_signed ? "i" : "u");
    name.append(std::to_string(width_bytes * 8));
    return TypeName::builtin(std::move(name));
}

TypeName byte_array_type_name(std::size_t count) {
    return TypeName::builtin("[u8;" + std::to_string(count) + "]");
}

TypeName option_type_name(const TypeName& inner) {
    return TypeName::builtin("Option<" + inner.name() + ">");
}

TypeName array_type_name(const TypeName& inner, std::size_t count) {
    return TypeName::builtin("[" + inner.name() + ";" + std::to_string(count) + "]");
}

TypeName vec_type_name(const TypeName& inner) {
    return TypeName::builtin("Vec<" + inner.name() + ">");
}

TypeName tuple_type_name(std::span<const TypeName> elements, bool variable_width) {
    std::string name = "(";
    for (std::size_t i = 0; i < elements.size(); ++i) {
        if (i != 0) {
            name += ',';
        }
        name += elements[i].name();
    }
    if (elements.size() == 1) {
        return TypeName::builtin(name + ",)");
    }
    name += ')';
    return TypeName(variable_width ? TypeClass::builtin_tuple : TypeClass::builtin,
                    std::move(name));
}

bool array_offsets_valid(ByteView bytes, std::size_t count) noexcept {
    // The header alone must fit; dividing avoids overflow of 4 * count.
    if (bytes.size() / 4 < count) {
        return false;
    }
    std::size_t start = 4 * count;
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t end = util::load_le32(bytes.data() + 4 * i);
        if (end < start || end > bytes.size()) {
            return false;
        }
        start = end;
    }
    return start == bytes.size();
}

ByteView array_element(ByteView bytes, std::size_t count, std::size_t index) noexcept {
    const std::size_t start =
            index == 0 ? 4 * count : util::load_le32(bytes.data() + 4 * (index - 1));
    const std::size_t end = util::load_le32(bytes.data() + 4 * index);
    return bytes.subspan(start, end - start);
}

std::size_t array_write_offsets(std::span<const std::size_t> sizes, std::byte* target) noexcept {
    std::size_t end = 4 * sizes.size();
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        end += sizes[i];
        if (end > 0xFFFFFFFF) {
            codec_contract_violation("an array encoding exceeds 4 GiB");
        }
        util::store_le32(target + 4 * i, static_cast<std::uint32_t>(end));
    }
    return 4 * sizes.size();
}

bool tuple_split(ByteView bytes, std::span<const std::optional<std::size_t>> widths,
                 std::span<ByteView> parts) noexcept {
    const std::size_t count = widths.size();
    std::array<std::size_t, 12> sizes{};
    if (count == 0 || count > sizes.size() || parts.size() != count) {
        codec_contract_violation("tuple_split: arity must be 1..12");
    }
    std::size_t offset = 0;
    for (std::size_t i = 0; i + 1 < count; ++i) {
        if (widths[i].has_value()) {
            sizes[i] = *widths[i];
            continue;
        }
        const VarintRead length = varint_read(bytes.subspan(offset));
        if (length.size == 0) {
            return false;
        }
        sizes[i] = length.value;
        offset += length.size;
    }
    for (std::size_t i = 0; i + 1 < count; ++i) {
        if (bytes.size() - offset < sizes[i]) {
            return false;
        }
        parts[i] = bytes.subspan(offset, sizes[i]);
        offset += sizes[i];
    }
    const ByteView last = bytes.subspan(offset);
    if (widths[count - 1].has_value() && last.size() != *widths[count - 1]) {
        return false;
    }
    parts[count - 1] = last;
    return true;
}

std::size_t tuple_header_size(std::span<const std::optional<std::size_t>> widths,
                              std::span<const std::size_t> sizes) noexcept {
    std::size_t size = 0;
    for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
        if (!widths[i].has_value()) {
            size += varint_size(sizes[i]);
        }
    }
    return size;
}

std::size_t tuple_write_header(std::span<const std::optional<std::size_t>> widths,
                               std::span<const std::size_t> sizes, std::byte* target) noexcept {
    std::size_t offset = 0;
    for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
        if (!widths[i].has_value()) {
            offset += varint_write(sizes[i], target + offset);
        }
    }
    return offset;
}

}  // namespace ringdb::detail
