#pragma once
// The page sets a B-tree sees inside a transaction (TreePages implementations).
//
// WritePages belongs to a write transaction: blocks it allocates are dirty, held in memory and
// modifiable in place until commit hands them to the page store; committed blocks it stops
// using are recorded as freed by this transaction. Thread-safe (one write transaction may be
// used from several threads, one table per thread).
//
// SnapshotPages belongs to a read transaction: committed pages only, through the shared cache.

#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/btree/tree_pages.hpp"
#include "engine/page_store/page_store.hpp"

namespace ringdb::engine {

class WritePages final : public TreePages {
public:
    explicit WritePages(PageStore& store) noexcept : store_(store) {}
    ~WritePages() override;

    std::uint32_t page_size() const noexcept override { return store_.page_size(); }
    PageRef try_read(PageNumber page) override;
    const PageRef* try_borrow(PageNumber page, PageRef& holder) override;
    Task<Result<PageRef>> read(PageNumber page) override;
    Result<std::pair<PageNumber, MutPageRef>> allocate(std::size_t bytes) override;
    MutPageRef writable(PageNumber page) override;
    bool is_dirty(PageNumber page) const override;
    void free(PageNumber page) override;

    /// The dirty blocks with their images, for commit; the set is emptied (the blocks now
    /// belong to the commit).
    std::vector<std::pair<PageNumber, PageRef>> take_dirty();
    /// Committed blocks freed by this transaction since the last call.
    std::vector<PageNumber> take_freed();
    std::size_t dirty_count() const;
    std::size_t freed_count() const;
    /// Returns every dirty block to the allocator and forgets the freed list (abort).
    void rollback();

private:
    PageStore& store_;
    mutable std::mutex mutex_;
    std::unordered_map<PageNumber, MutPageRef> dirty_;  // guarded by mutex_
    std::vector<PageNumber> freed_;                     // guarded by mutex_
};

class SnapshotPages final : public TreePages {
public:
    explicit SnapshotPages(PageStore& store) noexcept : store_(store) {}

    std::uint32_t page_size() const noexcept override { return store_.page_size(); }
    PageRef try_read(PageNumber page) override { return store_.try_read(page); }
    const PageRef* try_borrow(PageNumber page, PageRef& holder) override {
        return store_.try_borrow(page, holder);
    }
    Task<Result<PageRef>> read(PageNumber page) override { return store_.read(page); }
    Result<std::pair<PageNumber, MutPageRef>> allocate(std::size_t) override {
        return Error{Errc::invalid_argument};
    }
    MutPageRef writable(PageNumber) override { return nullptr; }
    bool is_dirty(PageNumber) const override { return false; }
    void free(PageNumber) override {}

private:
    PageStore& store_;
};

}  // namespace ringdb::engine
