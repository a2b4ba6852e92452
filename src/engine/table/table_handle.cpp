#include "engine/table/table_handle.hpp"

#include <cstring>

#include "engine/btree/tree_stats.hpp"
#include "engine/table/key_order.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

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

// The value a stored form holds: itself without an envelope; with one, a view of the raw
// form's bytes (zero copy) or the decompressed bytes.
Result<RawGuard> open_value(const ValueEnvelope* envelope, std::shared_ptr<const void> keep,
                            ByteView stored) {
    if (envelope == nullptr) {
        return RawGuard{std::move(keep), stored};
    }
    if (ValueEnvelope::is_raw(stored)) {
        return RawGuard{std::move(keep), stored.empty() ? stored : stored.subspan(1)};
    }
    // One allocation, not zero-filled: the decoder writes every byte of it.
    RINGDB_TRY_ASSIGN(std::uint32_t length, envelope->compressed_length(stored));
    auto buffer = std::make_shared_for_overwrite<std::byte[]>(length);
    const std::span<std::byte> out(buffer.get(), length);
    RINGDB_TRY(envelope->decompress_into(stored, out));
    return RawGuard{std::move(buffer), ByteView(out)};
}

Result<RawEntry> open_entry(const ValueEnvelope* envelope, std::shared_ptr<const void> keep,
                            ByteView key, ByteView stored) {
    if (envelope == nullptr) {
        return RawEntry{std::move(keep), key, stored};
    }
    if (ValueEnvelope::is_raw(stored)) {
        return RawEntry{std::move(keep), key, stored.empty() ? stored : stored.subspan(1)};
    }
    Bytes out;
    RINGDB_TRY_ASSIGN(ByteView value, envelope->unwrap(stored, out));
    return copy_entry(key, value);
}

Result<std::optional<RawGuard>> owned(const ValueEnvelope* envelope,
                                      std::optional<OwnedBytes> bytes) {
    if (!bytes) {
        return std::optional<RawGuard>{};
    }
    auto buffer = std::make_shared<Bytes>(std::move(*bytes));
    ByteView stored(*buffer);
    RINGDB_TRY_ASSIGN(RawGuard guard, open_value(envelope, std::move(buffer), stored));
    return std::optional<RawGuard>{std::move(guard)};
}

/// The stored form of `value`: itself, or its envelope in `scratch`.
ByteView stored_form(const ValueEnvelope* envelope, ByteView value, Bytes& scratch) {
    if (envelope == nullptr) {
        return value;
    }
    envelope->wrap(value, scratch);
    return scratch;
}

BoundKind engine_kind(RawBoundKind kind) noexcept {
    switch (kind) {
        case RawBoundKind::included:
            return BoundKind::included;
        case RawBoundKind::excluded:
            return BoundKind::excluded;
        case RawBoundKind::unbounded:
            break;
    }
    return BoundKind::unbounded;
}

}  // namespace

KeyCompare canonical_key_order(const TableSchema& schema, KeyCompare order) noexcept {
    KeyCompare builtin = key_order_for(schema.key_type);
    return builtin == &compare_bytes ? builtin : order;
}

TableHandle::~TableHandle() {
    if (host_->tables_writable() && host_->tables_usable()) {
        table_->in_use = false;
    }
}

Status TableHandle::writable() const noexcept {
    RINGDB_TRY(usable());
    if (!host_->tables_writable()) {
        return Error{Errc::invalid_argument};
    }
    return ok();
}

std::uint64_t TableHandle::len() const noexcept {
    if (!usable()) {
        return 0;
    }
    return tree().length();
}

Task<Result<TableStats>> TableHandle::stats() const {
    RINGDB_CO_TRY(usable());
    auto stats = co_await tree_stats(tree().pages(), tree().root());
    co_return stats;
}

std::optional<Result<std::optional<RawGuard>>> TableHandle::try_get(ByteView key) const {
    using Found = Result<std::optional<RawGuard>>;
    if (Status s = usable(); !s) {
        return Found{s.error()};
    }
    auto cached = tree().try_get(key);
    if (!cached) {
        return std::nullopt;
    }
    if (!*cached) {
        return Found{cached->error()};
    }
    if (!**cached) {
        return Found{std::optional<RawGuard>{}};
    }
    const auto& found = ***cached;
    auto guard = open_value(table_->envelope(), found.page, found.bytes);
    if (!guard) {
        return Found{guard.error()};
    }
    return Found{std::optional<RawGuard>{std::move(*guard)}};
}

Task<Result<std::optional<RawGuard>>> TableHandle::get(ByteView key) const {
    // Every page cached (the common case): no nested coroutine.
    if (auto cached = try_get(key)) {
        co_return std::move(*cached);
    }
    RINGDB_CO_TRY_ASSIGN(auto found, co_await tree().get(key));
    if (!found) {
        co_return std::optional<RawGuard>{};
    }
    RINGDB_CO_TRY_ASSIGN(RawGuard guard, open_value(table_->envelope(), found->page, found->bytes));
    co_return std::optional<RawGuard>{std::move(guard)};
}

