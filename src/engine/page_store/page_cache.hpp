#pragma once
// PageCache: committed pages shared by every thread.
//
// - Sharded by page number. Each shard is an open-addressing hash table (linear probing,
//   backward-shift deletion, no tombstones) with CLOCK eviction: a hit sets the entry's
//   reference bit (a relaxed atomic store, and only when it is clear); eviction sweeps a hand
//   over the slots, clearing set bits and evicting the first entry found clear. Each shard has
//   an equal share of the byte budget.
// - Hits are cheap: a shared (reader) lock, one probe sequence, one PageRef copy; no allocation,
//   no list splicing. Inserts, erases and evictions take the shard's lock exclusively. Locks
//   are never held across I/O.
// - A per-thread front table (two-way set associative, kFrontSlots entries) remembers the hot
//   pages (PageBuffer::hot(): B-tree branches) this thread hit last, so the upper levels of
//   every tree are served without touching a shared lock or a reference count at all (see
//   borrow()). Leaves never enter it: a stream of random leaves would evict the branches.
//   Front entries are tagged with the cache's epoch, which every erase (found or not),
//   replacing insert and clear() advances, so a front entry is never used after its page was
//   erased or replaced. A front entry may keep an evicted page alive until the thread
//   overwrites it (at most kFrontSlots pages per thread); that is harmless until the block is
//   reused, and reuse erases it first.
// - Bounded: inserting past a shard's budget evicts. An evicted page stays alive for as long
//   as a reader or guard still holds it.
// - Concurrent misses on one page are coalesced: the first reader loads it, later ones wait on
//   the same in-flight load (asynchronously) and share its result.
// - Entries are immutable pages of committed trees. A block that is freed and reallocated is
//   erased by the page store when it is allocated again, so a stale image is never served.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/page_store/page_buffer.hpp"
#include "engine/page_store/page_number.hpp"
#include "io/block_device.hpp"

namespace ringdb::engine {

struct PageCacheStats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t coalesced = 0;  // misses that waited for another reader's load
    std::uint64_t evictions = 0;
    std::uint64_t used_bytes = 0;
    std::uint64_t capacity_bytes = 0;
    std::uint64_t entries = 0;
};

class PageCache {
public:
    static constexpr std::size_t kShards = 16;
    static constexpr std::size_t kFrontSlots = 2048;

    explicit PageCache(std::uint64_t capacity_bytes);
    PageCache(const PageCache&) = delete;
    PageCache& operator=(const PageCache&) = delete;
    ~PageCache();

    /// The cached page, or null. Counts a hit or nothing (a miss is counted by read()).
    PageRef lookup(PageNumber page);
    /// As lookup(), without taking a reference on a front-table hit: the returned pointer is
    /// either this thread's front entry or `holder` (filled on a hit in the shared table). It
    /// stays valid until this thread's next call into this cache, or for as long as `holder`
    /// keeps it; copy the PageRef to keep the page longer. Null on a miss.
    const PageRef* borrow(PageNumber page, PageRef& holder);
    /// A hint for a lookup coming soon, so a scan overlaps its memory misses with work: starts
    /// loading the page's table slot into the CPU's caches or, with `bytes` > 0, finds the page
    /// (if cached) and starts loading its first `bytes` bytes. Changes nothing, counts nothing.
    void prefetch(PageNumber page, std::size_t bytes);
    /// Caches a committed page (after the commit that wrote it).
    void insert(PageNumber page, PageRef buffer);
    /// Forgets a page (its block is being reused).
    void erase(PageNumber page);
    /// Forgets several pages (blocks no snapshot can reach any more), advancing the epoch once.
    void erase(std::span<const PageNumber> pages);
    /// Forgets everything.
    void clear();

    /// The page, from the cache or read from `device` (block of P << order bytes at
    /// index * P). Concurrent calls for one page share one device read.
    /// With `uncached`, a miss reads through BlockDevice::read_uncached (recovery).
    /// Errors: those of BlockDevice::read (io, previous_io, out_of_range...).
    Task<Result<PageRef>> read(io::BlockDevice& device, std::uint32_t page_size, PageNumber page,
                               bool uncached = false);
    /// Loads `pages` (base pages in ascending order, spanning at most kMaxSpanPages of the
    /// file from the first to the last) into the cache, those not cached and not being
    /// loaded already, with ONE vectored device read over the whole span: the pages in
    /// between that are not loaded here (gaps, pages cached or being loaded) are read into a
    /// scratch page and dropped. `direct` as BlockDevice::read_vectored. Readers of the
    /// loaded pages meanwhile wait for this load, as for read(). For readahead: the pages are
    /// not returned. Errors: the device's (the pages are then not cached).
    Task<Status> read_span(io::BlockDevice& device, std::uint32_t page_size,
                           std::span<const PageNumber> pages, bool direct);
    static constexpr std::uint32_t kMaxSpanPages = 256;

    PageCacheStats stats() const;
    std::uint64_t capacity_bytes() const noexcept { return capacity_bytes_; }

private:
    struct InFlight;
    struct Shard;
    /// A counter updated by many threads: one padded cell per thread stripe.
    struct StripedCounter;

    Shard& shard_for(PageNumber page) noexcept;
    /// Hit in the shared table: the page (into `holder`), remembered in the front table if hot.
    /// Returns the front entry's ref when it was remembered, else &holder; null on a miss.
    const PageRef* shard_lookup(Shard& shard, PageNumber page, std::uint64_t epoch,
                                PageRef& holder);
    static Task<Result<PageRef>> wait_for(std::shared_ptr<InFlight> flight);
    /// Registers this thread as the loader of `page` unless it is cached or being loaded.
    std::shared_ptr<InFlight> claim(PageNumber page);
    /// Ends the load of `page`: caches `buffer` if `status` is ok, wakes its waiters.
    void finish_load(PageNumber page, const std::shared_ptr<InFlight>& flight,
                     const MutPageRef& buffer, const Status& status);

    const std::uint64_t id_;  // distinguishes caches in the per-thread front tables
    std::uint64_t capacity_bytes_;
    std::unique_ptr<Shard[]> shards_;
    std::unique_ptr<StripedCounter> hits_;
    std::atomic<std::uint64_t> epoch_{1};
    std::atomic<std::uint64_t> misses_{0};
    std::atomic<std::uint64_t> coalesced_{0};
    std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace ringdb::engine
