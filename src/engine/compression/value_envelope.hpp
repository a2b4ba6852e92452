#pragma once
// ValueEnvelope: how a compressed database stores the values of its tables (docs/design.md,
// "Value envelope"; docs/compression.md).
//
// A stored value is empty for an empty value, else a tag byte and the payload:
//   0x00  the value's bytes, unchanged (short, incompressible, or not worth it);
//   0x01  u32 LE length of the value, then one LZ4 block of it;
//   0x02  u32 LE length of the value, then one zstd frame of it;
//   0x03  as 0x01, the block made with the table's dictionary (engine/compression/dictionary.hpp);
//   0x04  as 0x02, the frame made with the table's dictionary.
// A compressed form is kept only when it is shorter than the raw form. An envelope belongs to
// one table: it is built with that table's dictionary, if it has one, and decoded with it.
//
// Decoding is input validation: an unknown tag, a short envelope, a length above
// kMaxValueLength, a payload that does not decompress to exactly the recorded length, all are
// corrupted, never a crash. Output is bounded by the recorded length, so a damaged envelope
// cannot make decoding allocate more than kMaxValueLength.
//
// Thread-safe, except the sampler it may feed (write transactions only, under the writer
// mutex): compression contexts are per thread.

#include <cstdint>
#include <memory>
#include <span>

#include <ringdb/bytes.hpp>
#include <ringdb/options.hpp>
#include <ringdb/result.hpp>

#include "engine/compression/dictionary.hpp"

namespace ringdb::engine {

class ValueEnvelope {
public:
    static constexpr std::byte kRaw{0x00};
    static constexpr std::byte kLz4{0x01};
    static constexpr std::byte kZstd{0x02};
    static constexpr std::byte kLz4Dictionary{0x03};
    static constexpr std::byte kZstdDictionary{0x04};
    static constexpr std::size_t kLengthBytes = 4;

    /// REQUIRES: config.algorithm is not none, and check_compression(config) succeeded
    /// (engine/page_store/header.hpp).
    /// With `dictionary`, values are compressed with it (tags 0x03 and 0x04); without, each
    /// value compressed on its own is also offered to `sampler`, if given.
    explicit ValueEnvelope(const Compression& config,
                           std::shared_ptr<const CompressionDictionary> dictionary = nullptr,
                           DictionarySampler* sampler = nullptr) noexcept
        : config_(config), dictionary_(std::move(dictionary)), sampler_(sampler) {}

    const Compression& config() const noexcept { return config_; }
    const CompressionDictionary* dictionary() const noexcept { return dictionary_.get(); }

    /// The stored form of `value`, written into `out` (replacing its contents).
    void wrap(ByteView value, Bytes& out) const;
    /// The value of a stored form: a view into `stored` when it is raw, else into `out`,
    /// which receives the decompressed bytes. Errors: corrupted (see above; also a dictionary
    /// tag in a table without a dictionary).
    Result<ByteView> unwrap(ByteView stored, Bytes& out) const;
    /// For a stored form that is not raw: the length of its value, once its header checks
    /// out (the same checks as unwrap, before anything is decoded). Errors: corrupted.
    Result<std::uint32_t> compressed_length(ByteView stored) const;
    /// Decodes a stored form that is not raw into `out`, whose size compressed_length gave.
    /// Errors: corrupted.
    Status decompress_into(ByteView stored, std::span<std::byte> out) const;
    /// Whether a stored form is raw (its value is stored.subspan(1), or empty).
    static bool is_raw(ByteView stored) noexcept {
        return stored.empty() || stored[0] == kRaw;
    }

private:
    bool compress(ByteView value, Bytes& out) const;

    Compression config_;
    std::shared_ptr<const CompressionDictionary> dictionary_;
    DictionarySampler* sampler_ = nullptr;
};

}  // namespace ringdb::engine
