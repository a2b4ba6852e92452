#pragma once
// System tables (docs/design.md section 4): their names, schemas and record codecs.
//
// Page lists (`freed`, `system_freed`, `allocated`) are keyed by the transaction id (u64
// big-endian) and a sequence number (u32 big-endian), so that bytewise key order is numeric
// order; each value is a list of PageNumbers (u64 little-endian), at most kPageListChunk per
// entry. Persistent savepoints are keyed by their id (u64 big-endian).
//
// Everything read from these tables comes from disk: decoders validate and return
// Errc::corrupted, never assert.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <ringdb/bytes.hpp>
#include <ringdb/result.hpp>
#include <ringdb/table_schema.hpp>

#include "engine/btree/tree_pages.hpp"
#include "engine/page_store/page_number.hpp"

namespace ringdb::engine {

/// Data pages (user table tree and user tables) freed by a commit.
inline constexpr std::string_view kFreedTable = "freed";
/// System tree pages freed by a commit.
inline constexpr std::string_view kSystemFreedTable = "system_freed";
/// Data pages allocated by a commit while a savepoint existed.
inline constexpr std::string_view kAllocatedTable = "allocated";
/// Persistent savepoint records.
inline constexpr std::string_view kSavepointsTable = "savepoints";
/// The next savepoint id (one entry under the key kNextSavepointKey).
inline constexpr std::string_view kNextSavepointTable = "next_savepoint_id";

/// Page numbers per page-list entry.
inline constexpr std::size_t kPageListChunk = 500;

using PageListKey = std::array<std::byte, 12>;
using SavepointKey = std::array<std::byte, 8>;
inline constexpr std::array<std::byte, 1> kNextSavepointKey{std::byte{0}};

/// The schema of a page-list table (`freed`, `system_freed`, `allocated`).
TableSchema page_list_schema(std::string_view name);
/// The schema of the system table `freed`.
TableSchema freed_table_schema();
TableSchema savepoints_schema();
TableSchema next_savepoint_schema();

PageListKey page_list_key(std::uint64_t transaction_id, std::uint32_t sequence);
/// The transaction id of a page-list key. Errors: corrupted if the key is not 12 bytes.
Result<std::uint64_t> page_list_key_transaction(ByteView key);

Bytes encode_page_list(std::span<const PageNumber> pages);
/// Errors: corrupted if the value is not a whole number of page numbers.
Result<std::vector<PageNumber>> decode_page_list(ByteView value);

/// A persistent savepoint as stored (docs/design.md section 4): which commit it shows.
struct SavepointRecord {
    std::uint64_t id = 0;
    std::uint64_t transaction_id = 0;
    BtreeRoot user_root;

    static constexpr std::size_t kEncodedSize = 56;
    Bytes encode() const;
    /// Errors: corrupted for a wrong length, version or zero id.
    static Result<SavepointRecord> decode(ByteView bytes);
};

SavepointKey savepoint_key(std::uint64_t id);
/// Errors: corrupted if the key is not 8 bytes.
Result<std::uint64_t> savepoint_key_id(ByteView key);

}  // namespace ringdb::engine
