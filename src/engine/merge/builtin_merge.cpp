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

void store(std::uint64_t value, std::size_t width, Bytes& out) {
    out.resize(width);
    for (std::size_t i = 0; i < width; ++i) {
        out[i] = static_cast<std::byte>(value & 0xff);
        value >>= 8;
    }
}

void copy(ByteView bytes, Bytes& out) { out.assign(bytes.begin(), bytes.end()); }

}  // namespace

Status numeric(NumericOp op, std::optional<ByteView> existing, ByteView operand, Bytes& out) {
    if (!existing) {
        copy(operand, out);
        return ok();
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
        store(old_value + new_value, width, out);
        return ok();
    case NumericOp::max:
        copy(new_value > old_value ? operand : *existing, out);
        return ok();
    case NumericOp::min:
        copy(new_value < old_value ? operand : *existing, out);
        return ok();
    }
    return Error{Errc::invalid_argument};
}

Status bitwise_or(std::optional<ByteView> existing, ByteView operand, Bytes& out) {
    if (!existing) {
        copy(operand, out);
        return ok();
    }
    if (existing->size() != operand.size()) {
        return Error{Errc::invalid_argument, 0, kMergeWidthMismatch};
    }
    copy(*existing, out);
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] |= operand[i];
    }
    return ok();
}

Status bytes_append(std::optional<ByteView> existing, ByteView operand, Bytes& out) {
    out.clear();
    if (existing) {
        out.insert(out.end(), existing->begin(), existing->end());
    }
    out.insert(out.end(), operand.begin(), operand.end());
    return ok();
}

}  // namespace ringdb::engine::merge
