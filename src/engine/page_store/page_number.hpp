#pragma once
// PageNumber: the address of a block of 2^order base pages (docs/design.md section 1).
// Bits 0..55: base index of the first page; bits 56..61: order; bits 62..63: zero.
// The raw value 0 means "no page".

#include <cstdint>
#include <functional>

namespace ringdb::engine {

inline constexpr unsigned kMaxOrder = 30;

class PageNumber {
public:
    static constexpr std::uint64_t kIndexMask = (std::uint64_t{1} << 56) - 1;

    constexpr PageNumber() noexcept = default;
    static constexpr PageNumber from_raw(std::uint64_t raw) noexcept { return PageNumber(raw); }
    static constexpr PageNumber make(std::uint64_t index, unsigned order) noexcept {
        return PageNumber((index & kIndexMask) | (std::uint64_t{order} << 56));
    }

    constexpr std::uint64_t raw() const noexcept { return raw_; }
    constexpr bool is_null() const noexcept { return raw_ == 0; }
    constexpr std::uint64_t index() const noexcept { return raw_ & kIndexMask; }
    constexpr unsigned order() const noexcept { return static_cast<unsigned>((raw_ >> 56) & 0x3f); }
    /// Number of base pages in the block.
    constexpr std::uint64_t pages() const noexcept { return std::uint64_t{1} << order(); }
    constexpr std::uint64_t byte_offset(std::uint32_t page_size) const noexcept {
        return index() * page_size;
    }
    constexpr std::uint64_t byte_length(std::uint32_t page_size) const noexcept {
        return std::uint64_t{page_size} << order();
    }
    /// Whether the raw value is a well-formed block address (reserved bits zero, order in
    /// range, aligned, not the header). Data read from disk is checked with this.
    constexpr bool is_valid() const noexcept {
        return (raw_ >> 62) == 0 && order() <= kMaxOrder && index() != 0 &&
               index() % pages() == 0;
    }

    friend constexpr bool operator==(PageNumber, PageNumber) = default;
    friend constexpr auto operator<=>(PageNumber a, PageNumber b) noexcept {
        return a.raw_ <=> b.raw_;
    }

private:
    constexpr explicit PageNumber(std::uint64_t raw) noexcept : raw_(raw) {}
    std::uint64_t raw_ = 0;
};

/// The smallest order whose block holds `bytes` at `page_size`.
constexpr unsigned order_for(std::uint64_t bytes, std::uint32_t page_size) noexcept {
    unsigned order = 0;
    while ((std::uint64_t{page_size} << order) < bytes && order < 63) {
        ++order;
    }
    return order;
}

}  // namespace ringdb::engine

template <>
struct std::hash<ringdb::engine::PageNumber> {
    std::size_t operator()(ringdb::engine::PageNumber p) const noexcept {
        return std::hash<std::uint64_t>{}(p.raw());
    }
};
