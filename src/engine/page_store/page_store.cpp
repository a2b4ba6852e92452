// PageStore: open, commit protocol and allocation. See page_store.hpp and docs/design.md.
//
// Invariants:
//  - disk_header_ is what this handle last wrote (or read) at offset 0; its primary slot is the
//    last durable commit. non_durable_, when set, is a newer commit whose pages are written but
//    not synced.
//  - A page reachable from disk_header_.primary() or from a live reader is never written:
//    commits write only blocks their transaction allocated (copy-on-write), and the allocator
//    only hands out blocks that the transaction layer freed after no reader needed them.
//  - The file is at least layout_pages * page_size bytes before any page is written into it.

#include "engine/page_store/page_store.hpp"

#include <algorithm>
#include <cstring>

#include <ringdb/when_all.hpp>

#include "util/assert.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

// Growth: double the layout, but by at most 1 GiB at a time, and in multiples of 256 pages.
constexpr std::uint64_t kGrowthRound = 256;
constexpr std::uint64_t kGrowthMaxBytes = std::uint64_t{1} << 30;
// A layout with at least 1/kFragmentedShare of its pages free grows only by what a failed
// allocation needs.
constexpr std::uint64_t kFragmentedShare = 4;

// The first step of initialise_new_file() without the second: a header of this version with
// zeros in place of the magic.
bool interrupted_creation(std::span<const std::byte> header) {
    for (std::size_t i = 0; i < 8; ++i) {
        if (header[i] != std::byte{0}) {
            return false;
        }
    }
    return std::to_integer<std::uint8_t>(header[8]) == kFormatVersion;
}

std::uint64_t round_up(std::uint64_t value, std::uint64_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

// The cause among the results of concurrent writes: the write that failed first latches the
// device, and the writes that complete after it return previous_io, whatever their position.
const Error* first_failure(const std::vector<Status>& results) {
    const Error* cause = nullptr;
    for (const Status& r : results) {
        if (!r && (cause == nullptr || (cause->code == Errc::previous_io &&
                                        r.error().code != Errc::previous_io))) {
            cause = &r.error();
        }
    }
    return cause;
}

}  // namespace

// Unwritten pages of non-durable commits may use this share of the cache budget (at least
// kUnwrittenMinBytes) before a non-durable commit writes them out.
constexpr std::uint64_t kUnwrittenShare = 4;
constexpr std::uint64_t kUnwrittenMinBytes = std::uint64_t{4} << 20;

PageStore::PageStore(std::unique_ptr<io::BlockDevice> device, PageStoreOptions options)
    : device_(std::move(device)),
      options_(options),
      unwritten_limit_bytes_(
              std::max(options.cache_bytes / kUnwrittenShare, kUnwrittenMinBytes)),
      cache_(options.cache_bytes) {}

Task<Result<std::unique_ptr<PageStore>>> PageStore::open(std::unique_ptr<io::BlockDevice> device,
                                                         PageStoreOptions options) {
    std::unique_ptr<PageStore> store(new PageStore(std::move(device), options));
    RINGDB_CO_TRY_ASSIGN(std::uint64_t length, co_await store->device_->length());
    store->file_length_ = length;
    if (length == 0) {
        if (options.read_only || !options.create) {
            co_return Error{Errc::corrupted};
        }
        RINGDB_CO_TRY(co_await store->initialise_new_file());
        co_return std::move(store);
    }
    std::size_t probe = std::max<std::size_t>(kHeaderSize, store->device_->alignment());
    if (length < probe) {
        co_return Error{Errc::corrupted, 0, length};
    }
    MutPageRef buffer = PageBuffer::make(probe);
    RINGDB_CO_TRY(co_await store->device_->read(0, buffer->bytes()));
    if (options.create && !options.read_only && interrupted_creation(buffer->bytes())) {
        // Database::create was interrupted before the header got its magic: nothing was ever
        // committed there, so create starts over.
        RINGDB_CO_TRY(co_await store->initialise_new_file());
        co_return std::move(store);
    }
    RINGDB_CO_TRY_ASSIGN(DatabaseHeader header, DatabaseHeader::decode(buffer->bytes()));
    if (!header.slot_valid[header.primary_index()] && !header.recovery_required()) {
        // A cleanly closed file with a damaged primary slot: treat it as needing recovery.
        header.set_recovery_required(true);
    }
    store->publish(header, std::nullopt);
    store->page_size_ = header.page_size;
    store->compression_ = header.compression;
    co_return std::move(store);
}

