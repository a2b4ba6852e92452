#include "engine/compression/dictionary.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <lz4.h>
#include <xxhash.h>
#include <zdict.h>
// For ZSTD_createDDict_byReference (exported by every libzstd 1.4 and later).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "engine/compression/zstd_contexts.hpp"

namespace ringdb::engine {

struct DictionaryDigest {
    std::unique_ptr<ZSTD_CDict, decltype(&ZSTD_freeCDict)> compress{nullptr, &ZSTD_freeCDict};
    std::unique_ptr<ZSTD_DDict, decltype(&ZSTD_freeDDict)> decompress{nullptr,
                                                                      &ZSTD_freeDDict};
    // LZ4: a stream with the dictionary loaded, copied into a per-thread stream for each
    // value (LZ4_compress_fast_continue changes the stream it is given).
    LZ4_stream_t lz4{};
};

namespace {

// The calling thread's LZ4 stream for compressing with a dictionary.
LZ4_stream_t& lz4_stream() {
    thread_local LZ4_stream_t stream{};
    return stream;
}

// Decoding a value is fastest when its output follows the dictionary's bytes in memory: both
// decoders then treat the dictionary as the start of the output (one window) instead of a
// separate buffer, and skip the per-match checks for matches that reach into it. Each thread
// keeps such a window for the last few dictionaries it decoded with: the dictionary's bytes,
// room for a value of up to kWindowOutput bytes after them, and for zstd a DDict that
// references those bytes. Larger values decode straight into their buffer.
constexpr std::size_t kWindowOutput = 16 * 1024;
constexpr std::size_t kWindows = 4;

struct DecodeWindow {
    std::uint64_t id = 0;  // 0: unused
    std::size_t dictionary_size = 0;
    std::unique_ptr<std::byte[]> memory;
    std::unique_ptr<ZSTD_DDict, decltype(&ZSTD_freeDDict)> zstd{nullptr, &ZSTD_freeDDict};

