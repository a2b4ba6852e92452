#pragma once
// Multimap tables (docs/api.md, "Multimap tables"): each key maps to a sorted set of values.
// K is a Key; V is a MultimapValueType (<ringdb/codec_base.hpp>): a Key, kept in
// Codec<V>::compare order, or a type without a natural order (vectors), kept in the order of
// its encoded bytes. Values are unique per key.
//
// MultimapTable<K, V> comes from WriteTransaction::open_multimap_table and sees the
// transaction's own changes; ReadOnlyMultimapTable<K, V> comes from
// ReadTransaction::open_multimap_table. len() is the number of (key, value) pairs.
//
// MultimapValue<V> iterates one key's values, ascending with next() and descending with
// next_back(); the two ends meet without returning a value twice; len() is the number of
// values not consumed yet. Values, ranges and guards from a read transaction keep its snapshot
// alive after the table and transaction objects are gone. From a write transaction:
//   - values of small sets (stored inline) and values returned by remove_all() are snapshots
//     and stay valid whatever happens to the table;
//   - values of large sets (stored in a subtree) read the live tree: once the table has been
//     modified, their next step returns Errc::invalid_argument instead of reading pages the
//     modification may have released. Consume them before modifying the table.
//   - every step after the transaction ended returns Errc::transaction_finished.
//
// Errors common to every operation: transaction_finished, io, previous_io, corrupted.

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include <ringdb/codec.hpp>
#include <ringdb/raw_table.hpp>
#include <ringdb/result.hpp>
#include <ringdb/table.hpp>
#include <ringdb/task.hpp>

namespace ringdb::detail {

/// Untyped iterator over one key's values.
class RawMultimapValue {
public:
    RawMultimapValue();  // empty
    RawMultimapValue(RawMultimapValue&&) noexcept;
    RawMultimapValue& operator=(RawMultimapValue&&) noexcept;
    RawMultimapValue(const RawMultimapValue&) = delete;
    RawMultimapValue& operator=(const RawMultimapValue&) = delete;
    ~RawMultimapValue();

    /// The next value from the front / back, or none when the ends meet.
    Task<Result<std::optional<RawGuard>>> next();
    Task<Result<std::optional<RawGuard>>> next_back();
    /// Values not consumed yet.
    std::uint64_t len() const noexcept;

    struct Impl;
    explicit RawMultimapValue(std::unique_ptr<Impl> impl) noexcept;

private:
    Task<Result<std::optional<RawGuard>>> step(bool forward);
    std::unique_ptr<Impl> impl_;
};

struct RawMultimapEntry {
    RawGuard key;
    RawMultimapValue values;
};

/// Untyped double-ended iterator over (key, values) in key order.
class RawMultimapRange {
public:
    RawMultimapRange();
    RawMultimapRange(RawMultimapRange&&) noexcept;
    RawMultimapRange& operator=(RawMultimapRange&&) noexcept;
    RawMultimapRange(const RawMultimapRange&) = delete;
    RawMultimapRange& operator=(const RawMultimapRange&) = delete;
    ~RawMultimapRange();

    Task<Result<std::optional<RawMultimapEntry>>> next();
    Task<Result<std::optional<RawMultimapEntry>>> next_back();

    struct Impl;
    explicit RawMultimapRange(std::unique_ptr<Impl> impl) noexcept;

private:
    Task<Result<std::optional<RawMultimapEntry>>> step(bool forward);
    std::unique_ptr<Impl> impl_;
};

/// The untyped multimap operations behind MultimapTable<K, V>.
class RawMultimap {
public:
    /// Opens (creating if missing) a multimap in a write transaction. Errors as
    /// WriteTransaction::open_multimap_table.
    static Task<Result<RawMultimap>> open_write(std::shared_ptr<engine::WriteTxn> txn,
                                                TableSchema schema, KeyOrder key_order,
                                                KeyOrder value_order);
    /// Opens a multimap of a read transaction's snapshot.
    static Task<Result<RawMultimap>> open_read(std::shared_ptr<engine::ReadTxn> txn,
                                               TableSchema schema, KeyOrder key_order,
                                               KeyOrder value_order);

