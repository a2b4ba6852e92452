#pragma once
// hnsw_peer: hnswlib, the reference for distance kernels and brute-force search. hnswlib picks
// its SIMD code when it is compiled, so hnsw_peer.cpp alone is built with -march=native; this
// header shows no hnswlib type, so nothing else is compiled with hnswlib's flags.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "vector/vector_data.hpp"

namespace ringdb::bench {

/// hnswlib's distance function type: (a, b, &dim) -> distance.
using HnswDistance = float (*)(const void*, const void*, const void*);

/// hnswlib's kernels for one dimension: L2Space's squared Euclidean distance and
/// InnerProductSpace's inner-product distance (1 - a.b), as get_dist_func() chooses them.
class HnswKernels {
public:
    explicit HnswKernels(std::size_t dim);
    ~HnswKernels();
    HnswKernels(const HnswKernels&) = delete;
    HnswKernels& operator=(const HnswKernels&) = delete;

    HnswDistance l2() const noexcept;
    HnswDistance inner_product() const noexcept;
    /// The parameter both functions take (a pointer to the dimension). Valid while this lives.
    const void* param() const noexcept;

private:
    struct Spaces;
    std::unique_ptr<Spaces> spaces_;
};

/// hnswlib::BruteforceSearch<float> over a copy of `set` (squared Euclidean distance), keys
/// 0..count-1 as labels.
class HnswBruteForce {
public:
    explicit HnswBruteForce(const VectorSet& set);
    ~HnswBruteForce();
    HnswBruteForce(const HnswBruteForce&) = delete;
    HnswBruteForce& operator=(const HnswBruteForce&) = delete;

    /// searchKnn(query, k), written to out[0..k) by ascending distance; returns how many.
    std::size_t search(const float* query, std::size_t k, Hit* out) const;

private:
    struct Index;
    std::unique_ptr<Index> index_;
};

}  // namespace ringdb::bench
