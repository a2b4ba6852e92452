#pragma once
// Distance kernels over f32 and byte vectors, one set per instruction set, chosen at run time.
//
// The library is built for generic x86-64; the AVX2+FMA and AVX-512 sets are compiled for their
// targets function by function and used only when the CPU reports them (kernels() asks once).
// Every set computes the same sums as the scalar set in a different order of additions, so
// results agree within the rounding of f32 accumulation (tests/engine/vector/kernels_test.cpp
// states the bound), NaN stays NaN and infinities stay infinite with their sign.
//
// REQUIRES for every kernel: `a` and `b` (where both are given) point to `n` readable elements;
// n may be 0 (the sums are then 0).

#include <cstddef>
#include <cstdint>

namespace ringdb::engine {

struct DistanceKernels {
    const char* name;  // "scalar", "avx2", "avx512"
    /// sum a[i] * b[i]
    float (*dot)(const float* a, const float* b, std::size_t n);
    /// sum (a[i] - b[i])^2
    float (*l2_sq)(const float* a, const float* b, std::size_t n);
    /// sum |a[i] - b[i]|
    float (*l1)(const float* a, const float* b, std::size_t n);
    /// The three sums of a cosine in one pass: out[0] = a.b, out[1] = a.a, out[2] = b.b.
    void (*dot_norms)(const float* a, const float* b, std::size_t n, float* out);
    /// Bits that differ between a and b.
    std::uint32_t (*hamming)(const std::uint8_t* a, const std::uint8_t* b, std::size_t n);
    /// hamming(a, base + j * stride, n) into out[j] for each j < count: the codes of a leaf,
    /// which lie one after another, in one call. REQUIRES: base + (count-1) * stride + n bytes
    /// readable.
    void (*hamming_many)(const std::uint8_t* a, const std::uint8_t* base, std::size_t stride,
                         std::size_t count, std::size_t n, std::uint32_t* out);
};

/// Hamming distance with 64-bit popcounts, shared by the AVX2 and AVX-512 sets.
/// REQUIRES: the CPU has POPCNT (every CPU with AVX2 has it).
std::uint32_t hamming_popcount(const std::uint8_t* a, const std::uint8_t* b, std::size_t n);
/// hamming_many with 64-bit popcounts. REQUIRES: as hamming_popcount.
void hamming_popcount_many(const std::uint8_t* a, const std::uint8_t* base, std::size_t stride,
                           std::size_t count, std::size_t n, std::uint32_t* out);

/// The plain C++ kernels: the reference the others are checked against.
const DistanceKernels& scalar_kernels() noexcept;
/// The AVX2+FMA kernels, or null when this CPU lacks AVX2 or FMA.
const DistanceKernels* avx2_kernels() noexcept;
/// The AVX-512 (F and BW) kernels, or null when this CPU lacks them.
const DistanceKernels* avx512_kernels() noexcept;
/// The fastest set this CPU runs: AVX-512, else AVX2+FMA, else scalar. The environment
/// variable RINGDB_SIMD (`scalar`, `avx2` or `avx512`) caps the choice, so a test run can
/// exercise a lower set on any machine.
const DistanceKernels& kernels() noexcept;

}  // namespace ringdb::engine
