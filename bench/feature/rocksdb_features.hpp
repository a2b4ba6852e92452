#pragma once
// feature_bench's RocksDB side, the peer of ringdb_features.hpp: counters through a merge
// operator, and the compressed database's size. Keys are u64 stored big-endian (8 bytes), so
// RocksDB's byte order is the numeric order ringdb's u64 keys have. A failure throws
// FeatureError.

#include <cstdint>
#include <string>

#include "feature/feature_data.hpp"

namespace ringdb::bench {

/// The counter workload in a new RocksDB at `dir` (default options plus the merge operator):
/// WriteBatches of work.batch Merge() calls of an AssociativeMergeOperator adding u64
/// little-endian, written with WriteOptions::sync = false and the WAL on; then one Get per
/// counter (which applies the pending merges), checked against work.expected.
CounterTimes rocksdb_counters(const std::string& dir, const CounterWork& work);

enum class RocksCodec { zstd, lz4 };

/// Loads values.count() pairs (key i, values.value(i)) in key order into a new RocksDB at
/// `dir` compressed with `codec` (zstd at level 3; lz4 at its default), in WriteBatches of
/// `batch` (sync = false, the last one synced), runs CompactRange over everything (the
/// bottommost level included), closes the database and sums the sizes of its files.
BuildResult rocksdb_build_values(const std::string& dir, RocksCodec codec,
                                 const ValueSet& values, std::uint64_t batch);

/// "major.minor.patch".
std::string rocksdb_version();
/// The codecs of RocksCodec this RocksDB was built without ("zstd, lz4"), empty when none.
std::string rocksdb_missing_codecs();

}  // namespace ringdb::bench
