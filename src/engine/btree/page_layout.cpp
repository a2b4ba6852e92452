// Leaf and branch page parsing, building and in-place edits (docs/design.md section 3).
//
// Parsing is the trust boundary: after parse() succeeds, every offset a view hands out lies
// inside the block and offsets are monotonic, so accessors need no further checks. Builders
// and in-place edits work only on pages this engine owns; their preconditions are asserted.

#include "engine/btree/page_layout.hpp"

#include <algorithm>
#include <cstring>

#include "util/assert.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

Error corrupted(PageNumber page) { return Error{Errc::corrupted, 0, page.raw()}; }

std::uint32_t to_u32(std::uint64_t v) {
    RINGDB_ASSERT(v <= UINT32_MAX);
    return static_cast<std::uint32_t>(v);
}

}  // namespace

Result<LeafView> LeafView::parse(std::span<const std::byte> block, PageNumber page) {
    if (block.size() < kLeafHeaderSize || page_type(block) != kLeafType ||
        block[1] != std::byte{0}) {
        return corrupted(page);
    }
    const std::byte* data = block.data();
    std::uint32_t n = util::load_le16(data + 2);
    std::uint64_t header = leaf_size(n, 0);
    if (n == 0 || header > block.size()) {
        return corrupted(page);
    }
    std::uint64_t previous = header;
    for (std::uint32_t i = 0; i < 2 * n; ++i) {
        // Key ends then value ends: one monotonic sequence from the header to the used end.
        std::uint32_t end = util::load_le32(data + kLeafHeaderSize + 4 * i);
        if (end < previous || end > block.size()) {
            return corrupted(page);
        }
        previous = end;
    }
    LeafView view;
    view.data_ = data;
    view.count_ = n;
    return view;
}

LeafView LeafView::trusted(std::span<const std::byte> block) noexcept {
    RINGDB_DEBUG_ASSERT(page_type(block) == kLeafType);
    LeafView view;
    view.data_ = block.data();
    view.count_ = util::load_le16(block.data() + 2);
    RINGDB_ASSERT(view.count_ != 0);
    return view;
}

BranchView BranchView::trusted(std::span<const std::byte> block) noexcept {
    RINGDB_DEBUG_ASSERT(page_type(block) == kBranchType);
    BranchView view;
    view.data_ = block.data();
    view.keys_ = util::load_le16(block.data() + 2);
    RINGDB_ASSERT(view.keys_ != 0);
    return view;
}

Result<LeafView> parse_leaf(const TreePages& pages, const PageBuffer& buffer, PageNumber page) {
    std::span<const std::byte> block = buffer.bytes();
    const bool trusted = page_type(block) == kLeafType &&
                         (buffer.validated_as() == kLeafType || pages.is_dirty(page));
    return parse_leaf(trusted, buffer, page);
}

Result<LeafView> parse_leaf(bool dirty, const PageBuffer& buffer, PageNumber page) {
    std::span<const std::byte> block = buffer.bytes();
    if (page_type(block) == kLeafType && (dirty || buffer.validated_as() == kLeafType)) {
        return LeafView::trusted(block);
    }
    Result<LeafView> view = LeafView::parse(block, page);
    if (view) {
        buffer.mark_validated(kLeafType);
    }
    return view;
}

Result<BranchView> parse_branch(const TreePages& pages, const PageBuffer& buffer,
                                PageNumber page) {
    std::span<const std::byte> block = buffer.bytes();
    const bool trusted = page_type(block) == kBranchType &&
                         (buffer.validated_as() == kBranchType || pages.is_dirty(page));
    return parse_branch(trusted, buffer, page);
}

Result<BranchView> parse_branch(bool dirty, const PageBuffer& buffer, PageNumber page) {
    std::span<const std::byte> block = buffer.bytes();
    if (page_type(block) == kBranchType && (dirty || buffer.validated_as() == kBranchType)) {
        BranchView view = BranchView::trusted(block);
        // Null for a dirty page: only validated (immutable) buffers carry an index.
        view.use_search_index(buffer.search_index());
        return view;
    }
    Result<BranchView> view = BranchView::parse(block, page);
    if (view) {
        // Before marking the buffer validated, so that a reader that sees the mark (acquire)
        // also sees the index.
        view->use_search_index(buffer.install_search_index(view->build_search_index()));
        buffer.mark_validated(kBranchType);
        buffer.mark_hot();  // every lookup below this branch passes through it
    }
    return view;
}