    std::byte* output() noexcept { return memory.get() + dictionary_size; }
};

// Most recently used first. Null when zstd refuses to digest the dictionary by reference.
DecodeWindow* decode_window(std::uint64_t id, ByteView bytes, bool zstd) {
    thread_local std::array<DecodeWindow, kWindows> windows;
    std::size_t at = 0;
    while (at < windows.size() && windows[at].id != id) {
        ++at;
    }
    if (at == windows.size()) {
        at = windows.size() - 1;
        DecodeWindow& reused = windows[at];
        reused.id = 0;
        reused.zstd.reset();
        reused.memory = std::make_unique<std::byte[]>(bytes.size() + kWindowOutput);
        std::memcpy(reused.memory.get(), bytes.data(), bytes.size());
        reused.dictionary_size = bytes.size();
        reused.id = id;
    }
    std::rotate(windows.begin(), windows.begin() + static_cast<std::ptrdiff_t>(at),
                windows.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    DecodeWindow& window = windows.front();
    if (zstd && !window.zstd) {
        window.zstd.reset(ZSTD_createDDict_byReference(window.memory.get(),
                                                       window.dictionary_size));
        if (!window.zstd) {
            return nullptr;
        }
    }
    return &window;
}

const char* chars(const std::byte* p) noexcept { return reinterpret_cast<const char*>(p); }
char* chars(std::byte* p) noexcept { return reinterpret_cast<char*>(p); }

bool uses_zstd(const Compression& config) noexcept {
    return config.algorithm == CompressionAlgorithm::zstd;
}

// What `samples` take compressed one by one, with `dictionary` or without (null).
std::size_t compressed_total(const Compression& config, const CompressionDictionary* dictionary,
                             ByteView samples, const std::vector<std::size_t>& sizes) {
    Bytes out;
    std::size_t total = 0;
    std::size_t offset = 0;
    ZSTD_CCtx* plain = zstd_contexts().compress.get();
    for (std::size_t size : sizes) {
        ByteView sample = samples.subspan(offset, size);
        offset += size;
        out.resize(std::max<std::size_t>(ZSTD_compressBound(size),
                                          static_cast<std::size_t>(LZ4_compressBound(
                                                  static_cast<int>(size)))));
        std::size_t written = 0;
        if (dictionary != nullptr) {
            written = dictionary->compress(sample, out.data(), out.size());
        } else if (uses_zstd(config)) {
            const std::size_t got = ZSTD_compressCCtx(plain, out.data(), out.size(),
                                                      sample.data(), size, config.level);
            written = ZSTD_isError(got) != 0 ? 0 : got;
        } else {
            const int got = LZ4_compress_default(chars(sample.data()), chars(out.data()),
                                                 static_cast<int>(size),
                                                 static_cast<int>(out.size()));
            written = got > 0 ? static_cast<std::size_t>(got) : 0;
        }
        total += written == 0 ? size : written;
    }
    return total;
}

}  // namespace

std::uint64_t dictionary_id(ByteView bytes) noexcept {
    const std::uint64_t hash = XXH3_64bits(bytes.data(), bytes.size());
    return hash == 0 ? 1 : hash;
}

CompressionDictionary::CompressionDictionary(std::uint64_t id, Bytes bytes,
                                             const Compression& config)
    : id_(id), config_(config), bytes_(std::move(bytes)),
      digest_(std::make_unique<DictionaryDigest>()) {}

CompressionDictionary::~CompressionDictionary() = default;

Result<std::shared_ptr<const CompressionDictionary>> CompressionDictionary::digest(
        std::uint64_t id, ByteView bytes, const Compression& config) {
    if (bytes.empty() || bytes.size() > kCapacity || dictionary_id(bytes) != id) {
        return Error{Errc::corrupted, 0, bytes.size()};
    }
    std::shared_ptr<CompressionDictionary> dictionary(
            new CompressionDictionary(id, Bytes(bytes.begin(), bytes.end()), config));
    DictionaryDigest& digest = *dictionary->digest_;
    const ByteView kept = dictionary->bytes_;
    if (uses_zstd(config)) {
        digest.compress.reset(ZSTD_createCDict(kept.data(), kept.size(), config.level));
        digest.decompress.reset(ZSTD_createDDict(kept.data(), kept.size()));
        if (!digest.compress || !digest.decompress) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
    } else {
        LZ4_initStream(&digest.lz4, sizeof digest.lz4);
        LZ4_loadDict(&digest.lz4, chars(kept.data()), static_cast<int>(kept.size()));
    }
    return std::shared_ptr<const CompressionDictionary>(std::move(dictionary));
}

std::size_t CompressionDictionary::compress(ByteView value, std::byte* out,
                                            std::size_t capacity) const {
    if (uses_zstd(config_)) {
        // Frames without a dictionary id (the table's definition names the dictionary), with
        // the content size.
        ZSTD_CCtx* context = zstd_contexts().compress.get();
        ZSTD_CCtx_reset(context, ZSTD_reset_session_and_parameters);
        ZSTD_CCtx_setParameter(context, ZSTD_c_dictIDFlag, 0);
        ZSTD_CCtx_refCDict(context, digest_->compress.get());
        const std::size_t written =
                ZSTD_compress2(context, out, capacity, value.data(), value.size());
        return ZSTD_isError(written) != 0 ? 0 : written;
    }
    if (value.size() > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE)) {
        return 0;
    }
    LZ4_stream_t& stream = lz4_stream();
    std::memcpy(&stream, &digest_->lz4, sizeof stream);
    const int limit = static_cast<int>(std::min<std::size_t>(capacity, LZ4_MAX_INPUT_SIZE));
    const int written = LZ4_compress_fast_continue(&stream, chars(value.data()), chars(out),
                                                   static_cast<int>(value.size()), limit, 1);
    return written > 0 ? static_cast<std::size_t>(written) : 0;
}

bool CompressionDictionary::decompress(bool zstd, ByteView payload, std::byte* out,
                                       std::size_t length) const {
    if (length <= kWindowOutput) {
        DecodeWindow* window = decode_window(id_, bytes_, zstd);
        if (window != nullptr) {
            bool whole = false;
            if (zstd) {
                const std::size_t got = ZSTD_decompress_usingDDict(
                        zstd_contexts().decompress.get(), window->output(), length, payload.data(),
                        payload.size(), window->zstd.get());
                whole = ZSTD_isError(got) == 0 && got == length;
            } else {
                const int got = LZ4_decompress_safe_usingDict(
                        chars(payload.data()), chars(window->output()),
                        static_cast<int>(payload.size()), static_cast<int>(length),
                        chars(window->memory.get()), static_cast<int>(window->dictionary_size));
                whole = got >= 0 && static_cast<std::size_t>(got) == length;
            }
            if (whole && length != 0) {
                std::memcpy(out, window->output(), length);
            }
            return whole;
        }
    }
    if (zstd) {
        if (!digest_->decompress) {
            return false;  // a zstd frame in an LZ4 file's table: damage
        }
        const std::size_t got =
                ZSTD_decompress_usingDDict(zstd_contexts().decompress.get(), out, length,
                                           payload.data(), payload.size(),
                                           digest_->decompress.get());
        return ZSTD_isError(got) == 0 && got == length;
    }
    const int got = LZ4_decompress_safe_usingDict(
            chars(payload.data()), chars(out), static_cast<int>(payload.size()),
            static_cast<int>(length), chars(bytes_.data()), static_cast<int>(bytes_.size()));
    return got >= 0 && static_cast<std::size_t>(got) == length;
}

void DictionarySampler::offer(ByteView value) {
    if (declined_ || samples_.size() >= target_ || value.empty()) {
        return;
    }
    const ByteView kept = value.first(std::min(value.size(), kSamplePrefix));
    samples_.insert(samples_.end(), kept.begin(), kept.end());
    sizes_.push_back(kept.size());
}

std::optional<Bytes> DictionarySampler::train(const Compression& config) {
    Bytes samples = std::move(samples_);
    std::vector<std::size_t> sizes = std::move(sizes_);
    retire();
    const bool lz4_fast =
            config.algorithm == CompressionAlgorithm::lz4 && config.level <= 1;
    if (!uses_zstd(config) && !lz4_fast) {
        return std::nullopt;  // LZ4's high-compression levels take no dictionary here
    }
    // ZDICT wants several times more sample bytes than dictionary bytes.
    Bytes trained(std::clamp<std::size_t>(samples.size() / 16, 256,
                                          CompressionDictionary::kCapacity));
    const std::size_t size =
            ZDICT_trainFromBuffer(trained.data(), trained.size(), samples.data(), sizes.data(),
                                  static_cast<unsigned>(sizes.size()));
    if (ZDICT_isError(size) != 0 || size == 0) {
        return std::nullopt;
    }
    trained.resize(size);
    auto dictionary = CompressionDictionary::digest(dictionary_id(trained), trained, config);
    if (!dictionary) {
        return std::nullopt;
    }
    const std::size_t with = compressed_total(config, dictionary->get(), samples, sizes);
    const std::size_t without = compressed_total(config, nullptr, samples, sizes);
    if (with * 10 > without * 9) {
        return std::nullopt;
    }
    return trained;
}

void DictionarySampler::retire() noexcept {
    declined_ = true;
    Bytes().swap(samples_);
    std::vector<std::size_t>().swap(sizes_);
}

std::shared_ptr<const CompressionDictionary> DictionaryRegistry::find(std::uint64_t id) const {
    std::lock_guard lock(mutex_);
    auto found = digested_.find(id);
    return found == digested_.end() ? nullptr : found->second;
}

std::shared_ptr<const CompressionDictionary> DictionaryRegistry::remember(
        std::shared_ptr<const CompressionDictionary> dictionary) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = digested_.try_emplace(dictionary->id(), dictionary);
    return it->second;
}

DictionarySampler* DictionaryRegistry::sampler(const std::string& name) {
    if (sample_target_ == 0) {
        return nullptr;
    }
    auto found = samplers_.find(name);
    if (found != samplers_.end()) {
        return found->second->declined() ? nullptr : found->second.get();
    }
    const auto active = std::count_if(samplers_.begin(), samplers_.end(), [](const auto& entry) {
        return !entry.second->declined();
    });
    if (static_cast<std::size_t>(active) >= kMaxSamplers) {
        return nullptr;
    }
    auto made = samplers_.emplace(name, std::make_unique<DictionarySampler>(
                                               static_cast<std::size_t>(sample_target_)));
    return made.first->second.get();
}

DictionarySampler* DictionaryRegistry::ready_sampler(const std::string& name) {
    auto found = samplers_.find(name);
    if (found == samplers_.end() || !found->second->ready()) {
        return nullptr;
    }
    return found->second.get();
}

}  // namespace ringdb::engine
