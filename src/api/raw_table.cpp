// The untyped table handle (include/ringdb/raw_table.hpp): a thin handle over the engine's
// TableHandle (engine/table/table_handle.hpp), which holds the table logic.

#include <ringdb/raw_table.hpp>

#include "api/raw_access.hpp"
#include "engine/merge/table_merge.hpp"
#include "engine/txn/read_txn.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/try.hpp"

namespace ringdb::detail {

RawGuard RawGuard::owning(Bytes bytes) {
    auto buffer = std::make_shared<Bytes>(std::move(bytes));
    ByteView view(*buffer);
    return RawGuard{std::move(buffer), view};
}

RawRange::RawRange() = default;
RawRange::RawRange(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
RawRange::RawRange(RawRange&&) noexcept = default;
RawRange& RawRange::operator=(RawRange&&) noexcept = default;
RawRange::~RawRange() = default;

bool RawRange::Step::await_ready() {
    if (impl_ == nullptr) {
        return true;  // result_ is already "none"
    }
    return impl_->try_step(forward_, result_);
}

std::coroutine_handle<> RawRange::Step::await_suspend(std::coroutine_handle<> awaiting) {
    loading_ = load(this);
    auto handle = loading_.handle();
    handle.promise().continuation_ = awaiting;
    return handle;
}

Task<void> RawRange::Step::load(Step* self) {
    StepResult step = co_await self->impl_->step_slow(self->forward_);
    self->result_ = std::move(step);
}

Task<Result<RawTable>> RawTable::open_write(std::shared_ptr<engine::WriteTxn> txn,
                                            TableSchema schema, KeyOrder order) {
    order = engine::canonical_key_order(schema, order);
    RINGDB_CO_TRY_ASSIGN(engine::OpenTable* table,
                         co_await txn->open_table(std::move(schema), order));
    co_return RawTable(std::make_shared<Impl>(std::move(txn), *table));
}

Task<Result<RawTable>> RawTable::open_read(std::shared_ptr<engine::ReadTxn> txn,
                                           TableSchema schema, KeyOrder order) {
    order = engine::canonical_key_order(schema, order);
    RINGDB_CO_TRY_ASSIGN(auto table, co_await txn->open_table(std::move(schema), order));
    co_return RawTable(std::make_shared<Impl>(std::move(txn), std::move(table)));
}

RawTable::~RawTable() = default;

const TableSchema& RawTable::schema() const { return impl_->schema(); }

std::uint64_t RawTable::len() const { return impl_->len(); }

Task<Result<TableStats>> RawTable::stats() const { return impl_->stats(); }

Task<Result<std::optional<RawGuard>>> RawTable::get(ByteView key) const {
    return impl_->get(key);
}

Task<Result<std::optional<RawEntry>>> RawTable::first() const { return impl_->first(); }

Task<Result<std::optional<RawEntry>>> RawTable::last() const { return impl_->last(); }

Task<Result<std::optional<RawGuard>>> RawTable::insert(ByteView key, ByteView value) {
    return impl_->insert(key, value);
}

std::optional<Result<std::optional<RawGuard>>> RawTable::try_insert(ByteView key,
                                                                    ByteView value) {
    return impl_->try_insert(key, value);
}

Task<Result<std::optional<RawGuard>>> RawTable::remove(ByteView key) {
    return impl_->remove(key);
}

Task<Status> RawTable::merge(ByteView key, ByteView operand, const MergeOperator& op,
                            RawValueCheck valid_value) {
    return engine::merge_value(*impl_, key, operand, op, valid_value);
}

Task<Result<std::optional<RawEntry>>> RawTable::pop_first() { return impl_->pop(true); }

Task<Result<std::optional<RawEntry>>> RawTable::pop_last() { return impl_->pop(false); }

Result<RawRange> RawTable::range(RawBound lower, RawBound upper) const {
    RINGDB_TRY(impl_->usable());
    return RawRange(std::make_unique<RawRange::Impl>(impl_, std::move(lower), std::move(upper)));
}

Result<RawRange> RawTable::range(const RawBoundView& lower, const RawBoundView& upper) const {
    RINGDB_TRY(impl_->usable());
    return RawRange(std::make_unique<RawRange::Impl>(impl_, lower, upper));
}

RawExtract::RawExtract(RawRange range, std::shared_ptr<void> table, RawPredicate predicate) noexcept
    : range_(std::move(range)), table_(std::move(table)), predicate_(std::move(predicate)) {}
RawExtract::RawExtract(RawExtract&&) noexcept = default;
RawExtract& RawExtract::operator=(RawExtract&&) noexcept = default;
RawExtract::~RawExtract() = default;

Task<Result<std::optional<RawEntry>>> RawExtract::next() { return step(true); }

Task<Result<std::optional<RawEntry>>> RawExtract::next_back() { return step(false); }

Task<Result<std::optional<RawEntry>>> RawExtract::step(bool forward) {
    return engine::extract_next(*range_.impl_, predicate_, forward);
}

Task<Result<std::uint64_t>> RawTable::drain(RawBound lower, RawBound upper) {
    RawPredicate all = [](ByteView, ByteView) -> Result<bool> { return true; };
    return engine::remove_range(impl_, std::move(lower), std::move(upper), std::move(all));
}

Task<Result<std::uint64_t>> RawTable::retain_in(RawBound lower, RawBound upper, RawPredicate keep) {
    RawPredicate take = [keep = std::move(keep)](ByteView k, ByteView v) -> Result<bool> {
        RINGDB_TRY_ASSIGN(bool kept, keep(k, v));
        return !kept;
    };
    return engine::remove_range(impl_, std::move(lower), std::move(upper), std::move(take));
}

Result<RawExtract> RawTable::extract_from_if(RawBound lower, RawBound upper, RawPredicate take) {
    RINGDB_TRY(impl_->writable());
    RINGDB_TRY_ASSIGN(RawRange range, this->range(std::move(lower), std::move(upper)));
    return RawExtract(std::move(range), impl_, std::move(take));
}

}  // namespace ringdb::detail
