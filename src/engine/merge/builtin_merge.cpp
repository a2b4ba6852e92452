// The built-in merge operators.

#include "engine/merge/builtin_merge.hpp"

#include <cstdint>
#include <cstring>

namespace ringdb::engine::merge {

namespace {

std::uint64_t load(ByteView bytes) noexcept {
    std::uint64_t value = 0;
    for (std::size_t i = bytes.size(); i-- > 0;) {
        value = (value << 8) | std::to_integer<std::uint64_t>(bytes[i]);
    }
    return value;
}

Bytes store(std::uint64_t value, std::size_t width) {
    Bytes out(width);
    for (std::size_t i = 0; i < width; ++i) {
        out[i] = static_cast<std::byte>(value & 0xff);
        value >>= 8;
    }
    return out;
}

Bytes copy(ByteView bytes) { return Bytes(bytes.begin(), bytes.end()); }

}  // namespace

MergeResult numeric(NumericOp op, std::optional<ByteView> existing, ByteView operand) {
    if (!existing) {
        return std::optional<Bytes>(copy(operand));
    }
    const std::size_t width = operand.size();
    if (existing->size() != width) {
        return Error{Errc::invalid_argument, 0, kMergeWidthMismatch};
    }
    if (width != 1 && width != 2 && width != 4 && width != 8) {
        return Error{Errc::invalid_argument, 0, kMergeUnsupportedWidth};
    }
    const std::uint64_t old_value = load(*existing);
    const std::uint64_t new_value = load(operand);
    switch (op) {
    case NumericOp::add:
        // Wraps at 2^(8 * width): store() keeps the low `width` bytes.
        return std::optional<Bytes>(store(old_value + new_value, width));
    case NumericOp::max:
        return std::optional<Bytes>(copy(new_value > old_value ? operand : *existing));
    case NumericOp::min:
        return std::optional<Bytes>(copy(new_value < old_value ? operand : *existing));
    }
    return Error{Errc::invalid_argument};
}

MergeResult bitwise_or(std::optional<ByteView> existing, ByteView operand) {
    if (!existing) {
        return std::optional<Bytes>(copy(operand));
    }
    if (existing->size() != operand.size()) {
        return Error{Errc::invalid_argument, 0, kMergeWidthMismatch};
    }
    Bytes out = copy(*existing);
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] |= operand[i];
    }
    return std::optional<Bytes>(std::move(out));
}

MergeResult bytes_append(std::optional<ByteView> existing, ByteView operand) {
    if (!existing) {
        return std::optional<Bytes>(copy(operand));
    }
    Bytes out;
    out.reserve(existing->size() + operand.size());
    out.insert(out.end(), existing->begin(), existing->end());
    out.insert(out.end(), operand.begin(), operand.end());
    return std::optional<Bytes>(std::move(out));
}

}  // namespace ringdb::engine::merge
