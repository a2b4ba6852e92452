#include "engine/txn/data_pages.hpp"

namespace ringdb::engine {

Result<std::pair<PageNumber, MutPageRef>> DataPages::allocate(std::size_t bytes) {
    auto block = base_.allocate(bytes);
    if (block && tracking()) {
        std::lock_guard lock(mutex_);
        allocated_.insert(block->first);
    }
    return block;
}

void DataPages::free(PageNumber page) {
    if (base_.is_dirty(page)) {
        if (tracking()) {
            std::lock_guard lock(mutex_);
            allocated_.erase(page);
        }
        base_.free(page);
        return;
    }
    std::lock_guard lock(mutex_);
    freed_.push_back(page);
}

std::vector<PageNumber> DataPages::take_freed() {
    std::lock_guard lock(mutex_);
    return std::exchange(freed_, {});
}

void DataPages::replace_freed(std::vector<PageNumber> pages) {
    std::lock_guard lock(mutex_);
    freed_ = std::move(pages);
}

std::vector<PageNumber> DataPages::allocated() const {
    std::lock_guard lock(mutex_);
    return std::vector<PageNumber>(allocated_.begin(), allocated_.end());
}

void DataPages::release_allocated() {
    std::unordered_set<PageNumber> pages;
    {
        std::lock_guard lock(mutex_);
        pages.swap(allocated_);
    }
    for (PageNumber page : pages) {
        base_.free(page);
    }
}

}  // namespace ringdb::engine
