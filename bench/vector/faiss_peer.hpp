#pragma once
// faiss_peer: FAISS, the second reference: its distance kernels (as the Debian package built
// them) and IndexFlatL2's exact search, on one thread.

#include <cstddef>
#include <memory>

#include "vector/vector_data.hpp"

namespace ringdb::bench {

/// faiss::fvec_L2sqr and faiss::fvec_inner_product.
float faiss_l2_sq(const float* a, const float* b, std::size_t dim);
float faiss_inner_product(const float* a, const float* b, std::size_t dim);

/// faiss::IndexFlatL2 over a copy of `set`; searches run on one OpenMP thread (the
/// constructor sets omp_set_num_threads(1) for the process).
class FaissFlat {
public:
    explicit FaissFlat(const VectorSet& set);
    ~FaissFlat();
    FaissFlat(const FaissFlat&) = delete;
    FaissFlat& operator=(const FaissFlat&) = delete;

    /// One query's k nearest (ascending squared distance) into out[0..k); returns how many.
    std::size_t search(const float* query, std::size_t k, Hit* out) const;

private:
    struct Index;
    std::unique_ptr<Index> index_;
};

}  // namespace ringdb::bench
