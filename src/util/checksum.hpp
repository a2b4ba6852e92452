#pragma once
// Checksums: XXH3-128 (seed 0, default secret) over byte ranges, as used for page and slot
// checksums (docs/design.md). Stored on disk as 16 bytes: low 64 bits first, then high, each LE.

#include <cstddef>
#include <cstdint>
#include <span>

namespace ringdb::util {

struct Checksum128 {
    std::uint64_t low = 0;
    std::uint64_t high = 0;

    friend constexpr bool operator==(const Checksum128&, const Checksum128&) = default;
    bool is_zero() const noexcept { return low == 0 && high == 0; }
};

Checksum128 xxh3_128(std::span<const std::byte> bytes) noexcept;
/// XXH3-128 of `first` followed by `second` (as if they were one range).
Checksum128 xxh3_128(std::span<const std::byte> first, std::span<const std::byte> second) noexcept;

void store_checksum(std::byte* target, const Checksum128& sum) noexcept;
Checksum128 load_checksum(const std::byte* source) noexcept;

}  // namespace ringdb::util
