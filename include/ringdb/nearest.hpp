#pragma once
// Exact nearest-k search over tables whose values are vectors (docs/vectors.md, "Nearest-k
// search").
//
//   auto table = co_await txn->open_table(kEmbeddings);          // Table<K, FixedVec<128>>
//   auto range = table->iter();                                  // or range(lower, upper)
//   auto best = co_await ringdb::nearest_k(*range, query, 10, ringdb::DistanceMetric::cosine);
//
// A search streams through the range once, computing each distance on the stored bytes where
// they lie in the page, and keeps at most k candidates in a bounded heap, so memory does not
// grow with the table. Results are sorted by ascending distance; equal distances are ordered
// by key (the table's key order), so the result is deterministic. A stored vector whose
// distance is NaN ranks after every number. The range is consumed.
//
// Searches:
//   nearest_k / nearest_k_if        f32 vectors (FixedVec<N>, DynVec) under a DistanceMetric,
//                                   over a range, optionally with a filter over key and value;
//   nearest_k (bits)                BinaryQuantized<N> by Hamming distance to query bits;
//   nearest_k_reranked              Hamming first over BinaryQuantized<N>, then the best
//                                   candidates re-ranked exactly from a table of f32 vectors;
//   nearest_k_parallel              a whole read-only table, split over helper threads.
//
// Errors: invalid_argument when the query holds NaN (detail 0), when the query's dimension
// differs from a FixedVec<N>'s or BinaryQuantized<N>'s N (detail N) or from a stored DynVec's
// (detail: that dimension), and for a parallel search over a write transaction's table;
// corrupted for a stored value whose size does not fit its type, or (filter and re-ranking
// only) that does not decode; the range's errors (io, transaction_finished, ...). k = 0
// returns nothing without reading; fewer than k entries return all of them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <ringdb/runtime.hpp>
#include <ringdb/table.hpp>
#include <ringdb/vector.hpp>
#include <ringdb/vector_types.hpp>

