// A leaf-by-leaf forward scan with readahead (see table_scan.hpp).

#include "engine/table/table_scan.hpp"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include <ringdb/task_scope.hpp>

namespace ringdb::engine {

namespace {

// Loads one page into the cache; a failure is left for the scan's own read to report.
Task<void> prefetch(TreePages* pages, PageNumber page) {
    Result<PageRef> loaded = co_await pages->read(page);
    (void)loaded;
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

    // Tops the reads in flight up to the readahead when half of them are done.
    void read_ahead(Cursor& cursor) {
        const std::size_t active = reads_.active();
        if (readahead_ == 0 || active > readahead_ / 2) {
            return;
        }
        pages_.clear();
        cursor.next_leaves(state_, readahead_ - static_cast<std::uint32_t>(active), pages_);
        for (PageNumber page : pages_) {
            reads_.spawn(prefetch(&range_.table().tree().pages(), page));
        }
    }

    TableRange& range_;
    LeafRunVisitor& visitor_;
    std::uint32_t readahead_;
    coro::TaskScope& reads_;
    bool cold_ = false;
    Cursor::Readahead state_;
    std::vector<PageNumber> pages_;
};

}  // namespace

Task<Status> scan_runs(TableRange& range, LeafRunVisitor& visitor, std::uint32_t readahead) {
    coro::TaskScope reads;
    ScanLoop loop(range, visitor, readahead, reads);
    Status result = co_await loop.run();
    co_await reads.join();
    co_return result;
}

}  // namespace ringdb::engine
