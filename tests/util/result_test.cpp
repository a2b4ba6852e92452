#include <cerrno>
#include <memory>
#include <string>
#include <system_error>

#include <catch2/catch.hpp>

#include <ringdb/result.hpp>

#include "util/endian.hpp"
#include "util/try.hpp"

using ringdb::Errc;
using ringdb::Error;
using ringdb::Result;
using ringdb::Status;

namespace {

Result<int> parse_positive(int v) {
    if (v <= 0) {
        return Error{Errc::invalid_argument, 0, static_cast<std::uint64_t>(-v)};
    }
    return v;
}

Result<int> doubled(int v) {
    RINGDB_TRY_ASSIGN(int x, parse_positive(v));
    return x * 2;
}

Status check(int v) {
    RINGDB_TRY(parse_positive(v));
    return ringdb::ok();
}

}  // namespace

TEST_CASE("Result holds a value or an error", "[util]") {
    Result<int> good = 7;
    REQUIRE(good.has_value());
    REQUIRE(static_cast<bool>(good));
    REQUIRE(*good == 7);
    REQUIRE(good.value_or(3) == 7);

    Result<int> bad = Error{Errc::corrupted, 0, 42};
    REQUIRE_FALSE(bad.has_value());
    REQUIRE(bad.error().code == Errc::corrupted);
    REQUIRE(bad.error().detail == 42);
    REQUIRE(bad.value_or(3) == 3);
}

TEST_CASE("Result works with move-only values and and_then", "[util]") {
    Result<std::unique_ptr<int>> p = std::make_unique<int>(5);
    REQUIRE(**p == 5);
    Result<std::unique_ptr<int>> moved = std::move(p);
    REQUIRE(**moved == 5);

    auto chained = parse_positive(4).and_then([](int v) { return parse_positive(v - 10); });
    REQUIRE_FALSE(chained.has_value());
    REQUIRE(chained.error().code == Errc::invalid_argument);
    REQUIRE(chained.error().detail == 6);

    Result<std::string> s = std::string("abc");
    Result<std::string> copy = s;
    REQUIRE(*copy == "abc");
    REQUIRE(copy->size() == 3);
}

TEST_CASE("Try macros propagate the first error", "[util]") {
    REQUIRE(*doubled(21) == 42);
    REQUIRE(doubled(-1).error().code == Errc::invalid_argument);
    REQUIRE(check(1).has_value());
    REQUIRE(check(0).error().code == Errc::invalid_argument);
}

TEST_CASE("Errors convert to std::error_code with messages", "[util]") {
    std::error_code ec = Errc::previous_io;
    REQUIRE(ec.category() == ringdb::error_category());
    REQUIRE(ec.value() == static_cast<int>(Errc::previous_io));
    REQUIRE(ec.message().find("earlier") != std::string::npos);
    REQUIRE(std::string(ec.category().name()) == "ringdb");

    Error io = Error::from_errno(EIO, 4096);
    REQUIRE(io.code == Errc::io);
    REQUIRE(ringdb::to_error_code(io) == std::error_code(EIO, std::system_category()));
    REQUIRE(ringdb::to_string(io).find("errno 5") != std::string::npos);
    REQUIRE(ringdb::to_string(io).find("4096") != std::string::npos);
    REQUIRE(Error::from_errno(ENOSPC).code == Errc::no_space);

    Error batch{Errc::batch_failed, 0, static_cast<std::uint64_t>(Errc::value_too_large)};
    REQUIRE(ringdb::to_string(batch).find("value_too_large") != std::string::npos);
}

TEST_CASE("Every error code has a name and a message", "[util]") {
    for (int code = 1; code < 100; ++code) {
        auto c = static_cast<Errc>(code);
        std::string name = ringdb::errc_name(c);
        std::string message = ringdb::make_error_code(c).message();
        if (name == "unknown") {
            REQUIRE(message == "unknown ringdb error");
            continue;
        }
        INFO("code " << code << " " << name);
        REQUIRE_FALSE(message.empty());
        REQUIRE(message != "unknown ringdb error");
    }
    REQUIRE(std::string(ringdb::errc_name(Errc::table_does_not_exist)) == "table_does_not_exist");
}

TEST_CASE("Little-endian codecs round-trip", "[util]") {
    std::byte buf[8];
    ringdb::util::store_le64(buf, 0x0102030405060708ULL);
    REQUIRE(buf[0] == std::byte{0x08});
    REQUIRE(buf[7] == std::byte{0x01});
    REQUIRE(ringdb::util::load_le64(buf) == 0x0102030405060708ULL);
    ringdb::util::store_le32(buf, 0xa1b2c3d4U);
    REQUIRE(buf[0] == std::byte{0xd4});
    REQUIRE(ringdb::util::load_le32(buf) == 0xa1b2c3d4U);
    ringdb::util::store_le16(buf, 0xbeef);
    REQUIRE(ringdb::util::load_le16(buf) == 0xbeef);
}
