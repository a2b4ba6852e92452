// The untyped multimap handle over the engine (include/ringdb/multimap_table.hpp).
//
// As for RawTable, a handle to a write transaction's multimap refers to state the transaction
// owns, so every operation first checks that the transaction is still active.

#include <ringdb/multimap_table.hpp>

#include "engine/btree/cursor.hpp"
#include "engine/table/multimap.hpp"
#include "engine/txn/read_txn.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/try.hpp"

namespace ringdb::detail {

struct RawMultimap::Impl {
    std::shared_ptr<engine::WriteTxn> write;
    engine::OpenTable* open = nullptr;
    std::shared_ptr<engine::ReadTable> read;
    KeyOrder value_order = nullptr;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        if (write != nullptr) {
            write->close_table(open);
        }
    }

    Status usable() const {
        if (write != nullptr && !write->active()) {
            return Error{Errc::transaction_finished};
        }
        return ok();
    }
    Status writable() const {
        RINGDB_TRY(usable());
        if (write == nullptr) {
            return Error{Errc::invalid_argument};
        }
        return ok();
    }
    engine::Btree& tree() const { return write != nullptr ? open->tree : read->tree; }
    const TableSchema& schema() const { return write != nullptr ? open->schema : read->schema; }
    std::uint64_t pairs() const { return write != nullptr ? open->multimap.pairs : read->pairs; }
    /// Modification counter of a write transaction's table (0 for snapshots, which never
    /// change).
    std::uint64_t modifications() const {
        return write != nullptr ? open->multimap.modifications : 0;
    }
};

struct RawMultimapValue::Impl {
    enum class Mode : std::uint8_t { image, list, tree };
    Mode mode = Mode::list;
    // image: the bytes holding the leaf image; list: the RemovedValues.
    std::shared_ptr<const void> keep;
    engine::LeafView leaf;                              // image
    const engine::RemovedValues* list = nullptr;        // list (owned through keep)
    std::uint64_t front = 0;                            // image, list: [front, back)
    std::uint64_t back = 0;
    // tree: the table (keeps the transaction and its pages alive), the subtree and a cursor.
    std::shared_ptr<RawMultimap::Impl> table;
    std::unique_ptr<engine::Btree> sub;
    std::unique_ptr<engine::Cursor> cursor;  // declared after sub: destroyed first
    std::uint64_t remaining = 0;
    std::uint64_t modifications = 0;

    ByteView at(std::uint64_t i) const {
        if (mode == Mode::image) {
            return leaf.key(static_cast<std::uint32_t>(i));
        }
        std::size_t begin = i == 0 ? 0 : list->ends[i - 1];
        return ByteView(list->data).subspan(begin, list->ends[i] - begin);
    }
};

struct RawMultimapRange::Impl {
    std::shared_ptr<RawMultimap::Impl> table;
    engine::Cursor cursor;

    Impl(std::shared_ptr<RawMultimap::Impl> t, engine::Bound lower, engine::Bound upper)
        : table(std::move(t)), cursor(table->tree(), lower, upper) {}
};

