#pragma once
// B-tree page layout (docs/design.md section 3): parsing, validation and building of leaf
// (type 1) and branch (type 2) pages.
//
// Pages read from disk are untrusted input. LeafView::parse and BranchView::parse check the
// type byte, the counts, and that every offset is monotonic and inside the block; on failure
// they return Errc::corrupted with detail = the page's raw PageNumber. Once a view is parsed,
// its accessors cannot read outside the block, so callers index freely within count().
//
// A view does not own its bytes: it is valid while the PageRef it was parsed from is held and
// the bytes are not modified.
//
// Invariants of the pages this engine writes (checked by verify(), not required of input):
//   - a leaf with more than one entry fits one base page and is an order-0 block;
//   - a single-entry leaf is a block of order order_for(its used length);
//   - a branch that fits one base page is order 0; a branch that cannot split (fewer than four
//     children) and does not fit gets order_for(its used length);
//   - bytes past the used length are zero.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include <ringdb/result.hpp>

#include "engine/btree/tree_pages.hpp"
#include "engine/page_store/page_number.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace ringdb::engine {

inline constexpr std::uint8_t kLeafType = 1;
inline constexpr std::uint8_t kBranchType = 2;
inline constexpr std::uint32_t kLeafHeaderSize = 4;
inline constexpr std::uint32_t kBranchHeaderSize = 8;
inline constexpr std::uint32_t kMaxLeafEntries = 65535;
inline constexpr std::uint32_t kMaxBranchKeys = 65534;
/// Bound on the height of a tree; deeper input is reported as corrupted.
inline constexpr std::uint32_t kMaxDepth = 64;

/// compare_bytes, inlined: the order of table trees, so the common case of every search and
/// cursor step. Compares eight bytes at a time as big-endian words (short keys: no library
/// call).
inline int compare_bytes_inline(std::span<const std::byte> a,
                                std::span<const std::byte> b) noexcept {
    std::size_t n = a.size() < b.size() ? a.size() : b.size();
    const std::byte* p = a.data();
    const std::byte* q = b.data();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t x = 0;
        std::uint64_t y = 0;
        std::memcpy(&x, p + i, 8);
        std::memcpy(&y, q + i, 8);
        if (x != y) {
            x = __builtin_bswap64(x);
            y = __builtin_bswap64(y);
            return x < y ? -1 : 1;
        }
    }
    for (; i < n; ++i) {
        if (p[i] != q[i]) {
            return p[i] < q[i] ? -1 : 1;
        }
    }
    return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

/// compare(a, b), with the bytewise order inlined.
inline int compare_keys(KeyCompare compare, std::span<const std::byte> a,
                        std::span<const std::byte> b) {
    return compare == &compare_bytes ? compare_bytes_inline(a, b) : compare(a, b);
}

/// Type byte of a block (0 if the block is empty).
inline std::uint8_t page_type(std::span<const std::byte> block) noexcept {
    return block.empty() ? 0 : std::to_integer<std::uint8_t>(block[0]);
}

/// Bytes of a leaf holding `count` entries whose keys and values total `payload` bytes.
constexpr std::uint64_t leaf_size(std::uint64_t count, std::uint64_t payload) noexcept {
    return kLeafHeaderSize + 8 * count + payload;
}

/// Bytes of a branch with `children` children whose separators total `key_bytes` bytes.
constexpr std::uint64_t branch_size(std::uint64_t children, std::uint64_t key_bytes) noexcept {
    return kBranchHeaderSize + 24 * children + 4 * (children - 1) + key_bytes;
}

class LeafView {
public:
    LeafView() = default;
    /// Validates `block` as a leaf. Errors: corrupted (detail = page.raw()).
    static Result<LeafView> parse(std::span<const std::byte> block, PageNumber page);
    /// A view of a leaf this engine wrote itself (a dirty page), without re-validating every
    /// offset. REQUIRES: `block` holds a valid leaf (checked only in debug builds).
    static LeafView trusted(std::span<const std::byte> block) noexcept;

    std::uint32_t count() const noexcept { return count_; }
    std::span<const std::byte> key(std::uint32_t i) const noexcept {
        std::uint32_t begin = i == 0 ? kLeafHeaderSize + 8 * count_ : key_end(i - 1);
        return {data_ + begin, key_end(i) - begin};
    }
    std::span<const std::byte> value(std::uint32_t i) const noexcept {
        std::uint32_t begin = i == 0 ? key_end(count_ - 1) : value_end(i - 1);
        return {data_ + begin, value_end(i) - begin};
    }
    /// Offset of the first byte of value i (for in-place overwrites).
    std::uint32_t value_offset(std::uint32_t i) const noexcept {
        return i == 0 ? key_end(count_ - 1) : value_end(i - 1);
    }
    std::uint32_t used_length() const noexcept { return value_end(count_ - 1); }
    /// Whether values [first, last) are each `width` bytes long (they then lie one after
    /// another from value(first)). REQUIRES: first < last <= count().
    bool values_have_width(std::uint32_t first, std::uint32_t last,
                           std::uint32_t width) const noexcept {
        std::uint32_t begin = value_offset(first);
        std::uint32_t mismatches = 0;
        for (std::uint32_t i = first; i < last; ++i) {
            const std::uint32_t end = value_end(i);
            mismatches += end - begin != width ? 1U : 0U;
            begin = end;
        }
        return mismatches == 0;
    }
    /// Bytes entry i contributes to the page: its key, its value and two offsets.
    std::uint32_t entry_size(std::uint32_t i) const noexcept {
        return static_cast<std::uint32_t>(key(i).size() + value(i).size() + 8);
    }

