#pragma once
// ringdb error taxonomy.
//
// Every fallible ringdb operation reports failure as an `Error`: a small, trivially copyable
// value (16 bytes) holding an `Errc` code, the OS errno when the failure came from the system,
// and one 64-bit detail (a page number, a length, an offset, or a nested code) whose meaning is
// given per code below. `Error` holds no string; `to_string(Error)` builds the message.
//
// The codes mirror the reference's error variants, flattened (docs/errors.md), plus the few
// that ringdb's own layers need (`invalid_argument`, `out_of_range`, `device_closed`,
// `no_space`, `cancelled`, `unsupported`). `Errc` converts to `std::error_code` through
// `ringdb::error_category()`, so Asio completion handlers receive ringdb errors directly.

#include <cstdint>
#include <string>
#include <system_error>

namespace ringdb {

/// Error codes. Enumerators are stable; new ones are only appended. Callers must tolerate
/// codes they do not know.
enum class Errc : std::uint16_t {
    ok = 0,  // never carried by an Error; reserved so that 0 converts to a success error_code
    // Storage
    corrupted = 1,            // detail: page number or offset where the damage was found
    value_too_large = 2,      // detail: the offending length
    io = 3,                   // sys_errno: the OS error
    previous_io = 4,          // an earlier write or sync failed; reopen to continue
    database_closed = 5,      //
    blob_not_found = 6,       // detail: sequence number
    blob_checksum_mismatch = 7,
    blob_writer_active = 8,
    blob_range_out_of_bounds = 9,  // detail: the requested offset
    memory_budget_exceeded = 10,
    // Tables
    table_type_mismatch = 20,
    table_is_multimap = 21,
    table_is_not_multimap = 22,
    type_definition_changed = 23,
    table_does_not_exist = 24,
    table_exists = 25,
    table_already_open = 26,
    // Database lifecycle
    database_already_open = 30,
    repair_aborted = 31,
    upgrade_required = 32,  // detail: the file's format version
    // Savepoints, compaction, durability
    invalid_savepoint = 40,
    persistent_savepoint_modified = 41,
    persistent_savepoint_exists = 42,
    ephemeral_savepoint_exists = 43,
    transaction_in_progress = 44,
    read_transaction_still_in_use = 45,
    // Group commit
    batch_failed = 50,  // detail: the Errc that failed the batch
    peer_failed = 51,
    group_commit_shutdown = 52,
    // ringdb's own layers
    invalid_argument = 60,  // detail: call-specific (for example a misaligned offset)
    out_of_range = 61,      // detail: the offset that lies past the end
    device_closed = 62,     // the device or file was closed
    no_space = 63,          // sys_errno: ENOSPC or EDQUOT
    cancelled = 64,
    unsupported = 65,       // sys_errno: why the facility is unavailable (EPERM, ENOSYS...)
    transaction_finished = 66,  // the transaction was committed or aborted already
};

/// A ringdb failure. Trivially copyable; cheap to return by value.
struct Error {
    Errc code = Errc::io;
    std::int32_t sys_errno = 0;
    std::uint64_t detail = 0;

    constexpr Error() = default;
    constexpr Error(Errc c, std::int32_t e = 0, std::uint64_t d = 0)  // NOLINT: implicit by design
        : code(c), sys_errno(e), detail(d) {}

    /// An OS failure: `Errc::io`, or `Errc::no_space` for ENOSPC and EDQUOT.
    static Error from_errno(int err, std::uint64_t detail = 0);

    friend constexpr bool operator==(const Error& a, const Error& b) = default;
};

static_assert(sizeof(Error) <= 16);

/// The name of a code, for example "previous_io".
const char* errc_name(Errc code) noexcept;

/// A human-readable message including the errno text and detail where they apply.
std::string to_string(const Error& error);

/// The category behind `std::error_code` values made from `Errc`.
const std::error_category& error_category() noexcept;

std::error_code make_error_code(Errc code) noexcept;

/// The `std::error_code` for an error: the OS errno (system_category) when the error carries
/// one, else the ringdb code.
std::error_code to_error_code(const Error& error) noexcept;

}  // namespace ringdb

template <>
struct std::is_error_code_enum<ringdb::Errc> : std::true_type {};
