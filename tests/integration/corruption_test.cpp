// Damaged files: bit flips anywhere in a database never crash ringdb and never pass for good
// data: each damaged image either opens and reads back exactly the original content (the flip
// hit bytes that nothing references), or is reported as corrupted by open, a read or
// verify_integrity. Without verify_integrity, the reads alone (point lookups and a scan) must
// never return a damaged value: a page read from the file is checked against the checksum its
// parent holds.

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"
#include "io/sim_device.hpp"

using ringdb::Database;
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::string> kData("data");
using Model = std::map<std::uint64_t, std::string>;

std::vector<char> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Reads the whole table; an error anywhere is returned as the error.
ringdb::Result<Model> read_model(Database& db) {
    auto txn = db.begin_read();
    if (!txn) {
        return txn.error();
    }
    auto table = sync_wait(txn->open_table(kData));
    if (!table) {
        return table.error();
    }
    auto range = table->iter();
    if (!range) {
        return range.error();
    }
    Model model;
    for (int guard = 0; guard < 100000; ++guard) {
        auto entry = sync_wait(range->next());
        if (!entry) {
            return entry.error();
        }
        if (!*entry) {
            return model;
        }
        auto k = (*entry)->key.value();
        auto v = (*entry)->value.value();
        if (!k || !v) {
            return ringdb::Error{Errc::corrupted};
        }
        model[*k] = *v;
    }
    return ringdb::Error{Errc::corrupted};
}

enum class Outcome { intact, detected };

Outcome check_image(const std::string& path, const Model& original) {
    ringdb::DatabaseOptions options;
    options.page_size = 512;
    options.compression.algorithm = ringdb::CompressionAlgorithm::lz4;  // ignored: the file's
    auto db = sync_wait(Database::open(path, options));
    if (!db) {
        return Outcome::detected;
    }
    auto report = sync_wait(db->verify_integrity(ringdb::VerifyLevel::full));
    bool reported = !report || !report->valid;
    auto content = read_model(*db);
    (void)sync_wait(db->close());
    if (content && *content == original && !reported) {
        return Outcome::intact;
    }
    // Anything else must have been noticed by verification or by the read itself.
    REQUIRE((reported || !content));
    return Outcome::detected;
}

// Point lookups of every original key, then a scan: the first error, or the content read.
ringdb::Result<Model> read_by_lookups_and_scan(Database& db, const Model& original) {
    Model looked_up;
    {
        auto txn = db.begin_read();
        if (!txn) {
            return txn.error();
        }
        auto table = sync_wait(txn->open_table(kData));
        if (!table) {
            return table.error();
        }
        for (const auto& [key, value] : original) {
            auto got = sync_wait(table->get(key));
            if (!got) {
                return got.error();
            }
            if (*got) {
                auto v = (*got)->value();
                if (!v) {
                    return v.error();
                }
                looked_up[key] = *v;
            }
        }
    }
    auto scanned = read_model(db);
    if (!scanned) {
        return scanned.error();
    }
    if (*scanned != looked_up) {
        return ringdb::Error{Errc::corrupted};  // lookups and scan disagree: never acceptable
    }
    return looked_up;
}

// Opens a damaged image and reads it without verify_integrity: true when something reported
// the damage, false when the content is the original. Any other content fails the test.
bool reads_report_damage(const std::string& path, const Model& original) {
    ringdb::DatabaseOptions options;
    options.page_size = 512;
    auto db = sync_wait(Database::open(path, options));
    if (!db) {
        return true;
    }
    auto content = read_by_lookups_and_scan(*db, original);
    (void)sync_wait(db->close());
    if (!content) {
        CHECK(content.error().code == Errc::corrupted);
        return true;
    }
    REQUIRE(*content == original);
    return false;
}