Status check_page_slow(const PageBuffer& buffer, const util::Checksum128& expected,
                       PageNumber page) {
    std::span<const std::byte> block = buffer.bytes();
    std::uint32_t used = 0;
    if (page_type(block) == kLeafType) {
        RINGDB_TRY_ASSIGN(LeafView leaf, LeafView::parse(block, page));
        used = leaf.used_length();
    } else {
        RINGDB_TRY_ASSIGN(BranchView branch, BranchView::parse(block, page));
        used = branch.used_length();
    }
    if (util::xxh3_128(block.first(used)) != expected) {
        return Error{Errc::corrupted, 0, page.raw()};
    }
    buffer.mark_checked();
    return ok();
}

namespace {

template <typename Compare>
LeafView::Search leaf_search(const LeafView& leaf, std::span<const std::byte> probe,
                             Compare compare) {
    std::uint32_t low = 0;
    std::uint32_t high = leaf.count();
    while (low < high) {
        std::uint32_t mid = low + (high - low) / 2;
        int c = compare(leaf.key(mid), probe);
        if (c < 0) {
            low = mid + 1;
        } else if (c > 0) {
            high = mid;
        } else {
            return LeafView::Search{mid, true};
        }
    }
    return LeafView::Search{low, false};
}

template <typename Compare>
std::uint32_t branch_find(const BranchView& branch, std::span<const std::byte> probe,
                          Compare compare) {
    std::uint32_t low = 0;
    std::uint32_t high = branch.key_count();
    while (low < high) {
        std::uint32_t mid = low + (high - low) / 2;
        if (compare(branch.key(mid), probe) < 0) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return low;
}

/// The first eight bytes of `key`, zero-padded, as a big-endian word: for the bytewise order,
/// prefix(a) < prefix(b) implies a < b, and a > b likewise; equal prefixes decide nothing.
inline std::uint64_t key_prefix(std::span<const std::byte> key) noexcept {
    std::uint64_t x = 0;
    if (!key.empty()) {
        std::memcpy(&x, key.data(), key.size() < 8 ? key.size() : 8);
    }
    return __builtin_bswap64(x);
}

/// branch_find for the bytewise order over the branch's search index: the key bytes are read
/// only when a separator's prefix equals the probe's.
std::uint32_t branch_find_indexed(const BranchView& branch, const std::uint64_t* index,
                                  std::span<const std::byte> probe) {
    const std::uint64_t p = key_prefix(probe);
    std::uint32_t low = 0;
    std::uint32_t high = branch.key_count();
    while (low < high) {
        std::uint32_t mid = low + (high - low) / 2;
        std::uint64_t s = index[mid];
        bool less = s < p || (s == p && compare_bytes_inline(branch.key(mid), probe) < 0);
        if (less) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return low;
}

}  // namespace

std::unique_ptr<std::uint64_t[]> BranchView::build_search_index() const {
    auto index = std::make_unique_for_overwrite<std::uint64_t[]>(keys_);
    for (std::uint32_t i = 0; i < keys_; ++i) {
        index[i] = key_prefix(key(i));
    }
    return index;
}

LeafView::Search LeafView::search(std::span<const std::byte> probe, KeyCompare compare) const {
    if (compare == &compare_bytes) {
        return leaf_search(*this, probe, compare_bytes_inline);
    }
    return leaf_search(*this, probe, compare);
}

Result<BranchView> BranchView::parse(std::span<const std::byte> block, PageNumber page) {
    if (block.size() < kBranchHeaderSize || page_type(block) != kBranchType ||
        block[1] != std::byte{0} || util::load_le32(block.data() + 4) != 0) {
        return corrupted(page);
    }
    const std::byte* data = block.data();
    std::uint32_t k = util::load_le16(data + 2);
    std::uint64_t keys_begin = branch_size(std::uint64_t{k} + 1, 0);
    if (k == 0 || k > kMaxBranchKeys || keys_begin > block.size()) {
        return corrupted(page);
    }
    BranchView view;
    view.data_ = data;
    view.keys_ = k;
    std::uint64_t previous = keys_begin;
    for (std::uint32_t i = 0; i < k; ++i) {
        std::uint32_t end = view.key_end(i);
        if (end < previous || end > block.size()) {
            return corrupted(page);
        }
        previous = end;
    }
    for (std::uint32_t i = 0; i <= k; ++i) {
        if (!view.child(i).is_valid()) {
            return corrupted(page);
        }
    }
    return view;
}

std::uint32_t BranchView::find_child(std::span<const std::byte> probe, KeyCompare compare) const {
    if (compare == &compare_bytes) {
        if (index_ != nullptr) {
            return branch_find_indexed(*this, index_, probe);
        }
        return branch_find(*this, probe, compare_bytes_inline);
    }
    return branch_find(*this, probe, compare);
}

void EntrySeq::add_range(const LeafView& view, std::uint32_t begin, std::uint32_t end) {
    if (begin == end) {
        return;
    }
    RINGDB_ASSERT(run_count_ < runs_.size() && begin < end && end <= view.count());
    runs_[run_count_++] = Run{view, begin, end, false, {}, {}};
    count_ += end - begin;
}

void EntrySeq::add_entry(std::span<const std::byte> key, std::span<const std::byte> value) {
    RINGDB_ASSERT(run_count_ < runs_.size());
    runs_[run_count_++] = Run{LeafView{}, 0, 1, true, key, value};
    count_ += 1;
}

void leaf_prefix_sizes(const EntrySeq& seq, std::vector<std::uint64_t>& prefix) {
    prefix.clear();
    prefix.push_back(0);
    std::uint64_t total = 0;
    seq.for_each(0, seq.count(), [&](std::span<const std::byte> k, std::span<const std::byte> v) {
        total += k.size() + v.size() + 8;
        prefix.push_back(total);
    });
}

namespace {

bool leaf_fits(const std::vector<std::uint64_t>& prefix, std::uint32_t first, std::uint32_t last,
               std::uint32_t page_size) {
    return last - first <= kMaxLeafEntries &&
           kLeafHeaderSize + prefix[last] - prefix[first] <= page_size;
}

void partition_leaf_range(const std::vector<std::uint64_t>& prefix, std::uint32_t page_size,
                          std::uint32_t first, std::uint32_t last,
                          std::vector<std::uint32_t>& ends, std::uint32_t depth) {
    RINGDB_ASSERT(depth < kMaxDepth);
    if (last - first == 1 || leaf_fits(prefix, first, last, page_size)) {
        ends.push_back(last);
        return;
    }
    // The left half ends at the first entry where the accumulated bytes reach half.
    std::uint64_t half = prefix[first] + (prefix[last] - prefix[first] + 1) / 2;
    auto it = std::lower_bound(prefix.begin() + first + 1, prefix.begin() + last, half);
    auto split = static_cast<std::uint32_t>(it - prefix.begin());
    split = std::clamp(split, first + 1, last - 1);
    partition_leaf_range(prefix, page_size, first, split, ends, depth + 1);
    partition_leaf_range(prefix, page_size, split, last, ends, depth + 1);
}

}  // namespace

void partition_leaf(const std::vector<std::uint64_t>& prefix, std::uint32_t page_size,
                    std::vector<std::uint32_t>& ends, LeafSplit split) {
    ends.clear();
    RINGDB_ASSERT(prefix.size() >= 2);
    const auto count = static_cast<std::uint32_t>(prefix.size() - 1);
    if (split == LeafSplit::halves) {
        partition_leaf_range(prefix, page_size, 0, count, ends, 0);
        return;
    }
    // Greedy: each piece takes as many entries as fit (at least one). This is also the
    // partition with the fewest pieces.
    std::uint32_t first = 0;
    while (first < count) {
        std::uint32_t last = first + 1;
        while (last < count && leaf_fits(prefix, first, last + 1, page_size)) {
            ++last;
        }
        ends.push_back(last);
        first = last;
    }
}

std::uint32_t write_leaf(std::span<std::byte> target, const EntrySeq& seq, std::uint32_t first,
                         std::uint32_t last) {
    RINGDB_ASSERT(first < last && last - first <= kMaxLeafEntries);
    std::uint32_t n = last - first;
    std::uint64_t payload = 0;
    seq.for_each(first, last, [&](std::span<const std::byte> k, std::span<const std::byte> v) {
        payload += k.size() + v.size();
    });
    std::uint32_t used = to_u32(leaf_size(n, payload));
    RINGDB_ASSERT(used <= target.size());
    std::byte* d = target.data();
    d[0] = std::byte{kLeafType};
    d[1] = std::byte{0};
    util::store_le16(d + 2, static_cast<std::uint16_t>(n));
    // Keys are written from the end of the offset arrays, values after all keys.
    std::uint64_t key_pos = leaf_size(n, 0);
    std::uint64_t key_total = 0;
    seq.for_each(first, last, [&](std::span<const std::byte> k, std::span<const std::byte>) {
        key_total += k.size();
    });
    std::uint64_t value_pos = key_pos + key_total;
    std::uint32_t i = 0;
    seq.for_each(first, last, [&](std::span<const std::byte> k, std::span<const std::byte> v) {
        if (!k.empty()) {
            std::memcpy(d + key_pos, k.data(), k.size());
        }
        key_pos += k.size();
        util::store_le32(d + kLeafHeaderSize + 4 * i, to_u32(key_pos));
        if (!v.empty()) {
            std::memcpy(d + value_pos, v.data(), v.size());
        }
        value_pos += v.size();
        util::store_le32(d + kLeafHeaderSize + 4 * n + 4 * i, to_u32(value_pos));
        ++i;
    });
    return used;
}

void leaf_insert_in_place(std::span<std::byte> block, std::uint32_t i,
                          std::span<const std::byte> key, std::span<const std::byte> value) {
    std::byte* d = block.data();
    std::uint32_t n = util::load_le16(d + 2);
    RINGDB_ASSERT(page_type(block) == kLeafType && n >= 1 && n < kMaxLeafEntries && i <= n);
    auto ke = [&](std::uint32_t j) { return util::load_le32(d + kLeafHeaderSize + 4 * j); };
    auto ve = [&](std::uint32_t j) { return util::load_le32(d + kLeafHeaderSize + 4 * n + 4 * j); };
    const std::uint32_t kl = to_u32(key.size());
    const std::uint32_t vl = to_u32(value.size());
    const std::uint32_t header = kLeafHeaderSize + 8 * n;
    const std::uint32_t key_start = i == 0 ? header : ke(i - 1);
    const std::uint32_t keys_end = ke(n - 1);
    const std::uint32_t value_start = i == 0 ? keys_end : ve(i - 1);
    const std::uint32_t values_end = ve(n - 1);
    RINGDB_ASSERT(std::uint64_t{values_end} + 8 + kl + vl <= block.size());

    // Every region moves right; move the highest first so no source is overwritten early.
    std::memmove(d + value_start + 8 + kl + vl, d + value_start, values_end - value_start);
    if (vl != 0) {
        std::memcpy(d + value_start + 8 + kl, value.data(), vl);
    }
    std::memmove(d + keys_end + 8 + kl, d + keys_end, value_start - keys_end);
    std::memmove(d + key_start + 8 + kl, d + key_start, keys_end - key_start);
    if (kl != 0) {
        std::memcpy(d + key_start + 8, key.data(), kl);
    }
    std::memmove(d + header + 8, d + header, key_start - header);

    // Offsets: the value array moves right by 4 (written top-down, reading below each write),
    // then the key array, whose new last slot covers the old first value offset.
    const std::uint32_t new_keys_end = keys_end + 8 + kl;
    for (std::uint32_t j = n + 1; j-- > 0;) {
        std::uint32_t end = 0;
        if (j < i) {
            end = ve(j) + 8 + kl;
        } else if (j == i) {
            end = (i == 0 ? new_keys_end : ve(i - 1) + 8 + kl) + vl;
        } else {
            end = ve(j - 1) + 8 + kl + vl;
        }
        util::store_le32(d + kLeafHeaderSize + 4 * (n + 1) + 4 * j, end);
    }
    for (std::uint32_t j = n + 1; j-- > 0;) {
        std::uint32_t end = 0;
        if (j < i) {
            end = ke(j) + 8;
        } else if (j == i) {
            end = (i == 0 ? header + 8 : ke(i - 1) + 8) + kl;
        } else {
            end = ke(j - 1) + 8 + kl;
        }
        util::store_le32(d + kLeafHeaderSize + 4 * j, end);
    }
    util::store_le16(d + 2, static_cast<std::uint16_t>(n + 1));
}

void leaf_remove_in_place(std::span<std::byte> block, std::uint32_t i) {
    std::byte* d = block.data();
    std::uint32_t n = util::load_le16(d + 2);
    RINGDB_ASSERT(page_type(block) == kLeafType && n >= 2 && i < n);
    auto ke = [&](std::uint32_t j) { return util::load_le32(d + kLeafHeaderSize + 4 * j); };
    auto ve = [&](std::uint32_t j) { return util::load_le32(d + kLeafHeaderSize + 4 * n + 4 * j); };
    const std::uint32_t header = kLeafHeaderSize + 8 * n;
    const std::uint32_t key_start = i == 0 ? header : ke(i - 1);
    const std::uint32_t key_end = ke(i);
    const std::uint32_t keys_end = ke(n - 1);
    const std::uint32_t value_start = i == 0 ? keys_end : ve(i - 1);
    const std::uint32_t value_end = ve(i);
    const std::uint32_t values_end = ve(n - 1);
    const std::uint32_t kl = key_end - key_start;
    const std::uint32_t vl = value_end - value_start;

    // Offsets first, bottom-up: the new arrays lie below the old ones' unread slots.
    for (std::uint32_t j = 0; j + 1 < n; ++j) {
        std::uint32_t end = j < i ? ke(j) - 8 : ke(j + 1) - 8 - kl;
        util::store_le32(d + kLeafHeaderSize + 4 * j, end);
    }
    for (std::uint32_t j = 0; j + 1 < n; ++j) {
        std::uint32_t end = j < i ? ve(j) - 8 - kl : ve(j + 1) - 8 - kl - vl;
        util::store_le32(d + kLeafHeaderSize + 4 * (n - 1) + 4 * j, end);
    }
    // Every region moves left; move the lowest first.
    std::memmove(d + header - 8, d + header, key_start - header);
    std::memmove(d + key_start - 8, d + key_end, keys_end - key_end);
    std::memmove(d + keys_end - 8 - kl, d + keys_end, value_start - keys_end);
    std::memmove(d + value_start - 8 - kl, d + value_end, values_end - value_end);
    const std::uint32_t new_end = values_end - 8 - kl - vl;
    std::memset(d + new_end, 0, values_end - new_end);
    util::store_le16(d + 2, static_cast<std::uint16_t>(n - 1));
}

std::uint64_t branch_items_size(std::span<const BranchItem> items) noexcept {
    std::uint64_t keys = 0;
    for (std::size_t j = 0; j + 1 < items.size(); ++j) {
        keys += items[j].key.size();
    }
    return branch_size(items.size(), keys);
}

namespace {

void partition_branch_range(std::span<const BranchItem> items, std::uint32_t page_size,
                            std::uint32_t first, std::uint32_t last,
                            std::vector<std::uint32_t>& ends, std::uint32_t depth) {
    RINGDB_ASSERT(depth < kMaxDepth && last - first >= 2);
    std::uint32_t n = last - first;
    std::uint64_t size = branch_items_size(items.subspan(first, n));
    if (n < 4 || (size <= page_size && n - 1 <= kMaxBranchKeys)) {
        ends.push_back(last);
        return;
    }
    // The left piece is [first, split]; the key of item `split` moves up. Each side keeps at
    // least two children, so split lies in [first + 1, last - 3].
    std::uint64_t accumulated = kBranchHeaderSize;
    std::uint32_t split = first + 1;
    for (std::uint32_t j = first; j + 3 <= last; ++j) {
        accumulated += 28 + items[j].key.size();
        split = j;
        if (accumulated * 2 >= size) {
            break;
        }
    }
    split = std::clamp(split, first + 1, last - 3);
    partition_branch_range(items, page_size, first, split + 1, ends, depth + 1);
    partition_branch_range(items, page_size, split + 1, last, ends, depth + 1);
}

}  // namespace

void partition_branch(std::span<const BranchItem> items, std::uint32_t page_size,
                      std::vector<std::uint32_t>& ends) {
    ends.clear();
    partition_branch_range(items, page_size, 0, static_cast<std::uint32_t>(items.size()), ends,
                           0);
}

std::uint32_t write_branch(std::span<std::byte> target, std::span<const BranchItem> items) {
    RINGDB_ASSERT(items.size() >= 2 && items.size() - 1 <= kMaxBranchKeys);
    std::uint32_t used = to_u32(branch_items_size(items));
    RINGDB_ASSERT(used <= target.size());
    auto k = static_cast<std::uint32_t>(items.size() - 1);
    std::byte* d = target.data();
    d[0] = std::byte{kBranchType};
    d[1] = std::byte{0};
    util::store_le16(d + 2, static_cast<std::uint16_t>(k));
    util::store_le32(d + 4, 0);
    const std::uint32_t children = kBranchHeaderSize + 16 * (k + 1);
    const std::uint32_t key_ends = kBranchHeaderSize + 24 * (k + 1);
    std::uint32_t key_pos = key_ends + 4 * k;
    for (std::uint32_t j = 0; j <= k; ++j) {
        util::store_checksum(d + kBranchHeaderSize + 16 * j, items[j].checksum);
        util::store_le64(d + children + 8 * j, items[j].child.raw());
        if (j < k) {
            std::span<const std::byte> key = items[j].key;
            if (!key.empty()) {
                std::memcpy(d + key_pos, key.data(), key.size());
            }
            key_pos += to_u32(key.size());
            util::store_le32(d + key_ends + 4 * j, key_pos);
        }
    }
    RINGDB_ASSERT(key_pos == used);
    return used;
}

void append_branch_items(const BranchView& view, std::vector<BranchItem>& items) {
    for (std::uint32_t j = 0; j < view.child_count(); ++j) {
        std::span<const std::byte> key;
        if (j < view.key_count()) {
            key = view.key(j);
        }
        items.push_back(BranchItem{view.child(j), view.child_checksum(j), key});
    }
}

}  // namespace ringdb::engine
