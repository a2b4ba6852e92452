// ringdb_vectors: loading, warming and searching the benchmark database (see
// ringdb_vectors.hpp). Coroutines follow docs/coroutines.md: one co_await per statement,
// parameters by reference only for tasks awaited where they are created.

#include "vector/ringdb_vectors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace ringdb::bench {

namespace {

using FloatTable = ReadOnlyTable<std::uint64_t, FixedVec<kDim>>;
using BinaryTable = ReadOnlyTable<std::uint64_t, BinaryQuantized<kBinaryBytes>>;
using Neighbors = std::vector<Neighbor<std::uint64_t>>;

constexpr TableDefinition<std::uint64_t, FixedVec<kDim>> kFloatTable("vectors_f32");
constexpr TableDefinition<std::uint64_t, BinaryQuantized<kBinaryBytes>> kBinaryTable(
        "vectors_binary");

std::vector<Hit> to_hits(const Neighbors& neighbors) {
    std::vector<Hit> hits;
    hits.reserve(neighbors.size());
    for (const auto& n : neighbors) {
        hits.push_back(Hit{n.key, n.distance});
    }
    return hits;
}

template <class T>
std::optional<T> value_or_message(Result<T> result, const char* what, std::string& error) {
    if (!result) {
        error = std::string(what) + ": " + to_string(result.error());
        return std::nullopt;
    }
    return std::move(*result);
}

bool status_or_message(const Status& status, const char* what, std::string& error) {
    if (!status) {
        error = std::string(what) + ": " + to_string(status.error());
        return false;
    }
    return true;
}

Task<Result<Database>> open_db(std::string path, DatabaseOptions options, bool create) {
    if (create) {
        auto created = co_await Database::create(std::move(path), std::move(options));
        co_return created;
    }
    auto opened = co_await Database::open(std::move(path), std::move(options));
    co_return opened;
}

Task<Status> close_db(Database& db) {
    Status closed = co_await db.close();
    co_return closed;
}

/// Rows [begin, end) of `set` into both tables in one transaction (durable when `durable`).
Task<Status> insert_rows(Database& db, const VectorSet& set, std::size_t begin, std::size_t end,
                         bool durable) {
    auto txn = co_await db.begin_write();
    if (!txn) {
        co_return txn.error();
    }
    txn->set_durability(durable ? Durability::immediate : Durability::none);
    auto floats = co_await txn->open_table(kFloatTable);
    if (!floats) {
        co_return floats.error();
    }
    auto binary = co_await txn->open_table(kBinaryTable);
    if (!binary) {
        co_return binary.error();
    }
    FixedVec<kDim> vector;
    BinaryQuantized<kBinaryBytes> bits;
    for (std::uint64_t key = begin; key < end; ++key) {
        std::span<const float> row = set.row(key);
        std::copy(row.begin(), row.end(), vector.values.begin());
        std::vector<std::uint8_t> quantized = quantize_binary(row);
        std::copy(quantized.begin(), quantized.end(), bits.bits.begin());
        auto stored = co_await floats->insert(key, vector);
        if (!stored) {
            co_return stored.error();
        }
        auto stored_bits = co_await binary->insert(key, bits);
        if (!stored_bits) {
            co_return stored_bits.error();
        }
    }
    Status committed = co_await txn->commit();
    co_return committed;
}

Task<Result<FloatTable>> open_floats(ReadTransaction& txn) {
    auto table = co_await txn.open_table(kFloatTable);
    co_return table;
}

Task<Result<BinaryTable>> open_binary(ReadTransaction& txn) {
    auto table = co_await txn.open_table(kBinaryTable);
    co_return table;
}

Task<Result<TableStats>> table_stats(const FloatTable& table) {
    auto stats = co_await table.stats();
    co_return stats;
}

Task<Result<Neighbors>> search_floats(const FloatTable& table, std::span<const float> query,
                                      std::size_t k) {
    auto range = table.iter();
    if (!range) {
        co_return range.error();
    }
    auto best = co_await nearest_k(*range, query, k, DistanceMetric::euclidean_sq);
    co_return best;
}

Task<Result<Neighbors>> search_binary(const BinaryTable& table,
                                      std::span<const std::uint8_t> bits, std::size_t k) {
    auto range = table.iter();
    if (!range) {
        co_return range.error();
    }
    auto best = co_await nearest_k(*range, bits, k);
    co_return best;
}

Task<Result<Neighbors>> search_parallel(const FloatTable& table, std::span<const float> query,
                                        std::size_t k,
                                        std::span<coro::ThreadContext* const> helpers) {
    auto best = co_await nearest_k_parallel(table, query, k, DistanceMetric::euclidean_sq,
                                            helpers);
    co_return best;
}

/// fdatasync, then drop the file's pages from the OS page cache.
bool drop_from_page_cache(const std::string& path, std::string& error) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        error = "open " + path + ": " + std::strerror(errno);
        return false;
    }
    bool dropped = ::fdatasync(fd) == 0;
    int advised = dropped ? ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) : 0;
    if (!dropped || advised != 0) {
        error = std::string(dropped ? "posix_fadvise: " : "fdatasync: ") +
                std::strerror(dropped ? advised : errno);
    }
    ::close(fd);
    return dropped && advised == 0;
}

