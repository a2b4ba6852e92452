// The scalar distance kernels and the run-time choice of kernel set (kernels.hpp).

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "engine/vector/kernels.hpp"

namespace ringdb::engine {

namespace {

float scalar_dot(const float* a, const float* b, std::size_t n) {
    float sum = 0.0F;
    for (std::size_t i = 0; i < n; ++i) {
        sum += a[i] * b[i];
    }
    return sum;
}

float scalar_l2_sq(const float* a, const float* b, std::size_t n) {
    float sum = 0.0F;
    for (std::size_t i = 0; i < n; ++i) {
        const float d = a[i] - b[i];
        sum += d * d;
    }
    return sum;
}

float scalar_l1(const float* a, const float* b, std::size_t n) {
    float sum = 0.0F;
    for (std::size_t i = 0; i < n; ++i) {
        sum += std::fabs(a[i] - b[i]);
    }
    return sum;
}

void scalar_dot_norms(const float* a, const float* b, std::size_t n, float* out) {
    float ab = 0.0F;
    float aa = 0.0F;
    float bb = 0.0F;
    for (std::size_t i = 0; i < n; ++i) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    out[0] = ab;
    out[1] = aa;
    out[2] = bb;
}

std::uint32_t scalar_hamming(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        bits += static_cast<std::uint32_t>(std::popcount(static_cast<unsigned>(a[i] ^ b[i])));
    }
    return bits;
}

void scalar_hamming_many(const std::uint8_t* a, const std::uint8_t* base, std::size_t stride,
                         std::size_t count, std::size_t n, std::uint32_t* out) {
    for (std::size_t j = 0; j < count; ++j) {
        out[j] = scalar_hamming(a, base + j * stride, n);
    }
}

constexpr DistanceKernels kScalar{"scalar",          &scalar_dot,       &scalar_l2_sq,
                                  &scalar_l1,        &scalar_dot_norms, &scalar_hamming,
                                  &scalar_hamming_many};

const DistanceKernels& choose() noexcept {
    const char* cap = std::getenv("RINGDB_SIMD");
    const bool allow_avx512 = cap == nullptr || std::strcmp(cap, "avx512") == 0;
    const bool allow_avx2 = allow_avx512 || std::strcmp(cap, "avx2") == 0;
    if (allow_avx512) {
        if (const DistanceKernels* wide = avx512_kernels()) {
            return *wide;
        }
    }
    if (allow_avx2) {
        if (const DistanceKernels* fused = avx2_kernels()) {
            return *fused;
        }
    }
    return kScalar;
}

}  // namespace

const DistanceKernels& scalar_kernels() noexcept { return kScalar; }

const DistanceKernels& kernels() noexcept {
    static const DistanceKernels& chosen = choose();
    return chosen;
}

}  // namespace ringdb::engine
