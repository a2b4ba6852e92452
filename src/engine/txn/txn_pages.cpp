#include "engine/txn/txn_pages.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "util/assert.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {
// The most dirty pages a new transaction's table is sized for in advance (a bulk load grows it
// as it goes): at most 2^17 slots of 32 bytes, so a small transaction after a large one
// allocates at most 4 MiB it does not need.
constexpr std::uint64_t kMaxReservedDirty = std::uint64_t{1} << 15;
}  // namespace

std::size_t DirtyMap::position(PageNumber page) const noexcept {
    if (size_ == 0) {
        return kAbsent;
    }
    const std::uint64_t raw = page.raw();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(raw);; i = (i + 1) & mask) {
        const Slot& slot = slots_[i];
        if (slot.page == raw) {
            return i;
        }
        if (slot.page == 0) {
            return kAbsent;
        }
    }
}

void DirtyMap::insert(PageNumber page, MutPageRef buffer) {
    RINGDB_ASSERT(!page.is_null());
    if ((size_ + 1) * 2 > slots_.size()) {
        grow();
    }
    const std::uint64_t raw = page.raw();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(raw);; i = (i + 1) & mask) {
        Slot& slot = slots_[i];
        RINGDB_ASSERT_CTX(slot.page != raw, "dirty page inserted twice", raw);
        if (slot.page == 0) {
            slot.page = raw;
            slot.data = buffer->data();
            slot.buffer = std::move(buffer);
            ++size_;
            return;
        }
    }
}

MutPageRef DirtyMap::erase(PageNumber page) noexcept {
    if (size_ == 0) {
        return nullptr;
    }
    const std::uint64_t raw = page.raw();
    const std::size_t mask = slots_.size() - 1;
    std::size_t hole = home(raw);
    while (slots_[hole].page != raw) {
        if (slots_[hole].page == 0) {
            return nullptr;
        }
        hole = (hole + 1) & mask;
    }
    MutPageRef removed = std::move(slots_[hole].buffer);
    slots_[hole].page = 0;
    slots_[hole].data = nullptr;
    --size_;
    // Backward shift: move later entries of the run into the hole when their home position
    // allows it, so that no probe sequence crosses an empty slot it should not.
    for (std::size_t i = (hole + 1) & mask; slots_[i].page != 0; i = (i + 1) & mask) {
        const std::size_t at_home = home(slots_[i].page);
        // The entry at i may move to the hole if its home is not in (hole, i] (cyclically).
        const bool stays = hole <= i ? (hole < at_home && at_home <= i)
                                     : (hole < at_home || at_home <= i);
        if (!stays) {
            slots_[hole].page = slots_[i].page;
            slots_[hole].buffer = std::move(slots_[i].buffer);
            slots_[hole].data = slots_[i].data;
            slots_[i].page = 0;
            hole = i;
        }
    }
    return removed;
}

void DirtyMap::clear() noexcept {
    for (Slot& slot : slots_) {
        slot.page = 0;
        slot.buffer.reset();
        slot.data = nullptr;
    }
    size_ = 0;
}

void DirtyMap::reserve(std::size_t count) {
    RINGDB_ASSERT(size_ == 0);
    std::size_t capacity = std::max<std::size_t>(slots_.size(), 64);
    while (capacity < 2 * count) {
        capacity *= 2;
    }
    if (capacity != slots_.size()) {
        slots_ = std::vector<Slot>(capacity);
        shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
    }
}

void DirtyMap::grow() {
    const std::size_t capacity = slots_.empty() ? 64 : slots_.size() * 2;
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(capacity));
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
    size_ = 0;
    for (Slot& slot : old) {
        if (slot.page != 0) {
            insert(PageNumber::from_raw(slot.page), std::move(slot.buffer));
        }
    }
}

WritePages::WritePages(PageStore& store) : store_(store) {
    const std::uint64_t hint = std::min<std::uint64_t>(store_.extent_hint(), kMaxReservedDirty);
    dirty_.reserve(static_cast<std::size_t>(hint + hint / 4));
}

WritePages::~WritePages() { rollback(); }

PageRef WritePages::try_read(PageNumber page) {
    {
        std::lock_guard lock(mutex_);
        if (MutPageRef* buffer = dirty_.find(page)) {
            return *buffer;
        }
    }
    return store_.try_read(page);
}

