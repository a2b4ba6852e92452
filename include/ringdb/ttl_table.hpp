#pragma once
// TTL tables (docs/ttl.md): tables whose entries may carry an expiry time.
//
// A TTL table stores each value behind an 8-byte header, the expiry in milliseconds since the
// Unix epoch (little-endian; 0 = never). Its value type is recorded as "ttl::<name of V>", so a
// TTL table cannot be opened as a plain table or the other way round (table_type_mismatch).
//
// An entry is expired when its expiry is not 0 and is at or before "now", read from the
// database's clock (DatabaseOptions::clock) at the moment of each read: an old read
// transaction sees entries expire too. get() and ranges skip expired entries; len() counts them
// until they are removed, overwritten or purged. purge_expired() removes them (one "now" for
// the whole call); TtlPurger (<ringdb/ttl_purge.hpp>) does it in the background.
//
// Expiry arithmetic saturates at 2^64 - 1 ms; a negative duration counts as zero, and a zero
// duration stores an entry that is expired at once. A stored expiry is never 0 ("never"): with
// the clock at the epoch (or before it, which counts as the epoch) it is 1, so such an entry
// lives until the clock reaches 1 ms.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <ringdb/codec.hpp>
#include <ringdb/options.hpp>
#include <ringdb/raw_table.hpp>
#include <ringdb/table.hpp>
#include <ringdb/table_definition.hpp>
#include <ringdb/task.hpp>

namespace ringdb {

namespace detail {

inline constexpr std::size_t kTtlHeader = 8;

/// The schema of a TTL table: V's name behind "ttl::", its width plus the header.
template <class K, class V>
TableSchema ttl_table_schema(std::string_view name) {
    TableSchema schema = table_definition_schema<K, V>(name, TableKind::normal);
    const TypeName inner = Codec<V>::type_name();
    schema.value_type = TypeName(inner.classification(), "ttl::" + inner.name());
    if (schema.value_width) {
        *schema.value_width += static_cast<std::uint32_t>(kTtlHeader);
    }
    return schema;
}

/// The stored expiry of a TTL value, or none when the bytes are too short to hold one.
inline std::optional<std::uint64_t> ttl_expiry(ByteView stored) noexcept {
    if (stored.size() < kTtlHeader) {
        return std::nullopt;
    }
    return load_le<std::uint64_t>(stored.data());
}

inline bool ttl_expired(std::uint64_t expiry, std::uint64_t now) noexcept {
    return expiry != 0 && expiry <= now;
}

/// now + ttl, saturating, never 0; negative ttls count as 0.
inline std::uint64_t ttl_deadline(std::uint64_t now, std::chrono::milliseconds ttl) noexcept {
    const std::uint64_t add = ttl.count() < 0 ? 0 : static_cast<std::uint64_t>(ttl.count());
    const std::uint64_t sum = add > std::numeric_limits<std::uint64_t>::max() - now
                                      ? std::numeric_limits<std::uint64_t>::max()
                                      : now + add;
    return std::max<std::uint64_t>(sum, 1);
}

/// A predicate over stored TTL values: whether an entry is expired at `now` (or, with
/// `expired` false, whether it is live). A value shorter than the header is corrupted.
inline RawPredicate ttl_predicate(std::uint64_t now, bool expired) {
    return [now, expired](ByteView, ByteView value) -> Result<bool> {
        auto expiry = ttl_expiry(value);
        if (!expiry) {
            return Error{Errc::corrupted, 0, value.size()};
        }
        return ttl_expired(*expiry, now) == expired;
    };
}

}  // namespace detail

/// A TTL table's definition: key K, value V (stored behind the expiry header).
template <Key K, Value V>
class TtlTableDefinition {
    static_assert(detail::table_width_fits<K>, "the key's fixed width exceeds kMaxValueLength");
    static_assert(detail::table_width_fits<V>, "the value's fixed width exceeds kMaxValueLength");

public:
    using KeyType = K;
    using ValueType = V;

