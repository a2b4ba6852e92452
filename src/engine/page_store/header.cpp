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
constexpr std::size_t kSlotOffset[2] = {64, 192};
constexpr std::size_t kSlotChecksummed = 112;

bool valid_page_size(std::uint32_t size) noexcept {
    return size >= kMinPageSize && size <= kMaxPageSize && (size & (size - 1)) == 0;
}

}  // namespace

void CommitSlot::encode(std::byte* target) const noexcept {
    std::memset(target, 0, kSize);
    target[0] = std::byte{kSlotVersion};
    util::store_le64(target + 8, transaction_id);
    user_root.encode(target + 16);
    system_root.encode(target + 48);
    util::store_le64(target + 80, layout_pages);
    util::store_le64(target + 88, allocator_state.raw());
    util::store_le64(target + 96, allocator_state_txn);
    util::store_le64(target + 104, clock_high_water);
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
        target[20] = static_cast<std::byte>(compression.algorithm);
        target[21] = static_cast<std::byte>(static_cast<std::uint8_t>(compression.level));
        util::store_le32(target.data() + 24, compression.min_size);
    }
    for (int i = 0; i < 2; ++i) {
        slots[static_cast<std::size_t>(i)].encode(target.data() + kSlotOffset[i]);
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
        const auto algorithm = std::to_integer<std::uint8_t>(source[20]);
        if (algorithm != static_cast<std::uint8_t>(CompressionAlgorithm::lz4) &&
            algorithm != static_cast<std::uint8_t>(CompressionAlgorithm::zstd)) {
            return Error{Errc::corrupted, 0, 20};
        }
        header.compression.algorithm = static_cast<CompressionAlgorithm>(algorithm);
        header.compression.level =
                static_cast<std::int8_t>(std::to_integer<std::uint8_t>(source[21]));
        header.compression.min_size = util::load_le32(source.data() + 24);
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
    }
    return header;
}

}  // namespace ringdb::engine