namespace ringdb {

/// One result of a nearest-k search.
template <Key K>
struct Neighbor {
    K key;
    float distance = 0.0F;
};

namespace detail {

template <class V>
struct IsSearchableVector : std::false_type {};
template <std::size_t N>
struct IsSearchableVector<FixedVec<N>> : std::true_type {};
template <>
struct IsSearchableVector<DynVec> : std::true_type {};

/// What the engine needs to know of a search (src/engine/vector/nearest_scan.hpp).
struct RawNearestQuery {
    bool bits = false;                          // Hamming over bytes, else f32 under metric
    std::span<const float> floats;              // the query, f32
    std::span<const std::uint8_t> query_bits;   // the query, bits
    std::optional<std::size_t> fixed_width;     // the stored type's width when fixed
    std::size_t k = 0;
    DistanceMetric metric = DistanceMetric::euclidean_sq;
    const RawPredicate* filter = nullptr;       // null: every entry competes
};

/// Candidates as (distance, encoded key), best first.
using RawNeighbors = std::vector<std::pair<float, Bytes>>;

Task<Result<RawNeighbors>> raw_nearest(RawRange& range, const RawNearestQuery& query);
Task<Result<RawNeighbors>> raw_nearest_parallel(const RawTable& table,
                                                const RawNearestQuery& query,
                                                std::span<coro::ThreadContext* const> helpers);
Task<Result<RawNeighbors>> raw_rerank(const RawTable& vectors, RawNeighbors candidates,
                                      const RawNearestQuery& query);

/// The f32 query for value type V; invalid_argument when a FixedVec's N differs.
template <class V>
Result<RawNearestQuery> f32_query(std::span<const float> query, std::size_t k,
                                  DistanceMetric metric) {
    RawNearestQuery raw;
    raw.floats = query;
    raw.k = k;
    raw.metric = metric;
    raw.fixed_width = Codec<V>::fixed_width;
    if (raw.fixed_width && query.size() * 4 != *raw.fixed_width) {
        return Error{Errc::invalid_argument, 0, *raw.fixed_width / 4};
    }
    return raw;
}

/// The Hamming query over BinaryQuantized<N> codes; invalid_argument when `bits` is not N
/// bytes long.
template <std::size_t N>
Result<RawNearestQuery> bits_query(std::span<const std::uint8_t> bits, std::size_t k) {
    if (bits.size() != N) {
        return Error{Errc::invalid_argument, 0, N};
    }
    RawNearestQuery raw;
    raw.bits = true;
    raw.query_bits = bits;
    raw.fixed_width = N;
    raw.k = k;
    return raw;
}

template <Key K>
Result<std::vector<Neighbor<K>>> typed_neighbors(Result<RawNeighbors> raw) {
    if (!raw) {
        return raw.error();
    }
    std::vector<Neighbor<K>> neighbors;
    neighbors.reserve(raw->size());
    for (auto& [d, key_bytes] : *raw) {
        Result<K> key = Codec<K>::decode(key_bytes);
        if (!key) {
            return key.error();
        }
        neighbors.push_back(Neighbor<K>{std::move(*key), d});
    }
    return neighbors;
}

}  // namespace detail

/// The k entries of `range` nearest to `query` under `metric`, best first.
template <Key K, Value V>
    requires detail::IsSearchableVector<V>::value
Task<Result<std::vector<Neighbor<K>>>> nearest_k(Range<K, V>& range, std::span<const float> query,
                                                 std::size_t k, DistanceMetric metric) {
    Result<detail::RawNearestQuery> raw = detail::f32_query<V>(query, k, metric);
    if (!raw) {
        co_return raw.error();
    }
    Result<detail::RawNeighbors> found = co_await detail::raw_nearest(range.raw(), *raw);
    co_return detail::typed_neighbors<K>(std::move(found));
}

/// As nearest_k, over the entries for which `filter(key, vector)` returns true (each entry is
/// decoded for the filter).
template <Key K, Value V, class Filter>
    requires detail::IsSearchableVector<V>::value
Task<Result<std::vector<Neighbor<K>>>> nearest_k_if(Range<K, V>& range,
                                                    std::span<const float> query, std::size_t k,
                                                    DistanceMetric metric, Filter filter) {
    static_assert(std::is_invocable_r_v<bool, Filter, const K&, const V&>,
                  "the filter takes (const K&, const V&) and returns bool");
    Result<detail::RawNearestQuery> raw = detail::f32_query<V>(query, k, metric);
    if (!raw) {
        co_return raw.error();
    }
    const detail::RawPredicate predicate = detail::raw_predicate<K, V>(std::move(filter));
    raw->filter = &predicate;
    Result<detail::RawNeighbors> found = co_await detail::raw_nearest(range.raw(), *raw);
    co_return detail::typed_neighbors<K>(std::move(found));
}

/// The k entries of `range` whose sign bits are nearest to `query_bits` by Hamming distance
/// (the number of differing bits, as the distance), best first. `query_bits` holds N bytes,
/// as quantize_binary makes them.
template <Key K, std::size_t N>
Task<Result<std::vector<Neighbor<K>>>> nearest_k(Range<K, BinaryQuantized<N>>& range,
                                                 std::span<const std::uint8_t> query_bits,
                                                 std::size_t k) {
    Result<detail::RawNearestQuery> raw = detail::bits_query<N>(query_bits, k);
    if (!raw) {
        co_return raw.error();
    }
    Result<detail::RawNeighbors> found = co_await detail::raw_nearest(range.raw(), *raw);
    co_return detail::typed_neighbors<K>(std::move(found));
}

/// Two-stage search: the `candidates` entries of `bits` nearest to quantize_binary(query) by
/// Hamming distance, then the k of those nearest to `query` under `metric`, computed from the
/// f32 vectors stored under the same keys in `vectors`, best first (distances are the exact
/// ones). A candidate whose key `vectors` lacks does not compete. `candidates` below k counts
/// as k; more candidates cost more reads and find more of the exact nearest.
template <Key K, std::size_t N, Value V>
    requires detail::IsSearchableVector<V>::value
Task<Result<std::vector<Neighbor<K>>>> nearest_k_reranked(Range<K, BinaryQuantized<N>>& bits,
                                                          const ReadableTable<K, V>& vectors,
                                                          std::span<const float> query,
                                                          std::size_t k, DistanceMetric metric,
                                                          std::size_t candidates) {
    Result<detail::RawNearestQuery> exact = detail::f32_query<V>(query, k, metric);
    if (!exact) {
        co_return exact.error();
    }
    const std::vector<std::uint8_t> query_bits = quantize_binary(query);
    Result<detail::RawNearestQuery> coarse =
            detail::bits_query<N>(query_bits, candidates < k ? k : candidates);
    if (!coarse) {
        co_return coarse.error();
    }
    Result<detail::RawNeighbors> found = co_await detail::raw_nearest(bits.raw(), *coarse);
    if (!found) {
        co_return found.error();
    }
    Result<detail::RawNeighbors> ranked =
            co_await detail::raw_rerank(vectors.raw(), std::move(*found), *exact);
    co_return detail::typed_neighbors<K>(std::move(ranked));
}

/// nearest_k over a whole read-only table, cut into 1 + helpers.size() parts of about equal
/// size: the calling thread searches one, each helper context's thread another (each helper
/// must be driving its context, as a coro::WorkerThread does). Same result as nearest_k over
/// table.iter().
template <Key K, Value V>
    requires detail::IsSearchableVector<V>::value
Task<Result<std::vector<Neighbor<K>>>> nearest_k_parallel(
        const ReadOnlyTable<K, V>& table, std::span<const float> query, std::size_t k,
        DistanceMetric metric, std::span<coro::ThreadContext* const> helpers) {
    Result<detail::RawNearestQuery> raw = detail::f32_query<V>(query, k, metric);
    if (!raw) {
        co_return raw.error();
    }
    Result<detail::RawNeighbors> found =
            co_await detail::raw_nearest_parallel(table.raw(), *raw, helpers);
    co_return detail::typed_neighbors<K>(std::move(found));
}

}  // namespace ringdb
