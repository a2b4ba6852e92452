#include "engine/merge/table_merge.hpp"

#include "util/try.hpp"

namespace ringdb::engine {

Task<Status> merge_value(TableHandle& table, ByteView key, ByteView operand,
                         const MergeOperator& op, detail::RawValueCheck valid_value) {
    RINGDB_CO_TRY(table.writable());
    // The guard keeps the existing value's page alive while the operator reads it. Over
    // cached pages (the common case) the read and the store run without a nested coroutine.
    std::optional<RawGuard> existing;
    if (auto cached = table.try_get(key)) {
        RINGDB_CO_TRY_ASSIGN(existing, std::move(*cached));
    } else {
        RINGDB_CO_TRY_ASSIGN(existing, co_await table.get(key));
    }
    std::optional<ByteView> old_value;
    if (existing) {
        old_value = existing->bytes;
    }
    // The handle's scratch buffer: one operation at a time per handle, and its capacity is
    // reused, so the built-ins merge without allocating.
    Bytes& merged = table.scratch();
    RINGDB_CO_TRY_ASSIGN(bool kept, op.apply_into(key, old_value, operand, merged));
    if (!kept) {
        if (existing) {
            RINGDB_CO_TRY(co_await table.remove(key));
        }
        co_return ok();
    }
    if (valid_value != nullptr && !valid_value(merged)) {
        co_return Error{Errc::invalid_argument, 0, kMergeResultInvalid};
    }
    // Released first: a page still referenced would be copied before it is modified.
    existing.reset();
    if (auto fast = table.try_store(key, merged)) {
        co_return *fast;
    }
    RINGDB_CO_TRY(co_await table.insert(key, merged));
    co_return ok();
}

}  // namespace ringdb::engine
