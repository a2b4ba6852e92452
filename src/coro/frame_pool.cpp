// Coroutine frame recycling.
//
// Each thread keeps one free list per 64-byte size class for frames up to kMaxPooled bytes.
// A frame freed on any thread goes to that thread's list; a list holds at most kListMax
// frames, beyond which memory goes back to the global allocator. The steady state of an I/O
// loop (a Task per read) therefore allocates nothing. Sanitizer builds bypass the pool so
// that use-after-free of a frame is still detected.

#include <cstddef>
#include <cstdlib>
#include <new>

#include <ringdb/task.hpp>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RINGDB_FRAME_POOL_DISABLED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RINGDB_FRAME_POOL_DISABLED 1
#endif

namespace ringdb::coro::detail {

#ifndef RINGDB_FRAME_POOL_DISABLED
namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kMaxPooled = 2048;
constexpr std::size_t kClasses = kMaxPooled / kGranule;
constexpr std::size_t kListMax = 256;

struct FreeBlock {
    FreeBlock* next;
};

struct ThreadPool {
    FreeBlock* heads[kClasses] = {};
    std::size_t counts[kClasses] = {};

    ThreadPool() = default;
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;
    ~ThreadPool() {
        for (std::size_t c = 0; c < kClasses; ++c) {
            while (heads[c] != nullptr) {
                FreeBlock* block = heads[c];
                heads[c] = block->next;
                ::operator delete(block);
            }
        }
    }
};

thread_local ThreadPool t_pool;

constexpr std::size_t size_class(std::size_t size) noexcept {
    return (size + kGranule - 1) / kGranule - 1;
}

}  // namespace
#endif

void* frame_allocate(std::size_t size) {
#ifndef RINGDB_FRAME_POOL_DISABLED
    if (size <= kMaxPooled && size > 0) {
        std::size_t c = size_class(size);
        FreeBlock* block = t_pool.heads[c];
        if (block != nullptr) {
            t_pool.heads[c] = block->next;
            --t_pool.counts[c];
            return block;
        }
        return ::operator new((c + 1) * kGranule);
    }
#endif
    return ::operator new(size);
}

void frame_deallocate(void* frame, std::size_t size) noexcept {
#ifndef RINGDB_FRAME_POOL_DISABLED
    if (size <= kMaxPooled && size > 0) {
        std::size_t c = size_class(size);
        if (t_pool.counts[c] < kListMax) {
            auto* block = static_cast<FreeBlock*>(frame);
            block->next = t_pool.heads[c];
            t_pool.heads[c] = block;
            ++t_pool.counts[c];
            return;
        }
    }
#else
    (void)size;
#endif
    ::operator delete(frame);
}

}  // namespace ringdb::coro::detail