Task<Status> PageStore::initialise_new_file() {
    std::uint32_t p = options_.page_size;
    if (p < kMinPageSize || p > kMaxPageSize || (p & (p - 1)) != 0) {
        co_return Error{Errc::invalid_argument, 0, p};
    }
    page_size_ = p;
    // The commit log takes the pages after the header (docs/design.md section 10).
    // Without one (log_bytes 0), every durable commit is a checkpoint.
    const std::uint64_t log_pages = (options_.log_bytes + p - 1) / p;
    const std::uint64_t layout = 1 + log_pages;
    const LogPosition log_start = log_pages == 0 ? LogPosition{} : LogPosition{0, 1, 1};
    DatabaseHeader header;
    header.page_size = p;
    if (options_.compression.algorithm != CompressionAlgorithm::none) {
        header.compression = options_.compression;
        compression_ = options_.compression;
    }
    for (auto& slot : header.slots) {
        slot.layout_pages = layout;
        slot.log_first_page = log_pages == 0 ? 0 : 1;
        slot.log_pages = log_pages;
        slot.log_start = log_start;
    }
    // First without the magic, synced with the file's length, then with it, synced: a crash
    // in between leaves a file that create() initialises again and open() rejects as "not a
    // database", never one that looks valid but is not.
    MutPageRef page = PageBuffer::make(p);
    header.encode(page->bytes(), false);
    Status first = co_await device_->write(0, page->bytes());
    RINGDB_CO_TRY(first);
    RINGDB_CO_TRY(co_await device_->set_length(layout * p));
    RINGDB_CO_TRY(co_await device_->sync_all());
    header.encode(page->bytes(), true);
    Status second = co_await device_->write(0, page->bytes());
    RINGDB_CO_TRY(second);
    RINGDB_CO_TRY(co_await device_->sync_all());
    publish(header, std::nullopt);
    file_length_ = layout * p;
    created_ = true;
    {
        std::lock_guard lock(allocator_mutex_);
        allocator_.emplace(layout);
        RINGDB_CO_TRY(allocator_->mark_range_allocated(1, layout));
    }
    if (log_pages != 0) {
        create_log(1, log_pages, log_start);
    }
    co_return ok();
}

CommitSlot PageStore::current() const {
    std::lock_guard lock(state_mutex_);
    return non_durable_ ? *non_durable_ : disk_header_.primary();
}

CommitSlot PageStore::durable() const {
    std::lock_guard lock(state_mutex_);
    return disk_header_.primary();
}

DatabaseHeader PageStore::disk_header() const {
    std::lock_guard lock(state_mutex_);
    return disk_header_;
}

bool PageStore::recovery_required() const {
    std::lock_guard lock(state_mutex_);
    return disk_header_.recovery_required();
}

void PageStore::publish(const DatabaseHeader& header, std::optional<CommitSlot> non_durable) {
    std::lock_guard lock(state_mutex_);
    disk_header_ = header;
    non_durable_ = std::move(non_durable);
}

Status PageStore::use_secondary_slot() {
    if (!disk_header_.slot_valid[disk_header_.secondary_index()]) {
        return Error{Errc::corrupted};
    }
    DatabaseHeader header = disk_header();
    header.swap_primary(false);
    publish(header, std::nullopt);
    return ok();
}

Task<Result<bool>> PageStore::load_saved_allocator() {
    const CommitSlot& slot = disk_header_.primary();
    PageNumber block = slot.allocator_state;
    if (block.is_null() || slot.allocator_state_txn != slot.transaction_id ||
        !block.is_valid() || block.index() + block.pages() > slot.layout_pages ||
        !layout_plausible(slot.layout_pages)) {
        co_return false;
    }
    MutPageRef buffer = PageBuffer::make(block.byte_length(page_size_));
    Status read = co_await device_->read(block.byte_offset(page_size_), buffer->bytes());
    if (!read) {
        if (read.error().code == Errc::out_of_range) {
            co_return false;
        }
        co_return read.error();
    }
    auto bytes = buffer->bytes();
    std::uint64_t count = util::load_le64(bytes.data() + 16);
    if (count > (bytes.size() - 48) / 8 || util::load_le64(bytes.data() + 8) != slot.layout_pages) {
        co_return false;
    }
    // Layout: the allocator's bytes, the transaction id they belong to, the checksum of both.
    std::size_t length = 24 + 8 * count;
    auto stored = util::load_checksum(bytes.data() + length + 8);
    if (util::xxh3_128(bytes.first(length + 8)) != stored ||
        util::load_le64(bytes.data() + length) != slot.transaction_id) {
        co_return false;
    }
    auto allocator = BuddyAllocator::deserialize(bytes.first(length));
    if (!allocator || allocator->layout_pages() != slot.layout_pages ||
        allocator->is_free(block)) {
        co_return false;
    }
    std::lock_guard lock(allocator_mutex_);
    allocator_.emplace(std::move(*allocator));
    saved_state_block_ = block;
    co_return true;
}

