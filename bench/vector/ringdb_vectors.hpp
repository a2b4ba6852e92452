#pragma once
// ringdb_vectors: the ringdb side of vector_bench. One database holds two tables keyed
// 0..N-1: the f32 vectors (FixedVec<kDim>) and their binary quantisation
// (BinaryQuantized<kBinaryBytes>). Searches run through the public API only: nearest_k over a
// read transaction's table range, driven by sync_wait on the calling thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <ringdb/ringdb.hpp>

#include "vector/vector_data.hpp"

namespace ringdb::bench {

/// The page size the benchmark's database is created with.
inline constexpr std::uint32_t kPageSize = 4096;

/// An open benchmark database with a read transaction over both tables.
class RingdbVectors {
public:
    /// Creates (or truncates into) a new database at `path` with `cache_bytes` of page cache.
    static std::optional<RingdbVectors> create(const std::string& path,
                                               std::uint64_t cache_bytes, std::string& error);

    /// Inserts every vector of `set` under its row number into both tables: batches of
    /// non-durable transactions, then one durable commit. Then begins the read transaction the
    /// searches use and measures the f32 table's size.
    bool load(const VectorSet& set, std::string& error);

    /// One full scan of each table (so every page is in ringdb's cache).
    bool warm(std::string& error);

    /// nearest_k(table.iter(), query, k, euclidean_sq) over the f32 table.
    std::optional<std::vector<Hit>> nearest(std::span<const float> query, std::size_t k,
                                            std::string& error);
    /// The Hamming nearest_k over the binary table; distances are bit counts.
    std::optional<std::vector<Hit>> nearest_binary(std::span<const std::uint8_t> bits,
                                                   std::size_t k, std::string& error);
    /// nearest_k_parallel over the f32 table: this thread and each helper scan a part.
    std::optional<std::vector<Hit>> nearest_parallel(
            std::span<const float> query, std::size_t k,
            std::span<coro::ThreadContext* const> helpers, std::string& error);

    /// Bytes of the f32 table's pages (stored, metadata and unused bytes of its blocks).
    std::uint64_t float_table_bytes() const noexcept { return float_table_bytes_; }
    /// The f32 table's leaf pages.
    std::uint64_t float_table_leaves() const noexcept { return float_table_leaves_; }
    /// Ends the read transaction and closes the database.
    bool close(std::string& error);

private:
    explicit RingdbVectors(Database db);

    std::optional<Database> db_;
    std::optional<ReadTransaction> txn_;
    std::optional<ReadOnlyTable<std::uint64_t, FixedVec<kDim>>> floats_;
    std::optional<ReadOnlyTable<std::uint64_t, BinaryQuantized<kBinaryBytes>>> binary_;
    std::uint64_t float_table_bytes_ = 0;
    std::uint64_t float_table_leaves_ = 0;
};

/// One scan of a database that was closed and dropped from the OS page cache.
struct ColdScan {
    double seconds = 0;  // iter() and nearest_k only (not the open)
    double cpu_seconds = 0;  // the process's CPU time during those
    std::vector<Hit> hits;
};

/// Flushes `path` (fdatasync) and drops its pages from the OS page cache (posix_fadvise
/// DONTNEED), opens it with `cache_bytes` of ringdb cache, times one nearest_k scan of the f32
/// table and closes it. REQUIRES: the database at `path` is closed.
std::optional<ColdScan> cold_scan(const std::string& path, std::uint64_t cache_bytes,
                                  std::span<const float> query, std::size_t k,
                                  std::string& error);

}  // namespace ringdb::bench
