#include "engine/page_store/page_cache.hpp"

#include <array>
#include <bit>
#include <mutex>
#include <shared_mutex>

#include "coro/event.hpp"
#include "util/assert.hpp"

namespace ringdb::engine {

namespace {

std::uint64_t mix(std::uint64_t raw) noexcept {
    std::uint64_t x = raw * 0x9E3779B97F4A7C15ULL;
    return x ^ (x >> 29);
}

std::atomic<std::uint64_t> g_next_cache_id{1};

/// The per-thread front table: the pages this thread hit last, tagged with their cache and
/// the cache's epoch at the time of the hit. Two-way set associative with LRU replacement, so
/// a stream of random pages (leaves) does not push out the pages every lookup passes through
/// (roots and upper branches).
struct FrontSlot {
    std::uint64_t cache_id = 0;
    std::uint64_t epoch = 0;
    std::uint64_t page = 0;
    PageRef ref;
};
struct FrontSet {
    std::array<FrontSlot, 2> ways;
    std::uint8_t victim = 0;  // the least recently used way
};
constexpr std::size_t kFrontSets = PageCache::kFrontSlots / 2;
thread_local std::array<FrontSet, kFrontSets> t_front;

FrontSet& front_set(std::uint64_t raw) noexcept { return t_front[(mix(raw) >> 20) % kFrontSets]; }

constexpr std::size_t kStripes = 16;
std::atomic<std::size_t> g_next_stripe{0};
thread_local const std::size_t t_stripe =
        g_next_stripe.fetch_add(1, std::memory_order_relaxed) % kStripes;

}  // namespace

struct PageCache::InFlight {
    coro::Event done;
    Result<PageRef> result = Error{Errc::io};
};

struct PageCache::StripedCounter {
    struct alignas(64) Cell {
        std::atomic<std::uint64_t> value{0};
    };
    std::array<Cell, kStripes> cells;

    void add() noexcept { cells[t_stripe].value.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t sum() const noexcept {
        std::uint64_t total = 0;
        for (const Cell& c : cells) {
            total += c.value.load(std::memory_order_relaxed);
        }
        return total;
    }
};

struct PageCache::Shard {
    /// 32 bytes, aligned so that a slot never straddles two cache lines: a hit costs one miss
    /// on the table. The reference bit lives in bit 0 of the data pointer (page data is 4 KiB
    /// aligned).
    struct alignas(32) Slot {
        std::uint64_t key = 0;  // PageNumber raw value; 0 = empty
        PageRef page;
        // page->data() (to prefetch the bytes on a hit) | reference bit. Readers under a shared
        // lock may set the bit (all to the same value); everything else needs the exclusive lock.
        std::atomic<std::uintptr_t> data_ref{0};

        const std::byte* data() const noexcept {
            return std::bit_cast<const std::byte*>(data_ref.load(std::memory_order_relaxed) &
                                                   ~kReferenced);
        }
        bool referenced() const noexcept {
            return (data_ref.load(std::memory_order_relaxed) & kReferenced) != 0;
        }
        void set_referenced() noexcept {
            std::uintptr_t v = data_ref.load(std::memory_order_relaxed);
            if ((v & kReferenced) == 0) {
                data_ref.store(v | kReferenced, std::memory_order_relaxed);
            }
        }
        void clear_referenced() noexcept {
            data_ref.store(data_ref.load(std::memory_order_relaxed) & ~kReferenced,
                           std::memory_order_relaxed);
        }
        static constexpr std::uintptr_t kReferenced = 1;
    };
    static_assert(sizeof(Slot) == 32);
    static_assert(PageBuffer::kAlignment > Slot::kReferenced);

    mutable std::shared_mutex mutex;
    // Everything below is guarded by mutex (a slot's reference bit may also be set under a
    // shared lock; it is atomic for that reason).
    std::unique_ptr<Slot[]> slots;
    std::size_t mask = 0;   // slot count - 1 (a power of two), 0 while unallocated
    std::size_t count = 0;
    std::size_t hand = 0;   // CLOCK hand
    std::uint64_t used_bytes = 0;
    std::uint64_t capacity_bytes = 0;
    std::unordered_map<PageNumber, std::shared_ptr<InFlight>> loading;

    std::size_t home(std::uint64_t key) const noexcept { return mix(key) & mask; }

