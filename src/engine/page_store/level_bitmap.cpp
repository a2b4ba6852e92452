#include "engine/page_store/level_bitmap.hpp"

#include <algorithm>
#include <bit>

#include "util/assert.hpp"

namespace ringdb::engine {

namespace {

constexpr std::uint64_t words_for(std::uint64_t bits) { return (bits + 63) / 64; }
constexpr std::uint64_t bit_of(std::uint64_t i) { return std::uint64_t{1} << (i & 63); }
constexpr unsigned lowest(std::uint64_t word) {
    return static_cast<unsigned>(std::countr_zero(word));
}

}  // namespace

LevelBitmap::LevelBitmap() : levels_(1) {}

void LevelBitmap::set(std::uint64_t i) {
    RINGDB_ASSERT_CTX(i < size_, "bitmap set past size", i);
    std::uint64_t index = i >> 6;
    std::uint64_t before = levels_[0][index];
    RINGDB_ASSERT_CTX((before & bit_of(i)) == 0, "bitmap bit already set", i);
    levels_[0][index] = before | bit_of(i);
    ++count_;
    first_ = i < first_ ? i : first_;
    // Summaries: mark the word non-zero upwards until a word that already was.
    for (std::size_t k = 1; k < levels_.size() && before == 0; ++k) {
        std::uint64_t up = index >> 6;
        before = levels_[k][up];
        levels_[k][up] = before | bit_of(index);
        index = up;
    }
}

void LevelBitmap::reset(std::uint64_t i) {
    RINGDB_ASSERT_CTX(i < size_, "bitmap reset past size", i);
    std::uint64_t index = i >> 6;
    std::uint64_t after = levels_[0][index] & ~bit_of(i);
    RINGDB_ASSERT_CTX(after != levels_[0][index], "bitmap bit already clear", i);
    levels_[0][index] = after;
    --count_;
    // Summaries: clear the word's bit upwards while the word became zero.
    for (std::size_t k = 1; k < levels_.size() && after == 0; ++k) {
        std::uint64_t up = index >> 6;
        after = levels_[k][up] & ~bit_of(index);
        levels_[k][up] = after;
        index = up;
    }
    if (i == first_) {
        first_ = find_next(i + 1);
    }
}

std::uint64_t LevelBitmap::find_next(std::uint64_t from) const noexcept {
    if (from >= size_) {
        return npos;
    }
    // Up: the rest of the word at each level, until one has a set bit.
    std::size_t k = 0;
    std::uint64_t pos = from;  // a bit position at level k
    for (;;) {
        std::uint64_t index = pos >> 6;
        if (index >= levels_[k].size()) {
            return npos;
        }
        std::uint64_t word = levels_[k][index] & (~std::uint64_t{0} << (pos & 63));
        if (word != 0) {
            pos = (index << 6) + lowest(word);
            break;
        }
        if (k + 1 == levels_.size()) {
            return npos;
        }
        pos = index + 1;  // the next word of level k is the next bit of level k + 1
        ++k;
    }
    // Down: the lowest set bit of each non-zero word below.
    while (k > 0) {
        --k;
        pos = pos * 64 + lowest(levels_[k][pos]);
    }
    return pos;
}

void LevelBitmap::resize(std::uint64_t new_size) {
    std::vector<std::uint64_t>& bits = levels_[0];
    const std::uint64_t old_words = bits.size();
    if (new_size < size_) {
        for (std::uint64_t w = new_size >> 6; w < old_words; ++w) {
            std::uint64_t dropped = bits[w];
            if (w == new_size >> 6) {
                dropped &= ~std::uint64_t{0} << (new_size & 63);
            }
            count_ -= static_cast<std::uint64_t>(std::popcount(dropped));
        }
    }
    std::vector<std::uint64_t> sizes{words_for(new_size)};
    while (sizes.back() > 1) {
        sizes.push_back(words_for(sizes.back()));
    }
    bits.resize(sizes[0]);
    if ((new_size & 63) != 0) {
        bits.back() &= bit_of(new_size) - 1;
    }
    size_ = new_size;
    if (first_ != npos && first_ >= new_size) {
        first_ = npos;  // the lowest set bit was dropped, so were all the others
    }
    // Rebuild each summary from the first word whose input may have changed; the words before
    // it summarise unchanged words. A level that did not exist is built whole.
    std::uint64_t first = std::min(old_words, sizes[0]);
    first = first > 0 ? first - 1 : 0;
    const std::size_t old_levels = levels_.size();
    levels_.resize(sizes.size());
    for (std::size_t k = 1; k < levels_.size(); ++k) {
        first = k >= old_levels ? 0 : first >> 6;
        const std::vector<std::uint64_t>& below = levels_[k - 1];
        std::vector<std::uint64_t>& level = levels_[k];
        level.resize(sizes[k]);
        for (std::uint64_t w = first; w < level.size(); ++w) {
            std::uint64_t word = 0;
            const std::uint64_t end = std::min<std::uint64_t>((w + 1) * 64, below.size());
            for (std::uint64_t b = w * 64; b < end; ++b) {
                if (below[b] != 0) {
                    word |= bit_of(b);
                }
            }
            level[w] = word;
        }
    }
}

}  // namespace ringdb::engine
