// MergeOperator (include/ringdb/merge.hpp): dispatch to the built-ins. It lives in the engine
// because the engine applies operators (table_merge.cpp).

#include <ringdb/merge.hpp>

#include "engine/merge/builtin_merge.hpp"

namespace ringdb {

Result<bool> MergeOperator::apply_into(ByteView key, std::optional<ByteView> existing,
                                       ByteView operand, Bytes& out) const {
    using engine::merge::NumericOp;
    Status done = ok();
    switch (kind_) {
    case Kind::function: {
        MergeResult result = function_(key, existing, operand);
        if (!result) {
            return result.error();
        }
        if (!*result) {
            return false;
        }
        out = std::move(**result);
        return true;
    }
    case Kind::numeric_add:
        done = engine::merge::numeric(NumericOp::add, existing, operand, out);
        break;
    case Kind::numeric_max:
        done = engine::merge::numeric(NumericOp::max, existing, operand, out);
        break;
    case Kind::numeric_min:
        done = engine::merge::numeric(NumericOp::min, existing, operand, out);
        break;
    case Kind::bitwise_or:
        done = engine::merge::bitwise_or(existing, operand, out);
        break;
    case Kind::bytes_append:
        done = engine::merge::bytes_append(existing, operand, out);
        break;
    }
    if (!done) {
        return done.error();
    }
    return true;
}

MergeResult MergeOperator::apply(ByteView key, std::optional<ByteView> existing,
                                 ByteView operand) const {
    Bytes out;
    Result<bool> kept = apply_into(key, existing, operand, out);
    if (!kept) {
        return kept.error();
    }
    if (!*kept) {
        return std::optional<Bytes>{};
    }
    return std::optional<Bytes>(std::move(out));
}

}  // namespace ringdb
