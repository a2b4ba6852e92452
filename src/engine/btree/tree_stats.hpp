#pragma once
// Space statistics of one tree (Database and table stats), by reading every page.

#include <cstdint>

#include <ringdb/result.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/tree_pages.hpp"

namespace ringdb::engine {

/// Walks the tree rooted at `root` (iteratively, bounded by kMaxDepth) and adds up its pages and
/// bytes. Errors: io, corrupted (malformed page, inconsistent depth).
Task<Result<TableStats>> tree_stats(TreePages& pages, PageNumber root);

}  // namespace ringdb::engine
