// PageStore support for Database::check_integrity: re-reading the header from the device and
// comparing the live allocator with one rebuilt from the trees.

#include <algorithm>
#include <utility>
#include <vector>

#include "engine/page_store/page_store.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

/// The free pages of an allocator as sorted, merged [begin, end) ranges: two allocators with
/// the same free pages compare equal however their buddies are split.
std::vector<std::pair<std::uint64_t, std::uint64_t>> free_ranges(const BuddyAllocator& a) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    for (PageNumber block : a.free_blocks()) {
        ranges.emplace_back(block.index(), block.index() + block.pages());
    }
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<std::uint64_t, std::uint64_t>> merged;
    for (const auto& range : ranges) {
        if (!merged.empty() && merged.back().second == range.first) {
            merged.back().second = range.second;
        } else {
            merged.push_back(range);
        }
    }
    return merged;
}

}  // namespace

void PageStore::drop_cache() { cache_.clear(); }

Task<Result<DatabaseHeader>> PageStore::read_header_from_device() {
    std::size_t probe = std::max<std::size_t>(kHeaderSize, device_->alignment());
    MutPageRef buffer = PageBuffer::make(probe);
    Status read = co_await device_->read(0, buffer->bytes());
    RINGDB_CO_TRY(read);
    auto header = DatabaseHeader::decode(buffer->bytes());
    co_return header;
}

bool PageStore::allocator_matches(const BuddyAllocator& other) const {
    std::lock_guard lock(allocator_mutex_);
    return allocator_.has_value() && allocator_->layout_pages() == other.layout_pages() &&
           free_ranges(*allocator_) == free_ranges(other);
}

}  // namespace ringdb::engine
