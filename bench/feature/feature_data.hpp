#pragma once
// feature_bench's workloads: how much each cell does (full and --quick), the seeded generator
// and the data every engine receives in the same order: counter keys, TTL pairs, the
// JSON-like 1 KiB values and the keys of the point reads.

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ringdb::bench {

/// A failure inside a workload: the run stops and says which engine and what.
class FeatureError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// splitmix64: a small seeded generator, the same stream on every machine.
class SplitMix {
public:
    explicit SplitMix(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, bound) (bound > 0; the modulo bias is negligible for our bounds).
    std::uint64_t below(std::uint64_t bound) noexcept { return next() % bound; }

private:
    std::uint64_t state_;
};

/// How much every cell does.
struct FeatureSizes {
    std::uint64_t increments = 1'000'000;  // counter increments (merge cell)
    std::uint64_t counter_keys = 100'000;  // distinct counters
    std::uint64_t merge_batch = 1'000;     // increments per transaction / WriteBatch
    std::uint64_t ttl_pairs = 1'000'000;   // TTL insert cell
    std::uint64_t ttl_batch = 10'000;      // inserts per transaction
    std::uint64_t purge_pairs = 500'000;   // purge cell
    std::uint64_t values = 1'000'000;      // compression cells: 1 KiB values
    std::uint64_t value_batch = 10'000;    // values per transaction / WriteBatch
    std::uint64_t reads = 200'000;         // point reads of the compressed databases

    static FeatureSizes full() { return FeatureSizes{}; }
    /// Every count cut 50x (the batch sizes stay).
    static FeatureSizes quick();
};

inline constexpr std::size_t kValueBytes = 1024;
inline constexpr std::size_t kSmallValueBytes = 16;
using SmallValue = std::array<std::uint8_t, kSmallValueBytes>;

/// The counter cell's input: which counter each increment adds 1 to, and what every counter
/// must hold afterwards.
struct CounterWork {
    std::vector<std::uint32_t> keys;      // one per increment, drawn with a fixed seed
    std::vector<std::uint32_t> expected;  // per counter: how many increments it received
    std::uint64_t batch = 0;
};
CounterWork make_counter_work(const FeatureSizes& sizes);

/// Seconds of the two phases of a counter workload.
struct CounterTimes {
    double increments = 0;  // every increment, in transactions of work.batch, commits included
    double read_back = 0;   // one get per counter, checked against work.expected
};

/// A compression cell's database: how long loading and compacting took, and its size.
struct BuildResult {
    double ingest = 0;        // seconds: every value, a batch per transaction / WriteBatch
    double compact = 0;       // seconds of the compaction
    std::uint64_t bytes = 0;  // bytes on disk after the compaction and a close
};

/// The i-th key of the TTL and purge cells: a bijection of u64 (odd multiplier), so distinct
/// keys arrive in a scattered order.
inline std::uint64_t scattered_key(std::uint64_t i) noexcept {
    return i * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
}
/// The 16-byte value stored under scattered_key(i).
SmallValue small_value(std::uint64_t i) noexcept;

/// The 1 KiB value of key `key` in the compression cells: JSON-like records whose field names
/// repeat and whose numbers and words vary, drawn from a generator seeded by the key. Exactly
/// kValueBytes bytes.
std::string json_value(std::uint64_t key);

/// The values of keys 0 to count - 1, generated once and kept in memory (count x 1 KiB), so
/// that no engine's timing includes generating them.
class ValueSet {
public:
    explicit ValueSet(std::uint64_t count);
    std::uint64_t count() const noexcept { return count_; }
    std::string_view value(std::uint64_t key) const noexcept {
        return {bytes_.data() + key * kValueBytes, kValueBytes};
    }

private:
    std::uint64_t count_;
    std::vector<char> bytes_;
};

/// `count` keys in [0, n) drawn with a fixed seed: the point reads.
std::vector<std::uint64_t> read_keys(std::uint64_t count, std::uint64_t n);

/// Bytes of the regular files under `dir`, recursively.
std::uint64_t directory_bytes(const std::string& dir);

/// 1234567 as "1,234,567".
std::string grouped(std::uint64_t n);

}  // namespace ringdb::bench