Model create_small_database(const std::string& path) {
    Model original;
    ringdb::DatabaseOptions options;
    options.page_size = 512;
    options.log_size = 4096;
    auto db = sync_wait(Database::create(path, options));
    REQUIRE(db.has_value());
    auto txn = sync_wait(db->begin_write());
    auto table = sync_wait(txn->open_table(kData));
    for (std::uint64_t i = 0; i < 60; ++i) {
        std::string value(20 + i % 30, static_cast<char>('a' + i % 26));
        REQUIRE(sync_wait(table->insert(i * 11, value)).has_value());
        original[i * 11] = value;
    }
    REQUIRE(sync_wait(txn->commit()).has_value());
    REQUIRE(sync_wait(db->close()).has_value());
    return original;
}

void flip_bits_of(ringdb::Compression compression) {
    auto seed = ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    std::string path = dir.file("db");
    Model original;
    {
        ringdb::DatabaseOptions options;
        options.page_size = 512;
        options.compression = compression;
        options.log_size = 4096;  // every page of the file gets flips: keep it small
        auto db = sync_wait(Database::create(path, options));
        REQUIRE(db.has_value());
        auto txn = sync_wait(db->begin_write());
        auto table = sync_wait(txn->open_table(kData));
        for (std::uint64_t i = 0; i < 60; ++i) {
            // Compressible when long enough: runs of one letter with a number inside.
            std::string value(20 + i % 30, static_cast<char>('a' + i % 26));
            value += std::to_string(i) + value;
            REQUIRE(sync_wait(table->insert(i * 11, value)).has_value());
            original[i * 11] = value;
        }
        REQUIRE(sync_wait(txn->commit()).has_value());
        REQUIRE(sync_wait(db->close()).has_value());
    }
    const auto pristine = read_file(path);
    REQUIRE(pristine.size() >= 2048);
    std::string damaged = dir.file("damaged");
    int detected = 0;
    for (std::size_t page = 1; page < pristine.size() / 512; ++page) {
        for (int flip = 0; flip < 12; ++flip) {
            auto bytes = pristine;
            std::size_t offset = page * 512 + rng() % 512;
            bytes[offset] = static_cast<char>(bytes[offset] ^ (1 << (rng() % 8)));
            write_file(damaged, bytes);
            INFO("page " << page << " offset " << offset);
            if (check_image(damaged, original) == Outcome::detected) {
                ++detected;
            }
            std::filesystem::remove(damaged);
        }
    }
    // Most flips land in live pages of so small a database: detection must actually happen.
    REQUIRE(detected > 0);
}

}  // namespace

TEST_CASE("Bit flips in a database file are detected or harmless", "[integration][corruption]") {
    flip_bits_of(ringdb::Compression{});
}

TEST_CASE("Bit flips in a compressed database are detected or harmless",
          "[integration][corruption][compression]") {
    flip_bits_of(ringdb::Compression{ringdb::CompressionAlgorithm::zstd, 3, 16});
    flip_bits_of(ringdb::Compression{ringdb::CompressionAlgorithm::lz4, 1, 16});
}

TEST_CASE("A flipped bit in a page is reported by the read that meets it",
          "[integration][corruption]") {
    ringdb::test::TempDir dir;
    std::string path = dir.file("db");
    const Model original = create_small_database(path);
    const auto pristine = read_file(path);
    std::string damaged = dir.file("damaged");
    int reported = 0;
    // One byte in seven, one bit each, rotating: every part of every page (values, keys,
    // offsets, checksums, padding) gets flips, in a few seconds under the sanitizers.
    for (std::size_t offset = 512; offset < pristine.size(); offset += 7) {
        auto bytes = pristine;
        bytes[offset] = static_cast<char>(bytes[offset] ^ (1 << (offset % 8)));
        write_file(damaged, bytes);
        INFO("offset " << offset);
        if (reads_report_damage(damaged, original)) {
            ++reported;
        }
    }
    std::filesystem::remove(damaged);
    // The leaves hold 60 values of 20 to 49 bytes: hundreds of flips land in them.
    CHECK(reported > 150);
}