void PageStore::install_allocator(BuddyAllocator allocator) {
    std::lock_guard lock(allocator_mutex_);
    // Full repair marks the current slot's saved state block (DatabaseCore::rebuild_allocator):
    // the next checkpoint frees it like any saved state.
    const CommitSlot& slot = disk_header_.primary();
    const PageNumber state = slot.allocator_state;
    const bool held = !state.is_null() && slot.allocator_state_txn == slot.transaction_id &&
                      state.is_valid() &&
                      state.index() + state.pages() <= allocator.layout_pages() &&
                      !allocator.is_free(state);
    allocator_.emplace(std::move(allocator));
    saved_state_block_ = held ? state : PageNumber{};
}

bool PageStore::layout_plausible(std::uint64_t layout_pages) const {
    // A commit grows the file before it writes the slot that names the new layout, but a
    // crash may persist the slot without the new length: the layout may then exceed the file
    // by one growth step (at most the old layout, at most kGrowthMaxBytes), never more. The
    // allocator keeps a few bits per page of layout, so a damaged or crafted slot claiming an
    // absurd layout must be refused before one is built.
    const std::uint64_t file_pages = file_length_ / page_size_ + 1;
    const std::uint64_t slack = 2 * (kGrowthMaxBytes / page_size_) + 2 * kGrowthRound;
    return layout_pages <= 2 * file_pages + slack;
}

Result<BuddyAllocator> PageStore::empty_allocator() const {
    const std::uint64_t layout = disk_header_.primary().layout_pages;
    if (!layout_plausible(layout)) {
        return Error{Errc::corrupted, 0, layout};
    }
    return BuddyAllocator(layout);
}

Task<Status> PageStore::mark_open() {
    RINGDB_ASSERT(!options_.read_only);
    RINGDB_CO_TRY(co_await cover_layout());
    DatabaseHeader header = disk_header_;
    header.set_recovery_required(true);
    RINGDB_CO_TRY(co_await write_header(header));
    RINGDB_CO_TRY(co_await sync(grew_since_sync_));
    publish(header, non_durable_);
    co_return ok();
}

PageRef PageStore::try_read(PageNumber page) { return cache_.lookup(page); }

Task<Result<PageRef>> PageStore::read(PageNumber page) {
    if (!page.is_valid() || page.index() + page.pages() > layout_pages()) {
        co_return Error{Errc::corrupted, 0, page.raw()};
    }
    if (has_unwritten_.load(std::memory_order_acquire)) {
        PageRef held = find_unwritten(page);
        if (held != nullptr) {
            co_return held;
        }
    }
    auto result = co_await cache_.read(*device_, page_size_, page, uncached_reads_);
    if (!result && result.error().code == Errc::out_of_range) {
        // A page the layout covers but the file does not: the file was cut short.
        co_return Error{Errc::corrupted, 0, page.raw()};
    }
    co_return result;
}

Task<Status> PageStore::read_span(std::span<const PageNumber> pages) {
    if (pages.empty() || uncached_reads_ || has_unwritten_.load(std::memory_order_acquire)) {
        co_return ok();
    }
    const PageNumber last = pages.back();
    if (!pages.front().is_valid() || !last.is_valid() || last.index() + 1 > layout_pages() ||
        last.index() - pages.front().index() >= PageCache::kMaxSpanPages) {
        co_return ok();
    }
    for (PageNumber page : pages) {
        if (page.order() != 0) {
            co_return ok();
        }
    }
    Status read = co_await cache_.read_span(*device_, page_size_, pages, false);
    co_return read;
}

Status PageStore::check_allocatable(unsigned order) const {
    if (poisoned_) {
        return Error{Errc::previous_io};
    }
    if (options_.read_only) {
        return Error{Errc::invalid_argument};
    }
    if (order > kMaxOrder) {
        return Error{Errc::no_space, 0, order};
    }
    return ok();
}

Result<PageNumber> PageStore::allocate(unsigned order) {
    RINGDB_TRY(check_allocatable(order));
    std::lock_guard lock(allocator_mutex_);
    RINGDB_ASSERT(allocator_.has_value());
    for (int attempt = 0; attempt < 4; ++attempt) {
        if (auto block = allocator_->allocate(order)) {
            cache_.erase(*block);
            return *block;
        }
        grow_locked(order);
    }
    return Error{Errc::no_space, 0, order};
}

