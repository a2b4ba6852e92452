#pragma once
// The database header: magic, format version, god byte, page size and the two commit slots
// (docs/design.md section 2). Encoding and decoding only; the commit protocol that decides
// which slot to write lives in PageStore.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <ringdb/options.hpp>
#include <ringdb/result.hpp>

#include "engine/page_store/page_number.hpp"
#include "util/checksum.hpp"

namespace ringdb::engine {

inline constexpr std::size_t kHeaderSize = 512;
inline constexpr std::uint8_t kFormatVersion = 2;
inline constexpr std::uint8_t kSlotVersion = 2;
inline constexpr std::uint32_t kMinPageSize = 512;
inline constexpr std::uint32_t kMaxPageSize = 65536;

/// The on-disk reference to a tree (docs/design.md section 2, "BtreeRoot", 32 bytes).
struct BtreeRoot {
    PageNumber page;            // null for an empty tree
    util::Checksum128 checksum; // of the root page; meaningless while the root is dirty
    std::uint64_t length = 0;   // number of entries

    static constexpr std::size_t kEncodedSize = 32;
    void encode(std::byte* target) const noexcept;
    static BtreeRoot decode(const std::byte* source) noexcept;
    friend bool operator==(const BtreeRoot&, const BtreeRoot&) = default;
};

/// A place in the commit log: the byte offset inside the log block, the lap (how many times the
/// log has been started or wrapped), and the sequence number of the record expected there
/// (docs/design.md section 10).
struct LogPosition {
    std::uint64_t offset = 0;
    std::uint64_t lap = 0;
    std::uint64_t sequence = 0;

    friend bool operator==(const LogPosition&, const LogPosition&) = default;
};

struct CommitSlot {
    std::uint64_t transaction_id = 0;
    BtreeRoot user_root;
    BtreeRoot system_root;
    std::uint64_t layout_pages = 0;           // allocator extent, header page included
    PageNumber allocator_state;               // saved allocator state, or null
    std::uint64_t allocator_state_txn = 0;    // the commit the saved state belongs to
    std::uint64_t clock_high_water = 0;       // highest hybrid logical clock issued (raw)
    std::uint64_t log_first_page = 0;         // the commit log's pages (0, 0: no log)
    std::uint64_t log_pages = 0;
    LogPosition log_start;                    // where replay after this checkpoint starts

    static constexpr std::size_t kSize = 168;
    /// Writes the slot; `compression` goes into bytes 1..7, under the slot's checksum, so that
    /// damage to the header's copy of it is detected (docs/design.md section 2).
    void encode(std::byte* target, const Compression& compression = {}) const noexcept;
    /// Decodes a slot; the checksum result is reported separately, not as an error.
    static CommitSlot decode(const std::byte* source) noexcept;
    static bool checksum_valid(const std::byte* source) noexcept;

    friend bool operator==(const CommitSlot&, const CommitSlot&) = default;
};

struct DatabaseHeader {
    static constexpr std::uint8_t kPrimaryBit = 0x01;
    static constexpr std::uint8_t kTwoPhaseBit = 0x02;
    static constexpr std::uint8_t kRecoveryBit = 0x04;

    static constexpr std::uint32_t kCompressionFlag = 0x1;

    std::uint32_t page_size = 4096;
    std::uint8_t god_byte = 0;
    /// Value compression (feature flag bit 0 and bytes 20..27): algorithm none for a database
    /// without it.
    Compression compression{CompressionAlgorithm::none, 0, 0};
    std::array<CommitSlot, 2> slots{};
    /// Set by decode: whether each slot's checksum matched. Not encoded.
    std::array<bool, 2> slot_valid{true, true};

    unsigned primary_index() const noexcept { return god_byte & kPrimaryBit; }
    unsigned secondary_index() const noexcept { return primary_index() ^ 1; }
    const CommitSlot& primary() const noexcept { return slots[primary_index()]; }
    const CommitSlot& secondary() const noexcept { return slots[secondary_index()]; }
    bool two_phase() const noexcept { return (god_byte & kTwoPhaseBit) != 0; }
    bool recovery_required() const noexcept { return (god_byte & kRecoveryBit) != 0; }
    void set_recovery_required(bool on) noexcept;
    /// Makes the secondary slot primary and records whether it was committed in two phases.
    void swap_primary(bool two_phase) noexcept;

    /// Writes the header into the first kHeaderSize bytes of `target` (zeroing the rest of
    /// those bytes). `with_magic` false writes zeros in place of the magic, for the first step
    /// of initialising a new file.
    void encode(std::span<std::byte> target, bool with_magic = true) const noexcept;

    /// Decodes and validates the fixed fields. Errors: corrupted (no magic, bad page size,
    /// short input), upgrade_required (other format version or unknown feature flags; detail =
    /// the version). Slot checksums are reported in slot_valid, not as errors.
    static Result<DatabaseHeader> decode(std::span<const std::byte> source);
};

/// Highest compression levels a file may record (LZ4's high-compression mode, zstd).
inline constexpr int kLz4MaxLevel = 12;
inline constexpr int kZstdMaxLevel = 22;

/// Whether a compression setting is usable. Errors: invalid_argument (detail 1: unknown
/// algorithm, 2: level out of range: lz4 1..12, zstd 1..22).
Status check_compression(const Compression& config) noexcept;

/// Whether the bytes start with the ringdb magic.
bool has_magic(std::span<const std::byte> source) noexcept;

}  // namespace ringdb::engine
