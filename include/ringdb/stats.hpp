#pragma once
// Statistics: space used by a database (WriteTransaction::stats) and by one table
// (Table::stats), computed by walking the trees, so their cost grows with the data (meant for
// monitoring and tests, not for a hot path); and the group committer's counters
// (Database::group_commit_stats) and the commit log's (Database::commit_log_stats), which cost
// nothing to read.

#include <cstdint>

namespace ringdb {

/// Statistics of one table's tree.
struct TableStats {
    std::uint32_t tree_height = 0;     // levels from the root to the leaves; 0 when empty
    std::uint64_t leaf_pages = 0;
    std::uint64_t branch_pages = 0;
    std::uint64_t stored_bytes = 0;    // key and value bytes in the leaves
    std::uint64_t metadata_bytes = 0;  // page headers, offsets, branch keys and pointers
    std::uint64_t fragmented_bytes = 0;  // unused bytes inside the table's blocks
};

/// Statistics of the whole database as the transaction sees it.
struct DatabaseStats {
    /// Height of the table tree plus the greatest height of a user table.
    std::uint32_t tree_height = 0;
    std::uint64_t allocated_pages = 0;  // base pages in use (header excluded)
    std::uint64_t free_pages = 0;       // base pages free inside the file's layout
    std::uint64_t leaf_pages = 0;       // pages of user tables
    std::uint64_t branch_pages = 0;     // branches of user tables and all table-tree pages
    std::uint64_t stored_bytes = 0;     // key and value bytes of user tables
    /// Bytes of page headers, offsets and branches of user tables, plus every used byte of the
    /// table trees and system tables.
    std::uint64_t metadata_bytes = 0;
    /// Unused bytes inside used blocks plus free pages times the page size.
    std::uint64_t fragmented_bytes = 0;
    std::uint32_t page_size = 0;
};

/// Counters of Database::submit_write_batch since the database was opened.
struct GroupCommitStats {
    std::uint64_t groups = 0;         // groups made durable
    std::uint64_t batches = 0;        // batches acknowledged ok
    std::uint64_t failed_groups = 0;  // groups rolled back or failed at commit
};

/// Counters of the commit log and its checkpoints since the database was opened
/// (docs/api.md, "Commit log and checkpoints").
struct CommitLogStats {
    std::uint64_t logged_commits = 0;  // commits (or groups) written as one log record
    std::uint64_t checkpoints = 0;     // checkpoints completed, background ones included
    /// Time commits spent on checkpoints, in microseconds: writing the ones they commit as
    /// (two-phase, savepoints, compaction...), and waiting for a background checkpoint when
    /// the log was full or too many pages were held.
    std::uint64_t checkpoint_wait_us = 0;
    std::uint64_t log_bytes = 0;       // the log's size (0: the database has no log)
    std::uint64_t log_used_bytes = 0;  // of it, records a crash would replay
    /// Pages of logged commits held in memory until a checkpoint writes them, in bytes.
    std::uint64_t held_bytes = 0;
};

}  // namespace ringdb
