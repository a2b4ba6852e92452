#include "util/checksum.hpp"

#include <memory>

#include <xxhash.h>

#include "util/endian.hpp"

namespace ringdb::util {

Checksum128 xxh3_128(std::span<const std::byte> bytes) noexcept {
    XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
    return Checksum128{h.low64, h.high64};
}

Checksum128 xxh3_128(std::span<const std::byte> first, std::span<const std::byte> second) noexcept {
    struct StateDeleter {
        void operator()(XXH3_state_t* state) const noexcept { XXH3_freeState(state); }
    };
    thread_local std::unique_ptr<XXH3_state_t, StateDeleter> state(XXH3_createState());
    XXH3_128bits_reset(state.get());
    XXH3_128bits_update(state.get(), first.data(), first.size());
    XXH3_128bits_update(state.get(), second.data(), second.size());
    XXH128_hash_t h = XXH3_128bits_digest(state.get());
    return Checksum128{h.low64, h.high64};
}

void store_checksum(std::byte* target, const Checksum128& sum) noexcept {
    store_le64(target, sum.low);
    store_le64(target + 8, sum.high);
}

Checksum128 load_checksum(const std::byte* source) noexcept {
    return Checksum128{load_le64(source), load_le64(source + 8)};
}

}  // namespace ringdb::util