/// Opens the closed database at `path`, times one scan, closes it.
Task<Result<ColdScan>> scan_cold(std::string path, DatabaseOptions options,
                                 std::span<const float> query, std::size_t k) {
    auto db = co_await Database::open(std::move(path), std::move(options));
    if (!db) {
        co_return db.error();
    }
    ColdScan scan;
    {
        auto txn = db->begin_read();
        if (!txn) {
            co_return txn.error();
        }
        auto table = co_await txn->open_table(kFloatTable);
        if (!table) {
            co_return table.error();
        }
        const double cpu_start = process_cpu_seconds();
        const auto start = std::chrono::steady_clock::now();
        auto best = co_await search_floats(*table, query, k);
        scan.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                               .count();
        scan.cpu_seconds = process_cpu_seconds() - cpu_start;
        if (!best) {
            co_return best.error();
        }
        scan.hits = to_hits(*best);
    }
    Status closed = co_await db->close();
    if (!closed) {
        co_return closed.error();
    }
    co_return scan;
}

}  // namespace

RingdbVectors::RingdbVectors(Database db) : db_(std::move(db)) {}

std::optional<RingdbVectors> RingdbVectors::create(const std::string& path,
                                                   std::uint64_t cache_bytes,
                                                   std::string& error) {
    ::unlink(path.c_str());
    DatabaseOptions options;
    options.cache_size = cache_bytes;
    options.page_size = kPageSize;
    auto db = value_or_message(sync_wait(open_db(path, options, true)), "create", error);
    if (!db) {
        return std::nullopt;
    }
    return RingdbVectors(std::move(*db));
}

bool RingdbVectors::load(const VectorSet& set, std::string& error) {
    const std::size_t batch = std::max<std::size_t>(set.count / 10, 1);
    for (std::size_t begin = 0; begin < set.count; begin += batch) {
        std::size_t end = std::min(set.count, begin + batch);
        if (!status_or_message(sync_wait(insert_rows(*db_, set, begin, end, false)), "load",
                               error)) {
            return false;
        }
    }
    // An empty durable commit makes the non-durable ones before it durable.
    if (!status_or_message(sync_wait(insert_rows(*db_, set, 0, 0, true)), "durable commit",
                           error)) {
        return false;
    }
    txn_ = value_or_message(db_->begin_read(), "begin_read", error);
    if (!txn_) {
        return false;
    }
    floats_ = value_or_message(sync_wait(open_floats(*txn_)), "open f32 table", error);
    binary_ = value_or_message(sync_wait(open_binary(*txn_)), "open binary table", error);
    if (!floats_ || !binary_) {
        return false;
    }
    auto stats = value_or_message(sync_wait(table_stats(*floats_)), "table stats", error);
    if (!stats) {
        return false;
    }
    float_table_bytes_ = stats->stored_bytes + stats->metadata_bytes + stats->fragmented_bytes;
    float_table_leaves_ = stats->leaf_pages;
    return true;
}

bool RingdbVectors::warm(std::string& error) {
    std::vector<float> query(kDim, 0.0F);
    if (!nearest(query, 1, error)) {
        return false;
    }
    std::vector<std::uint8_t> bits(kBinaryBytes, 0);
    if (!nearest_binary(bits, 1, error)) {
        return false;
    }
    return true;
}

std::optional<std::vector<Hit>> RingdbVectors::nearest(std::span<const float> query,
                                                       std::size_t k, std::string& error) {
    auto best = value_or_message(sync_wait(search_floats(*floats_, query, k)), "nearest_k",
                                 error);
    if (!best) {
        return std::nullopt;
    }
    return to_hits(*best);
}

std::optional<std::vector<Hit>> RingdbVectors::nearest_binary(std::span<const std::uint8_t> bits,
                                                              std::size_t k, std::string& error) {
    auto best = value_or_message(sync_wait(search_binary(*binary_, bits, k)),
                                 "binary nearest_k", error);
    if (!best) {
        return std::nullopt;
    }
    return to_hits(*best);
}

std::optional<std::vector<Hit>> RingdbVectors::nearest_parallel(
        std::span<const float> query, std::size_t k,
        std::span<coro::ThreadContext* const> helpers, std::string& error) {
    auto best = value_or_message(sync_wait(search_parallel(*floats_, query, k, helpers)),
                                 "nearest_k_parallel", error);
    if (!best) {
        return std::nullopt;
    }
    return to_hits(*best);
}

bool RingdbVectors::close(std::string& error) {
    binary_.reset();
    floats_.reset();
    txn_.reset();
    if (!db_) {
        return true;
    }
    bool closed = status_or_message(sync_wait(close_db(*db_)), "close", error);
    db_.reset();
    return closed;
}

std::optional<ColdScan> cold_scan(const std::string& path, std::uint64_t cache_bytes,
                                  std::span<const float> query, std::size_t k,
                                  std::string& error) {
    if (!drop_from_page_cache(path, error)) {
        return std::nullopt;
    }
    DatabaseOptions options;
    options.cache_size = cache_bytes;
    return value_or_message(sync_wait(scan_cold(path, options, query, k)), "cold scan", error);
}

}  // namespace ringdb::bench
