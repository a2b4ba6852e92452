#pragma once
// MemoryTreePages: a TreePages over a map of page buffers, for B-tree tests.
//
// It models what a write transaction gives a tree: committed pages (read-only, shared), dirty
// pages (allocated since the last commit(), modifiable in place while nobody else holds their
// buffer), releasing a dirty block at once and recording a committed one as freed. Blocks are
// placed by a bump allocator aligned to their order; released dirty blocks are reused first
// (per order), so a tree that keeps using a block it freed is caught. Freeing a block twice,
// or one that does not exist, fails the test.
//
// Options: `cache_misses` makes try_read() miss on committed pages, so reads go through the
// asynchronous path; `miss_one_in` = n > 0 makes it miss on about one committed page in n
// (a fixed subset), so walks mix the synchronous and the asynchronous path; `read_only` makes
// allocate() fail like a read transaction.

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/tree_pages.hpp"
#include "engine/page_store/page_buffer.hpp"
#include "engine/page_store/page_number.hpp"

namespace ringdb::engine::testing {

class MemoryTreePages final : public TreePages {
public:
    explicit MemoryTreePages(std::uint32_t page_size = 4096) : page_size_(page_size) {}

    std::uint32_t page_size() const noexcept override { return page_size_; }

    PageRef try_read(PageNumber page) override {
        auto it = pages_.find(page);
        bool partial_miss =
                miss_one_in != 0 && (page.raw() * 0x9E3779B97F4A7C15ULL >> 40) % miss_one_in == 0;
        if (it == pages_.end() || ((cache_misses || partial_miss) && !dirty_.contains(page))) {
            return nullptr;
        }
        ++fast_reads;
        return it->second;
    }

    Task<Result<PageRef>> read(PageNumber page) override {
        ++slow_reads;
        auto it = pages_.find(page);
        if (!page.is_valid() || it == pages_.end()) {
            co_return Error{Errc::corrupted, 0, page.raw()};
        }
        co_return PageRef(it->second);
    }

    Result<std::pair<PageNumber, MutPageRef>> allocate(std::size_t bytes) override {
        if (read_only) {
            return Error{Errc::invalid_argument};
        }
        unsigned order = order_for(bytes, page_size_);
        PageNumber page;
        auto& reusable = released_blocks_[order];
        if (!reusable.empty()) {
            page = reusable.back();
            reusable.pop_back();
        } else {
            std::uint64_t span = std::uint64_t{1} << order;
            next_index_ = (next_index_ + span - 1) / span * span;
            page = PageNumber::make(next_index_, order);
            next_index_ += span;
        }
        auto buffer = PageBuffer::make(page.byte_length(page_size_));
        pages_[page] = buffer;
        dirty_.insert(page);
        ++allocations;
        return std::pair<PageNumber, MutPageRef>{page, buffer};
    }

    MutPageRef writable(PageNumber page) override {
        if (!dirty_.contains(page)) {
            return nullptr;
        }
        MutPageRef& buffer = pages_.at(page);
        if (buffer.use_count() > 1) {
            buffer = PageBuffer::copy_of(*buffer);
            ++private_copies;
        }
        return buffer;
    }

    bool is_dirty(PageNumber page) const override { return dirty_.contains(page); }

    void free(PageNumber page) override {
        auto it = pages_.find(page);
        if (it == pages_.end()) {
            throw std::logic_error("free of a page that is not allocated: " +
                                   std::to_string(page.raw()));
        }
        if (dirty_.erase(page) != 0) {
            pages_.erase(it);
            released_blocks_[page.order()].push_back(page);
            released.push_back(page);
        } else {
            // A committed page stays readable (older snapshots) until reclaimed.
            if (!freed_set_.insert(page).second) {
                throw std::logic_error("committed page freed twice");
            }
            freed.push_back(page);
        }
    }

    /// Makes every dirty page committed, and reclaims the committed pages freed so far when
    /// `reclaim` is set (no reader needs them any more).
    void commit(bool reclaim = false) {
        dirty_.clear();
        released_blocks_.clear();
        released.clear();
        if (reclaim) {
            for (PageNumber page : freed) {
                pages_.erase(page);
            }
            freed_set_.clear();
        }
        freed.clear();
    }

    /// Forgets which committed pages were freed (for tests that abandon a tree's edits).
    void forget_frees() {
        freed_set_.clear();
        freed.clear();
    }

    /// The stored image of a page, for tests that damage it as the disk would (bypassing
    /// copy-on-write). The page gets a fresh buffer with the same bytes, as a re-read from the
    /// device would, so what earlier reads validated (PageBuffer::validated_as) does not carry
    /// over to the bytes the test is about to change.
    MutPageRef image(PageNumber page) {
        MutPageRef& stored = pages_.at(page);
        stored = PageBuffer::copy_of(*stored);
        return stored;
    }
    bool contains(PageNumber page) const { return pages_.contains(page); }
    /// Pages currently allocated and not freed.
    std::set<PageNumber> live_pages() const {
        std::set<PageNumber> live;
        for (const auto& [page, buffer] : pages_) {
            if (!freed_set_.contains(page)) {
                live.insert(page);
            }
        }
        return live;
    }
    std::size_t dirty_count() const { return dirty_.size(); }

    bool cache_misses = false;
    std::uint64_t miss_one_in = 0;
    bool read_only = false;
    std::vector<PageNumber> freed;     // committed pages freed since the last commit()
    std::vector<PageNumber> released;  // dirty pages released at once since the last commit()
    std::uint64_t allocations = 0;
    std::uint64_t fast_reads = 0;
    std::uint64_t slow_reads = 0;
    std::uint64_t private_copies = 0;

private:
    std::uint32_t page_size_;
    std::unordered_map<PageNumber, MutPageRef> pages_;
    std::unordered_set<PageNumber> dirty_;
    std::set<PageNumber> freed_set_;
    std::map<unsigned, std::vector<PageNumber>> released_blocks_;
    std::uint64_t next_index_ = 1;
};

}  // namespace ringdb::engine::testing
