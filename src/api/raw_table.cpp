// The untyped table handle over the engine's trees (include/ringdb/raw_table.hpp).
//
// A handle to a write transaction's table refers to a tree the transaction owns; the
// transaction drops its trees when it ends, so every operation first checks that the
// transaction is still active (transaction_finished otherwise) and only then touches the tree.

#include <ringdb/raw_table.hpp>

#include <cstring>

#include "engine/btree/cursor.hpp"
#include "engine/btree/tree_stats.hpp"
#include "engine/table/key_order.hpp"
#include "engine/txn/read_txn.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/try.hpp"

namespace ringdb::detail {

struct RawTable::Impl {
    std::shared_ptr<engine::WriteTxn> write;
    engine::OpenTable* open = nullptr;
    std::shared_ptr<engine::ReadTable> read;

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
    engine::Btree& tree() const { return write != nullptr ? open->tree : read->tree; }
    const TableSchema& schema() const { return write != nullptr ? open->schema : read->schema; }
};

struct RawRange::Impl {
    std::shared_ptr<RawTable::Impl> table;
    engine::Cursor cursor;

    Impl(std::shared_ptr<RawTable::Impl> t, RawBound lower, RawBound upper)
        : table(std::move(t)),
          cursor(table->tree(), engine_kind(lower.kind), std::move(lower.key),
                 engine_kind(upper.kind), std::move(upper.key)) {}
    Impl(std::shared_ptr<RawTable::Impl> t, const RawBoundView& lower, const RawBoundView& upper)
        : table(std::move(t)),
          cursor(table->tree(), engine::Bound{engine_kind(lower.kind), lower.key},
                 engine::Bound{engine_kind(upper.kind), upper.key}) {}

    // A range is opened per scan, often many times a second: its state (about 1 KiB, mostly
    // the cursor's paths) is recycled through the per-thread coroutine frame pool instead of
    // the global allocator.
    static void* operator new(std::size_t size) { return coro::detail::frame_allocate(size); }
    static void operator delete(void* block, std::size_t size) noexcept {
        coro::detail::frame_deallocate(block, size);
    }

