#include "engine/page_store/header.hpp"

#include <cstring>

#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace ringdb::engine {

void BtreeRoot::encode(std::byte* target) const noexcept {
    util::store_le64(target, page.raw());
    util::store_checksum(target + 8, checksum);
    util::store_le64(target + 24, length);
}

BtreeRoot BtreeRoot::decode(const std::byte* source) noexcept {
    BtreeRoot root;
    root.page = PageNumber::from_raw(util::load_le64(source));
    root.checksum = util::load_checksum(source + 8);
    root.length = util::load_le64(source + 24);
    return root;
}

namespace {

constexpr std::byte kMagic[8] = {std::byte{0x72}, std::byte{0x69}, std::byte{0x6E},
                                 std::byte{0x67}, std::byte{0x64}, std::byte{0x62},
                                 std::byte{0x1A}, std::byte{0x0A}};
constexpr std::size_t kSlotOffset[2] = {64, 232};
constexpr std::size_t kSlotChecksummed = 152;

bool valid_page_size(std::uint32_t size) noexcept {
    return size >= kMinPageSize && size <= kMaxPageSize && (size & (size - 1)) == 0;
}

}  // namespace

Status check_compression(const Compression& config) noexcept {
    switch (config.algorithm) {
    case CompressionAlgorithm::none:
        return ok();
    case CompressionAlgorithm::lz4:
        if (config.level < 1 || config.level > kLz4MaxLevel) {
            return Error{Errc::invalid_argument, 0, 2};
        }
        return ok();
    case CompressionAlgorithm::zstd:
        if (config.level < 1 || config.level > kZstdMaxLevel) {
            return Error{Errc::invalid_argument, 0, 2};
        }
        return ok();
    }
    return Error{Errc::invalid_argument, 0, 1};
}

namespace {

// The compression setting: algorithm and level in two bytes at `at`, the minimum size as a
// u32 at `min_size_at` (header: bytes 20, 21 and 24..27; commit slot: bytes 1, 2 and 4..7).
void encode_compression(std::byte* at, std::byte* min_size_at,
                        const Compression& compression) noexcept {
    if (compression.algorithm == CompressionAlgorithm::none) {
        return;
    }
    at[0] = static_cast<std::byte>(compression.algorithm);
    at[1] = static_cast<std::byte>(static_cast<std::uint8_t>(compression.level));
    util::store_le32(min_size_at, compression.min_size);
}

Compression decode_compression(const std::byte* at, const std::byte* min_size_at) noexcept {
    Compression compression{CompressionAlgorithm::none, 0, 0};
    compression.algorithm =
            static_cast<CompressionAlgorithm>(std::to_integer<std::uint8_t>(at[0]));
    compression.level = static_cast<std::int8_t>(std::to_integer<std::uint8_t>(at[1]));
    compression.min_size = util::load_le32(min_size_at);
    return compression;
}

}  // namespace

void CommitSlot::encode(std::byte* target, const Compression& compression) const noexcept {
    std::memset(target, 0, kSize);
    target[0] = std::byte{kSlotVersion};
    encode_compression(target + 1, target + 4, compression);
    util::store_le64(target + 8, transaction_id);
    user_root.encode(target + 16);
    system_root.encode(target + 48);
    util::store_le64(target + 80, layout_pages);
    util::store_le64(target + 88, allocator_state.raw());
    util::store_le64(target + 96, allocator_state_txn);
    util::store_le64(target + 104, clock_high_water);
    util::store_le64(target + 112, log_first_page);
    util::store_le64(target + 120, log_pages);
    util::store_le64(target + 128, log_start.offset);
    util::store_le64(target + 136, log_start.lap);
    util::store_le64(target + 144, log_start.sequence);
    auto sum = util::xxh3_128(std::span<const std::byte>(target, kSlotChecksummed));
    util::store_checksum(target + kSlotChecksummed, sum);
}

