// MergeOperator (include/ringdb/merge.hpp): dispatch to the built-ins. It lives in the engine
// because the engine applies operators (table_merge.cpp).

#include <ringdb/merge.hpp>

#include "engine/merge/builtin_merge.hpp"

namespace ringdb {

MergeResult MergeOperator::apply(ByteView key, std::optional<ByteView> existing,
                                 ByteView operand) const {
    using engine::merge::NumericOp;
    switch (kind_) {
    case Kind::function:
        return function_(key, existing, operand);
    case Kind::numeric_add:
        return engine::merge::numeric(NumericOp::add, existing, operand);
    case Kind::numeric_max:
        return engine::merge::numeric(NumericOp::max, existing, operand);
    case Kind::numeric_min:
        return engine::merge::numeric(NumericOp::min, existing, operand);
    case Kind::bitwise_or:
        return engine::merge::bitwise_or(existing, operand);
    case Kind::bytes_append:
        return engine::merge::bytes_append(existing, operand);
    }
    return Error{Errc::invalid_argument};
}

}  // namespace ringdb
