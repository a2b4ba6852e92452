#pragma once
// LevelBitmap: a resizable bitmap with summary levels, for the buddy allocator's free lists
// (docs/design.md section 5).
//
// Level 0 holds the bits; bit w of level k+1 is set iff word w of level k is non-zero. Levels
// are added until one fits in a single word, so finding the first set bit at or after a
// position reads at most two words per level (log64 of the size: 4 levels for 2^24 bits).
//
// Invariants:
//  - Bits at or past size() are clear, in level 0 and in every summary.
//  - Every summary bit equals "the word below it is non-zero"; count() is the number of set
//    bits; first_ is the lowest set bit (npos if none), so find_first() reads one member.
// Not thread-safe.

#include <cstdint>
#include <vector>

namespace ringdb::engine {

class LevelBitmap {
public:
    static constexpr std::uint64_t npos = ~std::uint64_t{0};

    /// An empty bitmap of size 0.
    LevelBitmap();

    std::uint64_t size() const noexcept { return size_; }
    /// The number of set bits.
    std::uint64_t count() const noexcept { return count_; }

    /// Whether bit i is set; false for i >= size().
    bool test(std::uint64_t i) const noexcept {
        return i < size_ && ((levels_[0][i >> 6] >> (i & 63)) & 1) != 0;
    }
    /// Sets bit i. REQUIRES: i < size() and the bit is clear.
    void set(std::uint64_t i);
    /// Clears bit i. REQUIRES: i < size() and the bit is set.
    void reset(std::uint64_t i);
    /// The lowest set bit, or npos if none (kept up to date by set, reset and resize).
    std::uint64_t find_first() const noexcept { return first_; }
    /// The lowest set bit at or after `from`, or npos if none.
    std::uint64_t find_next(std::uint64_t from) const noexcept;
    /// Changes the size: new bits are clear, bits at or past the new size are dropped.
    void resize(std::uint64_t new_size);

private:
    std::uint64_t size_ = 0;
    std::uint64_t count_ = 0;
    std::uint64_t first_ = npos;
    std::vector<std::vector<std::uint64_t>> levels_;  // levels_[0]: the bits; then summaries
};

}  // namespace ringdb::engine