    static engine::BoundKind engine_kind(RawBoundKind kind) {
        switch (kind) {
            case RawBoundKind::included:
                return engine::BoundKind::included;
            case RawBoundKind::excluded:
                return engine::BoundKind::excluded;
            case RawBoundKind::unbounded:
                break;
        }
        return engine::BoundKind::unbounded;
    }
};

namespace {

RawEntry copy_entry(ByteView key, ByteView value) {
    auto buffer = std::make_shared<Bytes>(key.size() + value.size());
    if (!key.empty()) {
        std::memcpy(buffer->data(), key.data(), key.size());
    }
    if (!value.empty()) {
        std::memcpy(buffer->data() + key.size(), value.data(), value.size());
    }
    ByteView all(*buffer);
    return RawEntry{buffer, all.first(key.size()), all.subspan(key.size())};
}

// The built-in byte-ordered key types (strings, byte slices and arrays) use the engine's own
// compare_bytes, which B-tree searches recognise and inline, instead of the codec's pointer.
KeyOrder canonical_order(const TableSchema& schema, KeyOrder order) {
    KeyOrder builtin = engine::key_order_for(schema.key_type);
    return builtin == &engine::compare_bytes ? builtin : order;
}

std::optional<RawGuard> owned(std::optional<engine::OwnedBytes> bytes) {
    if (!bytes) {
        return std::nullopt;
    }
    return RawGuard::owning(std::move(*bytes));
}

}  // namespace

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

namespace {

// Zero copy (SPEC 7.6): the entry shares the leaf the cursor read it from. A later change to
// that leaf in this transaction modifies a private copy (TreePages::writable).
RawRange::StepResult raw_step_result(engine::Cursor& cursor, bool forward,
                                     engine::Cursor::StepResult step) {
    if (!step) {
        return step.error();
    }
    if (!*step) {
        return std::optional<RawEntry>{};
    }
    const engine::PageRef& page = forward ? cursor.front_page() : cursor.back_page();
    return std::optional<RawEntry>{RawEntry{page, (*step)->key, (*step)->value}};
}

}  // namespace

bool RawRange::Step::await_ready() {
    if (impl_ == nullptr) {
        return true;  // result_ is already "none"
    }
    Status usable = impl_->table->usable();
    if (!usable) {
        result_ = usable.error();
        return true;
    }
    engine::Cursor& cursor = impl_->cursor;
    // Most steps stay in the current leaf: build the entry in place (result_ holds an empty
    // optional until here), without an intermediate StepResult.
    engine::Cursor::Entry entry;
    if (forward_ ? cursor.try_next(entry) : cursor.try_next_back(entry)) {
        const engine::PageRef& page = forward_ ? cursor.front_page() : cursor.back_page();
        result_->emplace(RawEntry{page, entry.key, entry.value});
        return true;
    }
    engine::Cursor::StepResult step = std::optional<engine::Cursor::Entry>{};
    if (!cursor.step_cached(forward_, step)) {
        return false;
    }
    result_ = raw_step_result(cursor, forward_, std::move(step));
    return true;
}

std::coroutine_handle<> RawRange::Step::await_suspend(std::coroutine_handle<> awaiting) {
    loading_ = load(this);
    auto handle = loading_.handle();
    handle.promise().continuation_ = awaiting;
    return handle;
}

Task<void> RawRange::Step::load(Step* self) {
    engine::Cursor& cursor = self->impl_->cursor;
    const bool forward = self->forward_;
    engine::Cursor::StepResult step = co_await cursor.step_slow(forward);
    self->result_ = raw_step_result(cursor, forward, std::move(step));
}

Task<Result<RawTable>> RawTable::open_write(std::shared_ptr<engine::WriteTxn> txn,
                                            TableSchema schema, KeyOrder order) {
    order = canonical_order(schema, order);
    RINGDB_CO_TRY_ASSIGN(engine::OpenTable* table,
                         co_await txn->open_table(std::move(schema), order));
    auto impl = std::make_shared<Impl>();
    impl->write = std::move(txn);
    impl->open = table;
    co_return RawTable(std::move(impl));
}

Task<Result<RawTable>> RawTable::open_read(std::shared_ptr<engine::ReadTxn> txn,
                                           TableSchema schema, KeyOrder order) {
    order = canonical_order(schema, order);
    RINGDB_CO_TRY_ASSIGN(auto table, co_await txn->open_table(std::move(schema), order));
    auto impl = std::make_shared<Impl>();
    impl->read = std::move(table);
    co_return RawTable(std::move(impl));
}

RawTable::~RawTable() = default;

const TableSchema& RawTable::schema() const { return impl_->schema(); }

Task<Result<TableStats>> RawTable::stats() const {
    RINGDB_CO_TRY(impl_->usable());
    engine::Btree& tree = impl_->tree();
    auto stats = co_await engine::tree_stats(tree.pages(), tree.root().page);
    co_return stats;
}

std::uint64_t RawTable::len() const {
    if (!impl_->usable()) {
        return 0;
    }
    return impl_->tree().length();
}

Task<Result<std::optional<RawGuard>>> RawTable::get(ByteView key) const {
    RINGDB_CO_TRY(impl_->usable());
    // Every page cached (the common case): no nested coroutine.
    auto cached = impl_->tree().try_get(key);
    if (!cached) {
        auto loaded = co_await impl_->tree().get(key);
        cached.emplace(std::move(loaded));
    }
    RINGDB_CO_TRY_ASSIGN(auto found, std::move(*cached));
    if (!found) {
        co_return std::optional<RawGuard>{};
    }
    co_return std::optional<RawGuard>{RawGuard{found->page, found->bytes}};
}

Task<Result<std::optional<RawEntry>>> RawTable::first() const {
    RINGDB_CO_TRY(impl_->usable());
    RINGDB_CO_TRY_ASSIGN(auto found, co_await impl_->tree().first());
    if (!found) {
        co_return std::optional<RawEntry>{};
    }
    co_return std::optional<RawEntry>{RawEntry{found->page, found->key, found->value}};
}

Task<Result<std::optional<RawEntry>>> RawTable::last() const {
    RINGDB_CO_TRY(impl_->usable());
    RINGDB_CO_TRY_ASSIGN(auto found, co_await impl_->tree().last());
    if (!found) {
        co_return std::optional<RawEntry>{};
    }
    co_return std::optional<RawEntry>{RawEntry{found->page, found->key, found->value}};
}

Task<Result<std::optional<RawGuard>>> RawTable::insert(ByteView key, ByteView value) {
    RINGDB_CO_TRY(impl_->usable());
    if (impl_->write == nullptr) {
        co_return Error{Errc::invalid_argument};
    }
    RINGDB_CO_TRY(check_pair_length(key.size(), value.size()));
    // Btree::insert tries the synchronous in-place path first.
    RINGDB_CO_TRY_ASSIGN(auto old, co_await impl_->tree().insert(key, value));
    co_return owned(std::move(old));
}

std::optional<Result<std::optional<RawGuard>>> RawTable::try_insert(ByteView key,
                                                                    ByteView value) {
    using Inserted = Result<std::optional<RawGuard>>;
    if (Status usable = impl_->usable(); !usable) {
        return Inserted{usable.error()};
    }
    if (impl_->write == nullptr) {
        return Inserted{Error{Errc::invalid_argument}};
    }
    if (Status fits = check_pair_length(key.size(), value.size()); !fits) {
        return Inserted{fits.error()};
    }
    auto fast = impl_->tree().try_insert(key, value);
    if (!fast) {
        return std::nullopt;
    }
    if (!*fast) {
        return Inserted{fast->error()};
    }
    return Inserted{owned(std::move(**fast))};
}

Task<Result<std::optional<RawGuard>>> RawTable::remove(ByteView key) {
    RINGDB_CO_TRY(impl_->usable());
    if (impl_->write == nullptr) {
        co_return Error{Errc::invalid_argument};
    }
    RINGDB_CO_TRY_ASSIGN(auto old, co_await impl_->tree().remove(key));
    co_return owned(std::move(old));
}

Task<Result<std::optional<RawEntry>>> RawTable::pop_first() {
    RINGDB_CO_TRY_ASSIGN(auto entry, co_await first());
    if (!entry) {
        co_return std::optional<RawEntry>{};
    }
    RawEntry copy = copy_entry(entry->key, entry->value);
    RINGDB_CO_TRY(co_await remove(copy.key));
    co_return std::optional<RawEntry>{std::move(copy)};
}

Task<Result<std::optional<RawEntry>>> RawTable::pop_last() {
    RINGDB_CO_TRY_ASSIGN(auto entry, co_await last());
    if (!entry) {
        co_return std::optional<RawEntry>{};
    }
    RawEntry copy = copy_entry(entry->key, entry->value);
    RINGDB_CO_TRY(co_await remove(copy.key));
    co_return std::optional<RawEntry>{std::move(copy)};
}

Result<RawRange> RawTable::range(RawBound lower, RawBound upper) const {
    RINGDB_TRY(impl_->usable());
    // The bounds' keys move into the cursor (no copy).
    auto impl = std::make_unique<RawRange::Impl>(impl_, std::move(lower), std::move(upper));
    return RawRange(std::move(impl));
}

Result<RawRange> RawTable::range(const RawBoundView& lower, const RawBoundView& upper) const {
    RINGDB_TRY(impl_->usable());
    auto impl = std::make_unique<RawRange::Impl>(impl_, lower, upper);
    return RawRange(std::move(impl));
}

namespace {

// Removes a key through a table impl held type-erased by RawExtract.
Task<Result<bool>> remove_key(RawTable::Impl& table, ByteView key) {
    RINGDB_CO_TRY(table.usable());
    if (table.write == nullptr) {
        co_return Error{Errc::invalid_argument};
    }
    RINGDB_CO_TRY_ASSIGN(auto old, co_await table.tree().remove(key));
    co_return old.has_value();
}

}  // namespace

RawExtract::RawExtract(RawRange range, std::shared_ptr<void> table, RawPredicate predicate) noexcept
    : range_(std::move(range)), table_(std::move(table)), predicate_(std::move(predicate)) {}
RawExtract::RawExtract(RawExtract&&) noexcept = default;
RawExtract& RawExtract::operator=(RawExtract&&) noexcept = default;
RawExtract::~RawExtract() = default;

Task<Result<std::optional<RawEntry>>> RawExtract::next() {
    auto entry = co_await step(true);
    co_return entry;
}

Task<Result<std::optional<RawEntry>>> RawExtract::next_back() {
    auto entry = co_await step(false);
    co_return entry;
}

Task<Result<std::optional<RawEntry>>> RawExtract::step(bool forward) {
    auto& table = *static_cast<RawTable::Impl*>(table_.get());
    // Each round consumes one entry of the range, so the loop ends with the range.
    for (;;) {
        Result<std::optional<RawEntry>> entry = std::optional<RawEntry>{};
        if (forward) {
            entry = co_await range_.next();
        } else {
            entry = co_await range_.next_back();
        }
        if (!entry || !*entry) {
            co_return entry;
        }
        RINGDB_CO_TRY_ASSIGN(bool take, predicate_((*entry)->key, (*entry)->value));
        if (!take) {
            continue;
        }
        // The entry holds its leaf, and removing its key modifies a private copy of that leaf
        // (TreePages::writable), so the returned bytes stay intact; the range re-seeks past it
        // on its next step.
        RINGDB_CO_TRY(co_await remove_key(table, (*entry)->key));
        co_return entry;
    }
}

namespace {

// Runs an extracting range to its end; returns how many entries it removed.
Task<Result<std::uint64_t>> run_to_end(RawExtract& extract, std::uint64_t entries) {
    std::uint64_t removed = 0;
    // Each step consumes at least one entry of the table, so `entries` + 1 steps suffice.
    for (std::uint64_t guard = 0; guard <= entries; ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await extract.next());
        if (!entry) {
            break;
        }
        ++removed;
    }
    co_return removed;
}

}  // namespace

