#pragma once
// Vector operations on f32 and byte slices: distances, norms, and binary and scalar
// quantisation (docs/vectors.md). The vector value types and nearest-k search build on them.
//
// Every distance takes two slices of the same length; a length mismatch is
// Errc::invalid_argument (detail: the second slice's length), never an abort. Sums are
// computed by the fastest kernel this CPU runs (AVX-512, AVX2 with FMA, or portable code),
// chosen once per process; kernels add in different orders, so results may differ from a
// sequential f32 sum in the last bits (docs/vectors.md states the bound). NaN in an input gives
// NaN; infinities propagate as in IEEE arithmetic.
//
// Threads: every function is safe to call from any thread.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <ringdb/result.hpp>

namespace ringdb {

/// How nearest-k search ranks vectors; lower is always more similar.
enum class DistanceMetric {
    cosine,        // cosine_distance
    euclidean_sq,  // euclidean_distance_sq
    dot_product,   // -dot_product
    manhattan,     // manhattan_distance
};

/// "cosine", "euclidean_sq", "dot_product" or "manhattan".
std::string_view to_string(DistanceMetric metric) noexcept;

/// sum a[i] * b[i].
Result<float> dot_product(std::span<const float> a, std::span<const float> b);
/// sum (a[i] - b[i])^2.
Result<float> euclidean_distance_sq(std::span<const float> a, std::span<const float> b);
/// a.b / (|a| |b|), or 0 when either vector is all zeros.
Result<float> cosine_similarity(std::span<const float> a, std::span<const float> b);
/// 1 - cosine_similarity: in [0, 2], 1 when either vector is all zeros.
Result<float> cosine_distance(std::span<const float> a, std::span<const float> b);
/// sum |a[i] - b[i]|.
Result<float> manhattan_distance(std::span<const float> a, std::span<const float> b);
/// Number of bits that differ (binary-quantised vectors).
Result<std::uint32_t> hamming_distance(std::span<const std::uint8_t> a,
                                       std::span<const std::uint8_t> b);
/// The metric's distance from `a` to `b` (see DistanceMetric).
Result<float> distance(DistanceMetric metric, std::span<const float> a, std::span<const float> b);

/// sqrt(sum v[i]^2).
float l2_norm(std::span<const float> v) noexcept;
/// Divides every element by the norm; an all-zero vector is left as it is.
void l2_normalize(std::span<float> v) noexcept;
/// A normalised copy (an all-zero vector gives an all-zero copy).
std::vector<float> l2_normalized(std::span<const float> v);

/// Sign bits, most significant bit first: element i is bit 7 - i % 8 of byte i / 8, set when
/// the element is greater than 0 (0, negatives and NaN give 0); ceil(n / 8) bytes, unused
/// trailing bits 0.
std::vector<std::uint8_t> quantize_binary(std::span<const float> v);

/// A scalar-quantised vector: min, max and one code per element, x = min + code * (max -
/// min) / 255.
struct ScalarQuantizedVector {
    float min = 0.0F;
    float max = 0.0F;
    std::vector<std::uint8_t> codes;
};

/// min and max over the elements; code = (v - min) * 255 / (max - min) rounded half up, or all
/// codes 0 when max == min (an empty input gives min = +inf, max = -inf, no codes).
ScalarQuantizedVector quantize_scalar(std::span<const float> v);
/// The elements a quantised vector stands for (all `min` when max == min).
std::vector<float> dequantize_scalar(const ScalarQuantizedVector& q);
/// sum (query[i] - x[i])^2 over the dequantised elements x, without building them. With max ==
/// min every x[i] is min, so every query element counts (docs/vectors.md, Q-12).
Result<float> sq_euclidean_distance_sq(std::span<const float> query,
                                       const ScalarQuantizedVector& q);
/// sum query[i] * x[i] over the dequantised elements x.
Result<float> sq_dot_product(std::span<const float> query, const ScalarQuantizedVector& q);

/// Writes `values` as little-endian f32 into `target`. Errors: invalid_argument when target is
/// not exactly 4 bytes per value (detail: target's length), nothing written then.
Status write_f32_le(std::span<std::byte> target, std::span<const float> values);
/// Reads little-endian f32 values. Errors: invalid_argument when the length is not a multiple
/// of 4 (detail: the length).
Result<std::vector<float>> read_f32_le(std::span<const std::byte> source);

}  // namespace ringdb
