#pragma once
// The untyped table operations behind ringdb/table.hpp. Users normally use Table<K, V>; these
// are public so that the templates stay thin and so that tools can work on raw bytes.
//
// A RawTable is a handle to a table opened in a write or read transaction. Guards and entries
// it returns share ownership of the page (or buffer) holding their bytes: they stay valid after
// the table, the transaction or later modifications are gone.

#include <coroutine>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <ringdb/bytes.hpp>
#include <ringdb/merge.hpp>
#include <ringdb/result.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/table_schema.hpp>
#include <ringdb/task.hpp>

namespace ringdb::engine {
class WriteTxn;
class ReadTxn;
}  // namespace ringdb::engine

namespace ringdb::detail {

using KeyOrder = int (*)(ByteView a, ByteView b);

/// Bytes plus whatever keeps them alive.
struct RawGuard {
    std::shared_ptr<const void> keep;
    ByteView bytes;

    static RawGuard owning(Bytes bytes);
};

struct RawEntry {
    std::shared_ptr<const void> keep;
    ByteView key;
    ByteView value;
};

enum class RawBoundKind : std::uint8_t { unbounded, included, excluded };

struct RawBound {
    RawBoundKind kind = RawBoundKind::unbounded;
    Bytes key;
};

/// A bound whose key is borrowed: RawTable::range copies it before returning.
struct RawBoundView {
    RawBoundKind kind = RawBoundKind::unbounded;
    ByteView key;
};

struct RawAccess;

/// A double-ended iterator over a key range.
class RawRange {
public:
    struct Impl;
    using StepResult = Result<std::optional<RawEntry>>;

    /// The awaitable that next() / next_back() return; `co_await` gives the StepResult.
    ///
    /// The step runs when the awaitable is awaited (not when it is created), at most once.
    /// When every page it needs is cached (or dirty) the whole step runs inside await_ready(),
    /// so awaiting it suspends nothing and creates no coroutine frame; otherwise
    /// await_suspend() starts a coroutine that reads the pages and resumes the awaiter.
    /// REQUIRES: awaited in the full-expression that created it (like a Task taking
    /// references: docs/coroutines.md), while the range is alive and not moved from.
    class [[nodiscard]] Step {
    public:
        Step(Impl* impl, bool forward) noexcept : impl_(impl), forward_(forward) {}
        Step(Step&&) noexcept = default;
        Step& operator=(Step&&) = delete;
        Step(const Step&) = delete;
        Step& operator=(const Step&) = delete;
        ~Step() = default;

        bool await_ready();
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting);
        StepResult await_resume() { return std::move(result_); }

    private:
        static Task<void> load(Step* self);

        Impl* impl_;
        bool forward_;
        StepResult result_;
        Task<void> loading_;
    };

    RawRange();
    RawRange(RawRange&&) noexcept;
    RawRange& operator=(RawRange&&) noexcept;
    RawRange(const RawRange&) = delete;
    RawRange& operator=(const RawRange&) = delete;
    ~RawRange();

    /// The next entry from the front / back, or none when the two ends meet (see Step).
    /// Errors: io, corrupted, transaction_finished.
    Step next() noexcept { return Step(impl_.get(), true); }
    Step next_back() noexcept { return Step(impl_.get(), false); }

    explicit RawRange(std::unique_ptr<Impl> impl) noexcept;

private:
    friend class RawExtract;  // steps the range's engine state directly
    friend struct RawAccess;  // whole-range scans (nearest.hpp) reach the engine state
    std::unique_ptr<Impl> impl_;
};

/// Decides, for one entry, whether an extract or retain operation acts on it. An error stops
/// the operation and is returned.
using RawPredicate = std::function<Result<bool>(ByteView key, ByteView value)>;

/// Whether bytes are a valid value of a table's value type.
using RawValueCheck = bool (*)(ByteView value);

/// A range that removes each entry it yields (extract_if): entries the predicate rejects are
/// skipped and kept; entries never reached (the caller stops early) are kept.
class RawExtract {
public:
    RawExtract(RawRange range, std::shared_ptr<void> table, RawPredicate predicate) noexcept;
    RawExtract(RawExtract&&) noexcept;
    RawExtract& operator=(RawExtract&&) noexcept;
    RawExtract(const RawExtract&) = delete;
    RawExtract& operator=(const RawExtract&) = delete;
    ~RawExtract();