Task<Result<std::uint64_t>> RawTable::drain(RawBound lower, RawBound upper) {
    RawPredicate all = [](ByteView, ByteView) -> Result<bool> { return true; };
    RINGDB_CO_TRY_ASSIGN(RawExtract extract, extract_from_if(std::move(lower), std::move(upper),
                                                             std::move(all)));
    auto removed = co_await run_to_end(extract, impl_->tree().length());
    co_return removed;
}

Task<Result<std::uint64_t>> RawTable::retain_in(RawBound lower, RawBound upper, RawPredicate keep) {
    RawPredicate take = [keep = std::move(keep)](ByteView k, ByteView v) -> Result<bool> {
        RINGDB_TRY_ASSIGN(bool kept, keep(k, v));
        return !kept;
    };
    RINGDB_CO_TRY_ASSIGN(RawExtract extract, extract_from_if(std::move(lower), std::move(upper),
                                                             std::move(take)));
    auto removed = co_await run_to_end(extract, impl_->tree().length());
    co_return removed;
}

Result<RawExtract> RawTable::extract_from_if(RawBound lower, RawBound upper, RawPredicate take) {
    RINGDB_TRY(impl_->usable());
    if (impl_->write == nullptr) {
        return Error{Errc::invalid_argument};
    }
    RINGDB_TRY_ASSIGN(RawRange range, this->range(std::move(lower), std::move(upper)));
    return RawExtract(std::move(range), impl_, std::move(take));
}

}  // namespace ringdb::detail
