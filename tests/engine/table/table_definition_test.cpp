// Tests of TableDefinition, the open-time schema check (docs/encodings.md) and the size limits
// (docs/encodings.md, "Size limits").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include <catch2/catch.hpp>

#include <ringdb/table_definition.hpp>

#include "engine/table/codec_test_support.hpp"

using ringdb::Errc;
using ringdb::TableKind;
using ringdb::TableSchema;
using ringdb::TypeClass;
using ringdb::TypeName;

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::string_view> kUsers("users");
constexpr ringdb::MultimapTableDefinition<std::string, std::uint32_t> kTags("tags");
static_assert(kUsers.name() == "users");
static_assert(kTags.name() == "tags");

Errc code_of(const ringdb::Status& status) {
    return status.has_value() ? Errc::ok : status.error().code;
}

}  // namespace

TEST_CASE("table definition: schema of a typed definition", "[codec]") {
    const TableSchema users = kUsers.schema();
    CHECK(users.name == "users");
    CHECK(users.kind == TableKind::normal);
    CHECK(users.key_type == TypeName::builtin("u64"));
    CHECK(users.value_type == TypeName::builtin("&str"));
    CHECK(users.key_width == 8u);
    CHECK(!users.value_width.has_value());
    CHECK(ringdb::to_string(users) == "users<u64, &str>");

    const TableSchema tags = kTags.schema();
    CHECK(tags.kind == TableKind::multimap);
    CHECK(tags.value_width == 4u);

    const ringdb::TableDefinition<std::tuple<std::uint32_t, std::string>, codec_test::Descending>
            composite("composite");
    const TableSchema c = composite.schema();
    CHECK(c.key_type == TypeName(TypeClass::builtin_tuple, "(u32,String)"));
    CHECK(c.value_type == TypeName::user_defined("test::Descending"));
    CHECK(c.value_width == 8u);
    CHECK(ringdb::check_table_schema(c, composite.schema()).has_value());
}

TEST_CASE("table definition: names are checked", "[codec]") {
    // A run-time definition with an empty name compiles; opening with it is refused.
    const std::string empty;
    const ringdb::TableDefinition<std::uint8_t, std::uint8_t> runtime_empty(empty);
    CHECK(code_of(ringdb::check_table_name(runtime_empty.name())) == Errc::invalid_argument);
    CHECK(code_of(ringdb::check_table_name(std::string(65536, 'n'))) == Errc::invalid_argument);
    CHECK(ringdb::check_table_name(std::string(65535, 'n')).has_value());
    CHECK(ringdb::check_table_name("t").has_value());
}

TEST_CASE("table definition: open-time check order", "[codec]") {
    const TableSchema stored{
            "t", TableKind::normal, TypeName::builtin("u32"), TypeName::builtin("u32"), 4, 4};
    CHECK(ringdb::check_table_schema(stored, stored).has_value());

    TableSchema requested = stored;
    requested.kind = TableKind::multimap;
    CHECK(code_of(ringdb::check_table_schema(stored, requested)) == Errc::table_is_not_multimap);
    CHECK(code_of(ringdb::check_table_schema(requested, stored)) == Errc::table_is_multimap);
    // The kind is checked before the types.
    requested.key_type = TypeName::builtin("u64");
    CHECK(code_of(ringdb::check_table_schema(stored, requested)) == Errc::table_is_not_multimap);

    requested = stored;
    requested.key_type = TypeName::builtin("u64");
    requested.value_type = TypeName::builtin("u64");
    requested.key_width = 8;
    auto status = ringdb::check_table_schema(stored, requested);
    CHECK(code_of(status) == Errc::table_type_mismatch);
    CHECK(status.error().detail == (ringdb::kSchemaKeyDiffers | ringdb::kSchemaValueDiffers));

    // Same string, different classification: still a mismatch.
    requested = stored;
    requested.value_type = TypeName::user_defined("u32");
    status = ringdb::check_table_schema(stored, requested);
    CHECK(code_of(status) == Errc::table_type_mismatch);
    CHECK(status.error().detail == ringdb::kSchemaValueDiffers);

    // Same names, different widths: the type's definition changed.
    requested = stored;
    requested.key_width = 8;
    status = ringdb::check_table_schema(stored, requested);
    CHECK(code_of(status) == Errc::type_definition_changed);
    CHECK(status.error().detail == ringdb::kSchemaKeyDiffers);
    requested = stored;
    requested.value_width = std::nullopt;
    status = ringdb::check_table_schema(stored, requested);
    CHECK(code_of(status) == Errc::type_definition_changed);
    CHECK(status.error().detail == ringdb::kSchemaValueDiffers);

    // Real definitions: u32 -> u64 is a name mismatch.
    const ringdb::TableDefinition<std::uint32_t, std::uint32_t> small("t");
    const ringdb::TableDefinition<std::uint64_t, std::uint64_t> large("t");
    CHECK(code_of(ringdb::check_table_schema(small.schema(), large.schema())) ==
          Errc::table_type_mismatch);
    const ringdb::MultimapTableDefinition<std::uint32_t, std::uint32_t> multi("t");
    CHECK(code_of(ringdb::check_table_schema(multi.schema(), small.schema())) ==
          Errc::table_is_multimap);
}

TEST_CASE("table definition: size limits", "[codec]") {
    constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
    constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
    static_assert(ringdb::kMaxValueLength == 3 * kGiB);
    static_assert(ringdb::kMaxPairLength == 3 * kGiB + 768 * kMiB);

    CHECK(ringdb::check_value_length(0).has_value());
    CHECK(ringdb::check_value_length(3 * kGiB).has_value());
    auto status = ringdb::check_value_length(3 * kGiB + 1);
    CHECK(code_of(status) == Errc::value_too_large);
    CHECK(status.error().detail == 3 * kGiB + 1);

    CHECK(ringdb::check_pair_length(3 * kGiB, 768 * kMiB).has_value());
    status = ringdb::check_pair_length(3 * kGiB, 768 * kMiB + 1);
    CHECK(code_of(status) == Errc::value_too_large);
    CHECK(status.error().detail == 3 * kGiB + 768 * kMiB + 1);
    status = ringdb::check_pair_length(3 * kGiB + 5, 0);
    CHECK(code_of(status) == Errc::value_too_large);
    CHECK(status.error().detail == 3 * kGiB + 5);
    status = ringdb::check_pair_length(1, ~std::uint64_t{0});
    CHECK(code_of(status) == Errc::value_too_large);
    CHECK(status.error().detail == ~std::uint64_t{0});
}