    // REQUIRES: mutex held (shared or exclusive). Index of the slot holding key, or npos.
    static constexpr std::size_t npos = ~std::size_t{0};
    std::size_t find(std::uint64_t key) const noexcept {
        if (mask == 0) {
            return npos;
        }
        for (std::size_t i = home(key);; i = (i + 1) & mask) {
            if (slots[i].key == key) {
                return i;
            }
            if (slots[i].key == 0) {
                return npos;
            }
        }
    }

    static void move_slot(Slot& to, Slot& from) noexcept {
        to.key = from.key;
        to.page = std::move(from.page);
        to.data_ref.store(from.data_ref.load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
        from.key = 0;
        from.data_ref.store(0, std::memory_order_relaxed);
    }

    // REQUIRES: mutex held exclusively; slot i is occupied. Empties it, keeping every probe
    // sequence intact (backward-shift deletion).
    void remove_at(std::size_t i) noexcept {
        used_bytes -= slots[i].page->size();
        slots[i].page.reset();
        slots[i].data_ref.store(0, std::memory_order_relaxed);
        slots[i].key = 0;
        --count;
        std::size_t hole = i;
        for (std::size_t j = (i + 1) & mask; slots[j].key != 0; j = (j + 1) & mask) {
            std::size_t k = home(slots[j].key);
            // Entry j may move into the hole unless its home lies cyclically in (hole, j].
            bool home_between = hole <= j ? (k > hole && k <= j) : (k > hole || k <= j);
            if (!home_between) {
                move_slot(slots[hole], slots[j]);
                hole = j;
            }
        }
    }

    // REQUIRES: mutex held exclusively; key absent; count < slot count / 2 after growing.
    void place(std::uint64_t key, PageRef page) noexcept {
        std::size_t i = home(key);
        while (slots[i].key != 0) {
            i = (i + 1) & mask;
        }
        used_bytes += page->size();
        slots[i].key = key;
        slots[i].data_ref.store(std::bit_cast<std::uintptr_t>(page->data()),
                                std::memory_order_relaxed);
        slots[i].page = std::move(page);
        ++count;
    }

    // REQUIRES: mutex held exclusively.
    void grow_if_needed() {
        std::size_t size = mask == 0 ? 0 : mask + 1;
        if ((count + 1) * 2 <= size) {
            return;
        }
        std::size_t new_size = size == 0 ? 64 : size * 2;
        std::unique_ptr<Slot[]> old = std::move(slots);
        slots = std::make_unique<Slot[]>(new_size);
        mask = new_size - 1;
        count = 0;
        used_bytes = 0;
        hand = 0;
        for (std::size_t i = 0; i < size; ++i) {
            if (old[i].key != 0) {
                std::uint64_t key = old[i].key;
                place(key, std::move(old[i].page));
            }
        }
    }

    // REQUIRES: mutex held exclusively. Evicts with CLOCK until `incoming` bytes fit.
    std::uint64_t evict_to_fit(std::uint64_t incoming) {
        std::uint64_t evicted = 0;
        // Two sweeps always suffice to find a victim: the first clears every reference bit.
        while (count > 0 && used_bytes + incoming > capacity_bytes) {
            for (std::size_t steps = 0; steps <= 2 * (mask + 1); ++steps) {
                Slot& s = slots[hand];
                if (s.key != 0) {
                    if (!s.referenced()) {
                        remove_at(hand);  // the entry shifted into `hand` is examined next
                        ++evicted;
                        break;
                    }
                    s.clear_referenced();
                }
                hand = (hand + 1) & mask;
            }
        }
        return evicted;
    }

    // REQUIRES: mutex held exclusively. Returns whether an older image was replaced.
    bool put(PageNumber page, PageRef buffer, std::atomic<std::uint64_t>& evictions) {
        bool replaced = false;
        std::size_t existing = find(page.raw());
        if (existing != npos) {
            remove_at(existing);
            replaced = true;
        }
        if (buffer->size() > capacity_bytes) {
            return replaced;  // larger than the whole shard: not cached
        }
        evictions.fetch_add(evict_to_fit(buffer->size()), std::memory_order_relaxed);
        grow_if_needed();
        place(page.raw(), std::move(buffer));
        return replaced;
    }

    // REQUIRES: mutex held exclusively.
    void reset() noexcept {
        slots.reset();
        mask = 0;
        count = 0;
        hand = 0;
        used_bytes = 0;
    }
};

PageCache::PageCache(std::uint64_t capacity_bytes)
    : id_(g_next_cache_id.fetch_add(1, std::memory_order_relaxed)),
      capacity_bytes_(capacity_bytes),
      shards_(new Shard[kShards]),
      hits_(std::make_unique<StripedCounter>()) {
    for (std::size_t i = 0; i < kShards; ++i) {
        shards_[i].capacity_bytes = capacity_bytes / kShards;
    }
}

PageCache::~PageCache() = default;

PageCache::Shard& PageCache::shard_for(PageNumber page) noexcept {
    return shards_[(mix(page.raw()) >> 40) % kShards];
}

const PageRef* PageCache::shard_lookup(Shard& shard, PageNumber page, std::uint64_t epoch,
                                       PageRef& holder) {
    {
        std::shared_lock lock(shard.mutex);
        std::size_t i = shard.find(page.raw());
        if (i == Shard::npos) {
            return nullptr;
        }
        Shard::Slot& slot = shard.slots[i];
        // The page's bytes and its reference count lie in different lines: fetch both at once
        // (the caller reads the bytes next).
        __builtin_prefetch(slot.data());
        slot.set_referenced();
        holder = slot.page;
    }
    hits_->add();
    if (!holder->hot()) {
        return &holder;
    }
    FrontSet& set = front_set(page.raw());
    FrontSlot& front = set.ways[set.victim];
    set.victim ^= 1;
    front.cache_id = id_;
    front.epoch = epoch;
    front.page = page.raw();
    front.ref = std::move(holder);
    return &front.ref;
}

void PageCache::prefetch(PageNumber page, std::size_t bytes) {
    Shard& shard = shard_for(page);
    std::shared_lock lock(shard.mutex);
    if (shard.mask == 0) {
        return;
    }
    if (bytes == 0) {
        __builtin_prefetch(&shard.slots[shard.home(page.raw())]);
        return;
    }
    const std::size_t i = shard.find(page.raw());
    if (i == Shard::npos) {
        return;
    }
    const std::byte* data = shard.slots[i].data();
    for (std::size_t offset = 0; offset < bytes; offset += 64) {
        __builtin_prefetch(data + offset);
    }
}

const PageRef* PageCache::borrow(PageNumber page, PageRef& holder) {
    // The epoch is read before the shared table: an erase that races with this lookup
    // advances it after removing the entry, so a front entry filled from a stale read is
    // already outdated when it is stored.
    std::uint64_t epoch = epoch_.load(std::memory_order_acquire);
    FrontSet& set = front_set(page.raw());
    for (std::uint8_t way = 0; way < 2; ++way) {
        FrontSlot& front = set.ways[way];
        if (front.page == page.raw() && front.cache_id == id_ && front.epoch == epoch) {
            set.victim = way ^ 1;
            hits_->add();
            return &front.ref;
        }
    }
    return shard_lookup(shard_for(page), page, epoch, holder);
}

PageRef PageCache::lookup(PageNumber page) {
    PageRef holder;
    const PageRef* found = borrow(page, holder);
    if (found == nullptr) {
        return nullptr;
    }
    return found == &holder ? std::move(holder) : *found;
}

void PageCache::insert(PageNumber page, PageRef buffer) {
    Shard& shard = shard_for(page);
    bool replaced = false;
    {
        std::unique_lock lock(shard.mutex);
        replaced = shard.put(page, std::move(buffer), evictions_);
    }
    if (replaced) {
        epoch_.fetch_add(1, std::memory_order_acq_rel);
    }
}

void PageCache::erase(PageNumber page) {
    erase(std::span<const PageNumber>(&page, 1));
}

void PageCache::erase(std::span<const PageNumber> pages) {
    if (pages.empty()) {
        return;
    }
    for (PageNumber page : pages) {
        Shard& shard = shard_for(page);
        std::unique_lock lock(shard.mutex);
        std::size_t i = shard.find(page.raw());
        if (i != Shard::npos) {
            shard.remove_at(i);
        }
    }
    // Always, even when the shared table no longer has a page: an evicted page may still sit
    // in some thread's front table, and erase() announces that its number is being reused.
    epoch_.fetch_add(1, std::memory_order_acq_rel);
}

void PageCache::clear() {
    for (std::size_t i = 0; i < kShards; ++i) {
        std::unique_lock lock(shards_[i].mutex);
        shards_[i].reset();
    }
    epoch_.fetch_add(1, std::memory_order_acq_rel);
}

Task<Result<PageRef>> PageCache::wait_for(std::shared_ptr<InFlight> flight) {
    co_await flight->done.wait();
    co_return flight->result;
}

Task<Result<PageRef>> PageCache::read(io::BlockDevice& device, std::uint32_t page_size,
                                      PageNumber page, bool uncached) {
    PageRef cached = lookup(page);
    if (cached != nullptr) {
        co_return cached;
    }
    Shard& shard = shard_for(page);
    std::shared_ptr<InFlight> flight;
    bool leader = false;
    {
        std::unique_lock lock(shard.mutex);
        std::size_t hit = shard.find(page.raw());
        if (hit != Shard::npos) {
            // Loaded by someone else since the lookup above.
            shard.slots[hit].set_referenced();
            hits_->add();
            co_return shard.slots[hit].page;
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
    Status status = ok();
    if (uncached) {
        Status read = co_await device.read_uncached(page.byte_offset(page_size), buffer->bytes());
        status = read;
    } else {
        Status read = co_await device.read(page.byte_offset(page_size), buffer->bytes());
        status = read;
    }
    finish_load(page, flight, buffer, status);
    if (!status) {
        co_return status.error();
    }
    co_return PageRef(std::move(buffer));
}

std::shared_ptr<PageCache::InFlight> PageCache::claim(PageNumber page) {
    Shard& shard = shard_for(page);
    std::unique_lock lock(shard.mutex);
    if (shard.find(page.raw()) != Shard::npos || shard.loading.contains(page)) {
        return nullptr;
    }
    auto flight = std::make_shared<InFlight>();
    shard.loading.emplace(page, flight);
    return flight;
}

void PageCache::finish_load(PageNumber page, const std::shared_ptr<InFlight>& flight,
                            const MutPageRef& buffer, const Status& status) {
    Shard& shard = shard_for(page);
    bool replaced = false;
    {
        std::unique_lock lock(shard.mutex);
        shard.loading.erase(page);
        if (status) {
            buffer->mark_unchecked();  // before any other thread can see the buffer
            flight->result = PageRef(buffer);
            replaced = shard.put(page, buffer, evictions_);
        } else {
            flight->result = status.error();
        }
    }
    if (replaced) {
        epoch_.fetch_add(1, std::memory_order_acq_rel);
    }
    flight->done.set();
}

Task<Status> PageCache::read_span(io::BlockDevice& device, std::uint32_t page_size,
                                  std::span<const PageNumber> pages, bool direct) {
    struct Claimed {
        PageNumber page;
        std::shared_ptr<InFlight> flight;
        MutPageRef buffer;
    };
    std::vector<Claimed> claimed;
    claimed.reserve(pages.size());
    for (PageNumber page : pages) {
        RINGDB_ASSERT(page.order() == 0);
        RINGDB_ASSERT(claimed.empty() || page.index() > claimed.back().page.index());
        if (std::shared_ptr<InFlight> flight = claim(page)) {
            claimed.push_back(
                    Claimed{page, std::move(flight), PageBuffer::make_for_read(page_size)});
        }
    }
    if (claimed.empty()) {
        co_return ok();
    }
    const std::uint64_t first = claimed.front().page.index();
    const std::uint64_t span = claimed.back().page.index() - first + 1;
    RINGDB_ASSERT(span <= kMaxSpanPages);
    misses_.fetch_add(claimed.size(), std::memory_order_relaxed);
    // Every page of the span gets a part: its own buffer, or the scratch page.
    MutPageRef scratch;
    std::vector<std::span<std::byte>> parts;
    parts.reserve(span);
    std::size_t next = 0;
    for (std::uint64_t index = first; index < first + span; ++index) {
        if (claimed[next].page.index() == index) {
            parts.push_back(claimed[next++].buffer->bytes());
            continue;
        }
        if (scratch == nullptr) {
            scratch = PageBuffer::make_for_read(page_size);
        }
        parts.push_back(scratch->bytes());
    }
    Status status = co_await device.read_vectored(first * page_size, parts, direct);
    for (const Claimed& c : claimed) {
        finish_load(c.page, c.flight, c.buffer, status);
    }
    co_return status;
}

PageCacheStats PageCache::stats() const {
    PageCacheStats s;
    s.hits = hits_->sum();
    s.misses = misses_.load(std::memory_order_relaxed);
    s.coalesced = coalesced_.load(std::memory_order_relaxed);
    s.evictions = evictions_.load(std::memory_order_relaxed);
    s.capacity_bytes = capacity_bytes_;
    for (std::size_t i = 0; i < kShards; ++i) {
        std::shared_lock lock(shards_[i].mutex);
        s.used_bytes += shards_[i].used_bytes;
        s.entries += shards_[i].count;
    }
    return s;
}

}  // namespace ringdb::engine
