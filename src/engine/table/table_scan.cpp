// A leaf-by-leaf forward scan with readahead (see table_scan.hpp).

#include "engine/table/table_scan.hpp"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include <ringdb/task_scope.hpp>

namespace ringdb::engine {

namespace {

// One readahead read covers at most this many pages of the file, and reads across gaps of up
// to kMaxGapPages pages between two leaves it wants (a branch, a freed block): reading a few
// pages for nothing costs less than another request.
constexpr std::uint32_t kMaxSpanPages = 64;
constexpr std::uint32_t kMaxGapPages = 4;

// Loads `pages` (one span, or one larger block) into the cache, then counts them off
// `in_flight`. A failure is left for the scan's own read to report.
Task<void> prefetch(TreePages* pages, std::vector<PageNumber> wanted, std::uint32_t* in_flight) {
    if (wanted.size() == 1 && wanted.front().order() != 0) {
        Result<PageRef> loaded = co_await pages->read(wanted.front());
        (void)loaded;
    } else {
        Status loaded = co_await pages->read_span(wanted);
        (void)loaded;
    }
    *in_flight -= static_cast<std::uint32_t>(wanted.size());
}

// How many leaves ahead a scan over cached pages asks for.
constexpr std::uint32_t kPrefetchLeaves = 2;

class ScanLoop {
public:
    ScanLoop(TableRange& range, LeafRunVisitor& visitor, std::uint32_t readahead,
             coro::TaskScope& reads) noexcept
        : range_(range), visitor_(visitor), readahead_(readahead), reads_(reads) {}

    Task<Status> run() {
        Cursor& cursor = range_.cursor();
        for (;;) {
            if (Status usable = range_.table().usable(); !usable) {
                co_return usable;
            }
            Cursor::StepResult step = std::optional<Cursor::Entry>{};
            if (!cursor.step_cached(true, step)) {
                cold_ = true;
                read_ahead(cursor);
                step = co_await cursor.step_slow(true);
            }
            if (!step) {
                co_return step.error();
            }
            if (!*step) {
                co_return ok();
            }
            if (cold_) {
                read_ahead(cursor);
            }
            const Cursor::LeafRun run = cursor.take_leaf_run();
            if (!cold_) {
                prefetch_following(cursor);
            }
            if (Status s = visitor_.visit(run.view, run.first, run.last); !s) {
                co_return s;
            }
        }
    }

private:
    // Pipelines the memory misses of a scan over cached pages: while this leaf is visited,
    // the bytes of the leaf kPrefetchLeaves ahead and the cache slot of the one after it move
    // into the CPU caches (the leaves in between were asked for by the previous visits).
    void prefetch_following(Cursor& cursor) {
        std::array<PageNumber, kPrefetchLeaves + 1> next;
        const std::uint32_t n = cursor.following_leaves(next);
        TreePages& pages = range_.table().tree().pages();
        if (n == next.size()) {
            pages.prefetch(next[kPrefetchLeaves], 0);
        }
        if (n >= kPrefetchLeaves) {
            pages.prefetch(next[kPrefetchLeaves - 1], pages.page_size());
        }
    }

    // Tops the pages in flight up to the readahead when half of them are done. Base pages
    // close together in the file go out as one read (an ascending load lays leaves out
    // nearly in order).
    void read_ahead(Cursor& cursor) {
        if (readahead_ == 0 || in_flight_ > readahead_ / 2) {
            return;
        }
        pages_.clear();
        cursor.next_leaves(state_, readahead_ - in_flight_, pages_);
        TreePages* pages = &range_.table().tree().pages();
        for (std::size_t begin = 0; begin < pages_.size();) {
            std::size_t end = begin + 1;
            while (end < pages_.size() && joins_span(pages_[begin], pages_[end - 1], pages_[end])) {
                ++end;
            }
            std::vector<PageNumber> wanted(pages_.begin() + static_cast<std::ptrdiff_t>(begin),
                                           pages_.begin() + static_cast<std::ptrdiff_t>(end));
            in_flight_ += static_cast<std::uint32_t>(wanted.size());
            reads_.spawn(prefetch(pages, std::move(wanted), &in_flight_));
            begin = end;
        }
    }

    // Whether `next` extends the span from `first` whose last page so far is `last`.
    static bool joins_span(PageNumber first, PageNumber last, PageNumber next) noexcept {
        return first.order() == 0 && next.order() == 0 && next.index() > last.index() &&
               next.index() - last.index() <= kMaxGapPages + 1 &&
               next.index() - first.index() < kMaxSpanPages;
    }

    TableRange& range_;
    LeafRunVisitor& visitor_;
    std::uint32_t readahead_;
    coro::TaskScope& reads_;
    bool cold_ = false;
    std::uint32_t in_flight_ = 0;  // pages of readahead reads not finished yet
    Cursor::Readahead state_;
    std::vector<PageNumber> pages_;
};

}  // namespace

Task<Status> scan_runs(TableRange& range, LeafRunVisitor& visitor, std::uint32_t readahead) {
    if (Status usable = range.table().usable(); !usable) {
        co_return usable;  // the tree may be gone
    }
    const std::uint64_t budget = range.table().tree().pages().readahead_budget();
    readahead = static_cast<std::uint32_t>(std::min<std::uint64_t>(readahead, budget));
    coro::TaskScope reads;
    ScanLoop loop(range, visitor, readahead, reads);
    Status result = co_await loop.run();
    co_await reads.join();
    co_return result;
}

}  // namespace ringdb::engine