    RawMultimap() = default;
    RawMultimap(RawMultimap&&) noexcept = default;
    RawMultimap& operator=(RawMultimap&&) noexcept = default;
    RawMultimap(const RawMultimap&) = delete;
    RawMultimap& operator=(const RawMultimap&) = delete;
    ~RawMultimap();

    const TableSchema& schema() const;
    /// Number of (key, value) pairs; 0 once the transaction ended.
    std::uint64_t len() const;

    Task<Result<RawMultimapValue>> get(ByteView key) const;
    Result<RawMultimapRange> range(RawBound lower, RawBound upper) const;
    /// Write transactions only (invalid_argument otherwise).
    Task<Result<bool>> insert(ByteView key, ByteView value);
    Task<Result<bool>> remove(ByteView key, ByteView value);
    Task<Result<RawMultimapValue>> remove_all(ByteView key);
    /// Removes every key in the range with its values; returns the number of keys removed.
    Task<Result<std::uint64_t>> drain(RawBound lower, RawBound upper);

    struct Impl;

private:
    explicit RawMultimap(std::shared_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
    std::shared_ptr<Impl> impl_;
};

}  // namespace ringdb::detail

namespace ringdb {

/// The values of one key (see the header comment for validity rules).
template <MultimapValueType V>
class MultimapValue {
public:
    explicit MultimapValue(detail::RawMultimapValue raw) noexcept : raw_(std::move(raw)) {}

    /// The smallest value not consumed yet, or none.
    Task<Result<std::optional<AccessGuard<V>>>> next() {
        auto raw = co_await raw_.next();
        if (!raw) {
            co_return raw.error();
        }
        co_return detail::typed_guard<V>(std::move(*raw));
    }
    /// The largest value not consumed yet, or none.
    Task<Result<std::optional<AccessGuard<V>>>> next_back() {
        auto raw = co_await raw_.next_back();
        if (!raw) {
            co_return raw.error();
        }
        co_return detail::typed_guard<V>(std::move(*raw));
    }
    /// Number of values not consumed yet (from either end).
    std::uint64_t len() const noexcept { return raw_.len(); }
    bool is_empty() const noexcept { return len() == 0; }

private:
    detail::RawMultimapValue raw_;
};

/// A key and its values.
template <Key K, MultimapValueType V>
struct MultimapEntry {
    AccessGuard<K> key;
    MultimapValue<V> values;
};

/// (key, values) in key order, from both ends; an empty or inverted range yields nothing.
template <Key K, MultimapValueType V>
class MultimapRange {
public:
    explicit MultimapRange(detail::RawMultimapRange raw) noexcept : raw_(std::move(raw)) {}

    Task<Result<std::optional<MultimapEntry<K, V>>>> next() {
        auto raw = co_await raw_.next();
        co_return typed(std::move(raw));
    }
    Task<Result<std::optional<MultimapEntry<K, V>>>> next_back() {
        auto raw = co_await raw_.next_back();
        co_return typed(std::move(raw));
    }

private:
    static Result<std::optional<MultimapEntry<K, V>>> typed(
            Result<std::optional<detail::RawMultimapEntry>> raw) {
        if (!raw) {
            return raw.error();
        }
        if (!*raw) {
            return std::optional<MultimapEntry<K, V>>{};
        }
        return std::optional<MultimapEntry<K, V>>{MultimapEntry<K, V>{
                AccessGuard<K>(std::move((*raw)->key)),
                MultimapValue<V>(std::move((*raw)->values))}};
    }

