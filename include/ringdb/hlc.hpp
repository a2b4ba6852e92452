#pragma once
// Hybrid logical clock timestamps (docs/hlc.md).
//
// A HybridLogicalClock is one u64: bits 63..16 hold milliseconds since the Unix epoch (48 bits,
// good until the year 10889), bits 15..0 a logical counter that orders events within one
// millisecond. The raw u64 order is the causal order. The type is a table key and value
// (fixed width 8, the raw u64 little-endian, ordered numerically).
//
// The operations that read the wall clock come in two forms: one reading the system clock, one
// taking the wall time in milliseconds, so that tests and simulations can drive the clock.
// Clocks before the epoch count as 0.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <ringdb/codec_base.hpp>
#include <ringdb/options.hpp>

namespace ringdb {

class HybridLogicalClock {
public:
    static constexpr std::uint64_t kLogicalMax = 0xFFFF;

    constexpr HybridLogicalClock() noexcept = default;
    static constexpr HybridLogicalClock from_raw(std::uint64_t raw) noexcept {
        return HybridLogicalClock(raw);
    }
    /// (ms << 16) | logical. Bits of `ms` above 48 are shifted out; `logical` is masked to 16.
    static constexpr HybridLogicalClock from_parts(std::uint64_t ms,
                                                   std::uint16_t logical) noexcept {
        return HybridLogicalClock((ms << 16) | logical);
    }
    /// The timestamp of a wall time in nanoseconds, logical 0.
    static constexpr HybridLogicalClock from_wall_ns(std::uint64_t ns) noexcept {
        return from_parts(ns / 1'000'000, 0);
    }
    static constexpr HybridLogicalClock zero() noexcept { return HybridLogicalClock(0); }
    static constexpr HybridLogicalClock min() noexcept { return HybridLogicalClock(0); }
    static constexpr HybridLogicalClock max() noexcept { return HybridLogicalClock(~0ULL); }

    /// Milliseconds since the epoch by the system clock (0 before the epoch).
    static std::uint64_t wall_ms() { return now_ms(WallClock{}); }
    /// The timestamp of the wall clock, logical 0.
    static HybridLogicalClock now() { return now(wall_ms()); }
    static constexpr HybridLogicalClock now(std::uint64_t wall) noexcept {
        return from_parts(wall, 0);
    }

    constexpr std::uint64_t raw() const noexcept { return raw_; }
    constexpr std::uint64_t physical_ms() const noexcept { return raw_ >> 16; }
    constexpr std::uint16_t logical() const noexcept {
        return static_cast<std::uint16_t>(raw_ & kLogicalMax);
    }

    /// The next timestamp of the same millisecond; past logical 65535, the first of the next
    /// millisecond.
    constexpr HybridLogicalClock tick() const noexcept {
        if (logical() < kLogicalMax) {
            return HybridLogicalClock(raw_ + 1);
        }
        return from_parts(physical_ms() + 1, 0);
    }
    /// A timestamp greater than this one: the wall clock's when it is ahead, else tick().
    HybridLogicalClock advance() const { return advance(wall_ms()); }
    constexpr HybridLogicalClock advance(std::uint64_t wall) const noexcept {
        return wall > physical_ms() ? now(wall) : tick();
    }
    /// A timestamp greater than both this one and `other` (a message received from a peer).
    HybridLogicalClock merge(HybridLogicalClock other) const {
        return merge(other, wall_ms());
    }
    constexpr HybridLogicalClock merge(HybridLogicalClock other,
                                       std::uint64_t wall) const noexcept {
        const std::uint64_t mine = physical_ms();
        const std::uint64_t theirs = other.physical_ms();
        if (wall > mine && wall > theirs) {
            return now(wall);
        }
        if (mine == theirs) {
            const std::uint64_t highest = logical() > other.logical() ? logical()
                                                                      : other.logical();
            if (highest < kLogicalMax) {
                return from_parts(mine, static_cast<std::uint16_t>(highest + 1));
            }
            return from_parts(mine + 1, 0);
        }
        return mine > theirs ? tick() : other.tick();
    }

    /// "physical:logical".
    std::string to_string() const {
        return std::to_string(physical_ms()) + ":" + std::to_string(logical());
    }

    friend constexpr auto operator<=>(HybridLogicalClock, HybridLogicalClock) = default;

private:
    explicit constexpr HybridLogicalClock(std::uint64_t raw) noexcept : raw_(raw) {}
    std::uint64_t raw_ = 0;
};

template <>
struct Codec<HybridLogicalClock> {
    static TypeName type_name() { return TypeName::builtin("ringdb::HLC"); }
    static constexpr std::optional<std::size_t> fixed_width = 8;
    static std::size_t encoded_size(const HybridLogicalClock&) noexcept { return 8; }
    static void encode(const HybridLogicalClock& value, std::span<std::byte> target) noexcept {
        detail::store_le(target.data(), value.raw());
    }
    /// Errors: corrupted unless `bytes` has exactly 8 bytes.
    static Result<HybridLogicalClock> decode(ByteView bytes) {
        if (bytes.size() != 8) {
            return Error{Errc::corrupted, 0, bytes.size()};
        }
        return HybridLogicalClock::from_raw(detail::load_le<std::uint64_t>(bytes.data()));
    }
    static int compare(ByteView a, ByteView b) noexcept {
        if (a.size() != 8 || b.size() != 8) {
            return detail::compare_bytes(a, b);
        }
        return detail::three_way(detail::load_le<std::uint64_t>(a.data()),
                                 detail::load_le<std::uint64_t>(b.data()));
    }
};

}  // namespace ringdb
