#pragma once
// PageCache: committed pages shared by every thread.
//
// - Sharded by page number; each shard has its own mutex and LRU list, and an equal share of
//   the byte budget. Mutexes are held for map and list updates only, never across I/O.
// - Bounded: inserting past a shard's budget evicts its least recently used pages. An evicted
//   page stays alive for as long as a reader or guard still holds it.
// - Concurrent misses on one page are coalesced: the first reader loads it, later ones wait on
//   the same in-flight load (asynchronously) and share its result.
// - Entries are immutable pages of committed trees. A block that is freed and reallocated is
//   erased by the page store when it is allocated again, so a stale image is never served.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

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
};

class PageCache {
public:
    static constexpr std::size_t kShards = 16;

    explicit PageCache(std::uint64_t capacity_bytes);
    PageCache(const PageCache&) = delete;
    PageCache& operator=(const PageCache&) = delete;
    ~PageCache();

    /// The cached page, or null. Counts a hit or nothing (a miss is counted by read()).
    PageRef lookup(PageNumber page);
    /// Caches a committed page (after the commit that wrote it).
    void insert(PageNumber page, PageRef buffer);
    /// Forgets a page (its block is being reused).
    void erase(PageNumber page);
    /// Forgets everything.
    void clear();

    /// The page, from the cache or read from `device` (block of P << order bytes at
    /// index * P). Concurrent calls for one page share one device read.
    /// Errors: those of BlockDevice::read (io, previous_io, out_of_range...).
    Task<Result<PageRef>> read(io::BlockDevice& device, std::uint32_t page_size, PageNumber page);

    PageCacheStats stats() const;

private:
    struct InFlight;
    struct Shard;

    Shard& shard_for(PageNumber page) noexcept;
    static Task<Result<PageRef>> wait_for(std::shared_ptr<InFlight> flight);

    std::uint64_t capacity_bytes_;
    std::unique_ptr<Shard[]> shards_;
    std::atomic<std::uint64_t> hits_{0};
    std::atomic<std::uint64_t> misses_{0};
    std::atomic<std::uint64_t> coalesced_{0};
    std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace ringdb::engine
