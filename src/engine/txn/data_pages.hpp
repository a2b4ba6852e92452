#pragma once
// DataPages: the user side of a write transaction's pages (the user table tree and the user
// tables), a view over the transaction's WritePages.
//
// It keeps the pages these trees free apart from those the system trees free, because the two
// go to different system tables (`freed` and `system_freed`, docs/design.md section 7): a
// savepoint restore rewrites the history of data pages only. While allocation tracking is on
// (a savepoint exists), it also records which blocks the user trees allocated and still hold,
// for the `allocated` table and for a restore in this transaction.
//
// Thread-safe like WritePages (tables of one transaction may be used from several threads).

#include <atomic>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "engine/btree/tree_pages.hpp"
#include "engine/txn/txn_pages.hpp"

namespace ringdb::engine {

class DataPages final : public TreePages {
public:
    explicit DataPages(WritePages& base) noexcept : base_(base) {}

    std::uint32_t page_size() const noexcept override { return base_.page_size(); }
    PageRef try_read(PageNumber page) override { return base_.try_read(page); }
    PageRef try_read_flagged(PageNumber page, bool& dirty) override {
        return base_.try_read_flagged(page, dirty);
    }
    const PageBuffer* try_peek(PageNumber page, PageRef& holder, bool& dirty) override {
        return base_.try_peek(page, holder, dirty);
    }
    Task<Result<PageRef>> read(PageNumber page) override { return base_.read(page); }
    Result<std::pair<PageNumber, MutPageRef>> allocate(std::size_t bytes) override;
    MutPageRef writable(PageNumber page) override { return base_.writable(page); }
    bool is_dirty(PageNumber page) const override { return base_.is_dirty(page); }
    /// A dirty block goes back to the allocator at once; a committed one joins freed().
    void free(PageNumber page) override;

    /// Starts or stops recording allocations (decided once per transaction).
    void set_tracking(bool on) noexcept { tracking_.store(on, std::memory_order_relaxed); }
    bool tracking() const noexcept { return tracking_.load(std::memory_order_relaxed); }

    /// Committed data blocks freed by this transaction so far; the list is emptied.
    std::vector<PageNumber> take_freed();
    /// Replaces the freed list (a savepoint restore).
    void replace_freed(std::vector<PageNumber> pages);
    /// The dirty data blocks allocated while tracking was on, still held.
    std::vector<PageNumber> allocated() const;
    /// Returns every tracked dirty block to the allocator (a savepoint restore discards this
    /// transaction's data changes) and clears the set.
    void release_allocated();

private:
    WritePages& base_;
    std::atomic<bool> tracking_{false};
    mutable std::mutex mutex_;
    std::vector<PageNumber> freed_;               // guarded by mutex_
    std::unordered_set<PageNumber> allocated_;    // guarded by mutex_
};

}  // namespace ringdb::engine
