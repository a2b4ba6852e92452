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
// Search index: the B-tree may attach an in-memory index to a validated committed buffer (the
// first eight bytes of every separator key of a branch, as big-endian words, so a search probes
// one compact array instead of the key offsets and key bytes; see page_layout.cpp). It is built
// from the buffer's bytes once, installed atomically, owned and freed by the buffer, and never
// written to disk. Only buffers no writer can modify carry one (as for the validation memo).
//
// Checksum memo: a buffer filled by a device read is unchecked until the B-tree compares it with
// the checksum its parent (or its tree's root reference) holds for it (mark_unchecked,
// needs_check, mark_checked). Buffers this process built (commits, copies) never need it.
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

/// Provides the data blocks of base-size (4 KiB) page buffers from 2 MiB slabs that the kernel
/// is asked to back with transparent huge pages (MADV_HUGEPAGE). A cached tree is read at random
/// addresses; with 4 KiB mappings nearly every leaf visit missed the TLB (a 1 GiB cache spans
/// 262,144 pages against a TLB of a few thousand entries), with 2 MiB mappings the translations
/// of a whole cache fit it. The blocks are also recycled: a commit allocates a new buffer for
/// every page it changes and frees the images those pages replace.
///
/// Structure: each thread keeps up to kPerThread free blocks and takes or returns them to a
/// shared pool in batches (under a mutex); the shared pool tracks which blocks of each slab are
/// free, hands out blocks of the slab with the fewest free blocks first (so the others can
/// drain), and unmaps a slab once all its blocks are free again, keeping at most kKeepEmpty
/// such slabs mapped. A block freed on another thread than the one that took it is fine. A thread's
/// cached blocks go back to the shared pool when it exits.
///
/// Memory: at most kSlabSize - kBlockSize bytes per partly used slab are mapped but unused, plus
/// the threads' caches (kPerThread blocks each) and kKeepEmpty empty slabs; a slab's memory is
/// returned to the system only when every block of it is free.
///
/// Disabled under AddressSanitizer, which must see every use after free: take() returns null
/// and the buffer uses aligned_alloc. take() also returns null when no slab could be mapped.
class PageBlockPool {
public:
    static constexpr std::size_t kBlockSize = 4096;
    static constexpr std::size_t kSlabSize = std::size_t{2} << 20;
    static constexpr std::size_t kBlocksPerSlab = kSlabSize / kBlockSize;
    static constexpr std::size_t kPerThread = 512;
    /// Blocks moved between a thread and the shared pool at a time.
    static constexpr std::size_t kBatch = 64;
    /// Entirely free slabs kept mapped (32 MiB). Mapping a slab again costs its page faults
    /// (the kernel zeroes the huge page, and the first touch can be slow on a VM:
    /// docs/performance.md, "Huge pages on the write side"), so a workload that frees and
    /// reallocates a few slabs' worth does not pay that each time.
    static constexpr std::size_t kKeepEmpty = 16;

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

    /// A block of kBlockSize bytes aligned to kBlockSize, contents unspecified; null when the
    /// pool is disabled or no slab could be mapped (use aligned_alloc then). Any thread.
    /// Throws std::bad_alloc when the bookkeeping of a new slab cannot be allocated.
    static std::byte* take();
    /// Returns a block that take() handed out. Any thread, also during thread exit.
    static void give(std::byte* block) noexcept;

    struct Stats {
        std::size_t slabs = 0;        // slabs mapped
        std::size_t shared_free = 0;  // free blocks in the shared pool (not in thread caches)
    };
    /// The shared pool's state (tests and diagnostics).
    static Stats stats() noexcept;
    /// Returns the calling thread's cached blocks to the shared pool (tests; exit does it).
    static void flush_thread() noexcept;
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
    /// A buffer of `size` bytes whose contents are unspecified, for a read that fills all of
    /// it (the caller drops it if the read fails).
    static std::shared_ptr<PageBuffer> make_for_read(std::size_t size) {
        return std::make_shared<PageBuffer>(Key{}, size);
    }
    /// A copy of `source`.
    static std::shared_ptr<PageBuffer> copy_of(const PageBuffer& source) {
        auto copy = std::make_shared<PageBuffer>(Key{}, source.size());
        std::memcpy(copy->data_, source.data_, source.size_);
        return copy;
    }

    /// Only make() can name Key: use make(), make_for_read() or copy_of().
    struct Key {
    private:
        friend class PageBuffer;
        Key() = default;
    };
    PageBuffer(Key, std::size_t size) : PageBuffer(size) {}

    PageBuffer(const PageBuffer&) = delete;
    PageBuffer& operator=(const PageBuffer&) = delete;
    ~PageBuffer() {
        delete[] search_index_.load(std::memory_order_relaxed);
        if (pooled_) {
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

    /// The search index attached by install_search_index(), or null.
    const std::uint64_t* search_index() const noexcept {
        return search_index_.load(std::memory_order_acquire);
    }
    /// Attaches `index` unless another thread attached one first; returns the attached one.
    /// REQUIRES: the buffer is validated (immutable) and `index` was built from its bytes.
    const std::uint64_t* install_search_index(
            std::unique_ptr<std::uint64_t[]> index) const noexcept {
        const std::uint64_t* expected = nullptr;
        if (search_index_.compare_exchange_strong(expected, index.get(),
                                                  std::memory_order_acq_rel,
                                                  std::memory_order_acquire)) {
            return index.release();
        }
        return expected;
    }

    /// Whether the bytes came from the device and were not compared with their checksum yet.
    bool needs_check() const noexcept { return unchecked_.load(std::memory_order_acquire) != 0; }
    /// Marks a buffer a device read filled. REQUIRES: not shared with another thread yet.
    void mark_unchecked() noexcept { unchecked_.store(1, std::memory_order_relaxed); }
    /// Records that the bytes matched the checksum their parent holds for them.
    void mark_checked() const noexcept { unchecked_.store(0, std::memory_order_release); }

    /// Whether mark_hot() was called (a hint for the page cache, never for correctness).
    bool hot() const noexcept { return hot_.load(std::memory_order_relaxed) != 0; }
    /// Marks the buffer as a page many lookups pass through.
    void mark_hot() const noexcept {
        if (!hot()) {
            hot_.store(1, std::memory_order_relaxed);
        }
    }

private:
    /// Uninitialised bytes: make() zeroes them, copy_of() overwrites them, make_for_read()'s
    /// caller reads into them.
    explicit PageBuffer(std::size_t size)
        : data_(size == PageBlockPool::kBlockSize ? PageBlockPool::take() : nullptr),
          size_(size),
          pooled_(data_ != nullptr) {
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
    mutable std::atomic<const std::uint64_t*> search_index_{nullptr};
    mutable std::atomic<std::uint8_t> validated_{0};
    mutable std::atomic<std::uint8_t> hot_{0};
    mutable std::atomic<std::uint8_t> unchecked_{0};
    bool pooled_;  // data_ came from PageBlockPool
};

using PageRef = std::shared_ptr<const PageBuffer>;
using MutPageRef = std::shared_ptr<PageBuffer>;

}  // namespace ringdb::engine
