#pragma once
// Space statistics of one tree (Database and table stats), by reading every page.

#include <cstdint>

#include <ringdb/result.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/tree_pages.hpp"

namespace ringdb::engine {

/// Walks the tree rooted at `root` (iteratively, bounded by kMaxDepth) and adds up its pages and
/// bytes, checking pages read from the device against their checksums (check_page). Errors:
/// io, corrupted (malformed or damaged page, inconsistent depth).
Task<Result<TableStats>> tree_stats(TreePages& pages, BtreeRoot root);

}  // namespace ringdb::engine
