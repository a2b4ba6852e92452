#pragma once
// Typed tables: Table<K, V> (from a write transaction) and ReadOnlyTable<K, V> (from a read
// transaction), with access guards and ranges.
//
// Keys and values are encoded with Codec<K> / Codec<V> (ringdb/codec.hpp); the table's order is
// Codec<K>::compare. Every operation that may read pages is a coroutine: co_await it in the
// full-expression that created it when it takes a key by reference (docs/coroutines.md).
//
// Guards (AccessGuard<T>) hold the bytes they show alive: a guard stays valid after the table,
// the transaction and later modifications are gone. value() decodes; a damaged page decodes to
// Errc::corrupted rather than a crash.
//
// Errors common to every operation: transaction_finished (the transaction ended), io,
// previous_io, corrupted.

#include <array>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include <ringdb/codec.hpp>
#include <ringdb/raw_table.hpp>
#include <ringdb/result.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/task.hpp>

namespace ringdb {

/// A stored key or value. Copyable; shares the underlying bytes.
template <Value T>
class AccessGuard {
public:
    explicit AccessGuard(detail::RawGuard raw) noexcept : raw_(std::move(raw)) {}
    /// The decoded value. Errors: corrupted if the stored bytes do not decode as T.
    Result<T> value() const { return Codec<T>::decode(raw_.bytes); }
    /// The stored bytes.
    ByteView bytes() const noexcept { return raw_.bytes; }

private:
    detail::RawGuard raw_;
};

/// A key and its value.
template <Value K, Value V>
struct Entry {
    AccessGuard<K> key;
    AccessGuard<V> value;
};

namespace detail {

/// Encodes `value` into `small` when it fits, else into `large`; returns the encoding. Lets a
/// point lookup of a short key skip the heap.
template <Value T>
ByteView encode_into(const T& value, std::span<std::byte> small, Bytes& large) {
    std::size_t size = Codec<T>::encoded_size(value);
    if (size <= small.size()) {
        std::span<std::byte> target = small.first(size);
        Codec<T>::encode(value, target);
        return target;
    }
    large.resize(size);
    Codec<T>::encode(value, large);
    return large;
}

}  // namespace detail

/// A range bound: Bound<K>::unbounded(), Bound<K>::included(k), Bound<K>::excluded(k).
/// Holds the encoded key; keys up to 48 bytes are stored in the bound itself (no allocation).
template <Key K>
class Bound {
public:
    static Bound unbounded() { return Bound(detail::RawBoundKind::unbounded); }
    static Bound included(const K& key) { return Bound(detail::RawBoundKind::included, key); }
    static Bound excluded(const K& key) { return Bound(detail::RawBoundKind::excluded, key); }

    /// The kind and a copy of the encoded key.
    detail::RawBound raw() const& {
        ByteView key = bytes();
        return detail::RawBound{kind_, Bytes(key.begin(), key.end())};
    }
    /// The kind and the encoded key, borrowed from this bound.
    detail::RawBoundView view() const noexcept { return detail::RawBoundView{kind_, bytes()}; }

private:
    explicit Bound(detail::RawBoundKind kind) noexcept : kind_(kind) {}
    Bound(detail::RawBoundKind kind, const K& key) : kind_(kind) {
        ByteView encoded = detail::encode_into(key, small_, large_);
        size_ = encoded.size();
        inline_ = size_ <= small_.size();
    }
    ByteView bytes() const noexcept {
        return inline_ ? ByteView(small_.data(), size_) : ByteView(large_);
    }

