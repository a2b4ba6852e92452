#pragma once
// The built-in merge operators' byte semantics (<ringdb/merge.hpp> states them).

#include <optional>

#include <ringdb/bytes.hpp>
#include <ringdb/merge.hpp>

namespace ringdb::engine::merge {

enum class NumericOp { add, max, min };

// Each writes the new value into `out`, replacing its contents and reusing its capacity (so a
// caller that keeps `out` merges without allocating).

/// Add, max or min of two little-endian unsigned integers of equal width 1, 2, 4 or 8.
/// Errors: invalid_argument (kMergeWidthMismatch, kMergeUnsupportedWidth).
Status numeric(NumericOp op, std::optional<ByteView> existing, ByteView operand, Bytes& out);
/// Errors: invalid_argument (kMergeWidthMismatch) for different lengths.
Status bitwise_or(std::optional<ByteView> existing, ByteView operand, Bytes& out);
Status bytes_append(std::optional<ByteView> existing, ByteView operand, Bytes& out);

}  // namespace ringdb::engine::merge
