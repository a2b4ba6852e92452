#include "engine/table/multimap_handle.hpp"

#include "util/try.hpp"

namespace ringdb::engine {

namespace {

Bound engine_bound(const RawBound& bound) {
    switch (bound.kind) {
        case RawBoundKind::included:
            return Bound::included(bound.key);
        case RawBoundKind::excluded:
            return Bound::excluded(bound.key);
        case RawBoundKind::unbounded:
            break;
    }
    return Bound::unbounded();
}

}  // namespace

Task<Result<bool>> MultimapHandle::insert(ByteView key, ByteView value) {
    RINGDB_CO_TRY(writable());
    RINGDB_CO_TRY(check_pair_length(key.size(), value.size()));
    auto existed = co_await multimap_insert(tree(), value_order_, table().multimap, key, value);
    if (existed && !*existed && table().sink != nullptr) {
        table().sink->multimap_inserted(key, value);
    }
    co_return existed;
}

Task<Result<bool>> MultimapHandle::remove(ByteView key, ByteView value) {
    RINGDB_CO_TRY(writable());
    auto existed = co_await multimap_remove(tree(), value_order_, table().multimap, key, value);
    if (existed && *existed && table().sink != nullptr) {
        table().sink->multimap_removed(key, value);
    }
    co_return existed;
}

Task<Result<std::optional<RemovedValues>>> MultimapHandle::remove_all(ByteView key) {
    RINGDB_CO_TRY(writable());
    auto removed = co_await multimap_remove_all(tree(), value_order_, table().multimap, key);
    if (removed && removed->has_value() && table().sink != nullptr) {
        table().sink->multimap_key_removed(key);
    }
    co_return removed;
}

Task<Result<std::uint64_t>> MultimapHandle::drain(RawBound lower, RawBound upper) {
    RINGDB_CO_TRY(writable());
    Btree& outer = tree();
    Cursor cursor(outer, engine_bound(lower), engine_bound(upper));
    std::uint64_t removed = 0;
    // Each round removes the key it reached (the cursor re-seeks past it), so the loop ends
    // within the number of keys.
    for (std::uint64_t guard = 0, keys = outer.length(); guard <= keys; ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            break;
        }
        Bytes key(entry->key.begin(), entry->key.end());
        RINGDB_CO_TRY_ASSIGN(bool existed,
                             co_await multimap_remove_key(outer, table().multimap, key));
        if (existed && table().sink != nullptr) {
            table().sink->multimap_key_removed(key);
        }
        removed += existed ? 1 : 0;
    }
    co_return removed;
}

Result<MultimapValues> MultimapValues::of(const std::shared_ptr<MultimapHandle>& table,
                                          PageRef page, ByteView value) {
    const PageNumber root = table->tree().root().page;
    RINGDB_TRY_ASSIGN(Collection c, decode_collection(value, root));
    MultimapValues values;
    if (c.is_inline) {
        values.mode_ = Mode::image;
        values.keep_ = std::move(page);
        values.leaf_ = c.leaf;
        values.back_ = c.leaf.count();
    } else {
        values.mode_ = Mode::tree;
        values.table_ = table;
        values.sub_ = std::make_unique<Btree>(table->tree().pages(), table->value_order(),
                                              c.subtree);
        values.cursor_ = std::make_unique<Cursor>(*values.sub_, Bound::unbounded(),
                                                  Bound::unbounded());
        values.remaining_ = c.subtree.length;
        values.modifications_ = table->modifications();
    }
    return values;
}

MultimapValues MultimapValues::removed(RemovedValues removed) {
    MultimapValues values;
    auto owned = std::make_shared<RemovedValues>(std::move(removed));
    values.mode_ = Mode::list;
    values.list_ = owned.get();
    values.back_ = owned->ends.size();
    values.keep_ = std::move(owned);
    return values;
}

std::uint64_t MultimapValues::len() const noexcept {
    if (mode_ == Mode::tree) {
        return remaining_;
    }
    return back_ - front_;
}

ByteView MultimapValues::at(std::uint64_t i) const {
    if (mode_ == Mode::image) {
        return leaf_.key(static_cast<std::uint32_t>(i));
    }
    std::size_t begin = i == 0 ? 0 : list_->ends[i - 1];
    return ByteView(list_->data).subspan(begin, list_->ends[i] - begin);
}

Task<Result<std::optional<RawGuard>>> MultimapValues::step(bool forward) {
    if (len() == 0) {
        co_return std::optional<RawGuard>{};
    }
    if (mode_ != Mode::tree) {
        std::uint64_t index = forward ? front_++ : --back_;
        co_return std::optional<RawGuard>{RawGuard{keep_, at(index)}};
    }
    RINGDB_CO_TRY(table_->usable());
    if (table_->modifications() != modifications_) {
        co_return Error{Errc::invalid_argument};  // the subtree may have changed under us
    }
    Cursor::StepResult entry = std::optional<Cursor::Entry>{};
    if (forward) {
        entry = co_await cursor_->next();
    } else {
        entry = co_await cursor_->next_back();
    }
    if (!entry) {
        co_return entry.error();
    }
    if (!*entry) {
        // Fewer values than the collection's count: the subtree is damaged.
        co_return Error{Errc::corrupted, 0, sub_->root().page.raw()};
    }
    remaining_ -= 1;
    const PageRef& page = forward ? cursor_->front_page() : cursor_->back_page();
    co_return std::optional<RawGuard>{RawGuard{page, (*entry)->key}};
}

MultimapRange::MultimapRange(std::shared_ptr<MultimapHandle> table, const RawBound& lower,
                             const RawBound& upper)
    : table_(std::move(table)), cursor_(table_->tree(), engine_bound(lower), engine_bound(upper)) {}

Task<Result<std::optional<MultimapRange::Entry>>> MultimapRange::step(bool forward) {
    RINGDB_CO_TRY(table_->usable());
    Cursor::StepResult entry = std::optional<Cursor::Entry>{};
    if (forward) {
        entry = co_await cursor_.next();
    } else {
        entry = co_await cursor_.next_back();
    }
    if (!entry) {
        co_return entry.error();
    }
    if (!*entry) {
        co_return std::optional<Entry>{};
    }
    PageRef page = forward ? cursor_.front_page() : cursor_.back_page();
    RINGDB_CO_TRY_ASSIGN(MultimapValues values, MultimapValues::of(table_, page, (*entry)->value));
    RawGuard key{std::move(page), (*entry)->key};
    co_return std::optional<Entry>{Entry{std::move(key), std::move(values)}};
}

}  // namespace ringdb::engine