    detail::RawBoundKind kind_;
    bool inline_ = true;
    std::size_t size_ = 0;
    std::array<std::byte, 48> small_;
    Bytes large_;
};

namespace detail {

/// Whether `bytes` decode as a T (RawValueCheck).
template <Value T>
bool decodes_as(ByteView bytes) {
    if constexpr (Codec<T>::fixed_width.has_value()) {
        if (bytes.size() != *Codec<T>::fixed_width) {
            return false;
        }
    }
    return Codec<T>::decode(bytes).has_value();
}

template <Value K, Value V>
std::optional<Entry<K, V>> typed_entry(std::optional<RawEntry> raw) {
    if (!raw) {
        return std::nullopt;
    }
    // Braced initialisation runs left to right: the key copies `keep`, the value takes it.
    return Entry<K, V>{AccessGuard<K>(RawGuard{raw->keep, raw->key}),
                       AccessGuard<V>(RawGuard{std::move(raw->keep), raw->value})};
}

template <Value V>
std::optional<AccessGuard<V>> typed_guard(std::optional<RawGuard> raw) {
    if (!raw) {
        return std::nullopt;
    }
    return AccessGuard<V>(std::move(*raw));
}

}  // namespace detail

namespace detail {

/// The awaitable of BasicRange::next() / next_back(): awaits the raw range's step (a
/// RawRange::Step, or a Task for RawExtract) and types its entry. Nothing runs until it is
/// awaited; when the raw step completes synchronously (RawRange::Step over cached pages), so
/// does this one, without a coroutine frame. REQUIRES: awaited once, in the full-expression
/// that created it, while the range is alive.
template <class RawStep, Value K, Value V>
class [[nodiscard]] RangeStep {
public:
    explicit RangeStep(RawStep raw) noexcept : raw_(std::move(raw)) {}

    bool await_ready() { return awaiter().await_ready(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) {
        return awaiter().await_suspend(awaiting);
    }
    Result<std::optional<Entry<K, V>>> await_resume() {
        auto raw = awaiter().await_resume();
        if (!raw) {
            return raw.error();
        }
        return typed_entry<K, V>(std::move(*raw));
    }

private:
    // The raw step itself when it is an awaiter, else its co_await awaiter (a Task's, which
    // only holds the coroutine handle the Task owns).
    decltype(auto) awaiter() {
        if constexpr (requires(RawStep& r) { r.await_ready(); }) {
            return (raw_);
        } else {
            return raw_.operator co_await();
        }
    }

    RawStep raw_;
};

}  // namespace detail

/// A double-ended iterator over typed entries, over a raw range `Raw` (RawRange or RawExtract).
template <class Raw, Key K, Value V>
class BasicRange {
public:
    using Step = detail::RangeStep<decltype(std::declval<Raw&>().next()), K, V>;

    explicit BasicRange(Raw raw) noexcept : raw_(std::move(raw)) {}

    /// The next entry from the front / back, or none when the ends meet: `co_await` the
    /// returned awaitable (detail::RangeStep) to get a Result<std::optional<Entry<K, V>>>.
    /// With every page cached, a step of a Range completes without suspending or allocating.
    Step next() { return Step(raw_.next()); }
    Step next_back() { return Step(raw_.next_back()); }

    /// The untyped range, for library extensions that scan it (<ringdb/nearest.hpp>).
    Raw& raw() noexcept { return raw_; }

private:
    Raw raw_;
};

/// Entries in key order. next() walks up from the lower bound, next_back() down from the upper
/// bound; they meet without returning an entry twice. An empty or inverted range returns
/// nothing.
template <Key K, Value V>
using Range = BasicRange<detail::RawRange, K, V>;

/// A range that removes each entry it yields (Table::extract_if / extract_from_if). Entries
/// the predicate rejects stay; so do entries not reached when the caller stops early.
template <Key K, Value V>
using ExtractIf = BasicRange<detail::RawExtract, K, V>;

namespace detail {

/// Adapts a typed predicate to raw bytes; entries that do not decode are corrupted.
template <Value K, Value V, class Predicate>
RawPredicate raw_predicate(Predicate predicate) {
    return [predicate = std::move(predicate)](ByteView k, ByteView v) -> Result<bool> {
        auto key = Codec<K>::decode(k);
        auto value = Codec<V>::decode(v);
        if (!key || !value) {
            return Error{Errc::corrupted};
        }
        return static_cast<bool>(predicate(*key, *value));
    };
}

}  // namespace detail

/// Read operations shared by Table and ReadOnlyTable.
template <Key K, Value V>
class ReadableTable {
public:
    using KeyType = K;
    using ValueType = V;

