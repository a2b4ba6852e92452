#pragma once
// MultimapHandle: the engine side of one handle to an open multimap table (the public
// detail::RawMultimap), with the iterator over one key's values (MultimapValues) and over a
// key range (MultimapRange). The tree operations themselves are in multimap.hpp.
//
// As for TableHandle, every operation first checks that the transaction is still usable.
// Values of a set stored inline are read from a leaf image the iterator holds; values of a set
// stored in a subtree are read from the live subtree, so such an iterator refuses to step
// (invalid_argument) once its write transaction's table was modified after it was made.

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include <ringdb/raw_table.hpp>
#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/cursor.hpp"
#include "engine/table/multimap.hpp"
#include "engine/table/table_handle.hpp"

namespace ringdb::engine {

class MultimapHandle : public TableHandle {
public:
    MultimapHandle(std::shared_ptr<const TableHost> host, OpenTable& table,
                   KeyCompare values_order) noexcept
        : TableHandle(std::move(host), table), value_order_(values_order) {}
    MultimapHandle(std::shared_ptr<const TableHost> host, std::unique_ptr<OpenTable> table,
                   KeyCompare values_order) noexcept
        : TableHandle(std::move(host), std::move(table)), value_order_(values_order) {}

    KeyCompare value_order() const noexcept { return value_order_; }
    /// The number of (key, value) pairs (0 once the transaction ended).
    std::uint64_t pairs() const noexcept { return usable() ? table().multimap.pairs : 0; }
    /// Modification counter of the table (never changes for a snapshot's table).
    std::uint64_t modifications() const noexcept { return table().multimap.modifications; }

    // Errors: transaction_finished, io, previous_io, corrupted; invalid_argument for changes
    // through a read transaction's table; value_too_large, no_space for insertions.
    Task<Result<bool>> insert(ByteView key, ByteView value);
    Task<Result<bool>> remove(ByteView key, ByteView value);
    Task<Result<std::optional<RemovedValues>>> remove_all(ByteView key);
    /// Removes every key in the range with its values; returns how many keys.
    Task<Result<std::uint64_t>> drain(RawBound lower, RawBound upper);

private:
    KeyCompare value_order_;
};

/// The values of one key, ascending from the front and descending from the back.
class MultimapValues {
public:
    MultimapValues() = default;
    /// The collection `value`, which lies in `page` of the table's outer tree.
    /// Errors: corrupted (a malformed collection).
    static Result<MultimapValues> of(const std::shared_ptr<MultimapHandle>& table, PageRef page,
                                     ByteView value);
    /// Values a removal took out of the table (owned).
    static MultimapValues removed(RemovedValues values);

    MultimapValues(MultimapValues&&) noexcept = default;
    MultimapValues& operator=(MultimapValues&&) noexcept = default;
    MultimapValues(const MultimapValues&) = delete;
    MultimapValues& operator=(const MultimapValues&) = delete;
    ~MultimapValues() = default;

    /// Values not consumed yet.
    std::uint64_t len() const noexcept;
    /// The next value from the front or the back, or none when the two ends met.
    Task<Result<std::optional<RawGuard>>> step(bool forward);

private:
    enum class Mode : std::uint8_t { image, list, tree };
    ByteView at(std::uint64_t i) const;

    Mode mode_ = Mode::list;
    // image: the bytes holding the leaf image; list: the RemovedValues.
    std::shared_ptr<const void> keep_;
    LeafView leaf_;                         // image
    const RemovedValues* list_ = nullptr;   // list (owned through keep_)
    std::uint64_t front_ = 0;               // image, list: [front_, back_)
    std::uint64_t back_ = 0;
    // tree: the table (keeps the transaction and its pages alive), the subtree and a cursor.
    std::shared_ptr<MultimapHandle> table_;
    std::unique_ptr<Btree> sub_;
    std::unique_ptr<Cursor> cursor_;  // declared after sub_: destroyed first
    std::uint64_t remaining_ = 0;
    std::uint64_t modifications_ = 0;
};

/// The keys of a range with their values.
class MultimapRange {
public:
    MultimapRange(std::shared_ptr<MultimapHandle> table, const RawBound& lower,
                  const RawBound& upper);

    using Entry = std::pair<RawGuard, MultimapValues>;
    Task<Result<std::optional<Entry>>> step(bool forward);

private:
    std::shared_ptr<MultimapHandle> table_;
    Cursor cursor_;
};

}  // namespace ringdb::engine
