// vector_data: the data set, the top-k agreement check and the streaming read (see
// vector_data.hpp).

#include "vector/vector_data.hpp"

#include <immintrin.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <unordered_set>

namespace ringdb::bench {

namespace {

constexpr std::align_val_t kLine{64};

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// The tolerance of a tie: kernels that add in different orders differ by a few ulps of the
// sum of the terms; 1e-5 relative is far above that and far below the gap between distinct
// neighbours of random data.
bool close_to(float x, float y) noexcept {
    return std::fabs(x - y) <= 1e-5F * std::max(std::fabs(x), std::fabs(y)) + 1e-6F;
}

// Whether every key in `from` but not in `other` lies at the k-th distance (a tie).
bool extras_are_ties(std::span<const Hit> from, std::span<const Hit> other, float kth,
                     std::string& why) {
    std::unordered_set<std::uint64_t> keys;
    for (const Hit& h : other) {
        keys.insert(h.key);
    }
    for (const Hit& h : from) {
        if (keys.count(h.key) == 0 && !close_to(h.distance, kth)) {
            char text[160];
            std::snprintf(text, sizeof(text), "key %llu at distance %.7g is missing from the "
                          "other result, whose k-th distance is %.7g",
                          static_cast<unsigned long long>(h.key), h.distance, kth);
            why = text;
            return false;
        }
    }
    return true;
}

__attribute__((target("avx2"))) std::uint64_t stream_read_avx2(const void* data,
                                                               std::size_t bytes) {
    const auto* p = static_cast<const __m256i*>(data);
    const std::size_t blocks = bytes / 256;  // 8 loads of 32 bytes each
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t i = 0; i < blocks; ++i, p += 8) {
        a0 = _mm256_add_epi64(a0, _mm256_add_epi64(_mm256_load_si256(p),
                                                   _mm256_load_si256(p + 4)));
        a1 = _mm256_add_epi64(a1, _mm256_add_epi64(_mm256_load_si256(p + 1),
                                                   _mm256_load_si256(p + 5)));
        a2 = _mm256_add_epi64(a2, _mm256_add_epi64(_mm256_load_si256(p + 2),
                                                   _mm256_load_si256(p + 6)));
        a3 = _mm256_add_epi64(a3, _mm256_add_epi64(_mm256_load_si256(p + 3),
                                                   _mm256_load_si256(p + 7)));
    }
    __m256i sum = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    std::uint64_t lanes[4];
    std::memcpy(lanes, &sum, sizeof(lanes));
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

std::uint64_t stream_read_sse2(const void* data, std::size_t bytes) {
    const auto* p = static_cast<const __m128i*>(data);
    const std::size_t blocks = bytes / 64;  // 4 loads of 16 bytes each
    __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t i = 0; i < blocks; ++i, p += 4) {
        a0 = _mm_add_epi64(a0, _mm_load_si128(p));
        a1 = _mm_add_epi64(a1, _mm_load_si128(p + 1));
        a2 = _mm_add_epi64(a2, _mm_load_si128(p + 2));
        a3 = _mm_add_epi64(a3, _mm_load_si128(p + 3));
    }
    __m128i sum = _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3));
    std::uint64_t lanes[2];
    std::memcpy(lanes, &sum, sizeof(lanes));
    return lanes[0] + lanes[1];
}

}  // namespace

AlignedFloats::AlignedFloats(std::size_t count)
    : data_(static_cast<float*>(::operator new[](std::max<std::size_t>(count, 1) * 4, kLine))),
      size_(count) {
    std::fill_n(data_.get(), count, 0.0F);
}

void AlignedFloats::Free::operator()(float* p) const noexcept { ::operator delete[](p, kLine); }

VectorSet make_uniform_vectors(std::size_t count, std::size_t dim, std::uint64_t seed) {
    VectorSet set;
    set.dim = dim;
    set.count = count;
    set.values = AlignedFloats(count * dim);
    std::uint64_t state = seed;
    float* out = set.values.data();
    for (std::size_t i = 0; i < count * dim; ++i) {
        // 24 random bits give every float in [0, 1) a multiple of 2^-24 exactly.
        const auto bits = static_cast<float>(splitmix64(state) >> 40);
        out[i] = bits * (2.0F / 16777216.0F) - 1.0F;
    }
    return set;
}

bool same_top_k(std::span<const Hit> a, std::span<const Hit> b, std::string& why) {
    if (a.size() != b.size()) {
        why = "the results hold " + std::to_string(a.size()) + " and " +
              std::to_string(b.size()) + " neighbours";
        return false;
    }
    if (a.empty()) {
        return true;
    }
    const float kth_a = a.back().distance;
    const float kth_b = b.back().distance;
    if (!close_to(kth_a, kth_b)) {
        char text[96];
        std::snprintf(text, sizeof(text), "the k-th distances differ: %.7g and %.7g", kth_a,
                      kth_b);
        why = text;
        return false;
    }
    return extras_are_ties(a, b, kth_b, why) && extras_are_ties(b, a, kth_a, why);
}

double process_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::uint64_t stream_read(const void* data, std::size_t bytes) {
    static const bool has_avx2 = __builtin_cpu_supports("avx2");
    return has_avx2 ? stream_read_avx2(data, bytes) : stream_read_sse2(data, bytes);
}

}  // namespace ringdb::bench