    /// The table's name.
    const std::string& name() const { return raw_.schema().name; }
    /// Number of entries.
    std::uint64_t len() const { return raw_.len(); }
    bool is_empty() const { return len() == 0; }
    /// Space statistics of the table (reads every page of it). Errors: io, corrupted,
    /// transaction_finished.
    Task<Result<TableStats>> stats() const {
        auto stats = co_await raw_.stats();
        co_return stats;
    }

    /// The value stored under `key`, or none.
    Task<Result<std::optional<AccessGuard<V>>>> get(const K& key) const {
        std::array<std::byte, 64> small;
        Bytes large;
        ByteView encoded = detail::encode_into(key, small, large);
        auto raw = co_await raw_.get(encoded);
        if (!raw) {
            co_return raw.error();
        }
        co_return detail::typed_guard<V>(std::move(*raw));
    }
    /// The entry with the smallest / largest key, or none.
    Task<Result<std::optional<Entry<K, V>>>> first() const {
        auto raw = co_await raw_.first();
        if (!raw) {
            co_return raw.error();
        }
        co_return detail::typed_entry<K, V>(std::move(*raw));
    }
    Task<Result<std::optional<Entry<K, V>>>> last() const {
        auto raw = co_await raw_.last();
        if (!raw) {
            co_return raw.error();
        }
        co_return detail::typed_entry<K, V>(std::move(*raw));
    }
    /// Entries with lower <= key <= upper (per the bounds' kinds).
    Result<Range<K, V>> range(const Bound<K>& lower, const Bound<K>& upper) const {
        auto raw = raw_.range(lower.view(), upper.view());
        if (!raw) {
            return raw.error();
        }
        return Range<K, V>(std::move(*raw));
    }
    /// Every entry.
    Result<Range<K, V>> iter() const { return range(Bound<K>::unbounded(), Bound<K>::unbounded()); }

    /// The untyped table, for library extensions (<ringdb/nearest.hpp>).
    const detail::RawTable& raw() const noexcept { return raw_; }

protected:
    explicit ReadableTable(detail::RawTable raw) noexcept : raw_(std::move(raw)) {}
    detail::RawTable raw_;
};

/// A value reserved by Table::insert_reserve: a buffer of the reserved length that the caller
/// fills through as_mut(), then stores with `co_await finish()`.
///
/// The key holds `len` zero bytes from insert_reserve on (reads see them), so dropping the
/// reservation without finish() leaves the zero bytes stored. finish() replaces them with the
/// buffer's current bytes; it may be called more than once (each call stores the buffer as it
/// is then). While a reservation lives, its table stays open (opening the table again in the
/// same transaction returns table_already_open until both the Table and the reservation are
/// gone). Writing through as_mut() never touches stored pages, so this works the same in every
/// database (docs/quirks.md, Q-06).
template <Key K, Value V>
class ReservedValue {
public:
    ReservedValue(detail::RawTable table, Bytes key, Bytes buffer) noexcept
        : table_(std::move(table)), key_(std::move(key)), buffer_(std::move(buffer)) {}

    /// The reserved bytes, zero until written.
    std::span<std::byte> as_mut() noexcept { return buffer_; }
    std::uint64_t len() const noexcept { return buffer_.size(); }

