// feature_bench's RocksDB side (see rocksdb_features.hpp).

#include "feature/rocksdb_features.hpp"

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace ringdb::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void check(const rocksdb::Status& status, const char* what) {
    if (!status.ok()) {
        throw FeatureError(std::string("rocksdb: ") + what + ": " + status.ToString());
    }
}

std::uint64_t load_le(const char* data) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
        v = (v << 8) | static_cast<unsigned char>(data[i]);
    }
    return v;
}

void store_le(char* out, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) {
        out[i] = static_cast<char>(v >> (8 * i));
    }
}

/// A u64 key as 8 big-endian bytes.
struct KeyBytes {
    explicit KeyBytes(std::uint64_t key) noexcept {
        for (int i = 0; i < 8; ++i) {
            bytes[i] = static_cast<char>(key >> (8 * (7 - i)));
        }
    }
    rocksdb::Slice slice() const noexcept { return {bytes, sizeof(bytes)}; }
    char bytes[8];
};

/// existing + operand, both u64 little-endian (an absent existing value counts as 0).
class U64AddOperator final : public rocksdb::AssociativeMergeOperator {
public:
    bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
               const rocksdb::Slice& value, std::string* new_value,
               rocksdb::Logger* /*logger*/) const override {
        if (value.size() != 8 || (existing != nullptr && existing->size() != 8)) {
            return false;  // RocksDB reports a corruption
        }
        std::uint64_t sum = load_le(value.data());
        if (existing != nullptr) {
            sum += load_le(existing->data());
        }
        new_value->resize(8);
        store_le(new_value->data(), sum);
        return true;
    }
    const char* Name() const override { return "U64LittleEndianAdd"; }
};

std::unique_ptr<rocksdb::DB> open_db(const rocksdb::Options& options, const std::string& dir) {
    rocksdb::DB* db = nullptr;
    check(rocksdb::DB::Open(options, dir, &db), "open");
    return std::unique_ptr<rocksdb::DB>(db);
}

void close_db(std::unique_ptr<rocksdb::DB>& db) {
    check(db->Close(), "close");
    db.reset();
}

/// Reads every counter; returns how many differ from work.expected and their total in `total`.
std::uint64_t read_counters(rocksdb::DB& db, const CounterWork& work, std::uint64_t& total) {
    std::uint64_t wrong = 0;
    rocksdb::ReadOptions read;
    rocksdb::PinnableSlice value;
    for (std::size_t k = 0; k < work.expected.size(); ++k) {
        KeyBytes key(k);
        value.Reset();
        rocksdb::Status status = db.Get(read, db.DefaultColumnFamily(), key.slice(), &value);
        std::uint64_t counter = 0;
        if (!status.IsNotFound()) {
            check(status, "get");
            if (value.size() != 8) {
                throw FeatureError("rocksdb: a counter of " + std::to_string(value.size()) +
                                   " bytes");
            }
            counter = load_le(value.data());
        }
        total += counter;
        wrong += counter != work.expected[k] ? 1 : 0;
    }
    return wrong;
}

}  // namespace

CounterTimes rocksdb_counters(const std::string& dir, const CounterWork& work) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.merge_operator = std::make_shared<U64AddOperator>();
    std::unique_ptr<rocksdb::DB> db = open_db(options, dir);
    rocksdb::WriteOptions write;
    write.sync = false;  // the WAL stays on (disableWAL = false)
    char one[8];
    store_le(one, 1);
    const rocksdb::Slice operand(one, sizeof(one));
    CounterTimes times;
    auto start = Clock::now();
    for (std::size_t first = 0; first < work.keys.size(); first += work.batch) {
        std::size_t end = std::min<std::size_t>(first + work.batch, work.keys.size());
        rocksdb::WriteBatch batch;
        for (std::size_t i = first; i < end; ++i) {
            KeyBytes key(work.keys[i]);
            check(batch.Merge(key.slice(), operand), "merge");
        }
        check(db->Write(write, &batch), "write");
    }
    times.increments = seconds_since(start);
    std::uint64_t total = 0;
    start = Clock::now();
    std::uint64_t wrong = read_counters(*db, work, total);
    times.read_back = seconds_since(start);
    close_db(db);
    if (wrong != 0 || total != work.keys.size()) {
        throw FeatureError("rocksdb: counters: " + std::to_string(wrong) +
                           " counters wrong, total " + std::to_string(total) + " instead of " +
                           std::to_string(work.keys.size()));
    }
    return times;
}

BuildResult rocksdb_build_values(const std::string& dir, RocksCodec codec,
                                 const ValueSet& values, std::uint64_t batch) {
    rocksdb::Options options;
    options.create_if_missing = true;
    if (codec == RocksCodec::zstd) {
        options.compression = rocksdb::kZSTD;
        options.compression_opts.level = 3;
    } else {
        options.compression = rocksdb::kLZ4Compression;
    }
    std::unique_ptr<rocksdb::DB> db = open_db(options, dir);
    BuildResult result;
    auto start = Clock::now();
    for (std::uint64_t first = 0; first < values.count(); first += batch) {
        std::uint64_t end = std::min(first + batch, values.count());
        rocksdb::WriteBatch wb;
        for (std::uint64_t key = first; key < end; ++key) {
            KeyBytes k(key);
            std::string_view v = values.value(key);
            check(wb.Put(k.slice(), rocksdb::Slice(v.data(), v.size())), "put");
        }
        rocksdb::WriteOptions write;
        write.sync = end == values.count();
        check(db->Write(write, &wb), "write");
    }
    result.ingest = seconds_since(start);
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    start = Clock::now();
    check(db->CompactRange(compact, nullptr, nullptr), "compact");
    result.compact = seconds_since(start);
    close_db(db);
    result.bytes = directory_bytes(dir);
    return result;
}

std::string rocksdb_version() {
    return std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
           std::to_string(ROCKSDB_PATCH);
}

std::string rocksdb_missing_codecs() {
    std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
    auto has = [&](rocksdb::CompressionType type) {
        return std::find(supported.begin(), supported.end(), type) != supported.end();
    };
    std::string missing;
    if (!has(rocksdb::kZSTD)) {
        missing = "zstd";
    }
    if (!has(rocksdb::kLZ4Compression)) {
        missing += missing.empty() ? "lz4" : ", lz4";
    }
    return missing;
}

}  // namespace ringdb::bench