    /// REQUIRES: `name` outlives the definition (as TableDefinition).
    constexpr explicit TtlTableDefinition(std::string_view name) noexcept : name_(name) {
        detail::table_definition_check_name(name);
    }
    constexpr std::string_view name() const noexcept { return name_; }
    TableSchema schema() const { return detail::ttl_table_schema<K, V>(name_); }

private:
    std::string_view name_;
};

/// A stored TTL value: the value and its expiry. Copyable; shares the stored bytes.
template <Value V>
class TtlGuard {
public:
    explicit TtlGuard(detail::RawGuard raw) noexcept : raw_(std::move(raw)) {}
    /// The value. Errors: corrupted when the stored bytes are not a TTL value of V.
    Result<V> value() const {
        if (raw_.bytes.size() < detail::kTtlHeader) {
            return Error{Errc::corrupted, 0, raw_.bytes.size()};
        }
        return Codec<V>::decode(raw_.bytes.subspan(detail::kTtlHeader));
    }
    /// Milliseconds since the epoch at which the entry expires; 0 = never.
    std::uint64_t expires_at_ms() const noexcept {
        return detail::ttl_expiry(raw_.bytes).value_or(0);
    }

private:
    detail::RawGuard raw_;
};

template <Key K, Value V>
struct TtlEntry {
    AccessGuard<K> key;
    TtlGuard<V> value;
};

namespace detail {

template <Value V>
std::optional<TtlGuard<V>> ttl_guard(std::optional<RawGuard> raw) {
    if (!raw) {
        return std::nullopt;
    }
    return TtlGuard<V>(std::move(*raw));
}

}  // namespace detail

/// Entries of a key range that are not expired, in key order from either end.
template <Key K, Value V>
class TtlRange {
public:
    TtlRange(detail::RawRange raw, std::shared_ptr<const WallClock> clock) noexcept
        : raw_(std::move(raw)), clock_(std::move(clock)) {}

    /// The next live entry from the front / back, or none. Errors: as Range, and corrupted
    /// for a stored value shorter than the expiry header.
    Task<Result<std::optional<TtlEntry<K, V>>>> next() { return step(true); }
    Task<Result<std::optional<TtlEntry<K, V>>>> next_back() { return step(false); }

private:
    Task<Result<std::optional<TtlEntry<K, V>>>> step(bool forward) {
        for (;;) {
            auto raw = co_await (forward ? raw_.next() : raw_.next_back());
            if (!raw) {
                co_return raw.error();
            }
            if (!*raw) {
                co_return std::optional<TtlEntry<K, V>>{};
            }
            auto expiry = detail::ttl_expiry((*raw)->value);
            if (!expiry) {
                co_return Error{Errc::corrupted, 0, (*raw)->value.size()};
            }
            if (detail::ttl_expired(*expiry, now_ms(*clock_))) {
                continue;
            }
            detail::RawEntry& entry = **raw;
            co_return TtlEntry<K, V>{AccessGuard<K>(detail::RawGuard{entry.keep, entry.key}),
                                     TtlGuard<V>(detail::RawGuard{entry.keep, entry.value})};
        }
    }

    detail::RawRange raw_;
    std::shared_ptr<const WallClock> clock_;
};

/// Read operations shared by TtlTable and ReadOnlyTtlTable.
template <Key K, Value V>
class ReadableTtlTable {
public:
    using KeyType = K;
    using ValueType = V;

    const std::string& name() const { return raw_.schema().name; }
    /// Stored entries, expired ones included (the reference's len()).
    std::uint64_t len() const { return raw_.len(); }
    std::uint64_t len_with_expired() const { return raw_.len(); }
    bool is_empty() const { return len() == 0; }
    Task<Result<TableStats>> stats() const {
        auto stats = co_await raw_.stats();
        co_return stats;
    }
    /// The current time by the database's clock, in milliseconds since the epoch.
    std::uint64_t now_ms() const { return ringdb::now_ms(*clock_); }

    /// The value stored under `key` unless absent or expired.
    Task<Result<std::optional<TtlGuard<V>>>> get(const K& key) const {
        std::array<std::byte, 64> small;
        Bytes large;
        ByteView encoded = detail::encode_into(key, small, large);
        auto raw = co_await raw_.get(encoded);
        if (!raw) {
            co_return raw.error();
        }
        if (!*raw) {
            co_return std::optional<TtlGuard<V>>{};
        }
        auto expiry = detail::ttl_expiry((*raw)->bytes);
        if (!expiry) {
            co_return Error{Errc::corrupted, 0, (*raw)->bytes.size()};
        }
        if (detail::ttl_expired(*expiry, now_ms())) {
            co_return std::optional<TtlGuard<V>>{};
        }
        co_return TtlGuard<V>(std::move(**raw));
    }
    /// Live entries with lower <= key <= upper (per the bounds' kinds).
    Result<TtlRange<K, V>> range(const Bound<K>& lower, const Bound<K>& upper) const {
        auto raw = raw_.range(lower.view(), upper.view());
        if (!raw) {
            return raw.error();
        }
        return TtlRange<K, V>(std::move(*raw), clock_);
    }
    Result<TtlRange<K, V>> iter() const {
        return range(Bound<K>::unbounded(), Bound<K>::unbounded());
    }

protected:
    ReadableTtlTable(detail::RawTable raw, std::shared_ptr<const WallClock> clock) noexcept
        : raw_(std::move(raw)), clock_(std::move(clock)) {}