    /// Stores the buffer as the key's value. Errors: invalid_argument when the bytes do not
    /// decode as V (the stored value is left as it was), transaction_finished, no_space, io.
    Task<Status> finish() {
        auto decoded = Codec<V>::decode(buffer_);
        if (!decoded) {
            co_return Error{Errc::invalid_argument};
        }
        auto stored = co_await table_.insert(key_, buffer_);
        if (!stored) {
            co_return stored.error();
        }
        co_return ok();
    }

private:
    detail::RawTable table_;
    Bytes key_;
    Bytes buffer_;
};

/// A table of a write transaction. Sees the transaction's own changes.
template <Key K, Value V>
class Table : public ReadableTable<K, V> {
public:
    explicit Table(detail::RawTable raw) noexcept : ReadableTable<K, V>(std::move(raw)) {}

    /// Inserts or replaces; returns the previous value. Errors: value_too_large (the key or
    /// value exceeds 3 GiB, or the pair 3.75 GiB; the table is unchanged), no_space.
    Task<Result<std::optional<AccessGuard<V>>>> insert(const K& key, const V& value) {
        // Short keys and values are encoded on the frame, not the heap (a bulk load inserts
        // millions of small pairs).
        std::array<std::byte, 64> small_key;
        std::array<std::byte, 256> small_value;
        Bytes large_key;
        Bytes large_value;
        ByteView k = detail::encode_into(key, small_key, large_key);
        ByteView v = detail::encode_into(value, small_value, large_value);
        // The common case of a bulk load (a dirty leaf with room) needs no nested coroutine.
        auto raw = this->raw_.try_insert(k, v);
        if (!raw) {
            auto inserted = co_await this->raw_.insert(k, v);
            raw.emplace(std::move(inserted));
        }
        if (!*raw) {
            co_return raw->error();
        }
        co_return detail::typed_guard<V>(std::move(**raw));
    }
    /// Inserts (or replaces) `key` with `length` zero bytes and returns a reservation whose
    /// buffer becomes the value at `co_await reservation.finish()` (see ReservedValue).
    /// Errors: value_too_large (limits as insert; the table is unchanged), invalid_argument
    /// (V has a fixed width other than `length`; the table is unchanged), no_space.
    Task<Result<ReservedValue<K, V>>> insert_reserve(const K& key, std::uint64_t length) {
        Bytes k = encode(key);
        if constexpr (Codec<V>::fixed_width.has_value()) {
            if (length != *Codec<V>::fixed_width) {
                co_return Error{Errc::invalid_argument, 0, length};
            }
        }
        Status fits = check_pair_length(k.size(), length);
        if (!fits) {
            co_return fits.error();
        }
        Bytes zeros(static_cast<std::size_t>(length));
        auto raw = co_await this->raw_.insert(k, zeros);
        if (!raw) {
            co_return raw.error();
        }
        co_return ReservedValue<K, V>(this->raw_.share(), std::move(k), std::move(zeros));
    }
    /// Removes `key`; returns its value, or none if absent.
    Task<Result<std::optional<AccessGuard<V>>>> remove(const K& key) {
        Bytes k = encode(key);
        auto raw = co_await this->raw_.remove(k);
        if (!raw) {
            co_return raw.error();
        }
        co_return detail::typed_guard<V>(std::move(*raw));
    }
    /// Replaces `key`'s value with op(key, encoded value or none, operand), or removes the key
    /// when op returns none (<ringdb/merge.hpp>, docs/merge.md). Atomic within the
    /// transaction. Errors: what op returns (the built-ins: invalid_argument with
    /// kMergeWidthMismatch or kMergeUnsupportedWidth), invalid_argument with kMergeResultInvalid
    /// when the result does not decode as V, value_too_large, no_space. On an error, or an
    /// exception thrown by op (it comes out of the co_await), the table is unchanged.
    Task<Status> merge(const K& key, ByteView operand, const MergeOperator& op) {
        std::array<std::byte, 64> small_key;
        Bytes large_key;
        ByteView k = detail::encode_into(key, small_key, large_key);
        auto merged = co_await this->raw_.merge(k, operand, op, &detail::decodes_as<V>);
        co_return merged;
    }
    /// merge() with the operand encoded as V.
    Task<Status> merge_in(const K& key, const V& operand, const MergeOperator& op) {
        std::array<std::byte, 64> small_key;
        std::array<std::byte, 256> small_value;
        Bytes large_key;
        Bytes large_value;
        ByteView k = detail::encode_into(key, small_key, large_key);
        ByteView v = detail::encode_into(operand, small_value, large_value);
        auto merged = co_await this->raw_.merge(k, v, op, &detail::decodes_as<V>);
        co_return merged;
    }

