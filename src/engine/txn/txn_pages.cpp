#include "engine/txn/txn_pages.hpp"

#include "util/assert.hpp"

namespace ringdb::engine {

WritePages::~WritePages() { rollback(); }

PageRef WritePages::try_read(PageNumber page) {
    {
        std::lock_guard lock(mutex_);
        auto it = dirty_.find(page);
        if (it != dirty_.end()) {
            return it->second;
        }
    }
    return store_.try_read(page);
}

const PageRef* WritePages::try_borrow(PageNumber page, PageRef& holder) {
    {
        std::lock_guard lock(mutex_);
        auto it = dirty_.find(page);
        if (it != dirty_.end()) {
            holder = it->second;  // a dirty image may be replaced (writable): hold it
            return &holder;
        }
    }
    return store_.try_borrow(page, holder);
}

Task<Result<PageRef>> WritePages::read(PageNumber page) {
    PageRef dirty = try_read(page);
    if (dirty != nullptr) {
        co_return dirty;
    }
    auto result = co_await store_.read(page);
    co_return result;
}

Result<std::pair<PageNumber, MutPageRef>> WritePages::allocate(std::size_t bytes) {
    unsigned order = order_for(bytes, store_.page_size());
    auto block = store_.allocate(order);
    if (!block) {
        return block.error();
    }
    MutPageRef buffer = PageBuffer::make(block->byte_length(store_.page_size()));
    std::lock_guard lock(mutex_);
    dirty_.emplace(*block, buffer);
    return std::pair{*block, buffer};
}

MutPageRef WritePages::writable(PageNumber page) {
    std::lock_guard lock(mutex_);
    auto it = dirty_.find(page);
    if (it == dirty_.end()) {
        return nullptr;
    }
    if (it->second.use_count() > 1) {
        // A guard or cursor still holds this image: give it the old bytes to keep and modify
        // a private copy instead.
        it->second = PageBuffer::copy_of(*it->second);
    }
    return it->second;
}

bool WritePages::is_dirty(PageNumber page) const {
    std::lock_guard lock(mutex_);
    return dirty_.count(page) != 0;
}

void WritePages::free(PageNumber page) {
    std::lock_guard lock(mutex_);
    auto it = dirty_.find(page);
    if (it != dirty_.end()) {
        dirty_.erase(it);
        store_.free(page);
        return;
    }
    freed_.push_back(page);
}

std::vector<std::pair<PageNumber, PageRef>> WritePages::take_dirty() {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<PageNumber, PageRef>> pages;
    pages.reserve(dirty_.size());
    for (auto& [number, buffer] : dirty_) {
        pages.emplace_back(number, std::move(buffer));
    }
    dirty_.clear();
    return pages;
}

std::vector<PageNumber> WritePages::take_freed() {
    std::lock_guard lock(mutex_);
    return std::exchange(freed_, {});
}

std::size_t WritePages::freed_count() const {
    std::lock_guard lock(mutex_);
    return freed_.size();
}

std::size_t WritePages::dirty_count() const {
    std::lock_guard lock(mutex_);
    return dirty_.size();
}

void WritePages::rollback() {
    std::lock_guard lock(mutex_);
    if (!store_.poisoned()) {
        for (auto& [number, buffer] : dirty_) {
            store_.free(number);
        }
    }
    dirty_.clear();
    freed_.clear();
}

}  // namespace ringdb::engine
