#pragma once
// ValueEnvelope: how a compressed database stores the values of its tables (docs/design.md,
// "Value envelope"; docs/compression.md).
//
// A stored value is empty for an empty value, else a tag byte and the payload:
//   0x00  the value's bytes, unchanged (short, incompressible, or not worth it);
//   0x01  u32 LE length of the value, then one LZ4 block of it;
//   0x02  u32 LE length of the value, then one zstd frame of it.
// A compressed form is kept only when it is shorter than the raw form.
//
// Decoding is input validation: an unknown tag, a short envelope, a length above
// kMaxValueLength, a payload that does not decompress to exactly the recorded length, all are
// corrupted, never a crash. Output is bounded by the recorded length, so a damaged envelope
// cannot make decoding allocate more than kMaxValueLength.
//
// Thread-safe: compression contexts are per thread.

#include <cstdint>

#include <ringdb/bytes.hpp>
#include <ringdb/options.hpp>
#include <ringdb/result.hpp>

namespace ringdb::engine {

class ValueEnvelope {
public:
    static constexpr std::byte kRaw{0x00};
    static constexpr std::byte kLz4{0x01};
    static constexpr std::byte kZstd{0x02};
    static constexpr std::size_t kLengthBytes = 4;

    /// REQUIRES: config.algorithm is not none, and check_compression(config) succeeded
    /// (engine/page_store/header.hpp).
    explicit ValueEnvelope(const Compression& config) noexcept : config_(config) {}

    const Compression& config() const noexcept { return config_; }

    /// The stored form of `value`, written into `out` (replacing its contents).
    void wrap(ByteView value, Bytes& out) const;
    /// The value of a stored form: a view into `stored` when it is raw, else into `out`,
    /// which receives the decompressed bytes. Errors: corrupted (see above).
    Result<ByteView> unwrap(ByteView stored, Bytes& out) const;
    /// Whether a stored form is raw (its value is stored.subspan(1), or empty).
    static bool is_raw(ByteView stored) noexcept {
        return stored.empty() || stored[0] == kRaw;
    }

private:
    bool compress(ByteView value, Bytes& out) const;

    Compression config_;
};

}  // namespace ringdb::engine