    /// Removes and returns the entry with the smallest / largest key, or none.
    Task<Result<std::optional<Entry<K, V>>>> pop_first() {
        auto raw = co_await this->raw_.pop_first();
        if (!raw) {
            co_return raw.error();
        }
        co_return detail::typed_entry<K, V>(std::move(*raw));
    }
    Task<Result<std::optional<Entry<K, V>>>> pop_last() {
        auto raw = co_await this->raw_.pop_last();
        if (!raw) {
            co_return raw.error();
        }
        co_return detail::typed_entry<K, V>(std::move(*raw));
    }

    /// Removes every entry in the range; returns how many.
    // Bounds are hoisted into named locals throughout: g++ 12 miscompiles temporaries with
    // non-trivial members inside a co_await expression (docs/coroutines.md rule 2).
    Task<Result<std::uint64_t>> drain(const Bound<K>& lower, const Bound<K>& upper) {
        detail::RawBound from = lower.raw();
        detail::RawBound to = upper.raw();
        auto removed = co_await this->raw_.drain(std::move(from), std::move(to));
        co_return removed;
    }
    Task<Result<std::uint64_t>> drain_all() {
        detail::RawBound from;
        detail::RawBound to;
        auto removed = co_await this->raw_.drain(std::move(from), std::move(to));
        co_return removed;
    }

    /// Keeps only the entries (in the range) for which keep(key, value) is true; returns how
    /// many were removed. An inverted range removes nothing. `keep` must not use the table.
    template <class Predicate>
    Task<Result<std::uint64_t>> retain_in(const Bound<K>& lower, const Bound<K>& upper,
                                          Predicate keep) {
        detail::RawPredicate raw = detail::raw_predicate<K, V>(std::move(keep));
        detail::RawBound from = lower.raw();
        detail::RawBound to = upper.raw();
        auto removed = co_await this->raw_.retain_in(std::move(from), std::move(to),
                                                     std::move(raw));
        co_return removed;
    }
    template <class Predicate>
    Task<Result<std::uint64_t>> retain(Predicate keep) {
        detail::RawPredicate raw = detail::raw_predicate<K, V>(std::move(keep));
        detail::RawBound from;
        detail::RawBound to;
        auto removed = co_await this->raw_.retain_in(std::move(from), std::move(to),
                                                     std::move(raw));
        co_return removed;
    }

    /// A lazy range that removes and yields each entry for which take(key, value) is true, at
    /// the moment it is yielded. REQUIRES: the table outlives the returned range.
    template <class Predicate>
    Result<ExtractIf<K, V>> extract_from_if(const Bound<K>& lower, const Bound<K>& upper,
                                            Predicate take) {
        auto raw = this->raw_.extract_from_if(lower.raw(), upper.raw(),
                                              detail::raw_predicate<K, V>(std::move(take)));
        if (!raw) {
            return raw.error();
        }
        return ExtractIf<K, V>(std::move(*raw));
    }
    template <class Predicate>
    Result<ExtractIf<K, V>> extract_if(Predicate take) {
        return extract_from_if(Bound<K>::unbounded(), Bound<K>::unbounded(), std::move(take));
    }
};

/// A table of a read transaction's snapshot.
template <Key K, Value V>
class ReadOnlyTable : public ReadableTable<K, V> {
public:
    explicit ReadOnlyTable(detail::RawTable raw) noexcept : ReadableTable<K, V>(std::move(raw)) {}
};

}  // namespace ringdb