PageRef WritePages::try_read_flagged(PageNumber page, bool& dirty) {
    {
        std::lock_guard lock(mutex_);
        if (MutPageRef* buffer = dirty_.find(page)) {
            dirty = true;
            return *buffer;
        }
    }
    dirty = false;
    return store_.try_read(page);
}

const PageRef* WritePages::try_borrow(PageNumber page, PageRef& holder) {
    {
        std::lock_guard lock(mutex_);
        if (MutPageRef* buffer = dirty_.find(page)) {
            holder = *buffer;  // a dirty image may be replaced (writable): hold it
            return &holder;
        }
    }
    return store_.try_borrow(page, holder);
}

const PageBuffer* WritePages::try_peek(PageNumber page, PageRef& holder, bool& dirty) {
    {
        std::lock_guard lock(mutex_);
        if (MutPageRef* buffer = dirty_.find(page)) {
            // No reference taken: the buffer object does not move when the table grows, and
            // only the caller's tree operation frees or replaces its own dirty pages.
            dirty = true;
            return buffer->get();
        }
    }
    dirty = false;
    const PageRef* ref = store_.try_borrow(page, holder);
    return ref != nullptr ? ref->get() : nullptr;
}

Task<Result<PageRef>> WritePages::read(PageNumber page) {
    PageRef dirty = try_read(page);
    if (dirty != nullptr) {
        co_return dirty;
    }
    auto result = co_await store_.read(page);
    co_return result;
}

MutPageRef WritePages::new_buffer(std::size_t size) {
    if (size == store_.page_size()) {
        // The most recently freed buffers first; one still held by a guard or by the B-tree
        // operation that freed it (it keeps the old page until it ends) is not reusable yet.
        const std::size_t n = spare_.size();
        for (std::size_t k = 0; k < n && k < kSpareProbes; ++k) {
            MutPageRef& candidate = spare_[n - 1 - k];
            if (candidate.use_count() == 1) {
                // use_count() is a relaxed read. The holder that dropped the last other
                // reference (another thread's tree operation, after reading the buffer) is
                // ordered before this reuse only through a read-modify-write of the count:
                // copying the reference is one (acq_rel), so the memset below cannot race with
                // that holder's reads.
                MutPageRef probe = candidate;
                if (probe.use_count() != 2) {
                    continue;
                }
                probe.reset();
                MutPageRef buffer = std::move(candidate);
                candidate = std::move(spare_.back());
                spare_.pop_back();
                std::memset(buffer->data(), 0, buffer->size());
                return buffer;
            }
        }
    }
    return PageBuffer::make(size);
}

void WritePages::recycle(MutPageRef buffer) {
    // Only a buffer that no reader ever marked can be handed out again as a fresh block;
    // new_buffer() takes it only once nobody else holds it (no guard, no cursor).
    if (buffer == nullptr || buffer->size() != store_.page_size() ||
        buffer->validated_as() != 0 || buffer->hot()) {
        return;
    }
    if (spare_.size() == kMaxSpareBuffers) {
        spare_.erase(spare_.begin());
    }
    spare_.push_back(std::move(buffer));
}

Result<PageNumber> WritePages::carve_page() {
    if (!holes_.empty()) {
        PageNumber page = holes_.back();
        holes_.pop_back();
        return page;
    }
    if (extent_next_ == extent_end_) {
        if (extent_order_ == 0) {
            // Room for the previous transaction's pages and a quarter more.
            const std::uint64_t hint = store_.extent_hint();
            const std::uint64_t want = hint + hint / 4;
            unsigned order = kMinExtentOrder;
            while (order < kMaxExtentOrder && (std::uint64_t{1} << order) < want) {
                ++order;
            }
            extent_order_ = order;
        }
        std::optional<std::uint64_t> extended;
        if (extent_end_ != 0) {
            // Continue where the extent ends if the pages there are free.
            extended = store_.extend_extent(extent_end_, extent_order_);
        }
        if (extended) {
            extent_end_ = *extended;
        } else {
            RINGDB_TRY_ASSIGN(PageRun run, store_.allocate_extent(extent_order_));
            extent_next_ = run.start;
            extent_end_ = run.end;
        }
        extent_order_ = std::min(extent_order_ + 1, kMaxExtentOrder);
    }
    PageNumber page = PageNumber::make(extent_next_++, 0);
    store_.forget_cached(page);
    return page;
}