Task<Result<std::optional<RawEntry>>> TableHandle::first() const {
    RINGDB_CO_TRY(usable());
    RINGDB_CO_TRY_ASSIGN(auto found, co_await tree().first());
    if (!found) {
        co_return std::optional<RawEntry>{};
    }
    RINGDB_CO_TRY_ASSIGN(RawEntry entry,
                         open_entry(table_->envelope(), found->page, found->key, found->value));
    co_return std::optional<RawEntry>{std::move(entry)};
}

Task<Result<std::optional<RawEntry>>> TableHandle::last() const {
    RINGDB_CO_TRY(usable());
    RINGDB_CO_TRY_ASSIGN(auto found, co_await tree().last());
    if (!found) {
        co_return std::optional<RawEntry>{};
    }
    RINGDB_CO_TRY_ASSIGN(RawEntry entry,
                         open_entry(table_->envelope(), found->page, found->key, found->value));
    co_return std::optional<RawEntry>{std::move(entry)};
}

Task<Result<std::optional<RawGuard>>> TableHandle::insert(ByteView key, ByteView value) {
    RINGDB_CO_TRY(writable());
    RINGDB_CO_TRY(check_pair_length(key.size(), value.size()));
    Bytes scratch;
    ByteView stored = stored_form(table_->envelope(), value, scratch);
    RINGDB_CO_TRY(check_pair_length(key.size(), stored.size()));
    // Btree::insert tries the synchronous in-place path first.
    RINGDB_CO_TRY_ASSIGN(auto old, co_await tree().insert(key, stored));
    co_return owned(table_->envelope(), std::move(old));
}

std::optional<Result<std::optional<RawGuard>>> TableHandle::try_insert(ByteView key,
                                                                       ByteView value) {
    using Inserted = Result<std::optional<RawGuard>>;
    if (Status allowed = writable(); !allowed) {
        return Inserted{allowed.error()};
    }
    if (Status fits = check_pair_length(key.size(), value.size()); !fits) {
        return Inserted{fits.error()};
    }
    if (table_->envelope() != nullptr) {
        // insert() compresses once and still tries the in-place path first: compressing here
        // too would do it twice whenever the in-place path fails.
        return std::nullopt;
    }
    auto fast = tree().try_insert(key, value);
    if (!fast) {
        return std::nullopt;
    }
    if (!*fast) {
        return Inserted{fast->error()};
    }
    return owned(table_->envelope(), std::move(**fast));
}

std::optional<Status> TableHandle::try_store(ByteView key, ByteView value) {
    if (Status allowed = writable(); !allowed) {
        return allowed;
    }
    if (Status fits = check_pair_length(key.size(), value.size()); !fits) {
        return fits;
    }
    if (table_->envelope() != nullptr) {
        return std::nullopt;  // as try_insert: insert() compresses once
    }
    auto fast = tree().try_insert(key, value, false);
    if (!fast) {
        return std::nullopt;
    }
    if (!*fast) {
        return Status{fast->error()};
    }
    return ok();
}

std::optional<Result<bool>> TableHandle::try_remove(ByteView key) {
    if (Status allowed = writable(); !allowed) {
        return Result<bool>{allowed.error()};
    }
    return tree().try_remove(key);
}

Task<Result<std::optional<RawGuard>>> TableHandle::remove(ByteView key) {
    RINGDB_CO_TRY(writable());
    RINGDB_CO_TRY_ASSIGN(auto old, co_await tree().remove(key));
    co_return owned(table_->envelope(), std::move(old));
}

Task<Result<std::optional<RawEntry>>> TableHandle::pop(bool first_entry) {
    Result<std::optional<RawEntry>> entry = std::optional<RawEntry>{};
    if (first_entry) {
        entry = co_await first();
    } else {
        entry = co_await last();
    }
    if (!entry || !*entry) {
        co_return entry;
    }
    RawEntry copy = copy_entry((*entry)->key, (*entry)->value);
    // The entry is already decoded: remove it without decoding its value again.
    RINGDB_CO_TRY(co_await tree().remove(copy.key));
    co_return std::optional<RawEntry>{std::move(copy)};
}

TableRange::TableRange(std::shared_ptr<TableHandle> table, RawBound lower, RawBound upper)
    : table_(std::move(table)),
      cursor_(table_->tree(), engine_kind(lower.kind), std::move(lower.key),
              engine_kind(upper.kind), std::move(upper.key)) {}

TableRange::TableRange(std::shared_ptr<TableHandle> table, const RawBoundView& lower,
                       const RawBoundView& upper)
    : table_(std::move(table)),
      cursor_(table_->tree(), Bound{engine_kind(lower.kind), lower.key},
              Bound{engine_kind(upper.kind), upper.key}) {}

// Zero copy: the entry shares the leaf the cursor read it from.
TableRange::StepResult TableRange::entry_of(bool forward, Cursor::StepResult step) {
    if (!step) {
        return step.error();
    }
    if (!*step) {
        return std::optional<RawEntry>{};
    }
    const PageRef& page = forward ? cursor_.front_page() : cursor_.back_page();
    RINGDB_TRY_ASSIGN(RawEntry entry,
                      open_entry(table_->table().envelope(), page, (*step)->key, (*step)->value));
    return std::optional<RawEntry>{std::move(entry)};
}

