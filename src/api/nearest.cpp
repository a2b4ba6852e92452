// The bounded candidate heap of nearest-k search (<ringdb/nearest.hpp>).

#include <ringdb/nearest.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ringdb::detail {

namespace {

// NaN ranks after every number.
float rank_of(float distance) noexcept {
    return std::isnan(distance) ? std::numeric_limits<float>::infinity() : distance;
}

}  // namespace

bool NearestHeap::before(float distance, ByteView key, const Candidate& other) const noexcept {
    const float a = rank_of(distance);
    const float b = rank_of(other.distance);
    if (a != b) {
        return a < b;
    }
    const bool a_nan = std::isnan(distance);
    const bool b_nan = std::isnan(other.distance);
    if (a_nan != b_nan) {
        return b_nan;  // +inf before NaN
    }
    return key_order_(key, other.key) < 0;
}

void NearestHeap::offer(float distance, ByteView key) {
    auto worse = [this](const Candidate& x, const Candidate& y) {
        return before(x.distance, x.key, y);
    };
    if (heap_.size() < k_) {
        heap_.push_back(Candidate{distance, Bytes(key.begin(), key.end())});
        std::push_heap(heap_.begin(), heap_.end(), worse);
        return;
    }
    if (!before(distance, key, heap_.front())) {
        return;
    }
    std::pop_heap(heap_.begin(), heap_.end(), worse);
    heap_.back() = Candidate{distance, Bytes(key.begin(), key.end())};
    std::push_heap(heap_.begin(), heap_.end(), worse);
}

std::vector<std::pair<float, Bytes>> NearestHeap::take_sorted() {
    auto better = [this](const Candidate& x, const Candidate& y) {
        return before(x.distance, x.key, y);
    };
    std::sort(heap_.begin(), heap_.end(), better);
    std::vector<std::pair<float, Bytes>> sorted;
    sorted.reserve(heap_.size());
    for (Candidate& c : heap_) {
        sorted.emplace_back(c.distance, std::move(c.key));
    }
    heap_.clear();
    return sorted;
}

}  // namespace ringdb::detail
