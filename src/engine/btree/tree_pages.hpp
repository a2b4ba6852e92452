#pragma once
// TreePages: what a B-tree needs from the transaction it lives in.
//
// A B-tree never talks to the page store directly. Its transaction gives it committed pages
// (through the shared page cache) and the blocks it allocated itself (dirty pages, owned by the
// write transaction until commit). A read transaction's TreePages refuses to allocate.
//
// Reading is split into a synchronous fast path and an asynchronous slow path so that a step on
// a cached page costs no coroutine frame (docs/coroutines.md rule 7):
//   PageRef page = pages.try_read(pn);
//   if (!page) { RINGDB_CO_TRY_ASSIGN(page, co_await pages.read(pn)); }
// ReadPage below packages exactly that as one awaitable; bind it to a named local before
// awaiting it (`ReadPage read{pages, pn}; auto page = co_await read;`), as docs/coroutines.md
// rule 2 asks for objects with non-trivial members.
//
// Guarantees the B-tree relies on: try_read() never returns null for a dirty page; writable()
// returns null only for committed pages; allocate(bytes) returns a block of order
// order_for(bytes, P) with a buffer object no guard can hold yet.
//
// Errors: read() returns Errc::corrupted for a page number that is not a valid block inside the
// layout (data from disk is input), Errc::io / previous_io for device failures. allocate()
// returns Errc::no_space when the file cannot grow, Errc::invalid_argument in a read-only
// transaction.

#include <cstddef>
#include <coroutine>
#include <cstdint>
#include <span>
#include <utility>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/page_store/header.hpp"
#include "engine/page_store/page_buffer.hpp"
#include "engine/page_store/page_number.hpp"

namespace ringdb::engine {

/// Total order of encoded keys: negative, zero or positive like memcmp.
using KeyCompare = int (*)(std::span<const std::byte> a, std::span<const std::byte> b);

/// Bytewise order, for table trees and system tables.
int compare_bytes(std::span<const std::byte> a, std::span<const std::byte> b) noexcept;

class TreePages {
public:
    TreePages() = default;
    TreePages(const TreePages&) = delete;
    TreePages& operator=(const TreePages&) = delete;
    virtual ~TreePages() = default;

    /// Base page size P.
    virtual std::uint32_t page_size() const noexcept = 0;

    /// The page if it is dirty in this transaction or in the cache; null otherwise (then call
    /// read()). Never does I/O.
    virtual PageRef try_read(PageNumber page) = 0;
    /// As try_read, and sets `dirty` to is_dirty(page), with one lookup where the
    /// implementation can (a write transaction's dirty set).
    virtual PageRef try_read_flagged(PageNumber page, bool& dirty) {
        dirty = is_dirty(page);
        return try_read(page);
    }
    /// As try_read, but may answer without taking a reference: the result points either at
    /// `holder` or at a reference owned elsewhere that stays valid until this thread's next
    /// page access (any call on any TreePages or the page cache). For synchronous steps that
    /// look at a page and let go of it (a branch on the way down); copy the PageRef to keep it.
    virtual const PageRef* try_borrow(PageNumber page, PageRef& holder) {
        holder = try_read(page);
        return holder != nullptr ? &holder : nullptr;
    }
    /// For a synchronous walk that modifies at most the last page it visits (Btree::try_insert):
    /// the page's buffer if it is dirty or cached, else null; sets `dirty` like
    /// try_read_flagged. A committed page is borrowed as by try_borrow (valid until this
    /// thread's next page access; `holder` may keep it). A dirty page's buffer is returned
    /// without a reference: it stays valid until the caller's own tree operation frees the
    /// page or replaces its image (writable() while a guard holds it), which no other thread
    /// does (one operation at a time per tree, a tree's dirty pages are its own).
    virtual const PageBuffer* try_peek(PageNumber page, PageRef& holder, bool& dirty) {
        dirty = is_dirty(page);
        const PageRef* ref = try_borrow(page, holder);
        return ref != nullptr ? ref->get() : nullptr;
    }
    /// Reads a page (from the device on a cache miss).
    virtual Task<Result<PageRef>> read(PageNumber page) = 0;
    /// Readahead: loads `pages` (base pages in ascending order, close together in the file)
    /// into the cache with one read where it can, so a scan's later read() finds them. A hint:
    /// may load nothing. Errors: the device's (a later read() of a page that failed reports
    /// its own error).
    virtual Task<Status> read_span(std::span<const PageNumber> pages) {
        (void)pages;
        co_return ok();
    }
    /// How many base pages a readahead may keep in flight without evicting what it read
    /// before the scan reaches it (a quarter of the cache); unlimited where reads are not
    /// cached.
    virtual std::uint64_t readahead_budget() const noexcept { return UINT64_MAX; }
    /// A hint that `page` is about to be read (PageCache::prefetch): its cache slot, or with
    /// `bytes` > 0 its first bytes, start moving into the CPU's caches. May do nothing.
    virtual void prefetch(PageNumber page, std::size_t bytes) {
        (void)page;
        (void)bytes;
    }

    /// A new zeroed block of at least `bytes` bytes, dirty in this transaction.
    virtual Result<std::pair<PageNumber, MutPageRef>> allocate(std::size_t bytes) = 0;
    /// The buffer of a block this transaction allocated, for in-place modification; null if
    /// the block is committed (copy-on-write it instead). If someone else still holds the
    /// current buffer (a guard), it is first replaced by a private copy.
    virtual MutPageRef writable(PageNumber page) = 0;
    /// Whether `page` was allocated by this transaction (its checksum is not final yet).
    virtual bool is_dirty(PageNumber page) const = 0;
    /// Releases a block: at once if this transaction allocated it, else recorded as freed by
    /// this transaction (reclaimed once no reader can see it).
    virtual void free(PageNumber page) = 0;
};

/// Awaitable page read: ready at once on a dirty or cached page, a device read otherwise.
class ReadPage {
public:
    ReadPage(TreePages& pages, PageNumber page) noexcept : pages_(pages), page_(page) {}

    bool await_ready() {
        cached_ = pages_.try_read_flagged(page_, dirty_);
        return cached_ != nullptr;
    }
    /// After the await: whether the page is dirty in this transaction (a page that needed a
    /// device read never is).
    bool dirty() const noexcept { return dirty_; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> h);
    Result<PageRef> await_resume();

private:
    static Task<void> slow_path(ReadPage* self);

    TreePages& pages_;
    PageNumber page_;
    bool dirty_ = false;
    PageRef cached_;
    Result<PageRef> slow_result_ = Error{Errc::io};
    Task<void> slow_task_;
};

}  // namespace ringdb::engine
