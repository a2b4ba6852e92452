#pragma once
// Merge operators (docs/merge.md): Table::merge(key, operand, op) replaces a key's value with
// op(key, existing value or none, operand), atomically inside the write transaction.
//
// A merge operator returns the new value's bytes, or none to remove the key (removing a missing
// key does nothing). The built-ins work on the encoded bytes:
//  - numeric_add, numeric_max, numeric_min: existing and operand are unsigned little-endian
//    integers of the same width, 1, 2, 4 or 8 bytes (two's-complement signed integers add
//    the same way); add wraps around. Max keeps the existing value on a tie.
//  - bitwise_or: byte-wise OR of two values of equal length.
//  - bytes_append: the existing bytes followed by the operand.
// With no existing value every built-in returns a copy of the operand. A built-in given
// operands of different widths, or an integer width other than 1, 2, 4 or 8, returns
// invalid_argument (detail: kMergeWidthMismatch or kMergeUnsupportedWidth) and the merge
// changes nothing.
//
// from_fn wraps any callable `f(ByteView key, std::optional<ByteView> existing, ByteView
// operand)` returning std::optional<Bytes> or Result<std::optional<Bytes>>. An error it returns
// is returned by the merge; an exception it throws comes out of `co_await table.merge(...)`.
// Either way the table is unchanged and the transaction goes on. An operator may be called
// from any thread that runs a transaction, so it must be safe to call concurrently.

#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include <ringdb/bytes.hpp>
#include <ringdb/result.hpp>

namespace ringdb {

/// invalid_argument details of the built-in operators.
inline constexpr std::uint64_t kMergeWidthMismatch = 1;
inline constexpr std::uint64_t kMergeUnsupportedWidth = 2;
/// invalid_argument detail of Table::merge when the operator's result does not decode as the
/// table's value type.
inline constexpr std::uint64_t kMergeResultInvalid = 3;

/// What a merge operator returns: the new bytes, none to remove the key, or an error.
using MergeResult = Result<std::optional<Bytes>>;

class MergeOperator {
public:
    using Function = std::function<MergeResult(ByteView key, std::optional<ByteView> existing,
                                               ByteView operand)>;

    static MergeOperator numeric_add() noexcept { return MergeOperator(Kind::numeric_add); }
    static MergeOperator numeric_max() noexcept { return MergeOperator(Kind::numeric_max); }
    static MergeOperator numeric_min() noexcept { return MergeOperator(Kind::numeric_min); }
    static MergeOperator bitwise_or() noexcept { return MergeOperator(Kind::bitwise_or); }
    static MergeOperator bytes_append() noexcept { return MergeOperator(Kind::bytes_append); }

    /// A user operator (see the top of this file).
    template <class F>
    static MergeOperator from_fn(F f) {
        using Out = std::invoke_result_t<F&, ByteView, std::optional<ByteView>, ByteView>;
        static_assert(std::is_same_v<Out, MergeResult> ||
                              std::is_same_v<Out, std::optional<Bytes>>,
                      "a merge function returns std::optional<Bytes> or MergeResult");
        MergeOperator op(Kind::function);
        op.function_ = [f = std::move(f)](ByteView key, std::optional<ByteView> existing,
                                          ByteView operand) mutable -> MergeResult {
            return f(key, existing, operand);
        };
        return op;
    }

    /// The new value for `key` (see the top of this file).
    MergeResult apply(ByteView key, std::optional<ByteView> existing, ByteView operand) const;
    /// apply() writing the new value into `out` (replacing its contents; the built-ins reuse
    /// its capacity, so a caller that keeps `out` merges without allocating). Returns false
    /// when the key is to be removed.
    Result<bool> apply_into(ByteView key, std::optional<ByteView> existing, ByteView operand,
                            Bytes& out) const;

private:
    enum class Kind : std::uint8_t {
        function,
        numeric_add,
        numeric_max,
        numeric_min,
        bitwise_or,
        bytes_append
    };
    explicit MergeOperator(Kind kind) noexcept : kind_(kind) {}

    Kind kind_;
    Function function_;
};

}  // namespace ringdb
