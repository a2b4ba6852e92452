#pragma once
// The built-in merge operators' byte semantics (<ringdb/merge.hpp> states them).

#include <optional>

#include <ringdb/bytes.hpp>
#include <ringdb/merge.hpp>

namespace ringdb::engine::merge {

enum class NumericOp { add, max, min };

/// Add, max or min of two little-endian unsigned integers of equal width 1, 2, 4 or 8.
/// Errors: invalid_argument (kMergeWidthMismatch, kMergeUnsupportedWidth).
MergeResult numeric(NumericOp op, std::optional<ByteView> existing, ByteView operand);
/// Errors: invalid_argument (kMergeWidthMismatch) for different lengths.
MergeResult bitwise_or(std::optional<ByteView> existing, ByteView operand);
MergeResult bytes_append(std::optional<ByteView> existing, ByteView operand);

}  // namespace ringdb::engine::merge