void PageStore::grow_locked(unsigned order) {
    std::uint64_t layout = allocator_->layout_pages();
    std::uint64_t step = std::min(layout, kGrowthMaxBytes / page_size_);
    if (allocator_->free_pages() * kFragmentedShare >= layout) {
        // Plenty of free pages, none in a block this large: the file is fragmented, not
        // full. Growing by the block alone keeps a multi-page allocation from doubling it.
        step = 0;
    }
    std::uint64_t needed = (std::uint64_t{1} << order) * 2;
    allocator_->grow(round_up(layout + std::max(step, needed), kGrowthRound));
}

Result<PageRun> PageStore::allocate_extent(unsigned order) {
    RINGDB_TRY(check_allocatable(order));
    std::lock_guard lock(allocator_mutex_);
    RINGDB_ASSERT(allocator_.has_value());
    // First fit among blocks of a quarter of the extent (at least 2^kExtentFitOrder pages):
    // the lowest such block keeps data low, as the allocator does for single pages.
    const unsigned quarter = order >= 2 ? order - 2 : 0;
    const unsigned fit = std::min(order, std::max(kExtentFitOrder, quarter));
    std::optional<PageNumber> block;
    if (std::optional<PageNumber> lowest = allocator_->lowest_free(fit)) {
        block = allocator_->allocate_at(lowest->index(), order);
    }
    // Else the largest smaller free block (fragments): the file never grows for contiguity.
    for (unsigned o = fit; o-- > 0 && !block;) {
        block = allocator_->allocate(o);
    }
    if (!block) {
        // No page free at all: the file must grow anyway, and the new space is free.
        grow_locked(order);
        block = allocator_->allocate(order);
        if (!block) {
            return Error{Errc::no_space, 0, order};
        }
    }
    // The free pages just below the block belong to the same free run: take them too, so
    // that the run is used from its start. They are smaller than the first-fit block (else
    // that would have been lower), so twice the extent size bounds the run.
    PageRun run{block->index(), block->index() + block->pages()};
    const std::uint64_t cap = std::uint64_t{2} << order;
    while (run.start > 1) {
        std::optional<PageNumber> before = allocator_->free_block_containing(run.start - 1);
        if (!before || run.end - before->index() > cap) {
            break;
        }
        Status marked = allocator_->mark_allocated(*before);
        RINGDB_ASSERT(marked.has_value());
        run.start = before->index();
    }
    return run;
}

std::optional<std::uint64_t> PageStore::extend_extent(std::uint64_t end, unsigned order) {
    if (poisoned_ || options_.read_only || order > kMaxOrder) {
        return std::nullopt;
    }
    std::lock_guard lock(allocator_mutex_);
    std::optional<PageNumber> block = allocator_->allocate_at(end, order);
    if (!block) {
        return std::nullopt;
    }
    return block->index() + block->pages();
}

void PageStore::free_range(std::uint64_t start, std::uint64_t end) {
    if (start == end) {
        return;
    }
    std::lock_guard lock(allocator_mutex_);
    allocator_->free_range(start, end);
}

void PageStore::free(PageNumber page) {
    std::lock_guard lock(allocator_mutex_);
    allocator_->free(page);
}

Status PageStore::free_committed(PageNumber page) {
    std::lock_guard lock(allocator_mutex_);
    if (!allocator_->can_free(page)) {
        return Error{Errc::corrupted, 0, page.raw()};
    }
    allocator_->free(page);
    return ok();
}

bool PageStore::is_unpersisted(PageNumber page) const {
    std::lock_guard lock(allocator_mutex_);
    return unpersisted_.count(page) != 0;
}

Result<bool> PageStore::free_if_unpersisted(PageNumber page) {
    {
        std::lock_guard lock(allocator_mutex_);
        auto it = unpersisted_.find(page);
        if (it == unpersisted_.end()) {
            return false;
        }
        if (!allocator_->can_free(page)) {
            return Error{Errc::corrupted, 0, page.raw()};
        }
        unpersisted_.erase(it);
        allocator_->free(page);
    }
    std::lock_guard lock(unwritten_mutex_);
    auto held = unwritten_.find(page);
    if (held != unwritten_.end()) {
        unwritten_bytes_ -= held->second->size();
        unwritten_.erase(held);
        has_unwritten_.store(!unwritten_.empty(), std::memory_order_release);
    }
    // No snapshot reaches the block any more (the caller's rule): its image would only take
    // cache room from live pages.
    cache_.erase(page);
    return true;
}

std::uint64_t PageStore::unwritten_pages() const {
    std::lock_guard lock(unwritten_mutex_);
    return unwritten_.size();
}

