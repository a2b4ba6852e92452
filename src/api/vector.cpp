// The vector operations of <ringdb/vector.hpp>: argument checks here, the sums in the engine's
// kernels (engine/vector/kernels.hpp).

#include <ringdb/vector.hpp>

#include <bit>
#include <cmath>
#include <limits>

#include "engine/vector/kernels.hpp"
#include "util/endian.hpp"

namespace ringdb {

namespace {

Status same_length(std::size_t a, std::size_t b) {
    if (a != b) {
        return Error{Errc::invalid_argument, 0, b};
    }
    return ok();
}

float cosine_of(const float* sums) {
    const float denominator = std::sqrt(sums[1]) * std::sqrt(sums[2]);
    return denominator == 0.0F ? 0.0F : sums[0] / denominator;
}

// (v - min) * scale rounded half up into a code; NaN and values below the range give 0, values
// above it 255 (an infinite element makes the range infinite).
std::uint8_t code_of(float v, float min, float scale) {
    const float x = (v - min) * scale + 0.5F;
    if (!(x >= 0.0F)) {
        return 0;
    }
    if (x >= 255.0F) {
        return 255;
    }
    return static_cast<std::uint8_t>(x);
}

// The value one code step stands for (0 when every element is min).
float step_of(const ScalarQuantizedVector& q) {
    const float range = q.max - q.min;
    return range == 0.0F ? 0.0F : range / 255.0F;
}

}  // namespace

std::string_view to_string(DistanceMetric metric) noexcept {
    switch (metric) {
        case DistanceMetric::cosine:
            return "cosine";
        case DistanceMetric::euclidean_sq:
            return "euclidean_sq";
        case DistanceMetric::dot_product:
            return "dot_product";
        case DistanceMetric::manhattan:
            return "manhattan";
    }
    return "unknown";
}

Result<float> dot_product(std::span<const float> a, std::span<const float> b) {
    if (Status fits = same_length(a.size(), b.size()); !fits) {
        return fits.error();
    }
    return engine::kernels().dot(a.data(), b.data(), a.size());
}

Result<float> euclidean_distance_sq(std::span<const float> a, std::span<const float> b) {
    if (Status fits = same_length(a.size(), b.size()); !fits) {
        return fits.error();
    }
    return engine::kernels().l2_sq(a.data(), b.data(), a.size());
}

Result<float> cosine_similarity(std::span<const float> a, std::span<const float> b) {
    if (Status fits = same_length(a.size(), b.size()); !fits) {
        return fits.error();
    }
    float sums[3];
    engine::kernels().dot_norms(a.data(), b.data(), a.size(), sums);
    return cosine_of(sums);
}

Result<float> cosine_distance(std::span<const float> a, std::span<const float> b) {
    Result<float> similarity = cosine_similarity(a, b);
    if (!similarity) {
        return similarity.error();
    }
    return 1.0F - *similarity;
}

Result<float> manhattan_distance(std::span<const float> a, std::span<const float> b) {
    if (Status fits = same_length(a.size(), b.size()); !fits) {
        return fits.error();
    }
    return engine::kernels().l1(a.data(), b.data(), a.size());
}

Result<std::uint32_t> hamming_distance(std::span<const std::uint8_t> a,
                                       std::span<const std::uint8_t> b) {
    if (Status fits = same_length(a.size(), b.size()); !fits) {
        return fits.error();
    }
    return engine::kernels().hamming(a.data(), b.data(), a.size());
}

Result<float> distance(DistanceMetric metric, std::span<const float> a,
                       std::span<const float> b) {
    switch (metric) {
        case DistanceMetric::cosine:
            return cosine_distance(a, b);
        case DistanceMetric::euclidean_sq:
            return euclidean_distance_sq(a, b);
        case DistanceMetric::dot_product: {
            Result<float> dot = dot_product(a, b);
            if (!dot) {
                return dot.error();
            }
            return -*dot;
        }
        case DistanceMetric::manhattan:
            return manhattan_distance(a, b);
    }
    return Error{Errc::invalid_argument};
}

float l2_norm(std::span<const float> v) noexcept {
    return std::sqrt(engine::kernels().dot(v.data(), v.data(), v.size()));
}

void l2_normalize(std::span<float> v) noexcept {
    const float norm = l2_norm(v);
    if (norm > 0.0F) {
        const float inverse = 1.0F / norm;
        for (float& x : v) {
            x *= inverse;
        }
    }
}

std::vector<float> l2_normalized(std::span<const float> v) {
    std::vector<float> copy(v.begin(), v.end());
    l2_normalize(copy);
    return copy;
}

std::vector<std::uint8_t> quantize_binary(std::span<const float> v) {
    std::vector<std::uint8_t> bits((v.size() + 7) / 8, 0);
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] > 0.0F) {
            bits[i / 8] = static_cast<std::uint8_t>(bits[i / 8] | (0x80U >> (i % 8)));
        }
    }
    return bits;
}

ScalarQuantizedVector quantize_scalar(std::span<const float> v) {
    ScalarQuantizedVector q;
    q.min = std::numeric_limits<float>::infinity();
    q.max = -std::numeric_limits<float>::infinity();
    for (float x : v) {
        q.min = x < q.min ? x : q.min;
        q.max = x > q.max ? x : q.max;
    }
    q.codes.assign(v.size(), 0);
    const float range = q.max - q.min;
    if (range > 0.0F) {
        const float scale = 255.0F / range;
        for (std::size_t i = 0; i < v.size(); ++i) {
            q.codes[i] = code_of(v[i], q.min, scale);
        }
    }
    return q;
}

std::vector<float> dequantize_scalar(const ScalarQuantizedVector& q) {
    std::vector<float> values(q.codes.size());
    const float step = step_of(q);
    for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] = q.min + static_cast<float>(q.codes[i]) * step;
    }
    return values;
}

Result<float> sq_euclidean_distance_sq(std::span<const float> query,
                                       const ScalarQuantizedVector& q) {
    if (Status fits = same_length(query.size(), q.codes.size()); !fits) {
        return fits.error();
    }
    const float step = step_of(q);
    float sum = 0.0F;
    for (std::size_t i = 0; i < query.size(); ++i) {
        const float d = query[i] - (q.min + static_cast<float>(q.codes[i]) * step);
        sum += d * d;
    }
    return sum;
}

Result<float> sq_dot_product(std::span<const float> query, const ScalarQuantizedVector& q) {
    if (Status fits = same_length(query.size(), q.codes.size()); !fits) {
        return fits.error();
    }
    const float step = step_of(q);
    float sum = 0.0F;
    for (std::size_t i = 0; i < query.size(); ++i) {
        sum += query[i] * (q.min + static_cast<float>(q.codes[i]) * step);
    }
    return sum;
}

Status write_f32_le(std::span<std::byte> target, std::span<const float> values) {
    if (target.size() != values.size() * 4) {
        return Error{Errc::invalid_argument, 0, target.size()};
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
        util::store_le32(target.data() + 4 * i, std::bit_cast<std::uint32_t>(values[i]));
    }
    return ok();
}

Result<std::vector<float>> read_f32_le(std::span<const std::byte> source) {
    if (source.size() % 4 != 0) {
        return Error{Errc::invalid_argument, 0, source.size()};
    }
    std::vector<float> values(source.size() / 4);
    for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] = std::bit_cast<float>(util::load_le32(source.data() + 4 * i));
    }
    return values;
}

}  // namespace ringdb
