// Messages and std::error_code integration for ringdb::Error.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <ringdb/error.hpp>
#include <ringdb/result.hpp>

#include "util/assert.hpp"

namespace ringdb {

namespace {

struct CodeInfo {
    Errc code;
    const char* name;
    const char* message;
};

constexpr CodeInfo kCodes[] = {
        {Errc::ok, "ok", "success"},
        {Errc::corrupted, "corrupted", "database corrupted"},
        {Errc::value_too_large, "value_too_large", "key or value exceeds the maximum size"},
        {Errc::io, "io", "I/O error"},
        {Errc::previous_io, "previous_io",
         "an earlier I/O operation failed; the database must be reopened"},
        {Errc::database_closed, "database_closed", "the database is closed"},
        {Errc::blob_not_found, "blob_not_found", "blob not found"},
        {Errc::blob_checksum_mismatch, "blob_checksum_mismatch", "blob checksum mismatch"},
        {Errc::blob_writer_active, "blob_writer_active",
         "a streaming blob writer is active on this transaction"},
        {Errc::blob_range_out_of_bounds, "blob_range_out_of_bounds",
         "blob range out of bounds"},
        {Errc::memory_budget_exceeded, "memory_budget_exceeded", "memory budget exceeded"},
        {Errc::table_type_mismatch, "table_type_mismatch",
         "table opened with types different from its stored types"},
        {Errc::table_is_multimap, "table_is_multimap", "the table is a multimap table"},
        {Errc::table_is_not_multimap, "table_is_not_multimap",
         "the table is not a multimap table"},
        {Errc::type_definition_changed, "type_definition_changed",
         "a type's definition changed since the table was created"},
        {Errc::table_does_not_exist, "table_does_not_exist", "table does not exist"},
        {Errc::table_exists, "table_exists", "table already exists"},
        {Errc::table_already_open, "table_already_open",
         "table is already open in this transaction"},
        {Errc::database_already_open, "database_already_open",
         "database is already open (file lock held)"},
        {Errc::repair_aborted, "repair_aborted", "repair was aborted"},
        {Errc::upgrade_required, "upgrade_required",
         "the file uses another format version; manual upgrade required"},
        {Errc::invalid_savepoint, "invalid_savepoint", "savepoint is invalid or expired"},
        {Errc::persistent_savepoint_modified, "persistent_savepoint_modified",
         "persistent savepoints were modified in a non-durable transaction"},
        {Errc::persistent_savepoint_exists, "persistent_savepoint_exists",
         "a persistent savepoint exists"},
        {Errc::ephemeral_savepoint_exists, "ephemeral_savepoint_exists",
         "an ephemeral savepoint exists"},
        {Errc::transaction_in_progress, "transaction_in_progress",
         "a transaction is in progress"},
        {Errc::read_transaction_still_in_use, "read_transaction_still_in_use",
         "the read transaction is still in use"},
        {Errc::batch_failed, "batch_failed", "the write batch failed"},
        {Errc::peer_failed, "peer_failed",
         "group commit batch rolled back: another batch in the group failed"},
        {Errc::group_commit_shutdown, "group_commit_shutdown", "group commit is shut down"},
        {Errc::invalid_argument, "invalid_argument", "invalid argument"},
        {Errc::out_of_range, "out_of_range", "offset or length past the end"},
        {Errc::device_closed, "device_closed", "the device is closed"},
        {Errc::no_space, "no_space", "no space left on the device"},
        {Errc::cancelled, "cancelled", "operation cancelled"},
        {Errc::unsupported, "unsupported", "facility unavailable on this system"},
        {Errc::transaction_finished, "transaction_finished",
         "the transaction was already committed or aborted"},
};

const CodeInfo* find(Errc code) noexcept {
    for (const auto& info : kCodes) {
        if (info.code == code) {
            return &info;
        }
    }
    return nullptr;
}

class Category final : public std::error_category {
public:
    const char* name() const noexcept override { return "ringdb"; }
    std::string message(int value) const override {
        const CodeInfo* info = find(static_cast<Errc>(value));
        return info != nullptr ? info->message : "unknown ringdb error";
    }
};

}  // namespace

Error Error::from_errno(int err, std::uint64_t detail) {
    if (err == ENOSPC || err == EDQUOT) {
        return Error{Errc::no_space, err, detail};
    }
    return Error{Errc::io, err, detail};
}

const char* errc_name(Errc code) noexcept {
    const CodeInfo* info = find(code);
    return info != nullptr ? info->name : "unknown";
}

std::string to_string(const Error& error) {
    const CodeInfo* info = find(error.code);
    std::string text = info != nullptr ? info->message : "unknown ringdb error";
    text += " [";
    text += errc_name(error.code);
    text += "]";
    if (error.sys_errno != 0) {
        text += ": ";
        text += std::strerror(error.sys_errno);
        text += " (errno " + std::to_string(error.sys_errno) + ")";
    }
    if (error.detail != 0) {
        if (error.code == Errc::batch_failed) {
            text += std::string(", cause: ") + errc_name(static_cast<Errc>(error.detail));
        } else {
            text += ", detail " + std::to_string(error.detail);
        }
    }
    return text;
}

const std::error_category& error_category() noexcept {
    static const Category category;
    return category;
}

std::error_code make_error_code(Errc code) noexcept {
    return {static_cast<int>(code), error_category()};
}

std::error_code to_error_code(const Error& error) noexcept {
    if (error.sys_errno != 0 && (error.code == Errc::io || error.code == Errc::no_space)) {
        return {error.sys_errno, std::system_category()};
    }
    return make_error_code(error.code);
}

namespace detail {

void result_misuse(const char* what) noexcept {
    std::fprintf(stderr, "ringdb: %s\n", what);
    std::abort();
}

void assert_failed(const char* expr, const char* file, int line, const char* what,
                   std::uint64_t id) noexcept {
    if (what != nullptr) {
        std::fprintf(stderr, "ringdb: assertion failed: %s at %s:%d (%s %llu)\n", expr, file,
                     line, what, static_cast<unsigned long long>(id));
    } else {
        std::fprintf(stderr, "ringdb: assertion failed: %s at %s:%d\n", expr, file, line);
    }
    std::abort();
}

}  // namespace detail

}  // namespace ringdb
