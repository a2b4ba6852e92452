// The bounded candidate heap of nearest-k search (see nearest_heap.hpp).

#include "engine/vector/nearest_heap.hpp"

#include <algorithm>

namespace ringdb::engine {

bool NearestHeap::before(float distance, ByteView key, const Scored& other) const noexcept {
    const float a = rank_of(distance);
    const float b = rank_of(other.first);
    if (a != b) {
        return a < b;
    }
    const bool a_nan = std::isnan(distance);
    const bool b_nan = std::isnan(other.first);
    if (a_nan != b_nan) {
        return b_nan;  // +inf before NaN
    }
    return key_order_(key, other.second) < 0;
}

void NearestHeap::offer_slow(float distance, ByteView key) {
    if (k_ == 0) {
        return;
    }
    auto worse = [this](const Scored& x, const Scored& y) {
        return before(x.first, x.second, y);
    };
    if (heap_.size() < k_) {
        heap_.emplace_back(distance, Bytes(key.begin(), key.end()));
        std::push_heap(heap_.begin(), heap_.end(), worse);
        return;
    }
    if (!before(distance, key, heap_.front())) {
        return;
    }
    std::pop_heap(heap_.begin(), heap_.end(), worse);
    heap_.back().first = distance;
    heap_.back().second.assign(key.begin(), key.end());
    std::push_heap(heap_.begin(), heap_.end(), worse);
}

std::vector<Scored> NearestHeap::take_sorted() {
    auto better = [this](const Scored& x, const Scored& y) {
        return before(x.first, x.second, y);
    };
    std::sort(heap_.begin(), heap_.end(), better);
    std::vector<Scored> sorted = std::move(heap_);
    heap_.clear();
    return sorted;
}

}  // namespace ringdb::engine
