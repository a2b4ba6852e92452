#pragma once
// Whole-tree walks: verification (checksums and structure) and page enumeration (for
// delete_table, full repair and compaction).
//
// Both walks are iterative with an explicit stack bounded by kMaxDepth, and both remember the
// pages they have seen, so a damaged tree that references a page twice (or forms a cycle)
// cannot make them loop or visit a page twice.
//
// Parameter lifetime: the Tasks take references; co_await them in the full-expression that
// created them (docs/coroutines.md rule 5). Bind a std::function to a named local first.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/tree_pages.hpp"

namespace ringdb::engine {

struct VerifyProblem {
    PageNumber page;  // the damaged page (the root page for a length mismatch)
    std::string what;
};

/// What verify_tree found in one tree (the database-wide report is ringdb::VerifyReport).
struct TreeReport {
    std::uint64_t pages_checked = 0;  // pages read and checksummed
    std::uint64_t entries = 0;        // entries found in leaves
    std::uint32_t height = 0;         // levels from root to leaves; 0 for an empty tree
    std::uint64_t leaf_pages = 0;
    std::uint64_t branch_pages = 0;
    /// Smallest used length among non-root pages of one base page, those on the tree's right
    /// edge excepted (UINT64_MAX if none): a measure of how well merging keeps pages filled.
    std::uint64_t min_fill_bytes = UINT64_MAX;
    std::vector<VerifyProblem> problems;  // at most kMaxProblems, then problems_truncated
    bool problems_truncated = false;

    static constexpr std::size_t kMaxProblems = 1000;
    bool ok() const noexcept { return problems.empty(); }
};

/// Reads every page of the tree rooted at `root`, recomputes each page's checksum against the
/// one stored in its parent (or in `root`), and checks the structure: pages parse, all leaves
/// lie at the same depth, keys strictly increase (by `compare`) within pages and respect the
/// separator bounds of their ancestors, no page is referenced twice, and the entry count
/// equals root.length. Problems are collected, not fatal.
/// REQUIRES: the tree is finalized (dirty pages carry placeholder checksums until then).
/// Errors: io (and other device errors); never corrupted (that is a problem in the report).
/// A null `compare` skips the key-order checks (the order of the key type is unknown).
Task<Result<TreeReport>> verify_tree(TreePages& pages, KeyCompare compare,
                                       const BtreeRoot& root);

/// Calls `visit` once for every page of the tree rooted at `root`, a parent before its
/// children (pre-order, children left to right). Only branches are read: leaves are
/// recognised by depth (all leaves lie at the depth of the leftmost one), so a leaf is
/// visited without I/O. `visit` may free the page it is given (the walk holds what it still
/// needs). Branches read from the device are checked against their parents' checksums
/// (check_page). Errors: io, corrupted (malformed or damaged branch, inconsistent depth, a page
/// seen twice).
Task<Status> visit_pages(TreePages& pages, BtreeRoot root,
                         const std::function<void(PageNumber)>& visit);

}  // namespace ringdb::engine
