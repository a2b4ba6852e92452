#pragma once
// feature_bench's ringdb side: merge operators, TTL tables and value compression through the
// public API. Each function opens its own database in a new file, runs one whole loop in one
// coroutine (one sync_wait per loop, not per operation), checks what it read, closes the
// database and returns the timings; a failure throws FeatureError.

#include <cstdint>
#include <string>
#include <vector>

#include <ringdb/options.hpp>

#include "feature/feature_data.hpp"

namespace ringdb::bench {

/// The counter workload in a new database at `path`: each transaction (Durability::none)
/// applies work.batch increments, with merge_in(key, 1, numeric_add) or, when `by_hand`, with
/// get + add + insert; then every counter is read back in one read transaction.
CounterTimes ringdb_counters(const std::string& path, const CounterWork& work, bool by_hand);

/// What cell 2 inserts: into a TTL table with insert_with_ttl (one hour, not expiring during
/// the run), into a plain table, or into a plain table whose values are small_value(i) padded
/// with 8 zero bytes (24 bytes: what a TTL entry stores, its expiry and its value).
enum class PairKind { ttl, plain, plain_wide };

/// Seconds to insert the pairs (scattered_key(i), small_value(i)), i < count, `batch` per
/// durable transaction into a new database at `path`, as `kind` says.
double ringdb_insert_pairs(const std::string& path, std::uint64_t count, std::uint64_t batch,
                           PairKind kind);

/// Fills a TTL table with `count` pairs of a 1 s TTL (untimed), moves the database's clock
/// 2 s on, then times one durable transaction calling purge_expired(); checks it removed all.
double ringdb_purge_expired(const std::string& path, std::uint64_t count, std::uint64_t batch);

/// Fills a plain table with the same pairs (untimed), then times one durable transaction
/// removing every key with remove(), in key order (the order a scan would find them).
double ringdb_remove_each(const std::string& path, std::uint64_t count, std::uint64_t batch);

/// Loads values.count() pairs (u64 key i, values.value(i)) in key order into a new database at
/// `path` created with `compression`, `batch` per transaction (the last one durable), compacts
/// it, closes it and measures the file.
BuildResult ringdb_build_values(const std::string& path, const Compression& compression,
                                const ValueSet& values, std::uint64_t batch);

/// Reopens the database at `path` with a cache of `cache_bytes`, reads `keys` once untimed
/// (warm-up), then times the same reads in one read transaction. Checks every value's size and
/// the full bytes of the first 1,000. Returns the seconds of the timed pass.
double ringdb_read_values(const std::string& path, std::uint64_t cache_bytes,
                          const ValueSet& values, const std::vector<std::uint64_t>& keys);

}  // namespace ringdb::bench