namespace {

engine::Bound to_engine(const RawBound& bound) {
    switch (bound.kind) {
        case RawBoundKind::included:
            return engine::Bound::included(bound.key);
        case RawBoundKind::excluded:
            return engine::Bound::excluded(bound.key);
        case RawBoundKind::unbounded:
            break;
    }
    return engine::Bound::unbounded();
}

/// An iterator over the collection `value`, which lies in `page` of the table's outer tree.
Result<RawMultimapValue> make_value(const std::shared_ptr<RawMultimap::Impl>& table,
                                    engine::PageRef page, ByteView value) {
    const engine::PageNumber root = table->tree().root().page;
    RINGDB_TRY_ASSIGN(engine::Collection c, engine::decode_collection(value, root));
    auto impl = std::make_unique<RawMultimapValue::Impl>();
    if (c.is_inline) {
        impl->mode = RawMultimapValue::Impl::Mode::image;
        impl->keep = std::move(page);
        impl->leaf = c.leaf;
        impl->back = c.leaf.count();
    } else {
        impl->mode = RawMultimapValue::Impl::Mode::tree;
        impl->table = table;
        impl->sub = std::make_unique<engine::Btree>(table->tree().pages(), table->value_order,
                                                    c.subtree);
        impl->cursor = std::make_unique<engine::Cursor>(*impl->sub, engine::Bound::unbounded(),
                                                        engine::Bound::unbounded());
        impl->remaining = c.subtree.length;
        impl->modifications = table->modifications();
    }
    return RawMultimapValue(std::move(impl));
}

RawMultimapValue from_removed(engine::RemovedValues removed) {
    auto impl = std::make_unique<RawMultimapValue::Impl>();
    auto owned = std::make_shared<engine::RemovedValues>(std::move(removed));
    impl->mode = RawMultimapValue::Impl::Mode::list;
    impl->list = owned.get();
    impl->back = owned->ends.size();
    impl->keep = std::move(owned);
    return RawMultimapValue(std::move(impl));
}

}  // namespace

