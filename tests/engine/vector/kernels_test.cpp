// Every distance kernel set this CPU runs (scalar, AVX2+FMA, AVX-512) against a double-precision
// reference, on random vectors of every length around the vector widths and on adversarial
// input (NaN, infinities, zero vectors, empty vectors). Kernels add in different orders, so a
// float result must lie within n * 2^-22 of the sum of the magnitudes of its terms (twice the
// worst-case rounding bound of a sequential f32 sum) of the exact sum. Hamming distances are
// exact. Randomised cases print their seed; set RINGDB_SEED to replay.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "engine/vector/kernels.hpp"

namespace {

using ringdb::engine::DistanceKernels;

std::vector<const DistanceKernels*> available_sets() {
    std::vector<const DistanceKernels*> sets{&ringdb::engine::scalar_kernels()};
    if (const DistanceKernels* k = ringdb::engine::avx2_kernels()) {
        sets.push_back(k);
    }
    if (const DistanceKernels* k = ringdb::engine::avx512_kernels()) {
        sets.push_back(k);
    }
    return sets;
}

std::uint64_t seed_of() {
    const char* fixed = std::getenv("RINGDB_SEED");
    return fixed != nullptr ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
}

struct Exact {
    double value = 0;
    double magnitude = 0;  // sum of the terms' magnitudes
};

Exact exact_dot(const std::vector<float>& a, const std::vector<float>& b) {
    Exact e;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double t = static_cast<double>(a[i]) * static_cast<double>(b[i]);
        e.value += t;
        e.magnitude += std::fabs(t);
    }
    return e;
}

Exact exact_l2(const std::vector<float>& a, const std::vector<float>& b) {
    Exact e;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        e.value += d * d;
        e.magnitude += d * d;
    }
    return e;
}

Exact exact_l1(const std::vector<float>& a, const std::vector<float>& b) {
    Exact e;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
        e.value += d;
        e.magnitude += d;
    }
    return e;
}

bool close_to(float got, const Exact& e, std::size_t n) {
    const double bound = static_cast<double>(n + 2) * std::ldexp(1.0, -22) * e.magnitude + 1e-30;
    return std::fabs(static_cast<double>(got) - e.value) <= bound;
}

const std::size_t kLengths[] = {0,  1,  2,  3,   7,   8,   9,   15,  16,  17,   31,
                                32, 33, 47, 100, 127, 128, 129, 384, 768, 1000, 1536};

}  // namespace

TEST_CASE("vector kernels: every set agrees with the exact sums on random vectors",
          "[vector]") {
    const std::uint64_t seed = seed_of();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> value(-2.0F, 2.0F);
    for (const DistanceKernels* set : available_sets()) {
        INFO("kernel set " << set->name);
        for (std::size_t n : kLengths) {
            INFO("n = " << n);
            std::vector<float> a(n);
            std::vector<float> b(n);
            for (std::size_t i = 0; i < n; ++i) {
                a[i] = value(rng);
                b[i] = value(rng);
            }
            CHECK(close_to(set->dot(a.data(), b.data(), n), exact_dot(a, b), n));
            CHECK(close_to(set->l2_sq(a.data(), b.data(), n), exact_l2(a, b), n));
            CHECK(close_to(set->l1(a.data(), b.data(), n), exact_l1(a, b), n));
            float sums[3];
            set->dot_norms(a.data(), b.data(), n, sums);
            CHECK(close_to(sums[0], exact_dot(a, b), n));
            CHECK(close_to(sums[1], exact_dot(a, a), n));
            CHECK(close_to(sums[2], exact_dot(b, b), n));
        }
    }
}

TEST_CASE("vector kernels: hamming distance is exact for every set and length", "[vector]") {
    const std::uint64_t seed = seed_of();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    const DistanceKernels& reference = ringdb::engine::scalar_kernels();
    for (const DistanceKernels* set : available_sets()) {
        INFO("kernel set " << set->name);
        for (std::size_t n : kLengths) {
            std::vector<std::uint8_t> a(n);
            std::vector<std::uint8_t> b(n);
            std::uint32_t expected = 0;
            for (std::size_t i = 0; i < n; ++i) {
                a[i] = static_cast<std::uint8_t>(rng());
                b[i] = static_cast<std::uint8_t>(rng());
                for (unsigned bit = 0; bit < 8; ++bit) {
                    expected += ((a[i] ^ b[i]) >> bit) & 1U;
                }
            }
            INFO("n = " << n);
            CHECK(set->hamming(a.data(), b.data(), n) == expected);
            CHECK(reference.hamming(a.data(), b.data(), n) == expected);
            // Many codes at a stride (a gap of 3 bytes between them), each against `a`.
            const std::size_t stride = n + 3;
            const std::size_t count = 5;
            std::vector<std::uint8_t> codes(stride * count);
            for (auto& byte : codes) {
                byte = static_cast<std::uint8_t>(rng());
            }
            std::vector<std::uint32_t> many(count);
            set->hamming_many(a.data(), codes.data(), stride, count, n, many.data());
            for (std::size_t j = 0; j < count; ++j) {
                CHECK(many[j] == reference.hamming(a.data(), codes.data() + j * stride, n));
            }
        }
    }
}

TEST_CASE("vector kernels: NaN, infinities and zero vectors behave as IEEE sums", "[vector]") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    for (const DistanceKernels* set : available_sets()) {
        INFO("kernel set " << set->name);
        for (std::size_t n : {std::size_t{1}, std::size_t{17}, std::size_t{40}}) {
            INFO("n = " << n);
            std::vector<float> ones(n, 1.0F);
            std::vector<float> zeros(n, 0.0F);
            for (std::size_t at : {std::size_t{0}, n - 1}) {
                std::vector<float> with_nan = ones;
                with_nan[at] = nan;
                CHECK(std::isnan(set->dot(with_nan.data(), ones.data(), n)));
                CHECK(std::isnan(set->l2_sq(with_nan.data(), ones.data(), n)));
                CHECK(std::isnan(set->l1(ones.data(), with_nan.data(), n)));
                std::vector<float> with_inf = ones;
                with_inf[at] = inf;
                CHECK(set->dot(with_inf.data(), ones.data(), n) == inf);
                CHECK(set->l2_sq(with_inf.data(), ones.data(), n) == inf);
                with_inf[at] = -inf;
                CHECK(set->dot(with_inf.data(), ones.data(), n) == -inf);
                CHECK(set->l1(with_inf.data(), ones.data(), n) == inf);
            }
            float sums[3] = {1.0F, 1.0F, 1.0F};
            set->dot_norms(zeros.data(), ones.data(), n, sums);
            CHECK(sums[0] == 0.0F);
            CHECK(sums[1] == 0.0F);
            CHECK(sums[2] == static_cast<float>(n));
            CHECK(set->l2_sq(ones.data(), ones.data(), n) == 0.0F);
        }
        CHECK(set->dot(nullptr, nullptr, 0) == 0.0F);
        CHECK(set->hamming(nullptr, nullptr, 0) == 0U);
    }
}

TEST_CASE("vector kernels: the chosen set is one this CPU runs", "[vector]") {
    const DistanceKernels& chosen = ringdb::engine::kernels();
    bool listed = false;
    for (const DistanceKernels* set : available_sets()) {
        listed = listed || set == &chosen;
    }
    CHECK(listed);
}
