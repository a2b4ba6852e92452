#pragma once
// Exact nearest-k search over a table's entries, computed from the stored bytes.
//
// The scan walks a range leaf by leaf (table_scan.hpp) and computes each entry's distance on
// its value's bytes where they lie in the page (f32 little-endian is the machine's order on
// the targets ringdb builds for; a value that is not 4-byte aligned is copied first), so no
// entry is decoded or copied unless it is kept among the best k. Distances are the same
// numbers the public distance functions return for the same vectors (same kernels, same
// formulas), so a search agrees with a brute-force loop over ringdb::distance.
//
// Errors: invalid_argument for a NaN in the query (detail 0), a stored vector whose dimension
// differs from the query's (detail: that dimension), a parallel search over a write
// transaction's table; corrupted for a value whose size the layout refuses; the scan's
// errors (io, corrupted, transaction_finished) and the filter's.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <ringdb/raw_table.hpp>
#include <ringdb/result.hpp>
#include <ringdb/runtime.hpp>
#include <ringdb/task.hpp>
#include <ringdb/vector.hpp>

#include "engine/table/table_handle.hpp"
#include "engine/vector/nearest_heap.hpp"

namespace ringdb::engine {

enum class VectorLayout : std::uint8_t {
    f32,   // f32 little-endian elements (FixedVec, DynVec), compared under `metric`
    bits,  // bytes of sign bits (BinaryQuantized), compared by Hamming distance
};

struct NearestQuery {
    VectorLayout layout = VectorLayout::f32;
    std::span<const float> floats;       // the query, for f32
    std::span<const std::uint8_t> bits;  // the query, for bits
    /// The value type's width when it is fixed: a stored value of another size is corrupted.
    std::optional<std::size_t> fixed_width;
    std::size_t k = 0;
    DistanceMetric metric = DistanceMetric::euclidean_sq;
    /// Only entries it accepts compete (null: all).
    const detail::RawPredicate* filter = nullptr;
};

/// The k entries of `range` (from its front) nearest to the query, best first.
Task<Result<std::vector<Scored>>> nearest_in_range(TableRange& range, const NearestQuery& query);

/// The same over a whole read-transaction table, cut into 1 + helpers.size() parts of about
/// equal size (split_keys.hpp): the calling thread scans the first, each helper context's
/// thread one more (the helper must be driving its context, e.g. a coro::WorkerThread). The
/// result is the same as nearest_in_range over the whole table.
Task<Result<std::vector<Scored>>> nearest_in_table(std::shared_ptr<TableHandle> table,
                                                   const NearestQuery& query,
                                                   std::span<coro::ThreadContext* const> helpers);

/// Re-ranking: the k best of `candidates` (keys, any order) by the query's f32 distance to
/// the vectors stored under them in `vectors`, best first. A candidate without a vector
/// there does not compete. Errors: as nearest_in_range, and get's.
Task<Result<std::vector<Scored>>> rerank(TableHandle& vectors, std::vector<Scored> candidates,
                                         const NearestQuery& query);

}  // namespace ringdb::engine