    detail::RawTable raw_;
    std::shared_ptr<const WallClock> clock_;
};

/// A TTL table of a write transaction.
template <Key K, Value V>
class TtlTable : public ReadableTtlTable<K, V> {
public:
    TtlTable(detail::RawTable raw, std::shared_ptr<const WallClock> clock) noexcept
        : ReadableTtlTable<K, V>(std::move(raw), std::move(clock)) {}

    /// Stores a value that never expires; returns the previous entry, expired or not.
    /// Errors: as Table::insert.
    Task<Result<std::optional<TtlGuard<V>>>> insert(const K& key, const V& value) {
        auto previous = co_await store(key, value, 0);
        co_return previous;
    }
    /// Stores a value that expires `ttl` from now (see the top of this file); returns the
    /// previous entry, expired or not.
    Task<Result<std::optional<TtlGuard<V>>>> insert_with_ttl(const K& key, const V& value,
                                                             std::chrono::milliseconds ttl) {
        const std::uint64_t deadline = detail::ttl_deadline(this->now_ms(), ttl);
        auto previous = co_await store(key, value, deadline);
        co_return previous;
    }
    /// Removes `key`; returns its entry, expired or not, or none.
    Task<Result<std::optional<TtlGuard<V>>>> remove(const K& key) {
        Bytes k = encode(key);
        auto raw = co_await this->raw_.remove(k);
        if (!raw) {
            co_return raw.error();
        }
        co_return detail::ttl_guard<V>(std::move(*raw));
    }
    /// Removes every entry expired now; returns how many. Errors: corrupted for a stored value
    /// shorter than the expiry header (nothing after it is removed), and the table's errors.
    Task<Result<std::uint64_t>> purge_expired() {
        detail::RawPredicate keep = detail::ttl_predicate(this->now_ms(), false);
        detail::RawBound from;
        detail::RawBound to;
        auto removed = co_await this->raw_.retain_in(std::move(from), std::move(to),
                                                     std::move(keep));
        co_return removed;
    }

    /// Removes at most `limit` entries expired now, in key order; returns how many (fewer than
    /// `limit` when no expired entry is left). Errors: as purge_expired().
    Task<Result<std::uint64_t>> purge_expired(std::uint64_t limit) {
        auto extract = this->raw_.extract_from_if(detail::RawBound{}, detail::RawBound{},
                                                  detail::ttl_predicate(this->now_ms(), true));
        if (!extract) {
            co_return extract.error();
        }
        std::uint64_t removed = 0;
        while (removed < limit) {
            auto entry = co_await extract->next();
            if (!entry) {
                co_return entry.error();
            }
            if (!*entry) {
                break;
            }
            ++removed;
        }
        co_return removed;
    }

private:
    Task<Result<std::optional<TtlGuard<V>>>> store(const K& key, const V& value,
                                                   std::uint64_t expiry) {
        std::array<std::byte, 64> small_key;
        Bytes large_key;
        ByteView k = detail::encode_into(key, small_key, large_key);
        std::array<std::byte, 264> small_value;
        Bytes large_value;
        const std::size_t size = detail::kTtlHeader + Codec<V>::encoded_size(value);
        std::span<std::byte> v;
        if (size > small_value.size()) {
            large_value.resize(size);
            v = large_value;
        } else {
            v = std::span<std::byte>(small_value.data(), size);
        }
        detail::store_le(v.data(), expiry);
        Codec<V>::encode(value, v.subspan(detail::kTtlHeader));
        auto raw = this->raw_.try_insert(k, v);
        if (!raw) {
            auto inserted = co_await this->raw_.insert(k, v);
            raw.emplace(std::move(inserted));
        }
        if (!*raw) {
            co_return raw->error();
        }
        co_return detail::ttl_guard<V>(std::move(**raw));
    }
};

/// A TTL table of a read transaction's snapshot (expiry still follows the clock).
template <Key K, Value V>
class ReadOnlyTtlTable : public ReadableTtlTable<K, V> {
public:
    ReadOnlyTtlTable(detail::RawTable raw, std::shared_ptr<const WallClock> clock) noexcept
        : ReadableTtlTable<K, V>(std::move(raw), std::move(clock)) {}
};

}  // namespace ringdb
