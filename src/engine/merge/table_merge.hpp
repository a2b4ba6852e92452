#pragma once
// Table::merge on the engine side: read the key's value, apply the operator, store or remove
// the result, all inside the write transaction.

#include <ringdb/merge.hpp>
#include <ringdb/raw_table.hpp>
#include <ringdb/task.hpp>

#include "engine/table/table_handle.hpp"

namespace ringdb::engine {

/// Replaces `key`'s value with op(key, value or none, operand), or removes the key when op
/// returns none. `valid_value` says whether bytes are a value of the table's type; a result it
/// rejects is invalid_argument (kMergeResultInvalid). Errors: what op returns, invalid_argument
/// (read transaction's table, or the result above), value_too_large, no_space, and the table's
/// errors. On any error, and when op throws (the exception leaves this coroutine), the table is
/// unchanged. REQUIRES: awaited in the full-expression that created it (takes views).
Task<Status> merge_value(TableHandle& table, ByteView key, ByteView operand,
                         const MergeOperator& op, detail::RawValueCheck valid_value);

}  // namespace ringdb::engine
