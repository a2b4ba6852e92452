// The open-time table checks and size limits of <ringdb/table_schema.hpp> (docs/encodings.md,
// "Schema checks on open" and "Size limits").

#include <ringdb/table_schema.hpp>

namespace ringdb {

Status check_table_schema(const TableSchema& stored, const TableSchema& requested) {
    if (stored.kind != requested.kind) {
        return stored.kind == TableKind::multimap ? Errc::table_is_multimap
                                                  : Errc::table_is_not_multimap;
    }
    std::uint64_t names_differ = 0;
    if (stored.key_type != requested.key_type) {
        names_differ |= kSchemaKeyDiffers;
    }
    if (stored.value_type != requested.value_type) {
        names_differ |= kSchemaValueDiffers;
    }
    if (names_differ != 0) {
        return Error{Errc::table_type_mismatch, 0, names_differ};
    }
    std::uint64_t widths_differ = 0;
    if (stored.key_width != requested.key_width) {
        widths_differ |= kSchemaKeyDiffers;
    }
    if (stored.value_width != requested.value_width) {
        widths_differ |= kSchemaValueDiffers;
    }
    if (widths_differ != 0) {
        return Error{Errc::type_definition_changed, 0, widths_differ};
    }
    return ok();
}

Status check_table_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxTableNameLength) {
        return Error{Errc::invalid_argument, 0, name.size()};
    }
    // Names beginning with byte 0xFF (never UTF-8) are the engine's own tables.
    if (static_cast<unsigned char>(name.front()) == 0xFF) {
        return Error{Errc::invalid_argument, 0, 0};
    }
    return ok();
}

Status check_value_length(std::uint64_t length) {
    if (length > kMaxValueLength) {
        return Error{Errc::value_too_large, 0, length};
    }
    return ok();
}

Status check_pair_length(std::uint64_t key_length, std::uint64_t value_length) {
    if (Status key = check_value_length(key_length); !key) {
        return key;
    }
    if (Status value = check_value_length(value_length); !value) {
        return value;
    }
    // Each side is at most kMaxValueLength here, so the sum cannot overflow.
    const std::uint64_t pair_length = key_length + value_length;
    if (pair_length > kMaxPairLength) {
        return Error{Errc::value_too_large, 0, pair_length};
    }
    return ok();
}

std::string to_string(const TableSchema& schema) {
    return schema.name + "<" + schema.key_type.name() + ", " + schema.value_type.name() + ">";
}

}  // namespace ringdb