    Task<Result<std::optional<RawEntry>>> next();
    Task<Result<std::optional<RawEntry>>> next_back();

private:
    Task<Result<std::optional<RawEntry>>> step(bool forward);

    RawRange range_;
    std::shared_ptr<void> table_;  // RawTable::Impl
    RawPredicate predicate_;
};

class RawTable {
public:
    /// Opens (creating if missing) a table in a write transaction.
    static Task<Result<RawTable>> open_write(std::shared_ptr<engine::WriteTxn> txn,
                                             TableSchema schema, KeyOrder order);
    /// Opens a table of a read transaction's snapshot (table_does_not_exist if absent).
    static Task<Result<RawTable>> open_read(std::shared_ptr<engine::ReadTxn> txn,
                                            TableSchema schema, KeyOrder order);

    RawTable() = default;
    RawTable(RawTable&&) noexcept = default;
    RawTable& operator=(RawTable&&) noexcept = default;
    RawTable(const RawTable&) = delete;
    RawTable& operator=(const RawTable&) = delete;
    ~RawTable();

    const TableSchema& schema() const;
    std::uint64_t len() const;
    /// Another handle to the same open table (the table stays open until every handle is
    /// gone). REQUIRES: this handle is not empty.
    RawTable share() const noexcept { return RawTable(impl_); }

    /// Space statistics of the table's tree (reads every page). Errors: io, corrupted,
    /// transaction_finished.
    Task<Result<TableStats>> stats() const;
    Task<Result<std::optional<RawGuard>>> get(ByteView key) const;
    Task<Result<std::optional<RawEntry>>> first() const;
    Task<Result<std::optional<RawEntry>>> last() const;
    /// Write transactions only (invalid_argument otherwise). Checks the size limits
    /// (value_too_large, table unchanged).
    Task<Result<std::optional<RawGuard>>> insert(ByteView key, ByteView value);
    /// insert() without a coroutine when the tree can take the pair in place over pages that
    /// are dirty or cached (engine Btree::try_insert); none, with nothing changed, otherwise
    /// (then call insert()). Same errors as insert().
    std::optional<Result<std::optional<RawGuard>>> try_insert(ByteView key, ByteView value);
    Task<Result<std::optional<RawGuard>>> remove(ByteView key);
    /// Replaces the key's value with op(key, value or none, operand), or removes the key when
    /// op returns none (<ringdb/merge.hpp>). A result `valid_value` rejects is invalid_argument
    /// (kMergeResultInvalid). On any error, or an exception from op, the table is unchanged.
    Task<Status> merge(ByteView key, ByteView operand, const MergeOperator& op,
                       RawValueCheck valid_value);
    Task<Result<std::optional<RawEntry>>> pop_first();
    Task<Result<std::optional<RawEntry>>> pop_last();
    /// REQUIRES for the bounds' keys: encoded with the table's key codec.
    Result<RawRange> range(RawBound lower, RawBound upper) const;
    /// As above, copying the keys (keys up to 64 bytes are kept without an allocation). The
    /// range's state comes from a per-thread pool, so opening a range usually allocates
    /// nothing either.
    Result<RawRange> range(const RawBoundView& lower, const RawBoundView& upper) const;
    /// Removes every entry in the range; returns how many.
    Task<Result<std::uint64_t>> drain(RawBound lower, RawBound upper);
    /// Removes the entries in the range for which `keep` returns false; returns how many.
    Task<Result<std::uint64_t>> retain_in(RawBound lower, RawBound upper, RawPredicate keep);
    /// A range that removes and yields the entries for which `take` returns true.
    Result<RawExtract> extract_from_if(RawBound lower, RawBound upper, RawPredicate take);

    struct Impl;

private:
    friend struct RawAccess;
    explicit RawTable(std::shared_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
    std::shared_ptr<Impl> impl_;
};

}  // namespace ringdb::detail
