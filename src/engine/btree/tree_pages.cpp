#include "engine/btree/tree_pages.hpp"

#include <algorithm>
#include <cstring>

namespace ringdb::engine {

int compare_bytes(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
    std::size_t n = std::min(a.size(), b.size());
    if (n != 0) {
        int c = std::memcmp(a.data(), b.data(), n);
        if (c != 0) {
            return c;
        }
    }
    if (a.size() == b.size()) {
        return 0;
    }
    return a.size() < b.size() ? -1 : 1;
}

std::coroutine_handle<> ReadPage::await_suspend(std::coroutine_handle<> h) {
    // The slow path is a task that performs the read and then transfers straight back to the
    // awaiting coroutine (its continuation), so a cache miss costs one frame and no nesting.
    slow_task_ = slow_path(this);
    auto handle = slow_task_.handle();
    handle.promise().continuation_ = h;
    return handle;
}

Result<PageRef> ReadPage::await_resume() {
    if (cached_ != nullptr) {
        return std::move(cached_);
    }
    return std::move(slow_result_);
}

Task<void> ReadPage::slow_path(ReadPage* self) {
    Result<PageRef> result = co_await self->pages_.read(self->page_);
    self->slow_result_ = std::move(result);
}

}  // namespace ringdb::engine
