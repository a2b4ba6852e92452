// PageBlockPool: 4 KiB page blocks carved from 2 MiB huge-page slabs (see page_buffer.hpp).
//
// Invariants of the shared pool (all under Shared::mutex):
//   - every mapped slab has an entry in `slabs`, keyed by its base address (kSlabSize-aligned);
//   - a slab's free stack lists exactly its blocks that are in the shared pool (not handed out,
//     not in a thread's cache); free_count is its size;
//   - `with_free` holds exactly the slabs with free_count > 0, each at its own `position`;
//   - `empty_slabs` counts the slabs with free_count == kBlocksPerSlab, at most kKeepEmpty.

#include "engine/page_store/page_buffer.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "util/assert.hpp"

namespace ringdb::engine {

namespace {

using Pool = PageBlockPool;

constexpr std::size_t kKeepEmpty = Pool::kKeepEmpty;

struct Slab {
    std::byte* base = nullptr;
    std::size_t position = 0;  // index in Shared::with_free while free_count > 0
    std::uint32_t free_count = 0;
    std::array<std::uint16_t, Pool::kBlocksPerSlab> free_stack{};
};

struct Shared {
    std::mutex mutex;
    std::unordered_map<std::uintptr_t, std::unique_ptr<Slab>> slabs;
    std::vector<Slab*> with_free;
    std::size_t shared_free = 0;
    std::size_t empty_slabs = 0;
};

// Never destroyed: threads return their blocks while they exit, possibly after static
// destructors ran.
Shared& shared() {
    static Shared* const pool = new Shared();
    return *pool;
}

std::uintptr_t address_of(const std::byte* p) noexcept { return std::bit_cast<std::uintptr_t>(p); }

// REQUIRES: pool.mutex held.
void add_with_free(Shared& pool, Slab& slab) {
    slab.position = pool.with_free.size();
    pool.with_free.push_back(&slab);
}

// REQUIRES: pool.mutex held; slab is in with_free.
void remove_with_free(Shared& pool, Slab& slab) noexcept {
    Slab* last = pool.with_free.back();
    pool.with_free[slab.position] = last;
    last->position = slab.position;
    pool.with_free.pop_back();
}

// Maps a new slab with every block free. REQUIRES: pool.mutex held. Null when out of memory.
Slab* map_slab(Shared& pool) {
    // Bookkeeping first (it may throw bad_alloc; only the map's node is allocated after the
    // mapping). give_batch() must not allocate: with_free never has more entries than slabs.
    pool.with_free.reserve(pool.slabs.size() + 1);
    pool.slabs.reserve(pool.slabs.size() + 1);
    auto slab = std::make_unique<Slab>();
    // Twice the size, then trim to a kSlabSize-aligned slab, so the kernel can back it with one
    // huge page.
    void* raw = ::mmap(nullptr, 2 * Pool::kSlabSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        return nullptr;
    }
    auto* start = static_cast<std::byte*>(raw);
    std::size_t head = (Pool::kSlabSize - address_of(start) % Pool::kSlabSize) % Pool::kSlabSize;
    std::byte* base = start + head;
    if (head > 0) {
        ::munmap(start, head);
    }
    std::size_t tail = Pool::kSlabSize - head;
    if (tail > 0) {
        ::munmap(base + Pool::kSlabSize, tail);
    }
    // Advice only: without transparent huge pages the slab still works with 4 KiB pages.
    (void)::madvise(base, Pool::kSlabSize, MADV_HUGEPAGE);
    slab->base = base;
    slab->free_count = static_cast<std::uint32_t>(Pool::kBlocksPerSlab);
    // Blocks are handed out from the top of the stack: lowest addresses first.
    for (std::size_t i = 0; i < Pool::kBlocksPerSlab; ++i) {
        slab->free_stack[i] = static_cast<std::uint16_t>(Pool::kBlocksPerSlab - 1 - i);
    }
    Slab* result = slab.get();
    pool.slabs.emplace(address_of(base), std::move(slab));
    add_with_free(pool, *result);
    pool.shared_free += Pool::kBlocksPerSlab;
    pool.empty_slabs += 1;
    return result;
}

// The slab to take from: the one with the fewest free blocks, so that the emptier slabs can
// drain and be unmapped. with_free is short (one entry per partly used slab); scanning a few
// entries keeps the choice cheap on a long list.
// REQUIRES: pool.mutex held; with_free not empty.
Slab* pick_slab(Shared& pool) noexcept {
    constexpr std::size_t kScan = 8;
    Slab* best = pool.with_free.back();
    std::size_t n = pool.with_free.size();
    for (std::size_t i = 1; i < kScan && i < n; ++i) {
        Slab* candidate = pool.with_free[n - 1 - i];
        if (candidate->free_count < best->free_count) {
            best = candidate;
        }
    }
    return best;
}

// Moves up to `count` free blocks into out[]; returns how many (fewer only when no slab could be
// mapped). Throws bad_alloc when the bookkeeping of a new slab cannot be allocated.
[[maybe_unused]] std::size_t take_batch(std::byte** out, std::size_t count) {
    Shared& pool = shared();
    std::lock_guard lock(pool.mutex);
    std::size_t taken = 0;
    while (taken < count) {
        Slab* slab = nullptr;
        if (pool.with_free.empty()) {
            slab = map_slab(pool);
            if (slab == nullptr) {
                break;
            }
        } else {
            slab = pick_slab(pool);
        }
        if (slab->free_count == Pool::kBlocksPerSlab) {
            pool.empty_slabs -= 1;
        }
        while (taken < count && slab->free_count > 0) {
            std::uint16_t index = slab->free_stack[--slab->free_count];
            out[taken++] = slab->base + std::size_t{index} * Pool::kBlockSize;
            pool.shared_free -= 1;
        }
        if (slab->free_count == 0) {
            remove_with_free(pool, *slab);
        }
    }
    return taken;
}

// Returns `count` blocks to their slabs, unmapping slabs that become entirely free beyond
// kKeepEmpty.
void give_batch(std::byte* const* blocks, std::size_t count) noexcept {
    Shared& pool = shared();
    std::lock_guard lock(pool.mutex);
    for (std::size_t i = 0; i < count; ++i) {
        std::uintptr_t address = address_of(blocks[i]);
        std::uintptr_t base = address - address % Pool::kSlabSize;
        auto found = pool.slabs.find(base);
        RINGDB_ASSERT(found != pool.slabs.end() && "block not from PageBlockPool");
        Slab& slab = *found->second;
        if (slab.free_count == 0) {
            add_with_free(pool, slab);
        }
        slab.free_stack[slab.free_count++] =
                static_cast<std::uint16_t>((address - base) / Pool::kBlockSize);
        pool.shared_free += 1;
        if (slab.free_count == Pool::kBlocksPerSlab) {
            if (pool.empty_slabs < kKeepEmpty) {
                pool.empty_slabs += 1;
            } else {
                remove_with_free(pool, slab);
                pool.shared_free -= Pool::kBlocksPerSlab;
                ::munmap(slab.base, Pool::kSlabSize);
                pool.slabs.erase(found);
            }
        }
    }
}

// Set when this thread's cache is destroyed at thread exit; later calls on this thread (from
// other thread-local destructors, such as the page cache's front table) go to the shared pool
// directly. A bool has no destructor, so it stays readable until the thread is gone.
thread_local bool t_exited = false;

struct Local {
    std::array<std::byte*, Pool::kPerThread> blocks;
    std::size_t count = 0;
    Local() = default;
    Local(const Local&) = delete;
    Local& operator=(const Local&) = delete;
    ~Local() {
        t_exited = true;
        give_batch(blocks.data(), count);
        count = 0;
    }
};

[[maybe_unused]] Local& local() noexcept {
    thread_local Local cache;
    return cache;
}

}  // namespace

std::byte* PageBlockPool::take() {
    if constexpr (!kEnabled) {
        return nullptr;
    } else {
        if (t_exited) {
            std::byte* block = nullptr;
            return take_batch(&block, 1) == 1 ? block : nullptr;
        }
        Local& cache = local();
        if (cache.count == 0) {
            cache.count = take_batch(cache.blocks.data(), kBatch);
            if (cache.count == 0) {
                return nullptr;
            }
        }
        return cache.blocks[--cache.count];
    }
}

void PageBlockPool::give(std::byte* block) noexcept {
    if constexpr (!kEnabled) {
        RINGDB_ASSERT(false && "PageBlockPool::give without take");
    } else {
        if (t_exited) {
            give_batch(&block, 1);
            return;
        }
        Local& cache = local();
        if (cache.count == kPerThread) {
            // Return the oldest (coldest) blocks; keep the ones freed last.
            give_batch(cache.blocks.data(), kBatch);
            std::copy(cache.blocks.begin() + kBatch, cache.blocks.end(), cache.blocks.begin());
            cache.count -= kBatch;
        }
        cache.blocks[cache.count++] = block;
    }
}

PageBlockPool::Stats PageBlockPool::stats() noexcept {
    Stats s;
    if constexpr (kEnabled) {
        Shared& pool = shared();
        std::lock_guard lock(pool.mutex);
        s.slabs = pool.slabs.size();
        s.shared_free = pool.shared_free;
    }
    return s;
}

void PageBlockPool::flush_thread() noexcept {
    if constexpr (kEnabled) {
        if (t_exited) {
            return;
        }
        Local& cache = local();
        give_batch(cache.blocks.data(), cache.count);
        cache.count = 0;
    }
}

}  // namespace ringdb::engine
