// feature_bench's workloads and data (see feature_data.hpp).

#include "feature/feature_data.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <system_error>

namespace ringdb::bench {

namespace {

constexpr std::uint64_t kCounterSeed = 0xc0047e25;
constexpr std::uint64_t kValueSeed = 0x7a1be5;
constexpr std::uint64_t kReadSeed = 0x4ead5;

constexpr const char* kWords[] = {
        "amber",  "basalt", "cedar",  "delta",  "ember",  "falcon", "garnet", "harbor",
        "iris",   "juniper", "kelp",  "lagoon", "maple",  "nectar", "onyx",   "pepper",
        "quartz", "raven",  "saffron", "tundra", "umber", "violet", "willow", "xenon",
        "yarrow", "zephyr", "acorn",  "birch",  "copper", "dune",   "echo",   "fjord",
        "glacier", "hazel", "indigo", "jasper", "kestrel", "lumen", "meadow", "nimbus",
        "orchid", "prairie", "quill", "ridge",  "summit", "thistle", "upland", "vale"};
constexpr std::size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);

constexpr const char* kCities[] = {"lisbon", "oslo",   "kyoto", "quito",  "dakar", "perth",
                                   "lima",   "hanoi",  "turin", "porto",  "accra", "cusco",
                                   "split",  "malmo",  "ghent", "bergen"};
constexpr std::size_t kCityCount = sizeof(kCities) / sizeof(kCities[0]);

const char* word(SplitMix& rng) { return kWords[rng.below(kWordCount)]; }

/// Appends one record: the same field names every time, varying numbers and words.
void append_record(std::string& out, SplitMix& rng) {
    char number[160];
    std::snprintf(number, sizeof(number), "{\"id\":%llu,\"user\":\"",
                  static_cast<unsigned long long>(rng.below(10'000'000)));
    out += number;
    out += word(rng);
    out += '_';
    out += word(rng);
    out += "\",\"city\":\"";
    out += kCities[rng.below(kCityCount)];
    std::snprintf(number, sizeof(number), "\",\"score\":%llu.%02llu,\"active\":%s,\"tags\":[",
                  static_cast<unsigned long long>(rng.below(1000)),
                  static_cast<unsigned long long>(rng.below(100)),
                  rng.below(2) == 0 ? "true" : "false");
    out += number;
    for (int t = 0; t < 3; ++t) {
        out += t == 0 ? "\"" : ",\"";
        out += word(rng);
        out += '"';
    }
    std::snprintf(number, sizeof(number),
                  "],\"created\":\"2026-%02llu-%02lluT%02llu:%02llu:%02lluZ\",\"note\":\"",
                  static_cast<unsigned long long>(1 + rng.below(12)),
                  static_cast<unsigned long long>(1 + rng.below(28)),
                  static_cast<unsigned long long>(rng.below(24)),
                  static_cast<unsigned long long>(rng.below(60)),
                  static_cast<unsigned long long>(rng.below(60)));
    out += number;
    for (int w = 0; w < 6; ++w) {
        if (w > 0) {
            out += ' ';
        }
        out += word(rng);
    }
    out += "\"}";
}

}  // namespace

FeatureSizes FeatureSizes::quick() {
    FeatureSizes s;
    s.increments /= 50;
    s.counter_keys /= 50;
    s.ttl_pairs /= 50;
    s.purge_pairs /= 50;
    s.values /= 50;
    s.reads /= 50;
    return s;
}

CounterWork make_counter_work(const FeatureSizes& sizes) {
    CounterWork work;
    work.batch = sizes.merge_batch;
    work.keys.reserve(sizes.increments);
    work.expected.assign(sizes.counter_keys, 0);
    SplitMix rng(kCounterSeed);
    for (std::uint64_t i = 0; i < sizes.increments; ++i) {
        auto key = static_cast<std::uint32_t>(rng.below(sizes.counter_keys));
        work.keys.push_back(key);
        ++work.expected[key];
    }
    return work;
}

SmallValue small_value(std::uint64_t i) noexcept {
    SplitMix rng(i);
    SmallValue value{};
    std::uint64_t a = rng.next();
    std::uint64_t b = rng.next();
    for (std::size_t j = 0; j < 8; ++j) {
        value[j] = static_cast<std::uint8_t>(a >> (8 * j));
        value[8 + j] = static_cast<std::uint8_t>(b >> (8 * j));
    }
    return value;
}

std::string json_value(std::uint64_t key) {
    SplitMix rng(kValueSeed ^ (key * 0xd1342543de82ef95ULL));
    std::string out;
    out.reserve(kValueBytes + 256);
    out += '[';
    while (out.size() < kValueBytes) {
        if (out.size() > 1) {
            out += ',';
        }
        append_record(out, rng);
    }
    out.resize(kValueBytes);
    return out;
}

ValueSet::ValueSet(std::uint64_t count) : count_(count), bytes_(count * kValueBytes) {
    for (std::uint64_t key = 0; key < count; ++key) {
        std::string text = json_value(key);
        auto offset = static_cast<std::ptrdiff_t>(key * kValueBytes);
        std::copy(text.begin(), text.end(), bytes_.begin() + offset);
    }
}

std::vector<std::uint64_t> read_keys(std::uint64_t count, std::uint64_t n) {
    std::vector<std::uint64_t> keys;
    keys.reserve(count);
    SplitMix rng(kReadSeed);
    for (std::uint64_t i = 0; i < count; ++i) {
        keys.push_back(rng.below(n));
    }
    return keys;
}

std::uint64_t directory_bytes(const std::string& dir) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec)) {
            total += it->file_size(ec);
        }
    }
    return total;
}

std::string grouped(std::uint64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out.push_back(',');
        }
        out.push_back(digits[i]);
    }
    return out;
}

}  // namespace ringdb::bench