RawMultimapValue::RawMultimapValue() = default;
RawMultimapValue::RawMultimapValue(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
RawMultimapValue::RawMultimapValue(RawMultimapValue&&) noexcept = default;
RawMultimapValue& RawMultimapValue::operator=(RawMultimapValue&&) noexcept = default;
RawMultimapValue::~RawMultimapValue() = default;

std::uint64_t RawMultimapValue::len() const noexcept {
    if (impl_ == nullptr) {
        return 0;
    }
    if (impl_->mode == Impl::Mode::tree) {
        return impl_->remaining;
    }
    return impl_->back - impl_->front;
}

Task<Result<std::optional<RawGuard>>> RawMultimapValue::next() {
    auto value = co_await step(true);
    co_return value;
}

Task<Result<std::optional<RawGuard>>> RawMultimapValue::next_back() {
    auto value = co_await step(false);
    co_return value;
}

Task<Result<std::optional<RawGuard>>> RawMultimapValue::step(bool forward) {
    if (impl_ == nullptr || len() == 0) {
        co_return std::optional<RawGuard>{};
    }
    Impl& v = *impl_;
    if (v.mode != Impl::Mode::tree) {
        std::uint64_t index = forward ? v.front++ : --v.back;
        co_return std::optional<RawGuard>{RawGuard{v.keep, v.at(index)}};
    }
    RINGDB_CO_TRY(v.table->usable());
    if (v.table->modifications() != v.modifications) {
        co_return Error{Errc::invalid_argument};  // the subtree may have changed under us
    }
    engine::Cursor::StepResult entry = std::optional<engine::Cursor::Entry>{};
    if (forward) {
        entry = co_await v.cursor->next();
    } else {
        entry = co_await v.cursor->next_back();
    }
    if (!entry) {
        co_return entry.error();
    }
    if (!*entry) {
        // Fewer values than the collection's count: the subtree is damaged.
        co_return Error{Errc::corrupted, 0, v.sub->root().page.raw()};
    }
    v.remaining -= 1;
    const engine::PageRef& page = forward ? v.cursor->front_page() : v.cursor->back_page();
    co_return std::optional<RawGuard>{RawGuard{page, (*entry)->key}};
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
    RINGDB_CO_TRY(impl_->table->usable());
    engine::Cursor::StepResult entry = std::optional<engine::Cursor::Entry>{};
    if (forward) {
        entry = co_await impl_->cursor.next();
    } else {
        entry = co_await impl_->cursor.next_back();
    }
    if (!entry) {
        co_return entry.error();
    }
    if (!*entry) {
        co_return std::optional<RawMultimapEntry>{};
    }
    engine::PageRef page = forward ? impl_->cursor.front_page() : impl_->cursor.back_page();
    RINGDB_CO_TRY_ASSIGN(RawMultimapValue values, make_value(impl_->table, page, (*entry)->value));
    RawGuard key{page, (*entry)->key};
    co_return std::optional<RawMultimapEntry>{RawMultimapEntry{std::move(key), std::move(values)}};
}

Task<Result<RawMultimap>> RawMultimap::open_write(std::shared_ptr<engine::WriteTxn> txn,
                                                  TableSchema schema, KeyOrder key_order,
                                                  KeyOrder value_order) {
    RINGDB_CO_TRY_ASSIGN(engine::OpenTable* table,
                         co_await txn->open_table(std::move(schema), key_order));
    auto impl = std::make_shared<Impl>();
    impl->write = std::move(txn);
    impl->open = table;
    impl->value_order = value_order;
    co_return RawMultimap(std::move(impl));
}

Task<Result<RawMultimap>> RawMultimap::open_read(std::shared_ptr<engine::ReadTxn> txn,
                                                 TableSchema schema, KeyOrder key_order,
                                                 KeyOrder value_order) {
    RINGDB_CO_TRY_ASSIGN(auto table, co_await txn->open_table(std::move(schema), key_order));
    auto impl = std::make_shared<Impl>();
    impl->read = std::move(table);
    impl->value_order = value_order;
    co_return RawMultimap(std::move(impl));
}

RawMultimap::~RawMultimap() = default;

const TableSchema& RawMultimap::schema() const { return impl_->schema(); }

std::uint64_t RawMultimap::len() const {
    if (!impl_->usable()) {
        return 0;
    }
    return impl_->pairs();
}

Task<Result<RawMultimapValue>> RawMultimap::get(ByteView key) const {
    RINGDB_CO_TRY(impl_->usable());
    RINGDB_CO_TRY_ASSIGN(auto found, co_await impl_->tree().get(key));
    if (!found) {
        co_return RawMultimapValue{};
    }
    auto value = make_value(impl_, found->page, found->bytes);
    co_return value;
}

Result<RawMultimapRange> RawMultimap::range(RawBound lower, RawBound upper) const {
    RINGDB_TRY(impl_->usable());
    auto impl = std::make_unique<RawMultimapRange::Impl>(impl_, to_engine(lower), to_engine(upper));
    return RawMultimapRange(std::move(impl));
}

Task<Result<bool>> RawMultimap::insert(ByteView key, ByteView value) {
    RINGDB_CO_TRY(impl_->writable());
    RINGDB_CO_TRY(check_pair_length(key.size(), value.size()));
    auto existed = co_await engine::multimap_insert(impl_->tree(), impl_->value_order,
                                                    impl_->open->multimap, key, value);
    co_return existed;
}

Task<Result<bool>> RawMultimap::remove(ByteView key, ByteView value) {
    RINGDB_CO_TRY(impl_->writable());
    auto existed = co_await engine::multimap_remove(impl_->tree(), impl_->value_order,
                                                    impl_->open->multimap, key, value);
    co_return existed;
}

Task<Result<RawMultimapValue>> RawMultimap::remove_all(ByteView key) {
    RINGDB_CO_TRY(impl_->writable());
    RINGDB_CO_TRY_ASSIGN(auto removed,
                         co_await engine::multimap_remove_all(impl_->tree(), impl_->value_order,
                                                              impl_->open->multimap, key));
    if (!removed) {
        co_return RawMultimapValue{};
    }
    co_return from_removed(std::move(*removed));
}

Task<Result<std::uint64_t>> RawMultimap::drain(RawBound lower, RawBound upper) {
    RINGDB_CO_TRY(impl_->writable());
    engine::Btree& tree = impl_->tree();
    engine::Cursor cursor(tree, to_engine(lower), to_engine(upper));
    std::uint64_t removed = 0;
    // Each round removes the key it reached (the cursor re-seeks past it), so the loop ends
    // within the number of keys.
    for (std::uint64_t guard = 0, keys = tree.length(); guard <= keys; ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            break;
        }
        Bytes key(entry->key.begin(), entry->key.end());
        RINGDB_CO_TRY_ASSIGN(bool existed,
                             co_await engine::multimap_remove_key(tree, impl_->open->multimap,
                                                                  key));
        removed += existed ? 1 : 0;
    }
    co_return removed;
}

}  // namespace ringdb::detail
