#pragma once
// Exact nearest-k search over a range of a table whose values are FixedVec<N> or DynVec
// (docs/vectors.md, "Nearest-k search").
//
//   auto table = co_await txn->open_table(kEmbeddings);          // Table<K, FixedVec<128>>
//   auto range = table->iter();                                  // or range(lower, upper)
//   auto best = co_await ringdb::nearest_k(*range, query, 10, ringdb::DistanceMetric::cosine);
//
// The search streams through the range once and keeps at most k candidates in a bounded heap,
// so memory does not grow with the table. Results are sorted by ascending distance; equal
// distances are ordered by key (the table's key order), so the result is deterministic. A
// stored vector whose distance is NaN ranks after every number.
//
// Errors: invalid_argument when the query holds NaN (detail 0) or a stored vector's dimension
// differs from the query's (detail: that dimension); corrupted for a value that does not
// decode; the range's errors (io, transaction_finished, ...). k = 0 returns nothing without
// reading; fewer than k entries return all of them.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <utility>
#include <vector>

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

/// The filter of nearest_k: every entry competes, so keys are not decoded during the scan.
struct AcceptAll {
    template <class K, class V>
    bool operator()(const K&, const V&) const noexcept {
        return true;
    }
};

/// The k best candidates seen so far, by (distance, key); NaN distances order last.
class NearestHeap {
public:
    NearestHeap(std::size_t k, int (*key_order)(ByteView, ByteView)) noexcept
        : k_(k), key_order_(key_order) {}

    /// Offers a candidate; `key` is copied only when it is kept.
    void offer(float distance, ByteView key);
    /// The kept candidates, best first.
    std::vector<std::pair<float, Bytes>> take_sorted();

private:
    struct Candidate {
        float distance;
        Bytes key;
    };
    bool before(float distance, ByteView key, const Candidate& other) const noexcept;

    std::size_t k_;
    int (*key_order_)(ByteView, ByteView);
    std::vector<Candidate> heap_;  // a max-heap: the worst candidate first
};

}  // namespace detail

/// The k entries of `range` nearest to `query` under `metric`, best first.
template <Key K, Value V>
    requires detail::IsSearchableVector<V>::value
Task<Result<std::vector<Neighbor<K>>>> nearest_k(Range<K, V>& range, std::span<const float> query,
                                                 std::size_t k, DistanceMetric metric) {
    detail::AcceptAll every;
    auto result = co_await nearest_k_if(range, query, k, metric, every);
    co_return result;
}

/// As nearest_k, over the entries for which `filter(key, vector)` returns true.
template <Key K, Value V, class Filter>
    requires detail::IsSearchableVector<V>::value
Task<Result<std::vector<Neighbor<K>>>> nearest_k_if(Range<K, V>& range,
                                                    std::span<const float> query, std::size_t k,
                                                    DistanceMetric metric, Filter filter) {
    std::vector<Neighbor<K>> neighbors;
    if (std::any_of(query.begin(), query.end(), [](float x) { return std::isnan(x); })) {
        co_return Error{Errc::invalid_argument, 0, 0};
    }
    if (k == 0) {
        co_return neighbors;
    }
    detail::NearestHeap heap(k, &Codec<K>::compare);
    for (;;) {
        auto step = co_await range.next();
        if (!step) {
            co_return step.error();
        }
        if (!*step) {
            break;
        }
        Result<V> vector = (*step)->value.value();
        if (!vector) {
            co_return vector.error();
        }
        if (vector->values.size() != query.size()) {
            co_return Error{Errc::invalid_argument, 0, vector->values.size()};
        }
        static_assert(std::is_invocable_r_v<bool, Filter, const K&, const V&>,
                      "the filter takes (const K&, const V&) and returns bool");
        if constexpr (!std::is_same_v<Filter, detail::AcceptAll>) {
            Result<K> key = (*step)->key.value();
            if (!key) {
                co_return key.error();
            }
            if (!filter(*key, *vector)) {
                continue;
            }
        }
        Result<float> d = distance(metric, query, vector->span());
        if (!d) {
            co_return d.error();
        }
        heap.offer(*d, (*step)->key.bytes());
    }
    for (auto& [d, key_bytes] : heap.take_sorted()) {
        Result<K> key = Codec<K>::decode(key_bytes);
        if (!key) {
            co_return key.error();
        }
        neighbors.push_back(Neighbor<K>{std::move(*key), d});
    }
    co_return neighbors;
}

}  // namespace ringdb
