#pragma once
// Compression dictionaries (docs/compression.md, "Dictionaries"): one per compressed table,
// trained from the first values written to it, stored in the file, and used for every value the
// table compresses afterwards.
//
// CompressionDictionary: a stored dictionary digested for compression and decompression
// (zstd's CDict and DDict, an LZ4 stream with the dictionary loaded). Immutable once built;
// shared by every transaction that opens a table naming it; usable from any thread.
//
// DictionarySampler: the values offered to a table that has no dictionary yet, up to a target
// number of bytes; then train() builds a dictionary from them and keeps it only if it makes the
// samples clearly smaller.
//
// DictionaryRegistry: what one database holds in memory about dictionaries: the digested ones
// by id (any thread, under a mutex; never evicted: there is at most one per compressed table),
// and the samplers of tables without one (writer only; at most kMaxSamplers hold samples at
// once, so the memory they take is bounded).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <ringdb/bytes.hpp>
#include <ringdb/options.hpp>
#include <ringdb/result.hpp>

namespace ringdb::engine {

struct DictionaryDigest;  // dictionary.cpp: the compressors' digested forms

class CompressionDictionary {
public:
    /// The largest dictionary trained (bytes).
    static constexpr std::size_t kCapacity = 32 * 1024;

    /// Digests a stored dictionary for the file's compression `config`. Errors: corrupted if
    /// `id` is not dictionary_id(bytes) or zstd refuses the bytes.
    static Result<std::shared_ptr<const CompressionDictionary>> digest(
            std::uint64_t id, ByteView bytes, const Compression& config);

    CompressionDictionary(const CompressionDictionary&) = delete;
    CompressionDictionary& operator=(const CompressionDictionary&) = delete;
    ~CompressionDictionary();

    std::uint64_t id() const noexcept { return id_; }
    ByteView bytes() const noexcept { return bytes_; }

    /// Compresses `value` with the file's algorithm and level and this dictionary into
    /// `out[0, capacity)`: the bytes written, or 0 if it failed or did not fit. A zstd frame
    /// records the value's length and no dictionary id; an LZ4 block records nothing.
    std::size_t compress(ByteView value, std::byte* out, std::size_t capacity) const;
    /// Decompresses a zstd frame (`zstd`) or an LZ4 block made with this dictionary into exactly
    /// `length` bytes at `out`. False if the payload does not give exactly that.
    bool decompress(bool zstd, ByteView payload, std::byte* out, std::size_t length) const;

private:
    CompressionDictionary(std::uint64_t id, Bytes bytes, const Compression& config);

    std::uint64_t id_;
    Compression config_;
    Bytes bytes_;
    std::unique_ptr<DictionaryDigest> digest_;
};

/// The id a dictionary is stored and named under: XXH3-64 of its bytes, never 0 (0 means "no
/// dictionary" in a table definition). Equal ids mean equal bytes, so a digested dictionary
/// found by id is always the right one, whatever savepoints and table deletions did.
std::uint64_t dictionary_id(ByteView bytes) noexcept;

class DictionarySampler {
public:
    /// At most this much of one value is kept as a sample.
    static constexpr std::size_t kSamplePrefix = 4096;

    /// Ready to train once the samples hold `target` bytes (not 0).
    explicit DictionarySampler(std::size_t target) noexcept : target_(target) {}

    /// Keeps (a prefix of) `value` as a sample, unless the sampler is ready or has declined.
    void offer(ByteView value);
    bool ready() const noexcept { return !declined_ && samples_.size() >= target_; }
    bool declined() const noexcept { return declined_; }
    /// A dictionary trained from the samples, which are dropped. None when training fails or
    /// when compressing the samples with the dictionary does not save at least a tenth of
    /// what they take compressed without it; the sampler then declines further samples.
    std::optional<Bytes> train(const Compression& config);
    /// Drops the samples (the table got a dictionary elsewhere) and declines further ones.
    void retire() noexcept;

private:
    std::size_t target_;
    Bytes samples_;
    std::vector<std::size_t> sizes_;
    bool declined_ = false;
};

class DictionaryRegistry {
public:
    /// Tables that may hold samples at once.
    static constexpr std::size_t kMaxSamplers = 8;

    /// Sample bytes after which a table trains its dictionary (DatabaseOptions::
    /// dictionary_sample_bytes); 0: no sampling. REQUIRES: before any transaction begins.
    void set_sample_target(std::uint64_t bytes) noexcept { sample_target_ = bytes; }

    /// The digested dictionary `id`, or null if it is not in memory.
    std::shared_ptr<const CompressionDictionary> find(std::uint64_t id) const;
    /// Keeps `dictionary` and returns the one kept under its id (an equal one kept earlier wins).
    std::shared_ptr<const CompressionDictionary> remember(
            std::shared_ptr<const CompressionDictionary> dictionary);

    /// Writer only. The sampler of table `name`, created if fewer than kMaxSamplers are
    /// sampling; null when the table declined or no sampler is free. The pointer stays valid
    /// until the registry is destroyed.
    DictionarySampler* sampler(const std::string& name);
    /// Writer only. The sampler of `name` if it exists and is ready to train.
    DictionarySampler* ready_sampler(const std::string& name);

private:
    std::uint64_t sample_target_ = 0;
    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::shared_ptr<const CompressionDictionary>> digested_;
    std::map<std::string, std::unique_ptr<DictionarySampler>> samplers_;  // writer only
};

}  // namespace ringdb::engine
