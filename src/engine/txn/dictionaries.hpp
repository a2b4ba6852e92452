#pragma once
// Where a database keeps its tables' compression dictionaries (docs/compression.md,
// "Dictionaries"; docs/design.md section 4, "Dictionary table").
//
// Dictionaries live in a table of the user table tree whose name begins with byte 0xFF, which
// no user table name may (check_table_name): key the dictionary id (u64 big-endian), value the
// dictionary's bytes. Keeping them in the user tree makes them follow snapshots, savepoints and
// compaction like any table; list_tables does not show it.

#include <array>
#include <memory>
#include <string_view>

#include <ringdb/options.hpp>
#include <ringdb/table_schema.hpp>

#include <ringdb/task.hpp>
#include "engine/btree/btree.hpp"
#include "engine/compression/dictionary.hpp"
#include "engine/table/open_table.hpp"

namespace ringdb::engine {

inline constexpr std::string_view kDictionaryTable = "\xFF" "dictionaries";

TableSchema dictionary_table_schema();
std::array<std::byte, 8> dictionary_key(std::uint64_t id) noexcept;

/// Dictionary `id` read from the dictionary table rooted at `root` (of the reader's or writer's
/// snapshot) and digested for `config`; remembered in `registry`. Errors: io; corrupted if the
/// dictionary is missing or damaged.
Task<Result<std::shared_ptr<const CompressionDictionary>>> read_dictionary(
        TreePages& pages, BtreeRoot root, std::uint64_t id, const Compression& config,
        DictionaryRegistry& registry);

}  // namespace ringdb::engine
