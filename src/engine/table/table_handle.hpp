#pragma once
// TableHandle: the engine side of one handle to an open key-value table (the public
// detail::RawTable), with its ranges (TableRange) and extract/retain/drain.
//
// A handle to a write transaction's table refers to a tree the transaction owns; the
// transaction drops its trees when it ends, so every operation first checks that the
// transaction is still usable (transaction_finished otherwise) and only then touches the tree.
// Guards and entries returned share ownership of the page (or buffer) holding their bytes: they
// stay valid after the handle, the transaction or later modifications are gone. A later change
// to a page in the same transaction modifies a private copy (TreePages::writable).
//
// Size limits are checked before a tree is touched (value_too_large, table unchanged).
// Threads: one operation at a time per handle (as for Btree).

#include <cstdint>
#include <memory>
#include <optional>

#include <ringdb/raw_table.hpp>
#include <ringdb/result.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/cursor.hpp"
#include "engine/table/open_table.hpp"

namespace ringdb::engine {

using detail::RawBound;
using detail::RawBoundKind;
using detail::RawBoundView;
using detail::RawEntry;
using detail::RawGuard;
using detail::RawPredicate;

class TableHandle {
public:
    /// A write transaction's table; the transaction owns `table`.
    TableHandle(std::shared_ptr<const TableHost> host, OpenTable& table) noexcept
        : host_(std::move(host)), table_(&table) {}
    /// A snapshot's table, owned by this handle.
    TableHandle(std::shared_ptr<const TableHost> host, std::unique_ptr<OpenTable> table) noexcept
        : host_(std::move(host)), table_(table.get()), owned_(std::move(table)) {}
    TableHandle(const TableHandle&) = delete;
    TableHandle& operator=(const TableHandle&) = delete;
    /// Ends the use of the table (a write transaction's table may then be opened again).
    ~TableHandle();

    /// transaction_finished once the transaction ended.
    Status usable() const noexcept { return host_->tables_usable(); }
    /// As usable(), and invalid_argument for a read transaction's table.
    Status writable() const noexcept;
    /// REQUIRES: usable().
    Btree& tree() const noexcept { return table_->tree; }
    OpenTable& table() const noexcept { return *table_; }
    const TableSchema& schema() const noexcept { return table_->schema; }

    /// Number of entries (0 once the transaction ended).
    std::uint64_t len() const noexcept;
    /// Errors (all operations): transaction_finished, io, previous_io, corrupted.
    Task<Result<TableStats>> stats() const;
    Task<Result<std::optional<RawGuard>>> get(ByteView key) const;
    Task<Result<std::optional<RawEntry>>> first() const;
    Task<Result<std::optional<RawEntry>>> last() const;
    /// Write transactions only (invalid_argument otherwise); value_too_large; no_space.
    Task<Result<std::optional<RawGuard>>> insert(ByteView key, ByteView value);
    /// insert() without a coroutine when the tree can take the pair in place over pages that
    /// are dirty or cached; none, with nothing changed, otherwise (then call insert()).
    std::optional<Result<std::optional<RawGuard>>> try_insert(ByteView key, ByteView value);
    Task<Result<std::optional<RawGuard>>> remove(ByteView key);
    /// get() without a coroutine when every page on the path is dirty or cached; none
    /// otherwise (then call get()).
    std::optional<Result<std::optional<RawGuard>>> try_get(ByteView key) const;
    /// try_insert() that does not return the previous value (no copy of it); none when
    /// try_insert() would be (then call insert()).
    std::optional<Status> try_store(ByteView key, ByteView value);
    /// remove() without a coroutine and without a copy of the value (Btree::try_remove);
    /// whether the key was there, or none (then call remove()).
    std::optional<Result<bool>> try_remove(ByteView key);
    /// A buffer for the operation in progress on this handle (merges build their result in
    /// it); its capacity is kept between operations.
    Bytes& scratch() noexcept { return scratch_; }
    /// Removes the first (or last) entry and returns a copy of it.
    Task<Result<std::optional<RawEntry>>> pop(bool first_entry);

private:
    std::shared_ptr<const TableHost> host_;
    OpenTable* table_;
    std::unique_ptr<OpenTable> owned_;
    Bytes scratch_;
};

/// A double-ended cursor over a key range of a handle's table (the engine side of RawRange).
class TableRange {
public:
    using StepResult = Result<std::optional<RawEntry>>;

    /// The bounds' keys move into the cursor.
    TableRange(std::shared_ptr<TableHandle> table, RawBound lower, RawBound upper);
    /// Copies the keys (keys up to 64 bytes without an allocation).
    TableRange(std::shared_ptr<TableHandle> table, const RawBoundView& lower,
               const RawBoundView& upper);

    /// One step without a coroutine: true with `out` set when every page the step needs is
    /// dirty or cached (or the table is not usable); false, with nothing consumed, when a page
    /// must be read (then co_await step_slow). REQUIRES: `out` holds an empty optional.
    bool try_step(bool forward, StepResult& out);
    /// One step that may read pages.
    Task<StepResult> step_slow(bool forward);
    /// One step, fast path first.
    Task<StepResult> step(bool forward);

    TableHandle& table() const noexcept { return *table_; }
    /// The shared handle, for work that opens more ranges over the same table.
    const std::shared_ptr<TableHandle>& shared_table() const noexcept { return table_; }
    /// The cursor, for scans that step it directly (table_scan.hpp).
    Cursor& cursor() noexcept { return cursor_; }

private:
    StepResult entry_of(bool forward, Cursor::StepResult step);

    std::shared_ptr<TableHandle> table_;
    Cursor cursor_;
};

/// extract_if: the next entry of `range` that `take` accepts, removed from the table (entries
/// it rejects are skipped and kept). The entry holds its leaf, and the removal modifies a
/// private copy, so the returned bytes stay intact. Errors: as the table's, what `take`
/// returns, invalid_argument for a read transaction's table.
Task<Result<std::optional<RawEntry>>> extract_next(TableRange& range, const RawPredicate& take,
                                                   bool forward);
/// Removes every entry in the range that `take` accepts; returns how many. Errors: as
/// extract_next.
Task<Result<std::uint64_t>> remove_range(std::shared_ptr<TableHandle> table, RawBound lower,
                                         RawBound upper, RawPredicate take);

/// The built-in byte-ordered key types (strings, byte slices and arrays) use the engine's own
/// compare_bytes, which B-tree searches recognise and inline, instead of the codec's order.
KeyCompare canonical_key_order(const TableSchema& schema, KeyCompare order) noexcept;

}  // namespace ringdb::engine
