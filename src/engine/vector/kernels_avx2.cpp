// The AVX2+FMA distance kernels (kernels.hpp). Each function is compiled for avx2+fma on its
// own (target attribute), so the rest of the library stays generic x86-64; avx2_kernels()
// hands them out only when the CPU has both, and POPCNT for hamming_popcount (defined here).
// Two 8-lane accumulators hide the FMA latency; the tail shorter than 8 elements is summed in
// scalar code.

#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "engine/vector/kernels.hpp"

#define RINGDB_AVX2 __attribute__((target("avx2,fma")))

namespace ringdb::engine {

namespace {

RINGDB_AVX2 float sum8(__m256 v) {
    __m128 low = _mm256_castps256_ps128(v);
    __m128 high = _mm256_extractf128_ps(v, 1);
    __m128 s = _mm_add_ps(low, high);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

RINGDB_AVX2 float avx2_dot(const float* a, const float* b, std::size_t n) {
    __m256 s0 = _mm256_setzero_ps();
    __m256 s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    }
    float sum = sum8(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) {
        sum += a[i] * b[i];
    }
    return sum;
}

RINGDB_AVX2 float avx2_l2_sq(const float* a, const float* b, std::size_t n) {
    __m256 s0 = _mm256_setzero_ps();
    __m256 s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(d, d, s0);
    }
    float sum = sum8(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) {
        const float d = a[i] - b[i];
        sum += d * d;
    }
    return sum;
}

RINGDB_AVX2 float avx2_l1(const float* a, const float* b, std::size_t n) {
    // |x| clears the sign bit.
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 s0 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_add_ps(s0, _mm256_and_ps(d, magnitude));
    }
    float sum = sum8(s0);
    for (; i < n; ++i) {
        sum += std::fabs(a[i] - b[i]);
    }
    return sum;
}

RINGDB_AVX2 void avx2_dot_norms(const float* a, const float* b, std::size_t n, float* out) {
    __m256 ab = _mm256_setzero_ps();
    __m256 aa = _mm256_setzero_ps();
    __m256 bb = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(a + i);
        __m256 y = _mm256_loadu_ps(b + i);
        ab = _mm256_fmadd_ps(x, y, ab);
        aa = _mm256_fmadd_ps(x, x, aa);
        bb = _mm256_fmadd_ps(y, y, bb);
    }
    float sab = sum8(ab);
    float saa = sum8(aa);
    float sbb = sum8(bb);
    for (; i < n; ++i) {
        sab += a[i] * b[i];
        saa += a[i] * a[i];
        sbb += b[i] * b[i];
    }
    out[0] = sab;
    out[1] = saa;
    out[2] = sbb;
}

__attribute__((target("popcnt"))) std::uint32_t popcount_xor(const std::uint8_t* a,
                                                             const std::uint8_t* b,
                                                             std::size_t n) {
    std::uint64_t bits = 0;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t x = 0;
        std::uint64_t y = 0;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        bits += static_cast<std::uint64_t>(__builtin_popcountll(x ^ y));
    }
    for (; i < n; ++i) {
        bits += static_cast<std::uint64_t>(__builtin_popcount(static_cast<unsigned>(a[i] ^ b[i])));
    }
    return static_cast<std::uint32_t>(bits);
}

__attribute__((target("popcnt"))) void popcount_xor_many(const std::uint8_t* a,
                                                         const std::uint8_t* base,
                                                         std::size_t stride, std::size_t count,
                                                         std::size_t n, std::uint32_t* out) {
    for (std::size_t j = 0; j < count; ++j) {
        out[j] = popcount_xor(a, base + j * stride, n);  // inlined: same target
    }
}

constexpr DistanceKernels kAvx2{"avx2",  &avx2_dot,       &avx2_l2_sq,     &avx2_l1,
                                &avx2_dot_norms,          &hamming_popcount,
                                &hamming_popcount_many};

}  // namespace

std::uint32_t hamming_popcount(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
    return popcount_xor(a, b, n);
}

void hamming_popcount_many(const std::uint8_t* a, const std::uint8_t* base, std::size_t stride,
                           std::size_t count, std::size_t n, std::uint32_t* out) {
    popcount_xor_many(a, base, stride, count, n, out);
}

const DistanceKernels* avx2_kernels() noexcept {
    static const bool supported = __builtin_cpu_supports("avx2") &&
                                  __builtin_cpu_supports("fma") &&
                                  __builtin_cpu_supports("popcnt");
    return supported ? &kAvx2 : nullptr;
}

}  // namespace ringdb::engine