    struct Search {
        std::uint32_t index;  // first entry whose key is >= the probe (count() if none)
        bool found;           // the key at index equals the probe
    };
    Search search(std::span<const std::byte> key, KeyCompare compare) const;

private:
    std::uint32_t key_end(std::uint32_t i) const noexcept {
        return util::load_le32(data_ + kLeafHeaderSize + 4 * i);
    }
    std::uint32_t value_end(std::uint32_t i) const noexcept {
        return util::load_le32(data_ + kLeafHeaderSize + 4 * count_ + 4 * i);
    }

    const std::byte* data_ = nullptr;
    std::uint32_t count_ = 0;
};

class BranchView {
public:
    BranchView() = default;
    /// Validates `block` as a branch (including that every child is a well-formed block
    /// address). Errors: corrupted (detail = page.raw()).
    static Result<BranchView> parse(std::span<const std::byte> block, PageNumber page);
    /// As LeafView::trusted, for a branch this engine wrote.
    static BranchView trusted(std::span<const std::byte> block) noexcept;

    std::uint32_t key_count() const noexcept { return keys_; }
    std::uint32_t child_count() const noexcept { return keys_ + 1; }
    PageNumber child(std::uint32_t i) const noexcept {
        return PageNumber::from_raw(util::load_le64(data_ + children_offset() + 8 * i));
    }
    util::Checksum128 child_checksum(std::uint32_t i) const noexcept {
        return util::load_checksum(data_ + kBranchHeaderSize + 16 * i);
    }
    std::span<const std::byte> key(std::uint32_t i) const noexcept {
        std::uint32_t begin = i == 0 ? keys_offset() : key_end(i - 1);
        return {data_ + begin, key_end(i) - begin};
    }
    std::uint32_t used_length() const noexcept { return key_end(keys_ - 1); }
    /// The child a lookup of `key` descends into: the first whose separator is >= key.
    /// With the bytewise order and a search index (parse_branch attaches one to validated
    /// committed pages) the search probes the index's key prefixes first.
    std::uint32_t find_child(std::span<const std::byte> key, KeyCompare compare) const;

    /// The in-memory search index of this branch: the first eight bytes of every separator
    /// (zero-padded) as big-endian words, key_count() entries (PageBuffer::search_index).
    std::unique_ptr<std::uint64_t[]> build_search_index() const;
    /// Uses `index` (built by build_search_index() from these bytes, or null) in find_child.
    void use_search_index(const std::uint64_t* index) noexcept { index_ = index; }

    /// Byte offsets of child i's checksum and page number fields (for in-place updates).
    std::uint32_t checksum_offset(std::uint32_t i) const noexcept {
        return kBranchHeaderSize + 16 * i;
    }
    std::uint32_t child_offset(std::uint32_t i) const noexcept {
        return children_offset() + 8 * i;
    }

private:
    std::uint32_t children_offset() const noexcept { return kBranchHeaderSize + 16 * (keys_ + 1); }
    std::uint32_t key_ends_offset() const noexcept { return kBranchHeaderSize + 24 * (keys_ + 1); }
    std::uint32_t keys_offset() const noexcept { return key_ends_offset() + 4 * keys_; }
    std::uint32_t key_end(std::uint32_t i) const noexcept {
        return util::load_le32(data_ + key_ends_offset() + 4 * i);
    }

    const std::byte* data_ = nullptr;
    const std::uint64_t* index_ = nullptr;
    std::uint32_t keys_ = 0;
};

/// Parses a page read through `pages`: trusted if dirty (written by this engine in this
/// transaction); otherwise fully validated (input from disk) the first time and trusted on
/// later visits of the same committed buffer (PageBuffer::validated_as). Errors: corrupted.
Result<LeafView> parse_leaf(const TreePages& pages, const PageBuffer& buffer, PageNumber page);
Result<BranchView> parse_branch(const TreePages& pages, const PageBuffer& buffer,
                                PageNumber page);
/// As above, for a caller that already knows whether the page is dirty (ReadPage::dirty,
/// TreePages::try_read_flagged): no second lookup in the dirty set.
Result<LeafView> parse_leaf(bool dirty, const PageBuffer& buffer, PageNumber page);
Result<BranchView> parse_branch(bool dirty, const PageBuffer& buffer, PageNumber page);