bool TableRange::try_step(bool forward, StepResult& out) {
    if (Status usable = table_->usable(); !usable) {
        out = usable.error();
        return true;
    }
    // Most steps stay in the current leaf: build the entry in place, without an intermediate
    // StepResult.
    Cursor::Entry entry;
    if (forward ? cursor_.try_next(entry) : cursor_.try_next_back(entry)) {
        const PageRef& page = forward ? cursor_.front_page() : cursor_.back_page();
        const ValueEnvelope* envelope = table_->table().envelope();
        if (envelope == nullptr) {
            out->emplace(RawEntry{page, entry.key, entry.value});
        } else if (auto opened = open_entry(envelope, page, entry.key, entry.value); opened) {
            out->emplace(std::move(*opened));
        } else {
            out = opened.error();
        }
        return true;
    }
    Cursor::StepResult step = std::optional<Cursor::Entry>{};
    if (!cursor_.step_cached(forward, step)) {
        return false;
    }
    out = entry_of(forward, std::move(step));
    return true;
}

Task<TableRange::StepResult> TableRange::step_slow(bool forward) {
    Cursor::StepResult step = co_await cursor_.step_slow(forward);
    co_return entry_of(forward, std::move(step));
}

Task<TableRange::StepResult> TableRange::step(bool forward) {
    StepResult out = std::optional<RawEntry>{};
    if (try_step(forward, out)) {
        co_return out;
    }
    auto slow = co_await step_slow(forward);
    co_return slow;
}

Task<Result<std::optional<RawEntry>>> extract_next(TableRange& range, const RawPredicate& take,
                                                   bool forward) {
    RINGDB_CO_TRY(range.table().writable());
    // Each round consumes one entry of the range, so the loop ends with the range.
    for (;;) {
        auto entry = co_await range.step(forward);
        if (!entry || !*entry) {
            co_return entry;
        }
        RINGDB_CO_TRY_ASSIGN(bool taken, take((*entry)->key, (*entry)->value));
        if (!taken) {
            continue;
        }
        // The range re-seeks past the removed key on its next step.
        RINGDB_CO_TRY(co_await range.table().remove((*entry)->key));
        co_return entry;
    }
}

namespace {

/// Keys collected by remove_range before it removes them.
struct KeyBatch {
    static constexpr std::size_t kMax = 512;
    Bytes bytes;
    std::vector<std::pair<std::size_t, std::size_t>> spans;  // offset, length

    void add(ByteView key) {
        spans.emplace_back(bytes.size(), key.size());
        bytes.insert(bytes.end(), key.begin(), key.end());
    }
    ByteView key(std::size_t i) const {
        return ByteView(bytes).subspan(spans[i].first, spans[i].second);
    }
    void clear() {
        bytes.clear();
        spans.clear();
    }
};

/// Steps `range` and collects the keys `take` accepts, up to KeyBatch::kMax; returns whether
/// the range has more entries.
Task<Result<bool>> collect_keys(TableRange& range, const RawPredicate& take, KeyBatch& batch) {
    while (batch.spans.size() < KeyBatch::kMax) {
        TableRange::StepResult entry = std::optional<RawEntry>{};
        if (!range.try_step(true, entry)) {
            entry = co_await range.step_slow(true);
        }
        if (!entry) {
            co_return entry.error();
        }
        if (!*entry) {
            co_return false;
        }
        RINGDB_CO_TRY_ASSIGN(bool taken, take((*entry)->key, (*entry)->value));
        if (taken) {
            batch.add((*entry)->key);
        }
    }
    co_return true;
}

}  // namespace

Task<Result<std::uint64_t>> remove_range(std::shared_ptr<TableHandle> table, RawBound lower,
                                         RawBound upper, RawPredicate take) {
    RINGDB_CO_TRY(table->writable());
    TableHandle& handle = *table;
    TableRange range(std::move(table), std::move(lower), std::move(upper));
    std::uint64_t removed = 0;
    // Keys are collected a batch at a time, then removed: the cursor re-seeks once per batch
    // (not once per key), and removals over cached dirty leaves need no coroutine and no copy
    // of the removed value.
    KeyBatch batch;
    for (bool more = true; more;) {
        batch.clear();
        RINGDB_CO_TRY_ASSIGN(more, co_await collect_keys(range, take, batch));
        for (std::size_t i = 0; i < batch.spans.size(); ++i) {
            const ByteView key = batch.key(i);
            if (auto fast = handle.try_remove(key)) {
                RINGDB_CO_TRY_ASSIGN(bool found, std::move(*fast));
                removed += found ? 1 : 0;
                continue;
            }
            // The tree's remove: the value is not needed, so it is not decoded.
            RINGDB_CO_TRY_ASSIGN(auto old, co_await handle.tree().remove(key));
            removed += old ? 1 : 0;
        }
    }
    co_return removed;
}

}  // namespace ringdb::engine
