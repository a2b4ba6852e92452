#pragma once
// TableTree: a B-tree mapping table names to table definitions (docs/design.md section 4).
// The same structure names the user tables (slot field "user root") and the system tables
// ("system root"). Names are ordered bytewise.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ringdb/result.hpp>
#include <ringdb/table_schema.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/btree.hpp"

namespace ringdb::engine {

/// A table definition as stored in a table tree: its schema (without the name, which is the
/// key) and the root of its own tree.
struct StoredTable {
    TableSchema schema;
    BtreeRoot root;
    /// Multimap tables only: the number of (key, value) pairs (root.length counts keys).
    std::uint64_t pairs = 0;
    /// Normal tables only: the id of the table's compression dictionary, or 0 for none
    /// (engine/compression/dictionary.hpp).
    std::uint64_t dictionary = 0;

    Bytes encode() const;
    /// Errors: corrupted for any malformed definition (detail = offset of the problem).
    static Result<StoredTable> decode(std::string_view name, ByteView bytes);
};

class TableTree {
public:
    TableTree(TreePages& pages, BtreeRoot root) noexcept
        : tree_(pages, &compare_bytes, root) {}

    /// The definition of `name`, or none. Errors: io, corrupted.
    Task<Result<std::optional<StoredTable>>> get(std::string_view name) const;
    /// Creates or replaces the definition of `name`. Errors: io, no_space, corrupted.
    Task<Status> put(std::string_view name, const StoredTable& table);
    /// Removes `name`; returns whether it existed.
    Task<Result<bool>> remove(std::string_view name);

    Btree& tree() noexcept { return tree_; }
    const Btree& tree() const noexcept { return tree_; }

private:
    Btree tree_;
};

/// Every table of a table tree with its name, in name order (read before any is modified).
/// Errors: io, corrupted.
Task<Result<std::vector<std::pair<std::string, StoredTable>>>> collect_tables(const Btree& tree);

inline ByteView name_bytes(std::string_view name) noexcept {
    return std::as_bytes(std::span<const char>(name.data(), name.size()));
}

}  // namespace ringdb::engine