/// Compares a page that a device read filled (PageBuffer::needs_check) with `expected`, the
/// checksum its parent holds for it (for a root: the tree's root reference), the first time a
/// walk reaches the buffer; every other buffer passes at the cost of one load. This is how
/// damage on disk is found by the read that meets it. Errors: corrupted (detail = page.raw())
/// when the bytes are not a well-formed page or do not match.
Status check_page_slow(const PageBuffer& buffer, const util::Checksum128& expected,
                       PageNumber page);
inline Status check_page(const PageBuffer& buffer, const util::Checksum128& expected,
                         PageNumber page) {
    return buffer.needs_check() ? check_page_slow(buffer, expected, page) : ok();
}

/// A virtual sequence of leaf entries, concatenated from up to four runs (ranges of parsed
/// leaves, or single explicit entries), so that inserts, replacements, removals and merges
/// are built straight from the source pages without materialising entry lists.
class EntrySeq {
public:
    void add_range(const LeafView& view, std::uint32_t begin, std::uint32_t end);
    void add_entry(std::span<const std::byte> key, std::span<const std::byte> value);
    std::uint32_t count() const noexcept { return count_; }

    /// Calls f(key, value) for the entries [first, last) in order.
    template <typename F>
    void for_each(std::uint32_t first, std::uint32_t last, F&& f) const {
        std::uint32_t base = 0;
        for (std::uint32_t r = 0; r < run_count_ && base < last; ++r) {
            const Run& run = runs_[r];
            std::uint32_t n = run.end - run.begin;
            for (std::uint32_t j = 0; j < n; ++j) {
                std::uint32_t index = base + j;
                if (index < first) {
                    continue;
                }
                if (index >= last) {
                    break;
                }
                if (run.explicit_entry) {
                    f(run.key, run.value);
                } else {
                    f(run.view.key(run.begin + j), run.view.value(run.begin + j));
                }
            }
            base += n;
        }
    }

private:
    struct Run {
        LeafView view;
        std::uint32_t begin = 0;
        std::uint32_t end = 0;
        bool explicit_entry = false;
        std::span<const std::byte> key;
        std::span<const std::byte> value;
    };
    std::array<Run, 4> runs_{};
    std::uint32_t run_count_ = 0;
    std::uint32_t count_ = 0;
};

/// prefix[j] = bytes that entries [0, j) contribute to a leaf (keys, values, offsets).
void leaf_prefix_sizes(const EntrySeq& seq, std::vector<std::uint64_t>& prefix);

/// How a leaf that no longer fits is cut: in halves by bytes (design.md section 3), or packed
/// from the left, each piece as full as it can be (for an entry appended after a leaf's last,
/// so keys inserted in ascending order fill their leaves instead of leaving them half empty).
enum class LeafSplit : std::uint8_t { halves, packed };

/// Splits entries [0, prefix.size()-1) into pieces that each fit one base page or hold a
/// single entry, as `split` says. `ends` receives each piece's end.
void partition_leaf(const std::vector<std::uint64_t>& prefix, std::uint32_t page_size,
                    std::vector<std::uint32_t>& ends, LeafSplit split = LeafSplit::halves);

/// Writes entries [first, last) of `seq` as a leaf into `target` (zeroed, large enough);
/// returns the used length.
std::uint32_t write_leaf(std::span<std::byte> target, const EntrySeq& seq, std::uint32_t first,
                         std::uint32_t last);

/// Inserts an entry at index i of the valid leaf in `block`, shifting bytes in place.
/// REQUIRES: the result fits the block and has at most kMaxLeafEntries entries.
void leaf_insert_in_place(std::span<std::byte> block, std::uint32_t i,
                          std::span<const std::byte> key, std::span<const std::byte> value);
/// Removes entry i of the valid leaf in `block` (which keeps at least one entry) in place and
/// zeroes the freed tail.
void leaf_remove_in_place(std::span<std::byte> block, std::uint32_t i);

/// One child of a branch under construction; `key` is the separator after it (unused for the
/// last child of a page). Keys point into page buffers the builder's caller keeps alive.
struct BranchItem {
    PageNumber child;
    util::Checksum128 checksum;
    std::span<const std::byte> key;
};

/// Splits items into branch pieces of at least two children each that fit a base page where
/// possible, halving by bytes; the last item of every piece but the last has its key moved up
/// as the separator. `ends` receives each piece's end.
void partition_branch(std::span<const BranchItem> items, std::uint32_t page_size,
                      std::vector<std::uint32_t>& ends);

/// Size of a branch made of `items` (keys of all but the last item).
std::uint64_t branch_items_size(std::span<const BranchItem> items) noexcept;

/// Writes `items` (at least two) as a branch into `target`; returns the used length.
std::uint32_t write_branch(std::span<std::byte> target, std::span<const BranchItem> items);

/// Appends the children of a parsed branch to `items`.
void append_branch_items(const BranchView& view, std::vector<BranchItem>& items);

}  // namespace ringdb::engine