    detail::RawMultimapRange raw_;
};

/// Read operations shared by MultimapTable and ReadOnlyMultimapTable.
template <Key K, MultimapValueType V>
class ReadableMultimapTable {
public:
    using KeyType = K;
    using ValueType = V;

    const std::string& name() const { return raw_.schema().name; }
    /// Number of (key, value) pairs (O(1)).
    std::uint64_t len() const { return raw_.len(); }
    bool is_empty() const { return len() == 0; }

    /// The values of `key`, ascending; empty if the key is absent.
    Task<Result<MultimapValue<V>>> get(const K& key) const {
        Bytes encoded = encode(key);
        auto raw = co_await raw_.get(encoded);
        if (!raw) {
            co_return raw.error();
        }
        co_return MultimapValue<V>(std::move(*raw));
    }
    /// Keys with lower <= key <= upper (per the bounds' kinds), each with its values.
    Result<MultimapRange<K, V>> range(const Bound<K>& lower, const Bound<K>& upper) const {
        auto raw = raw_.range(lower.raw(), upper.raw());
        if (!raw) {
            return raw.error();
        }
        return MultimapRange<K, V>(std::move(*raw));
    }
    /// Every key with its values.
    Result<MultimapRange<K, V>> iter() const {
        return range(Bound<K>::unbounded(), Bound<K>::unbounded());
    }

protected:
    explicit ReadableMultimapTable(detail::RawMultimap raw) noexcept : raw_(std::move(raw)) {}
    detail::RawMultimap raw_;
};

/// A multimap of a write transaction.
template <Key K, MultimapValueType V>
class MultimapTable : public ReadableMultimapTable<K, V> {
public:
    explicit MultimapTable(detail::RawMultimap raw) noexcept
        : ReadableMultimapTable<K, V>(std::move(raw)) {}

    /// Adds the pair; returns true if it was present already (nothing changes), false if it
    /// was added. Errors: value_too_large (key or value over 3 GiB, pair over 3.75 GiB; the
    /// table is unchanged), no_space.
    Task<Result<bool>> insert(const K& key, const V& value) {
        Bytes k = encode(key);
        Bytes v = encode(value);
        auto existed = co_await this->raw_.insert(k, v);
        co_return existed;
    }
    /// Removes the pair; returns whether it existed. Removing a key's last value removes the
    /// key.
    Task<Result<bool>> remove(const K& key, const V& value) {
        Bytes k = encode(key);
        Bytes v = encode(value);
        auto existed = co_await this->raw_.remove(k, v);
        co_return existed;
    }
    /// Removes the key with all its values and returns them (ascending; empty if the key was
    /// absent). The values are copied into memory and the key's pages are freed at once.
    Task<Result<MultimapValue<V>>> remove_all(const K& key) {
        Bytes k = encode(key);
        auto raw = co_await this->raw_.remove_all(k);
        if (!raw) {
            co_return raw.error();
        }
        co_return MultimapValue<V>(std::move(*raw));
    }
    /// Removes every key in the range with its values; returns the number of keys removed.
    Task<Result<std::uint64_t>> drain(const Bound<K>& lower, const Bound<K>& upper) {
        detail::RawBound from = lower.raw();
        detail::RawBound to = upper.raw();
        auto removed = co_await this->raw_.drain(std::move(from), std::move(to));
        co_return removed;
    }
    /// Removes everything; returns the number of keys removed.
    Task<Result<std::uint64_t>> drain_all() {
        detail::RawBound from;
        detail::RawBound to;
        auto removed = co_await this->raw_.drain(std::move(from), std::move(to));
        co_return removed;
    }
};

/// A multimap of a read transaction's snapshot.
template <Key K, MultimapValueType V>
class ReadOnlyMultimapTable : public ReadableMultimapTable<K, V> {
public:
    explicit ReadOnlyMultimapTable(detail::RawMultimap raw) noexcept
        : ReadableMultimapTable<K, V>(std::move(raw)) {}
};

}  // namespace ringdb
