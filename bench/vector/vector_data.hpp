#pragma once
// vector_data: what every side of vector_bench shares: the data set (uniform f32 vectors from
// a fixed seed), the queries, a search result, the check that two top-k results agree up to
// ties, and the plain streaming read that measures one thread's memory bandwidth.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ringdb::bench {

/// The dimension of the search cells (2 to 6): the table type is FixedVec<kDim>.
inline constexpr std::size_t kDim = 128;
/// Bytes of one binary-quantised vector (one bit per element).
inline constexpr std::size_t kBinaryBytes = kDim / 8;

/// `count` floats aligned to 64 bytes (a cache line), zero-initialised.
class AlignedFloats {
public:
    AlignedFloats() = default;
    explicit AlignedFloats(std::size_t count);

    float* data() noexcept { return data_.get(); }
    const float* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }

private:
    struct Free {
        void operator()(float* p) const noexcept;
    };
    std::unique_ptr<float[], Free> data_;
    std::size_t size_ = 0;
};

/// `count` vectors of `dim` f32, row after row.
struct VectorSet {
    std::size_t dim = 0;
    std::size_t count = 0;
    AlignedFloats values;

    std::span<const float> row(std::size_t i) const noexcept {
        return {values.data() + i * dim, dim};
    }
    std::uint64_t bytes() const noexcept { return std::uint64_t{4} * dim * count; }
};

/// `count` vectors whose elements are uniform in [-1, 1), the same for the same seed on every
/// machine (splitmix64, not <random>'s distributions, whose output is not specified).
VectorSet make_uniform_vectors(std::size_t count, std::size_t dim, std::uint64_t seed);

/// One result of a top-k search: the vector's key (its row) and its distance to the query.
struct Hit {
    std::uint64_t key = 0;
    float distance = 0.0F;
};

/// Whether `a` and `b` (each sorted by ascending distance) are the same top-k up to ties: the
/// same keys, or else every key found in only one of them lies within a relative tolerance of
/// the k-th distance (kernels sum in different orders, so equal distances may differ in the
/// last bits). On a mismatch, `why` says which key differs and by how much.
bool same_top_k(std::span<const Hit> a, std::span<const Hit> b, std::string& why);

/// CPU seconds (user and system) of every thread of this process so far.
double process_cpu_seconds();

/// Reads `bytes` bytes at `data` once from start to end with the widest loads this CPU has
/// (AVX2 when present, else SSE2), one thread, and returns a checksum of what was read (sink
/// it so the read is not optimised away). REQUIRES: data is 64-byte aligned and bytes is a
/// multiple of 256.
std::uint64_t stream_read(const void* data, std::size_t bytes);

}  // namespace ringdb::bench
