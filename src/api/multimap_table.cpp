// The untyped multimap handle (include/ringdb/multimap_table.hpp): a thin handle over the
// engine's MultimapHandle (engine/table/multimap_handle.hpp), which holds the multimap logic.

#include <ringdb/multimap_table.hpp>

#include "engine/table/multimap_handle.hpp"
#include "engine/txn/read_txn.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/try.hpp"

namespace ringdb::detail {

struct RawMultimap::Impl : engine::MultimapHandle {
    using MultimapHandle::MultimapHandle;
};

struct RawMultimapValue::Impl {
    engine::MultimapValues values;
};

struct RawMultimapRange::Impl {
    Impl(std::shared_ptr<engine::MultimapHandle> table, const RawBound& lower,
         const RawBound& upper)
        : range(std::move(table), lower, upper) {}

    engine::MultimapRange range;
};

namespace {

RawMultimapValue wrap(engine::MultimapValues values) {
    return RawMultimapValue(std::make_unique<RawMultimapValue::Impl>(
            RawMultimapValue::Impl{std::move(values)}));
}

}  // namespace

RawMultimapValue::RawMultimapValue() = default;
RawMultimapValue::RawMultimapValue(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
RawMultimapValue::RawMultimapValue(RawMultimapValue&&) noexcept = default;
RawMultimapValue& RawMultimapValue::operator=(RawMultimapValue&&) noexcept = default;
RawMultimapValue::~RawMultimapValue() = default;

std::uint64_t RawMultimapValue::len() const noexcept {
    return impl_ != nullptr ? impl_->values.len() : 0;
}

Task<Result<std::optional<RawGuard>>> RawMultimapValue::next() { return step(true); }

Task<Result<std::optional<RawGuard>>> RawMultimapValue::next_back() { return step(false); }

Task<Result<std::optional<RawGuard>>> RawMultimapValue::step(bool forward) {
    if (impl_ == nullptr) {
        co_return std::optional<RawGuard>{};  // an empty set
    }
    auto value = co_await impl_->values.step(forward);
    co_return value;
}

RawMultimapRange::RawMultimapRange() = default;
RawMultimapRange::RawMultimapRange(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
RawMultimapRange::RawMultimapRange(RawMultimapRange&&) noexcept = default;
RawMultimapRange& RawMultimapRange::operator=(RawMultimapRange&&) noexcept = default;
RawMultimapRange::~RawMultimapRange() = default;

Task<Result<std::optional<RawMultimapEntry>>> RawMultimapRange::next() {
    auto entry = co_await step(true);
    co_return entry;
}

Task<Result<std::optional<RawMultimapEntry>>> RawMultimapRange::next_back() {
    auto entry = co_await step(false);
    co_return entry;
}

Task<Result<std::optional<RawMultimapEntry>>> RawMultimapRange::step(bool forward) {
    if (impl_ == nullptr) {
        co_return std::optional<RawMultimapEntry>{};
    }
    RINGDB_CO_TRY_ASSIGN(auto entry, co_await impl_->range.step(forward));
    if (!entry) {
        co_return std::optional<RawMultimapEntry>{};
    }
    RawMultimapEntry wrapped{std::move(entry->first), wrap(std::move(entry->second))};
    co_return std::optional<RawMultimapEntry>{std::move(wrapped)};
}

Task<Result<RawMultimap>> RawMultimap::open_write(std::shared_ptr<engine::WriteTxn> txn,
                                                  TableSchema schema, KeyOrder key_order,
                                                  KeyOrder value_order) {
    RINGDB_CO_TRY_ASSIGN(engine::OpenTable* table,
                         co_await txn->open_table(std::move(schema), key_order));
    co_return RawMultimap(std::make_shared<Impl>(std::move(txn), *table, value_order));
}

Task<Result<RawMultimap>> RawMultimap::open_read(std::shared_ptr<engine::ReadTxn> txn,
                                                 TableSchema schema, KeyOrder key_order,
                                                 KeyOrder value_order) {
    RINGDB_CO_TRY_ASSIGN(auto table, co_await txn->open_table(std::move(schema), key_order));
    co_return RawMultimap(std::make_shared<Impl>(std::move(txn), std::move(table), value_order));
}

RawMultimap::~RawMultimap() = default;

const TableSchema& RawMultimap::schema() const { return impl_->schema(); }

std::uint64_t RawMultimap::len() const { return impl_->pairs(); }

Task<Result<RawMultimapValue>> RawMultimap::get(ByteView key) const {
    RINGDB_CO_TRY(impl_->usable());
    RINGDB_CO_TRY_ASSIGN(auto found, co_await impl_->tree().get(key));
    if (!found) {
        co_return RawMultimapValue{};
    }
    RINGDB_CO_TRY_ASSIGN(auto values, engine::MultimapValues::of(impl_, found->page, found->bytes));
    co_return wrap(std::move(values));
}

Result<RawMultimapRange> RawMultimap::range(RawBound lower, RawBound upper) const {
    RINGDB_TRY(impl_->usable());
    return RawMultimapRange(std::make_unique<RawMultimapRange::Impl>(impl_, lower, upper));
}

Task<Result<bool>> RawMultimap::insert(ByteView key, ByteView value) {
    return impl_->insert(key, value);
}

Task<Result<bool>> RawMultimap::remove(ByteView key, ByteView value) {
    return impl_->remove(key, value);
}

Task<Result<RawMultimapValue>> RawMultimap::remove_all(ByteView key) {
    RINGDB_CO_TRY_ASSIGN(auto removed, co_await impl_->remove_all(key));
    if (!removed) {
        co_return RawMultimapValue{};
    }
    co_return wrap(engine::MultimapValues::removed(std::move(*removed)));
}

Task<Result<std::uint64_t>> RawMultimap::drain(RawBound lower, RawBound upper) {
    return impl_->drain(std::move(lower), std::move(upper));
}

}  // namespace ringdb::detail
