#include "engine/compression/value_envelope.hpp"

#include <cstring>
#include <memory>

#include <lz4.h>
#include <lz4hc.h>
#include <zstd.h>

#include <ringdb/table_schema.hpp>

#include "engine/compression/zstd_contexts.hpp"
#include "engine/page_store/header.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

ZstdContexts& zstd_contexts() {
    thread_local ZstdContexts contexts;
    return contexts;
}

namespace {

void store_u32(std::byte* target, std::uint32_t value) noexcept {
    for (int i = 0; i < 4; ++i) {
        target[i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
    }
}

std::uint32_t load_u32(const std::byte* source) noexcept {
    std::uint32_t value = 0;
    for (int i = 3; i >= 0; --i) {
        value = (value << 8) | std::to_integer<std::uint32_t>(source[i]);
    }
    return value;
}

const char* chars(const std::byte* p) noexcept { return reinterpret_cast<const char*>(p); }
char* chars(std::byte* p) noexcept { return reinterpret_cast<char*>(p); }

}  // namespace

static_assert(kLz4MaxLevel == LZ4HC_CLEVEL_MAX);
static_assert(kZstdMaxLevel == 22, "zstd's highest level (ZSTD_maxCLevel) is 22");

bool ValueEnvelope::compress(ByteView value, Bytes& out) const {
    const std::size_t header = 1 + kLengthBytes;
    // Worth keeping only when shorter than the raw form (1 + size).
    const std::size_t budget = value.size() - kLengthBytes;
    const auto size = static_cast<int>(value.size());
    const bool zstd = config_.algorithm != CompressionAlgorithm::lz4;
    if (!zstd && value.size() > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE)) {
        return false;
    }
    out.resize(header + (zstd ? ZSTD_compressBound(value.size())
                              : static_cast<std::size_t>(LZ4_compressBound(size))));
    std::size_t written = 0;
    if (dictionary_) {
        written = dictionary_->compress(value, out.data() + header, out.size() - header);
        out[0] = zstd ? kZstdDictionary : kLz4Dictionary;
    } else if (!zstd) {
        const int got =
                config_.level <= 1
                        ? LZ4_compress_default(chars(value.data()), chars(out.data() + header),
                                               size, LZ4_compressBound(size))
                        : LZ4_compress_HC(chars(value.data()), chars(out.data() + header), size,
                                          LZ4_compressBound(size), config_.level);
        written = got > 0 ? static_cast<std::size_t>(got) : 0;
        out[0] = kLz4;
    } else {
        const std::size_t got =
                ZSTD_compressCCtx(zstd_contexts().compress.get(), out.data() + header,
                                  out.size() - header, value.data(), value.size(),
                                  config_.level);
        written = ZSTD_isError(got) != 0 ? 0 : got;
        out[0] = kZstd;
    }
    if (sampler_ != nullptr && !dictionary_) {
        sampler_->offer(value);
    }
    if (written == 0 || written >= budget) {
        return false;
    }
    out.resize(header + written);
    store_u32(out.data() + 1, static_cast<std::uint32_t>(value.size()));
    return true;
}

void ValueEnvelope::wrap(ByteView value, Bytes& out) const {
    if (value.empty()) {
        out.clear();
        return;
    }
    if (value.size() >= config_.min_size && value.size() > 1 + kLengthBytes &&
        value.size() <= kMaxValueLength && compress(value, out)) {
        return;
    }
    out.resize(1 + value.size());
    out[0] = kRaw;
    std::memcpy(out.data() + 1, value.data(), value.size());
}

Result<ByteView> ValueEnvelope::unwrap(ByteView stored, Bytes& out) const {
    if (is_raw(stored)) {
        return stored.empty() ? stored : stored.subspan(1);
    }
    RINGDB_TRY_ASSIGN(std::uint32_t length, compressed_length(stored));
    out.resize(length);
    RINGDB_TRY(decompress_into(stored, out));
    return ByteView(out);
}

Result<std::uint32_t> ValueEnvelope::compressed_length(ByteView stored) const {
    if (stored.size() < 1 + kLengthBytes) {
        return Error{Errc::corrupted, 0, stored.size()};
    }
    const std::uint32_t length = load_u32(stored.data() + 1);
    if (length > kMaxValueLength) {
        return Error{Errc::corrupted, 0, length};
    }
    ByteView payload = stored.subspan(1 + kLengthBytes);
    const std::byte tag = stored[0];
    const bool lz4 = tag == kLz4 || tag == kLz4Dictionary;
    const bool zstd = tag == kZstd || tag == kZstdDictionary;
    if (!lz4 && !zstd) {
        return Error{Errc::corrupted, 0, std::to_integer<std::uint64_t>(tag)};
    }
    // An LZ4 block expands at most about 255 times; zstd at most a few tens of thousands of
    // times (runs of one byte), and its frame records its content size, which must agree with
    // the envelope's. A larger claim is damage, refused before anything is allocated.
    if ((lz4 && length > payload.size() * 255 + 16) ||
        (zstd && (ZSTD_getFrameContentSize(payload.data(), payload.size()) != length ||
                  length > payload.size() * 65536 + 65536))) {
        return Error{Errc::corrupted, 0, stored.size()};
    }
    const bool with_dictionary = tag == kLz4Dictionary || tag == kZstdDictionary;
    if (with_dictionary && !dictionary_) {
        return Error{Errc::corrupted, 0, stored.size()};
    }
    return length;
}

Status ValueEnvelope::decompress_into(ByteView stored, std::span<std::byte> out) const {
    // compressed_length() checked the header and gave out.size().
    ByteView payload = stored.subspan(1 + kLengthBytes);
    const std::byte tag = stored[0];
    const bool zstd = tag == kZstd || tag == kZstdDictionary;
    const std::size_t length = out.size();
    bool whole = false;
    if (tag == kLz4Dictionary || tag == kZstdDictionary) {
        whole = dictionary_->decompress(zstd, payload, out.data(), length);
    } else if (!zstd) {
        const int got = LZ4_decompress_safe(chars(payload.data()), chars(out.data()),
                                            static_cast<int>(payload.size()),
                                            static_cast<int>(length));
        whole = got >= 0 && static_cast<std::size_t>(got) == length;
    } else {
        const std::size_t got =
                ZSTD_decompressDCtx(zstd_contexts().decompress.get(), out.data(), length,
                                    payload.data(), payload.size());
        whole = ZSTD_isError(got) == 0 && got == length;
    }
    if (!whole) {
        return Error{Errc::corrupted, 0, stored.size()};
    }
    return ok();
}

}  // namespace ringdb::engine