CommitSlot CommitSlot::decode(const std::byte* source) noexcept {
    CommitSlot slot;
    slot.transaction_id = util::load_le64(source + 8);
    slot.user_root = BtreeRoot::decode(source + 16);
    slot.system_root = BtreeRoot::decode(source + 48);
    slot.layout_pages = util::load_le64(source + 80);
    slot.allocator_state = PageNumber::from_raw(util::load_le64(source + 88));
    slot.allocator_state_txn = util::load_le64(source + 96);
    slot.clock_high_water = util::load_le64(source + 104);
    slot.log_first_page = util::load_le64(source + 112);
    slot.log_pages = util::load_le64(source + 120);
    slot.log_start.offset = util::load_le64(source + 128);
    slot.log_start.lap = util::load_le64(source + 136);
    slot.log_start.sequence = util::load_le64(source + 144);
    return slot;
}

bool CommitSlot::checksum_valid(const std::byte* source) noexcept {
    if (source[0] != std::byte{kSlotVersion}) {
        return false;
    }
    auto sum = util::xxh3_128(std::span<const std::byte>(source, kSlotChecksummed));
    return sum == util::load_checksum(source + kSlotChecksummed);
}

void DatabaseHeader::set_recovery_required(bool on) noexcept {
    god_byte = static_cast<std::uint8_t>(on ? (god_byte | kRecoveryBit)
                                            : (god_byte & ~kRecoveryBit));
}

void DatabaseHeader::swap_primary(bool two_phase_commit) noexcept {
    std::uint8_t bits = static_cast<std::uint8_t>(secondary_index());
    if (two_phase_commit) {
        bits |= kTwoPhaseBit;
    }
    god_byte = static_cast<std::uint8_t>((god_byte & kRecoveryBit) | bits);
}

void DatabaseHeader::encode(std::span<std::byte> target, bool with_magic) const noexcept {
    std::memset(target.data(), 0, kHeaderSize);
    if (with_magic) {
        std::memcpy(target.data(), kMagic, sizeof(kMagic));
    }
    target[8] = std::byte{kFormatVersion};
    target[9] = std::byte{god_byte};
    util::store_le32(target.data() + 12, page_size);
    if (compression.algorithm != CompressionAlgorithm::none) {
        util::store_le32(target.data() + 16, kCompressionFlag);
        encode_compression(target.data() + 20, target.data() + 24, compression);
    }
    for (int i = 0; i < 2; ++i) {
        slots[static_cast<std::size_t>(i)].encode(target.data() + kSlotOffset[i], compression);
    }
}

bool has_magic(std::span<const std::byte> source) noexcept {
    return source.size() >= sizeof(kMagic) &&
           std::memcmp(source.data(), kMagic, sizeof(kMagic)) == 0;
}

Result<DatabaseHeader> DatabaseHeader::decode(std::span<const std::byte> source) {
    if (source.size() < kHeaderSize || !has_magic(source)) {
        return Error{Errc::corrupted, 0, 0};
    }
    auto version = std::to_integer<std::uint8_t>(source[8]);
    if (version != kFormatVersion) {
        return Error{Errc::upgrade_required, 0, version};
    }
    const std::uint32_t flags = util::load_le32(source.data() + 16);
    if ((flags & ~kCompressionFlag) != 0) {
        return Error{Errc::upgrade_required, 0, version};
    }
    DatabaseHeader header;
    if ((flags & kCompressionFlag) != 0) {
        header.compression = decode_compression(source.data() + 20, source.data() + 24);
        if (header.compression.algorithm == CompressionAlgorithm::none ||
            !check_compression(header.compression)) {
            return Error{Errc::corrupted, 0, 20};
        }
    }
    header.page_size = util::load_le32(source.data() + 12);
    if (!valid_page_size(header.page_size)) {
        return Error{Errc::corrupted, 0, 12};
    }
    header.god_byte = std::to_integer<std::uint8_t>(source[9]) &
                      (kPrimaryBit | kTwoPhaseBit | kRecoveryBit);
    for (int i = 0; i < 2; ++i) {
        const std::byte* slot = source.data() + kSlotOffset[i];
        auto index = static_cast<std::size_t>(i);
        header.slot_valid[index] = CommitSlot::checksum_valid(slot);
        header.slots[index] = CommitSlot::decode(slot);
        // Every slot records the compression under its checksum: a header whose own copy
        // disagrees with an intact slot was damaged (a flipped flag would misread values).
        if (header.slot_valid[index] &&
            decode_compression(slot + 1, slot + 4) != header.compression) {
            return Error{Errc::corrupted, 0, 16};
        }
    }
    return header;
}

}  // namespace ringdb::engine
