#pragma once
// PageBuffer: the in-memory image of one block, aligned for O_DIRECT.
//
// Committed pages are shared immutably (PageRef) between the cache, readers and the guards they
// hand out; a guard keeps its page alive. A write transaction owns the buffers of the blocks it
// allocated (MutPageRef) and may modify one in place only while nobody else holds it
// (use_count() == 1); otherwise it replaces the buffer with a copy, so outstanding guards keep
// seeing the bytes they were given.
//
// Validation memo: parsing a committed page (B-tree structure checks) is the trust boundary for
// data read from disk. A committed buffer never changes, so the first successful parse records
// the page type it was validated as (mark_validated) and later visits skip the O(entries)
// checks (validated_as). Only buffers no writer can modify are marked: committed pages reached
// through the cache, never the dirty pages of a write transaction.
//
// Hot hint: the B-tree marks the committed pages most lookups pass through (branches) hot; the
// page cache keeps only hot pages in its per-thread front table, so a stream of random leaves
// does not push the upper levels out of it.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>

namespace ringdb::engine {

/// Recycles the aligned data blocks of 4 KiB page buffers per thread. A commit allocates a new
/// buffer for every page it changes and frees the images those pages replace, so without it
/// aligned_alloc/free (and glibc's chunk coalescing) were about a sixth of the group-commit
/// profile. A block freed on one thread is reused by that thread; each thread keeps at most
/// kPerThread blocks and gives the rest back to the allocator, and all of them at exit.
/// Disabled under AddressSanitizer, which must see every use after free.
class PageBlockPool {
public:
    static constexpr std::size_t kBlockSize = 4096;
    static constexpr std::size_t kPerThread = 512;

    static std::byte* take() noexcept {
        if constexpr (kEnabled) {
            if (exited_) {
                return nullptr;
            }
            auto& free_blocks = local();
            if (free_blocks.count > 0) {
                return free_blocks.blocks[--free_blocks.count];
            }
        }
        return nullptr;
    }
    /// Keeps `block` (kBlockSize bytes, kBlockSize-aligned) or frees it.
    static void give(std::byte* block) noexcept {
        if constexpr (kEnabled) {
            if (exited_) {
                std::free(block);
                return;
            }
            auto& free_blocks = local();
            if (free_blocks.count < kPerThread) {
                free_blocks.blocks[free_blocks.count++] = block;
                return;
            }
        }
        std::free(block);
    }

private:
#if defined(__SANITIZE_ADDRESS__)
    static constexpr bool kEnabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    static constexpr bool kEnabled = false;
#else
    static constexpr bool kEnabled = true;
#endif
#else
    static constexpr bool kEnabled = true;
#endif
    struct Local {
        std::byte* blocks[kPerThread];
        std::size_t count = 0;
        Local() = default;
        Local(const Local&) = delete;
        Local& operator=(const Local&) = delete;
        ~Local() {
            exited_ = true;
            for (std::size_t i = 0; i < count; ++i) {
                std::free(blocks[i]);
            }
        }
    };
    // Set when this thread's pool is destroyed at thread exit. Page buffers released later in
    // the exit (by other thread-local objects, such as the page cache's front table) bypass
    // it. A bool has no destructor, so it stays readable until the thread is gone.
    static inline thread_local bool exited_ = false;
    static Local& local() noexcept {
        thread_local Local free_blocks;
        return free_blocks;
    }
};

class PageBuffer {
public:
    static constexpr std::size_t kAlignment = 4096;

    /// A zero-filled buffer of `size` bytes (a multiple of the page size).
    static std::shared_ptr<PageBuffer> make(std::size_t size) {
        // One allocation for the control block and this object (a cache hit touches both).
        auto buffer = std::make_shared<PageBuffer>(Key{}, size);
        std::memset(buffer->data_, 0, size);
        return buffer;
    }
    /// A copy of `source`.
    static std::shared_ptr<PageBuffer> copy_of(const PageBuffer& source) {
        auto copy = std::make_shared<PageBuffer>(Key{}, source.size());
        std::memcpy(copy->data_, source.data_, source.size_);
        return copy;
    }

    /// Only make() can name Key: use make() or copy_of().
    struct Key {
    private:
        friend class PageBuffer;
        Key() = default;
    };
    PageBuffer(Key, std::size_t size) : PageBuffer(size) {}

    PageBuffer(const PageBuffer&) = delete;
    PageBuffer& operator=(const PageBuffer&) = delete;
    ~PageBuffer() {
        if (size_ == PageBlockPool::kBlockSize) {
            PageBlockPool::give(data_);
        } else {
            std::free(data_);
        }
    }

    std::span<std::byte> bytes() noexcept { return {data_, size_}; }
    std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
    std::byte* data() noexcept { return data_; }
    const std::byte* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

    /// The page type (leaf or branch byte) this immutable buffer was validated as, 0 if none.
    std::uint8_t validated_as() const noexcept {
        return validated_.load(std::memory_order_acquire);
    }
    /// Records that the buffer passed validation as `type`. REQUIRES: nobody modifies the
    /// buffer from now on (a committed page).
    void mark_validated(std::uint8_t type) const noexcept {
        validated_.store(type, std::memory_order_release);
    }

    /// Whether mark_hot() was called (a hint for the page cache, never for correctness).
    bool hot() const noexcept { return hot_.load(std::memory_order_relaxed) != 0; }
    /// Marks the buffer as a page many lookups pass through.
    void mark_hot() const noexcept {
        if (!hot()) {
            hot_.store(1, std::memory_order_relaxed);
        }
    }

private:
    /// Uninitialised bytes: make() zeroes them, copy_of() overwrites them.
    explicit PageBuffer(std::size_t size)
        : data_(size == PageBlockPool::kBlockSize ? PageBlockPool::take() : nullptr),
          size_(size) {
        static_assert(PageBlockPool::kBlockSize % kAlignment == 0);
        if (data_ == nullptr) {
            data_ = static_cast<std::byte*>(std::aligned_alloc(
                    kAlignment, (size + kAlignment - 1) / kAlignment * kAlignment));
        }
        if (data_ == nullptr) {
            throw std::bad_alloc();
        }
    }

    std::byte* data_;
    std::size_t size_;
    mutable std::atomic<std::uint8_t> validated_{0};
    mutable std::atomic<std::uint8_t> hot_{0};
};

using PageRef = std::shared_ptr<const PageBuffer>;
using MutPageRef = std::shared_ptr<PageBuffer>;

}  // namespace ringdb::engine
