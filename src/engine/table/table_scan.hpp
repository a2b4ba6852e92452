#pragma once
// A forward scan over a table range that hands its entries out leaf by leaf, for whole-table
// work that looks at every entry (vector search): the cursor steps once per leaf, not once
// per entry, and no entry is copied or reference-counted.
//
// Prefetch: over cached pages, the scan asks for the next leaf's bytes and the cache slot of
// the one after it while it visits a leaf, so memory misses overlap with the visit.
//
// Readahead: once a step of the scan has had to read a page, the scan keeps up to
// `readahead` pages of the following leaves in flight through the thread's ring (those under
// the current leaf's parent branch, then under the parents after it), reading leaves that lie
// close together in the file with one vectored read each, so a scan of a table larger than
// the cache does not wait for its pages one at a time. A scan that finds every page cached
// issues none. Every read is joined before scan_runs returns, whatever its result.
//
// Errors: the range's (io, corrupted, transaction_finished) and what the visitor returns,
// which stops the scan.

#include <cstdint>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/page_layout.hpp"
#include "engine/table/table_handle.hpp"

namespace ringdb::engine {

/// Receives the entries [first, last) of a leaf, in key order. Spans into `leaf` are valid
/// during the call only.
class LeafRunVisitor {
public:
    virtual Status visit(const LeafView& leaf, std::uint32_t first, std::uint32_t last) = 0;

protected:
    ~LeafRunVisitor() = default;
};

/// Pages of readahead kept in flight by a scan that met an uncached page (1 MiB of 4 KiB
/// pages; 4 MiB measured no better).
inline constexpr std::uint32_t kScanReadahead = 256;

/// Visits every remaining entry of `range` from its front, in key order. The readahead is
/// capped by the tree's TreePages::readahead_budget() (a quarter of the cache).
Task<Status> scan_runs(TableRange& range, LeafRunVisitor& visitor,
                       std::uint32_t readahead = kScanReadahead);

}  // namespace ringdb::engine
