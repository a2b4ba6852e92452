#pragma once
// The bounded candidate heap of nearest-k search: the k best (distance, key) pairs seen so
// far. Equal distances are ordered by key; NaN distances rank after every number (+inf
// before NaN), so the result of a search is deterministic.

#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include <ringdb/bytes.hpp>

#include "engine/btree/tree_pages.hpp"

namespace ringdb::engine {

/// A candidate: its distance and its key's bytes.
using Scored = std::pair<float, Bytes>;

class NearestHeap {
public:
    /// With `ascending_keys`, the caller promises to offer keys in increasing key order (a
    /// forward scan): a candidate that ties with the worst kept then loses without a key
    /// comparison, since its key comes after every key kept.
    NearestHeap(std::size_t k, KeyCompare key_order, bool ascending_keys = false) noexcept
        : k_(k), key_order_(key_order), ascending_keys_(ascending_keys) {}

    /// Offers a candidate; `key` is copied only when it is kept.
    void offer(float distance, ByteView key) {
        if (heap_.size() == k_) {
            // The common case of a long scan: no better than the worst kept.
            const float worst = heap_.front().first;
            const float rank = rank_of(distance);
            if (rank > rank_of(worst) ||
                (ascending_keys_ && rank == rank_of(worst) &&
                 std::isnan(distance) == std::isnan(worst))) {
                return;
            }
        }
        offer_slow(distance, key);
    }
    /// A candidate must rank below this to be kept (+inf until k are kept): a cheap filter
    /// for a loop over many distances, which may skip offer() for the others (with
    /// ascending keys; otherwise ties with the bound may still be kept).
    float bound() const noexcept {
        return heap_.size() == k_ ? rank_of(heap_.front().first)
                                  : std::numeric_limits<float>::infinity();
    }
    /// The kept candidates, best first; the heap is empty afterwards.
    std::vector<Scored> take_sorted();

    /// NaN ranks as +inf (then after +inf, by before()).
    static float rank_of(float distance) noexcept {
        return std::isnan(distance) ? std::numeric_limits<float>::infinity() : distance;
    }

private:
    void offer_slow(float distance, ByteView key);
    bool before(float distance, ByteView key, const Scored& other) const noexcept;

    std::size_t k_;
    KeyCompare key_order_;
    bool ascending_keys_;
    std::vector<Scored> heap_;  // a max-heap: the worst candidate first
};

}  // namespace ringdb::engine
