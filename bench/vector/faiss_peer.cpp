// faiss_peer: FAISS's kernels and IndexFlatL2 (see faiss_peer.hpp).

#include "vector/faiss_peer.hpp"

#include <omp.h>

#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>

#include <vector>

namespace ringdb::bench {

float faiss_l2_sq(const float* a, const float* b, std::size_t dim) {
    return faiss::fvec_L2sqr(a, b, dim);
}

float faiss_inner_product(const float* a, const float* b, std::size_t dim) {
    return faiss::fvec_inner_product(a, b, dim);
}

struct FaissFlat::Index {
    explicit Index(std::size_t dim) : flat(static_cast<faiss::Index::idx_t>(dim)) {}
    faiss::IndexFlatL2 flat;
};

FaissFlat::FaissFlat(const VectorSet& set) : index_(std::make_unique<Index>(set.dim)) {
    omp_set_num_threads(1);
    index_->flat.add(static_cast<faiss::Index::idx_t>(set.count), set.values.data());
}

FaissFlat::~FaissFlat() = default;

std::size_t FaissFlat::search(const float* query, std::size_t k, Hit* out) const {
    std::vector<float> distances(k);
    std::vector<faiss::Index::idx_t> labels(k);
    index_->flat.search(1, query, static_cast<faiss::Index::idx_t>(k), distances.data(),
                        labels.data());
    std::size_t n = 0;
    for (std::size_t i = 0; i < k; ++i) {
        if (labels[i] >= 0) {  // -1: fewer than k vectors
            out[n++] = Hit{static_cast<std::uint64_t>(labels[i]), distances[i]};
        }
    }
    return n;
}

}  // namespace ringdb::bench
