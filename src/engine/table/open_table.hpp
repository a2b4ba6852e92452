#pragma once
// OpenTable and TableHost: a table as a transaction opened it, and what a table handle needs to
// know about that transaction.
//
// A write transaction owns the OpenTables of the tables it opened until it ends (so closing and
// reopening a table sees its earlier changes); a read transaction's table is owned by the one
// handle that opened it. Either way the handle holds the transaction, as a TableHost, which
// keeps the pages its tree reads alive.

#include <ringdb/result.hpp>
#include <ringdb/table_schema.hpp>

#include <memory>
#include <optional>

#include "engine/btree/btree.hpp"
#include "engine/compression/value_envelope.hpp"
#include "engine/table/multimap.hpp"

namespace ringdb::engine {

/// A table opened in a transaction: its schema and its tree.
struct OpenTable {
    OpenTable(TreePages& pages, KeyCompare compare, TableSchema s, BtreeRoot root)
        : schema(std::move(s)), tree(pages, compare, root) {}

    TableSchema schema;
    Btree tree;
    bool in_use = false;     // a handle to it is open (write transactions)
    MultimapState multimap;  // multimap tables only (pair count, subtrees to finalize)
    /// Set when the values are stored enveloped.
    std::optional<ValueEnvelope> value_envelope;
    const ValueEnvelope* envelope() const noexcept {
        return value_envelope ? &*value_envelope : nullptr;
    }
    /// The id of the table's compression dictionary as its definition records it, or 0.
    std::uint64_t dictionary = 0;
    /// Where the table's changes are reported for the commit log (write transactions): the
    /// tree of a normal table reports to it itself; a multimap handle reports its operations.
    std::unique_ptr<MutationSink> sink;
};

/// The transaction side of a table handle: whether its tables may be modified, and whether it
/// has ended (a write transaction drops its trees when it ends, so a handle must check this
/// before touching its tree). Implemented by WriteTxn and ReadTxn.
class TableHost {
public:
    TableHost(const TableHost&) = delete;
    TableHost& operator=(const TableHost&) = delete;

    bool tables_writable() const noexcept { return writable_; }
    /// transaction_finished once the transaction has ended.
    Status tables_usable() const noexcept {
        if (finished_) {
            return Error{Errc::transaction_finished};
        }
        return ok();
    }

protected:
    explicit TableHost(bool writable) noexcept : writable_(writable) {}
    ~TableHost() = default;
    /// Called by the transaction when it commits or aborts.
    void finish_tables() noexcept { finished_ = true; }

private:
    const bool writable_;
    bool finished_ = false;
};

}  // namespace ringdb::engine