PageRef PageStore::find_unwritten(PageNumber page) {
    std::lock_guard lock(unwritten_mutex_);
    auto it = unwritten_.find(page);
    return it == unwritten_.end() ? nullptr : it->second;
}

void PageStore::restore_committed(PageNumber page) {
    std::lock_guard lock(allocator_mutex_);
    Status marked = allocator_->mark_allocated(page);
    RINGDB_ASSERT(marked.has_value() && "a reclaimed block was reused by a failed commit");
}

std::uint64_t PageStore::allocated_pages() const {
    std::lock_guard lock(allocator_mutex_);
    return allocator_ ? allocator_->allocated_pages() : 0;
}

std::uint64_t PageStore::free_pages() const {
    std::lock_guard lock(allocator_mutex_);
    return allocator_ ? allocator_->free_pages() : 0;
}

std::uint64_t PageStore::layout_pages() const {
    std::lock_guard lock(allocator_mutex_);
    return allocator_ ? allocator_->layout_pages() : disk_header_.primary().layout_pages;
}

Error PageStore::fail(Error error) {
    poisoned_ = true;
    return error;
}

Task<Status> PageStore::write_header(const DatabaseHeader& header) {
    MutPageRef page = PageBuffer::make(page_size_);
    header.encode(page->bytes(), true);
    Status s = co_await device_->write(0, page->bytes());
    if (!s) {
        co_return fail(s.error());
    }
    co_return ok();
}

Task<Status> PageStore::sync(bool metadata) {
    RINGDB_CO_TRY(co_await sync_device(metadata));
    if (metadata) {
        grew_since_sync_ = false;
    }
    co_return ok();
}

Task<Status> PageStore::write_pages(const std::vector<std::pair<PageNumber, PageRef>>& pages,
                                    std::size_t window, std::size_t max_run) {
    // Pages that follow each other in the file form a run, written with one vectored write
    // (one system call, one bio, one device request where the kernel allows); every run's
    // write is issued before any is awaited, and the ring bounds how many are in the kernel.
    std::vector<const std::pair<PageNumber, PageRef>*> sorted;
    sorted.reserve(pages.size());
    for (const auto& entry : pages) {
        RINGDB_ASSERT_CTX(entry.second->size() == entry.first.byte_length(page_size_),
                          "page image size", entry.first.raw());
        sorted.push_back(&entry);
    }
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
        return a->first.index() < b->first.index();
    });
    // parts[i] is sorted[i]'s image; a run is a slice of parts. Neither vector changes size
    // once the writes are created, so the spans they hold stay valid until all complete.
    std::vector<std::span<const std::byte>> parts;
    parts.reserve(sorted.size());
    for (const auto* entry : sorted) {
        parts.push_back(entry->second->bytes());
    }
    std::vector<Task<Status>> writes;
    writes.reserve(sorted.size());
    // Large commits write around the kernel's page cache (docs/io.md "Direct writes"); a
    // small one is quicker buffered, the sync then writing its few pages in one go.
    const bool direct = pages.size() >= kDirectWriteMinPages;
    std::size_t first = 0;
    while (first < sorted.size()) {
        std::size_t last = first + 1;
        std::uint64_t next = sorted[first]->first.index() + sorted[first]->first.pages();
        while (last < sorted.size() && sorted[last]->first.index() == next &&
               last - first < max_run) {
            next += sorted[last]->first.pages();
            ++last;
        }
        const std::uint64_t offset = sorted[first]->first.byte_offset(page_size_);
        if (last == first + 1) {
            writes.push_back(direct ? device_->write_direct(offset, parts[first])
                                    : device_->write(offset, parts[first]));
        } else {
            auto run = std::span<const std::span<const std::byte>>(parts).subspan(first,
                                                                                  last - first);
            writes.push_back(device_->write_vectored(offset, run, direct));
        }
        first = last;
    }
    std::vector<Status> results;
    results.reserve(writes.size());
    const std::size_t step = std::max<std::size_t>(window, 1);
    for (std::size_t start = 0; start < writes.size(); start += std::min(step, writes.size())) {
        const std::size_t end = start + std::min(step, writes.size() - start);
        std::vector<Task<Status>> part(std::make_move_iterator(writes.begin() + start),
                                       std::make_move_iterator(writes.begin() + end));
        auto done = co_await when_all(std::move(part));
        for (auto& status : done) {
            results.push_back(std::move(status));
        }
    }
    if (const Error* cause = first_failure(results)) {
        co_return fail(*cause);
    }
    co_return ok();
}

}  // namespace ringdb::engine
