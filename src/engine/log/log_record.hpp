#pragma once
// Commit log records of write transactions (docs/design.md section 10, "Record payload").
//
// A write transaction describes its changes to user tables as operations on named tables, in
// the order they happened: the table changes (create, delete, rename) and, per table, the
// inserts and removals of stored bytes (a compressed table's envelopes, a TTL table's
// expiry-prefixed values, a merge's result), and for multimaps the set operations. Replaying
// the operations on the checkpoint the record follows reproduces the transaction's user
// tables exactly; system tables (freed pages, savepoints) are derived state and not logged.

#include <cstdint>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ringdb/result.hpp>
#include <ringdb/table_schema.hpp>

#include "engine/btree/mutation_sink.hpp"

namespace ringdb::engine {

enum class LogOp : std::uint8_t {
    table = 1,            // the table the following operations apply to: name
    insert = 2,           // key, value
    remove = 3,           // key
    multimap_insert = 4,  // key, value
    multimap_remove = 5,  // key, value
    multimap_remove_key = 6,  // key
    create_table = 7,     // name, table definition (docs/design.md section 4)
    delete_table = 8,     // name, kind
    rename_table = 9,     // from, to, kind
};

/// Bytes of a payload before its operations (transaction id, clock mark).
inline constexpr std::size_t kRecordPayloadHeader = 16;

/// Builds one record's payload. Thread-safe: tables of one transaction may change from
/// several threads (their operations interleave; each table's stay in order).
class RecordBuilder {
public:
    RecordBuilder() = default;
    RecordBuilder(const RecordBuilder&) = delete;
    RecordBuilder& operator=(const RecordBuilder&) = delete;

    /// The sink a table's tree (or multimap handle) reports to. `name` is read at every
    /// operation (a rename changes it between operations). REQUIRES: outlives the sink's use.
    std::unique_ptr<MutationSink> sink_for(const std::string* name);

    void create_table(std::string_view name, std::span<const std::byte> definition);
    void delete_table(std::string_view name, TableKind kind);
    void rename_table(std::string_view from, std::string_view to, TableKind kind);
    /// Appends an operation on table `name`.
    void operation(std::string_view name, LogOp op, std::span<const std::byte> key,
                   std::span<const std::byte> value);

    /// Past `bytes` of operations the builder stops recording (the transaction is too large
    /// for the log and will be a checkpoint) and drops what it holds.
    void set_limit(std::size_t bytes) noexcept { limit_ = bytes; }
    /// Whether the limit was passed.
    bool overflowed() const;

    /// The payload: transaction id and clock mark, then the operations.
    std::vector<std::byte> finish(std::uint64_t transaction_id, std::uint64_t clock_high_water);
    /// Bytes of the operations so far.
    std::size_t size() const;
    bool empty() const;

private:
    void put_bytes(std::span<const std::byte> bytes);
    void put_string(std::string_view text) {
        put_bytes(std::as_bytes(std::span<const char>(text.data(), text.size())));
    }

    /// REQUIRES: mutex_ held. Drops the operations once they pass the limit.
    void check_limit();

    mutable std::mutex mutex_;
    std::vector<std::byte> ops_;
    std::size_t limit_ = SIZE_MAX;
    bool overflowed_ = false;
    std::string current_table_;
    bool has_current_ = false;
};

/// One decoded operation; the spans point into the payload.
struct LogOperation {
    LogOp op;
    std::string_view table;  // for table operations: the table they apply to
    std::span<const std::byte> key;    // name (create/delete/rename: the table's name)
    std::span<const std::byte> value;  // definition, rename target, or value
    TableKind kind = TableKind::normal;
};

struct DecodedRecord {
    std::uint64_t transaction_id = 0;
    std::uint64_t clock_high_water = 0;
    std::vector<LogOperation> operations;
};

/// Decodes a payload. Errors: corrupted (detail = the offset of the problem).
Result<DecodedRecord> decode_record(std::span<const std::byte> payload);

}  // namespace ringdb::engine