void WritePages::release_extent() {
    if (!store_.poisoned()) {
        store_.free_range(extent_next_, extent_end_);
        for (PageNumber hole : holes_) {
            store_.free(hole);
        }
    }
    extent_next_ = 0;
    extent_end_ = 0;
    extent_order_ = 0;
    holes_.clear();
    carving_ = false;
    singles_ = 0;
}

Result<std::pair<PageNumber, MutPageRef>> WritePages::allocate(std::size_t bytes) {
    unsigned order = order_for(bytes, store_.page_size());
    if (order == 0 && store_.extents_enabled()) {
        std::lock_guard lock(mutex_);
        // Small transactions take single pages lowest first, as without extents; one that
        // has taken kExtentMinPages of them, or follows one that took as many, carves.
        if (!carving_ && ++singles_ <= kExtentMinPages &&
            store_.extent_hint() < kExtentMinPages) {
            return allocate_lowest(order);
        }
        carving_ = true;
        RINGDB_TRY_ASSIGN(PageNumber page, carve_page());
        if (dirty_.contains(page)) {
            // The allocator handed out an extent overlapping a block this transaction holds:
            // its free space came from a damaged file.
            return Error{Errc::corrupted, 0, page.raw()};
        }
        MutPageRef buffer = new_buffer(store_.page_size());
        dirty_.insert(page, buffer);
        return std::pair{page, buffer};
    }
    std::lock_guard lock(mutex_);
    return allocate_lowest(order);
}

Result<std::pair<PageNumber, MutPageRef>> WritePages::allocate_lowest(unsigned order) {
    auto block = store_.allocate(order);
    if (!block) {
        return block.error();
    }
    if (dirty_.contains(*block)) {
        // The allocator handed out a block this transaction already holds: its free space
        // came from a damaged file (a freed list or saved state naming a page in use).
        return Error{Errc::corrupted, 0, block->raw()};
    }
    MutPageRef buffer = new_buffer(block->byte_length(store_.page_size()));
    dirty_.insert(*block, buffer);
    return std::pair{*block, buffer};
}

MutPageRef WritePages::writable(PageNumber page) {
    std::lock_guard lock(mutex_);
    MutPageRef* buffer = dirty_.find(page);
    if (buffer == nullptr) {
        return nullptr;
    }
    if (buffer->use_count() > 1) {
        // A guard or cursor still holds this image: give it the old bytes to keep and modify
        // a private copy instead.
        dirty_.replace_buffer(page, PageBuffer::copy_of(**buffer));
    }
    return *buffer;
}

bool WritePages::is_dirty(PageNumber page) const {
    std::lock_guard lock(mutex_);
    return dirty_.contains(page);
}

void WritePages::free(PageNumber page) {
    std::lock_guard lock(mutex_);
    MutPageRef buffer = dirty_.erase(page);
    if (buffer != nullptr) {
        if (page.order() == 0 && carving_) {
            holes_.push_back(page);
        } else {
            store_.free(page);
        }
        recycle(std::move(buffer));
        return;
    }
    freed_.push_back(page);
}

std::vector<std::pair<PageNumber, PageRef>> WritePages::take_dirty() {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<PageNumber, PageRef>> pages;
    pages.reserve(dirty_.size());
    dirty_.for_each([&pages](PageNumber number, MutPageRef& buffer) {
        pages.emplace_back(number, std::move(buffer));
    });
    dirty_.clear();
    release_extent();
    if (store_.extents_enabled()) {
        // Single pages only: larger blocks do not come from extents.
        const auto singles = std::count_if(pages.begin(), pages.end(), [](const auto& entry) {
            return entry.first.order() == 0;
        });
        store_.set_extent_hint(static_cast<std::uint64_t>(singles));
    }
    return pages;
}

std::vector<PageNumber> WritePages::take_freed() {
    std::lock_guard lock(mutex_);
    return std::exchange(freed_, {});
}

std::size_t WritePages::freed_count() const {
    std::lock_guard lock(mutex_);
    return freed_.size();
}

std::size_t WritePages::dirty_count() const {
    std::lock_guard lock(mutex_);
    return dirty_.size();
}

void WritePages::rollback() {
    std::lock_guard lock(mutex_);
    if (!store_.poisoned()) {
        dirty_.for_each([this](PageNumber number, MutPageRef&) { store_.free(number); });
    }
    dirty_.clear();
    release_extent();
    freed_.clear();
}

}  // namespace ringdb::engine
