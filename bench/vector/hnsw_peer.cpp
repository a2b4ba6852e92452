// hnsw_peer: hnswlib's kernels and BruteforceSearch behind an interface free of hnswlib types
// (see hnsw_peer.hpp). Built with -march=native (bench/CMakeLists.txt). hnswlib.h defines
// functions that are not inline, so this is the only file that includes it.

#include "vector/hnsw_peer.hpp"

#include <hnswlib/hnswlib.h>

namespace ringdb::bench {

struct HnswKernels::Spaces {
    explicit Spaces(std::size_t dim) : l2(dim), ip(dim) {}
    hnswlib::L2Space l2;
    hnswlib::InnerProductSpace ip;
};

HnswKernels::HnswKernels(std::size_t dim) : spaces_(std::make_unique<Spaces>(dim)) {}
HnswKernels::~HnswKernels() = default;

HnswDistance HnswKernels::l2() const noexcept { return spaces_->l2.get_dist_func(); }
HnswDistance HnswKernels::inner_product() const noexcept { return spaces_->ip.get_dist_func(); }
const void* HnswKernels::param() const noexcept { return spaces_->l2.get_dist_func_param(); }

struct HnswBruteForce::Index {
    Index(std::size_t dim, std::size_t count) : space(dim), search(&space, count) {}
    hnswlib::L2Space space;
    hnswlib::BruteforceSearch<float> search;
};

HnswBruteForce::HnswBruteForce(const VectorSet& set)
    : index_(std::make_unique<Index>(set.dim, set.count)) {
    for (std::size_t i = 0; i < set.count; ++i) {
        index_->search.addPoint(set.row(i).data(), i);
    }
}

HnswBruteForce::~HnswBruteForce() = default;

std::size_t HnswBruteForce::search(const float* query, std::size_t k, Hit* out) const {
    auto queue = index_->search.searchKnn(query, k);
    // The queue pops the farthest first.
    const std::size_t n = queue.size();
    for (std::size_t i = n; i > 0; --i) {
        out[i - 1] = Hit{queue.top().second, queue.top().first};
        queue.pop();
    }
    return n;
}

}  // namespace ringdb::bench
