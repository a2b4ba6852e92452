#include "engine/page_store/page_cache.hpp"

#include "coro/event.hpp"
#include "util/assert.hpp"

namespace ringdb::engine {

struct PageCache::InFlight {
    coro::Event done;
    Result<PageRef> result = Error{Errc::io};
};

struct PageCache::Shard {
    struct Entry {
        PageRef page;
        std::list<PageNumber>::iterator position;
    };

    std::mutex mutex;
    std::unordered_map<PageNumber, Entry> entries;     // guarded by mutex
    std::list<PageNumber> lru;                         // front = most recent; guarded by mutex
    std::unordered_map<PageNumber, std::shared_ptr<InFlight>> loading;  // guarded by mutex
    std::uint64_t used_bytes = 0;                      // guarded by mutex
    std::uint64_t capacity_bytes = 0;

    // REQUIRES: mutex held.
    std::uint64_t evict_to_fit(std::uint64_t incoming) {
        std::uint64_t evicted = 0;
        while (!lru.empty() && used_bytes + incoming > capacity_bytes) {
            PageNumber victim = lru.back();
            lru.pop_back();
            auto it = entries.find(victim);
            RINGDB_ASSERT(it != entries.end());
            used_bytes -= it->second.page->size();
            entries.erase(it);
            ++evicted;
        }
        return evicted;
    }

    // REQUIRES: mutex held.
    void put(PageNumber page, PageRef buffer, std::atomic<std::uint64_t>& evictions) {
        auto existing = entries.find(page);
        if (existing != entries.end()) {
            used_bytes -= existing->second.page->size();
            lru.erase(existing->second.position);
            entries.erase(existing);
        }
        if (buffer->size() > capacity_bytes) {
            return;  // larger than the whole shard: not cached
        }
        evictions.fetch_add(evict_to_fit(buffer->size()), std::memory_order_relaxed);
        lru.push_front(page);
        used_bytes += buffer->size();
        entries.emplace(page, Entry{std::move(buffer), lru.begin()});
    }
};

PageCache::PageCache(std::uint64_t capacity_bytes)
    : capacity_bytes_(capacity_bytes), shards_(new Shard[kShards]) {
    for (std::size_t i = 0; i < kShards; ++i) {
        shards_[i].capacity_bytes = capacity_bytes / kShards;
    }
}

PageCache::~PageCache() = default;

PageCache::Shard& PageCache::shard_for(PageNumber page) noexcept {
    std::uint64_t x = page.raw() * 0x9E3779B97F4A7C15ULL;
    return shards_[(x >> 32) % kShards];
}

PageRef PageCache::lookup(PageNumber page) {
    Shard& shard = shard_for(page);
    std::lock_guard lock(shard.mutex);
    auto it = shard.entries.find(page);
    if (it == shard.entries.end()) {
        return nullptr;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second.position);
    hits_.fetch_add(1, std::memory_order_relaxed);
    return it->second.page;
}

void PageCache::insert(PageNumber page, PageRef buffer) {
    Shard& shard = shard_for(page);
    std::lock_guard lock(shard.mutex);
    shard.put(page, std::move(buffer), evictions_);
}

void PageCache::erase(PageNumber page) {
    Shard& shard = shard_for(page);
    std::lock_guard lock(shard.mutex);
    auto it = shard.entries.find(page);
    if (it != shard.entries.end()) {
        shard.used_bytes -= it->second.page->size();
        shard.lru.erase(it->second.position);
        shard.entries.erase(it);
    }
}

void PageCache::clear() {
    for (std::size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        shards_[i].entries.clear();
        shards_[i].lru.clear();
        shards_[i].used_bytes = 0;
    }
}

Task<Result<PageRef>> PageCache::wait_for(std::shared_ptr<InFlight> flight) {
    co_await flight->done.wait();
    co_return flight->result;
}

Task<Result<PageRef>> PageCache::read(io::BlockDevice& device, std::uint32_t page_size,
                                      PageNumber page) {
    Shard& shard = shard_for(page);
    std::shared_ptr<InFlight> flight;
    bool leader = false;
    {
        std::lock_guard lock(shard.mutex);
        auto hit = shard.entries.find(page);
        if (hit != shard.entries.end()) {
            shard.lru.splice(shard.lru.begin(), shard.lru, hit->second.position);
            hits_.fetch_add(1, std::memory_order_relaxed);
            co_return hit->second.page;
        }
        auto loading = shard.loading.find(page);
        if (loading != shard.loading.end()) {
            flight = loading->second;
        } else {
            flight = std::make_shared<InFlight>();
            shard.loading.emplace(page, flight);
            leader = true;
        }
    }
    if (!leader) {
        coalesced_.fetch_add(1, std::memory_order_relaxed);
        auto shared = co_await wait_for(std::move(flight));
        co_return shared;
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    MutPageRef buffer = PageBuffer::make(page.byte_length(page_size));
    Status status = co_await device.read(page.byte_offset(page_size), buffer->bytes());
    {
        std::lock_guard lock(shard.mutex);
        shard.loading.erase(page);
        if (status) {
            flight->result = PageRef(buffer);
            shard.put(page, buffer, evictions_);
        } else {
            flight->result = status.error();
        }
    }
    flight->done.set();
    if (!status) {
        co_return status.error();
    }
    co_return PageRef(std::move(buffer));
}

PageCacheStats PageCache::stats() const {
    PageCacheStats s;
    s.hits = hits_.load(std::memory_order_relaxed);
    s.misses = misses_.load(std::memory_order_relaxed);
    s.coalesced = coalesced_.load(std::memory_order_relaxed);
    s.evictions = evictions_.load(std::memory_order_relaxed);
    s.capacity_bytes = capacity_bytes_;
    for (std::size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        s.used_bytes += shards_[i].used_bytes;
    }
    return s;
}

}  // namespace ringdb::engine
