// The AVX-512 distance kernels (kernels.hpp): 16-lane f32 sums with FMA, masked loads for the
// tail (no scalar remainder loop), compiled per function for avx512f; avx512_kernels() hands
// them out only when the CPU has AVX-512 F. Hamming distance is hamming_popcount.

#include <immintrin.h>

#include "engine/vector/kernels.hpp"

#define RINGDB_AVX512 __attribute__((target("avx512f,popcnt")))

namespace ringdb::engine {

namespace {

// The sum of the 16 lanes, by halving: 16 -> 8 -> 4 -> 2 -> 1. Not _mm512_reduce_add_ps, nor
// the plain extract and cast intrinsics: g++ 12 reports their internal _mm256_undefined_pd as
// used uninitialized at -O2 (a false positive that -Werror turns into an error), so the halves
// come out through the masked f64 extract (AVX-512 F; the f32 one needs DQ) with a zero source.
RINGDB_AVX512 __m256 half_of(__m512 v, int upper) {
    const __m512d d = _mm512_castps_pd(v);
    const __m256d zero = _mm256_setzero_pd();
    return _mm256_castpd_ps(upper != 0 ? _mm512_mask_extractf64x4_pd(zero, 0xFF, d, 1)
                                       : _mm512_mask_extractf64x4_pd(zero, 0xFF, d, 0));
}

RINGDB_AVX512 float sum16(__m512 v) {
    const __m256 eight = _mm256_add_ps(half_of(v, 0), half_of(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

RINGDB_AVX512 __mmask16 tail_mask(std::size_t remaining) {
    return static_cast<__mmask16>((1U << remaining) - 1U);
}

// Four accumulators over 64 elements per step: each dependency chain is a quarter of the
// vector, so short vectors (128 elements: two steps) finish before the FMA latency adds up.
RINGDB_AVX512 float avx512_dot(const float* a, const float* b, std::size_t n) {
    __m512 s0 = _mm512_setzero_ps();
    __m512 s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps();
    __m512 s3 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return sum16(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

RINGDB_AVX512 __m512 diff_at(const float* a, const float* b, std::size_t i) {
    return _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
}

RINGDB_AVX512 float avx512_l2_sq(const float* a, const float* b, std::size_t n) {
    __m512 s0 = _mm512_setzero_ps();
    __m512 s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps();
    __m512 s3 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 d0 = diff_at(a, b, i);
        const __m512 d1 = diff_at(a, b, i + 16);
        const __m512 d2 = diff_at(a, b, i + 32);
        const __m512 d3 = diff_at(a, b, i + 48);
        s0 = _mm512_fmadd_ps(d0, d0, s0);
        s1 = _mm512_fmadd_ps(d1, d1, s1);
        s2 = _mm512_fmadd_ps(d2, d2, s2);
        s3 = _mm512_fmadd_ps(d3, d3, s3);
    }
    for (; i + 16 <= n; i += 16) {
        const __m512 d = diff_at(a, b, i);
        s0 = _mm512_fmadd_ps(d, d, s0);
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s1 = _mm512_fmadd_ps(d, d, s1);
    }
    return sum16(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

RINGDB_AVX512 float avx512_l1(const float* a, const float* b, std::size_t n) {
    __m512 s0 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s0 = _mm512_add_ps(s0, _mm512_abs_ps(d));
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s0 = _mm512_add_ps(s0, _mm512_abs_ps(d));
    }
    return sum16(s0);
}

RINGDB_AVX512 void avx512_dot_norms(const float* a, const float* b, std::size_t n, float* out) {
    __m512 ab = _mm512_setzero_ps();
    __m512 aa = _mm512_setzero_ps();
    __m512 bb = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
        __m512 x = _mm512_maskz_loadu_ps(m, a + i);
        __m512 y = _mm512_maskz_loadu_ps(m, b + i);
        ab = _mm512_fmadd_ps(x, y, ab);
        aa = _mm512_fmadd_ps(x, x, aa);
        bb = _mm512_fmadd_ps(y, y, bb);
    }
    out[0] = sum16(ab);
    out[1] = sum16(aa);
    out[2] = sum16(bb);
}

constexpr DistanceKernels kAvx512{"avx512",         &avx512_dot,       &avx512_l2_sq,
                                  &avx512_l1,        &avx512_dot_norms, &hamming_popcount,
                                  &hamming_popcount_many};

}  // namespace

const DistanceKernels* avx512_kernels() noexcept {
    static const bool supported = __builtin_cpu_supports("avx512f") &&
                                  __builtin_cpu_supports("popcnt");
    return supported ? &kAvx512 : nullptr;
}

}  // namespace ringdb::engine
