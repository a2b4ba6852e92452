// Database maintenance on real files: compact(), check_integrity() and the space statistics.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "engine/db/database_core.hpp"
#include "io/file_fixture.hpp"

using ringdb::Database;
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::string> kBlobs("blobs");
constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kNumbers("numbers");

std::string message(const ringdb::Error& error) { return ringdb::to_string(error); }

// Files whose size the tests measure: a small commit log (its pages are part of the file).
Database create_db(const std::string& path) {
    ringdb::DatabaseOptions options;
    options.log_size = 8 * 1024;
    auto db = sync_wait(Database::create(path, options));
    INFO((db ? "ok" : message(db.error())));
    REQUIRE(db.has_value());
    return std::move(*db);
}

ringdb::WriteTransaction write(Database& db) {
    auto txn = sync_wait(db.begin_write());
    REQUIRE(txn.has_value());
    return std::move(*txn);
}

std::string value_for(std::uint64_t key, std::size_t size) {
    std::string value(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        value[i] = static_cast<char>('a' + (key * 7 + i) % 26);
    }
    return value;
}

std::map<std::uint64_t, std::string> read_all(Database& db) {
    auto txn = db.begin_read();
    REQUIRE(txn.has_value());
    auto table = sync_wait(txn->open_table(kBlobs));
    REQUIRE(table.has_value());
    auto range = table->iter();
    REQUIRE(range.has_value());
    std::map<std::uint64_t, std::string> all;
    for (int guard = 0; guard < 1000000; ++guard) {
        auto entry = sync_wait(range->next());
        REQUIRE(entry.has_value());
        if (!*entry) {
            break;
        }
        all.emplace((*entry)->key.value().value(), (*entry)->value.value().value());
    }
    return all;
}

void require_verifies(Database& db) {
    auto report = sync_wait(db.verify_integrity(ringdb::VerifyLevel::full));
    REQUIRE(report.has_value());
    INFO("pages checked " << report->pages_checked);
    REQUIRE(report->valid);
}

std::vector<char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("compact shrinks a file after most of its data is deleted", "[maintenance]") {
    ringdb::test::TempDir dir;
    const std::string path = dir.file("compact.ringdb");
    Database db = create_db(path);
    std::map<std::uint64_t, std::string> model;
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kBlobs));
        REQUIRE(table.has_value());
        for (std::uint64_t k = 0; k < 100; ++k) {  // ~10 MiB of 100 KiB values
            model[k] = value_for(k, 100 * 1024);
            REQUIRE(sync_wait(table->insert(k, model[k])).has_value());
        }
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kBlobs));
        REQUIRE(table.has_value());
        for (std::uint64_t k = 0; k < 100; ++k) {
            if (k % 10 != 3) {
                REQUIRE(sync_wait(table->remove(k)).has_value());
                model.erase(k);
            }
        }
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    // Fragment the small-page area too, so that relocation has branch and leaf pages to move.
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kNumbers));
        REQUIRE(table.has_value());
        for (std::uint64_t k = 0; k < 20000; ++k) {
            REQUIRE(sync_wait(table->insert(k, k * 3)).has_value());
        }
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kNumbers));
        REQUIRE(table.has_value());
        REQUIRE(sync_wait(table->retain([](std::uint64_t k, std::uint64_t) {
                    return k % 50 == 0;
                })).has_value());
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    const auto before = std::filesystem::file_size(path);
    auto compacted = sync_wait(db.compact());
    INFO((compacted ? "ok" : message(compacted.error())));
    REQUIRE(compacted.has_value());
    CHECK(*compacted);
    const auto after = std::filesystem::file_size(path);
    INFO("before " << before << " after " << after);
    CHECK(after < before / 4);
    CHECK(read_all(db) == model);
    require_verifies(db);
    // Nothing left to move: a second compaction reports no progress and keeps the data.
    auto again = sync_wait(db.compact());
    REQUIRE(again.has_value());
    CHECK_FALSE(*again);
    REQUIRE(sync_wait(db.close()).has_value());

    auto reopened = sync_wait(Database::open(path));
    REQUIRE(reopened.has_value());
    CHECK(read_all(*reopened) == model);
    require_verifies(*reopened);
    {
        auto txn = reopened->begin_read();
        REQUIRE(txn.has_value());
        auto numbers = sync_wait(txn->open_table(kNumbers));
        REQUIRE(numbers.has_value());
        CHECK(numbers->len() == 400);
        auto v = sync_wait(numbers->get(19950));
        REQUIRE(v.has_value());
        REQUIRE(v->has_value());
        CHECK((*v)->value().value() == 19950 * 3);
    }
    REQUIRE(sync_wait(reopened->close()).has_value());
}

TEST_CASE("a compacted database with one small entry is tiny", "[maintenance]") {
    ringdb::test::TempDir dir;
    const std::string path = dir.file("tiny.ringdb");
    Database db = create_db(path);
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kBlobs));
        REQUIRE(table.has_value());
        for (std::uint64_t k = 0; k < 2000; ++k) {
            REQUIRE(sync_wait(table->insert(k, value_for(k, 500))).has_value());
        }
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kBlobs));
        REQUIRE(table.has_value());
        REQUIRE(sync_wait(table->retain([](std::uint64_t k, const std::string&) {
                    return k == 1999;
                })).has_value());
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    REQUIRE(sync_wait(db.compact()).has_value());
    REQUIRE(sync_wait(db.close()).has_value());
    INFO("size " << std::filesystem::file_size(path));
    CHECK(std::filesystem::file_size(path) < 40 * 1024 + 8 * 1024);  // and the 8 KiB log
    auto reopened = sync_wait(Database::open(path));
    REQUIRE(reopened.has_value());
    auto all = read_all(*reopened);
    REQUIRE(all.size() == 1);
    CHECK(all.at(1999) == value_for(1999, 500));
    REQUIRE(sync_wait(reopened->close()).has_value());
}

TEST_CASE("compact and check_integrity need exclusive use", "[maintenance]") {
    ringdb::test::TempDir dir;
    Database db = create_db(dir.file("busy.ringdb"));
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kNumbers));
        REQUIRE(table.has_value());
        REQUIRE(sync_wait(table->insert(1, 2)).has_value());
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    {
        auto reader = db.begin_read();
        REQUIRE(reader.has_value());
        auto compacted = sync_wait(db.compact());
        REQUIRE_FALSE(compacted.has_value());
        CHECK(compacted.error().code == Errc::transaction_in_progress);
        auto checked = sync_wait(db.check_integrity());
        REQUIRE_FALSE(checked.has_value());
        CHECK(checked.error().code == Errc::transaction_in_progress);
    }
    auto compacted = sync_wait(db.compact());
    REQUIRE(compacted.has_value());
    auto checked = sync_wait(db.check_integrity());
    REQUIRE(checked.has_value());
    CHECK(*checked);
    REQUIRE(sync_wait(db.close()).has_value());
    CHECK(sync_wait(db.compact()).error().code == Errc::database_closed);
    CHECK(sync_wait(db.check_integrity()).error().code == Errc::database_closed);
}

TEST_CASE("check_integrity restores the previous commit when the last one is damaged",
          "[maintenance]") {
    ringdb::test::TempDir dir;
    const std::string path = dir.file("damaged.ringdb");
    Database db = create_db(path);
    std::map<std::uint64_t, std::string> before;
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kBlobs));
        REQUIRE(table.has_value());
        for (std::uint64_t k = 0; k < 300; ++k) {
            before[k] = value_for(k, 40);
            REQUIRE(sync_wait(table->insert(k, before[k])).has_value());
        }
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    // Settle: after this, a commit only rewrites its own path of pages.
    REQUIRE(sync_wait(db.check_integrity()).value());
    const std::vector<char> image_before = read_bytes(path);
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kBlobs));
        REQUIRE(table.has_value());
        REQUIRE(sync_wait(table->insert(150, std::string("changed"))).has_value());
        txn.set_two_phase_commit(true);  // a checkpoint: the commit writes its pages
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    const std::vector<char> image_after = read_bytes(path);
    // Damage every page the last commit wrote (not the header): its trees no longer verify.
    const std::size_t page = 4096;
    int damaged = 0;
    {
        std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
        for (std::size_t offset = page; offset + page <= image_after.size(); offset += page) {
            bool changed = offset + page > image_before.size() ||
                           !std::equal(image_after.begin() + static_cast<long>(offset),
                                       image_after.begin() + static_cast<long>(offset + page),
                                       image_before.begin() + static_cast<long>(offset));
            if (changed) {
                file.seekp(static_cast<long>(offset + 100));
                char byte = static_cast<char>(image_after[offset + 100] ^ 0x5a);
                file.write(&byte, 1);
                ++damaged;
            }
        }
    }
    REQUIRE(damaged > 0);
    auto checked = sync_wait(db.check_integrity());
    INFO((checked ? "ok" : message(checked.error())));
    REQUIRE(checked.has_value());
    CHECK_FALSE(*checked);
    CHECK(read_all(db) == before);
    require_verifies(db);
    auto again = sync_wait(db.check_integrity());
    REQUIRE(again.has_value());
    CHECK(*again);
    REQUIRE(sync_wait(db.close()).has_value());
    auto reopened = sync_wait(Database::open(path));
    REQUIRE(reopened.has_value());
    CHECK(read_all(*reopened) == before);
    REQUIRE(sync_wait(reopened->close()).has_value());
}

TEST_CASE("statistics count stored bytes, pages and free space", "[maintenance]") {
    ringdb::test::TempDir dir;
    Database db = create_db(dir.file("stats.ringdb"));
    constexpr ringdb::TableDefinition<std::string, std::string> kText("text");
    auto txn = write(db);
    {
        auto table = sync_wait(txn.open_table(kText));
        REQUIRE(table.has_value());
        auto empty = sync_wait(table->stats());
        REQUIRE(empty.has_value());
        CHECK(empty->tree_height == 0);
        CHECK(empty->leaf_pages == 0);
        REQUIRE(sync_wait(table->insert(std::string("hello"), std::string("world"))).has_value());
        auto one = sync_wait(table->stats());
        REQUIRE(one.has_value());
        CHECK(one->stored_bytes == 10);
        CHECK(one->tree_height == 1);
        CHECK(one->leaf_pages == 1);
        CHECK(one->branch_pages == 0);
        CHECK(one->stored_bytes + one->metadata_bytes + one->fragmented_bytes == 4096);
    }
    auto stats = sync_wait(txn.stats());
    REQUIRE(stats.has_value());
    CHECK(stats->stored_bytes == 10);
    CHECK(stats->leaf_pages == 1);
    CHECK(stats->page_size == 4096);
    CHECK(stats->tree_height >= 2);
    CHECK(stats->allocated_pages > 0);
    CHECK(stats->metadata_bytes > 0);
    CHECK(stats->fragmented_bytes >= stats->free_pages * 4096);
    // Many entries: more leaves, a branch level, stored bytes add up exactly.
    {
        auto table = sync_wait(txn.open_table(kText));
        REQUIRE(table.has_value());
        for (int i = 0; i < 1000; ++i) {
            std::string key = "key-" + std::to_string(1000 + i);  // 8 bytes
            REQUIRE(sync_wait(table->insert(key, std::string(92, 'v'))).has_value());
        }
        auto many = sync_wait(table->stats());
        REQUIRE(many.has_value());
        CHECK(many->stored_bytes == 10 + 1000 * 100);
        CHECK(many->tree_height >= 2);
        CHECK(many->branch_pages >= 1);
        CHECK(many->leaf_pages >= 25);
    }
    REQUIRE(sync_wait(txn.commit()).has_value());
    CHECK(sync_wait(txn.stats()).error().code == Errc::transaction_finished);
    REQUIRE(sync_wait(db.close()).has_value());
}

TEST_CASE("repair after an unclean shutdown reports progress and can be aborted",
          "[maintenance]") {
    ringdb::test::TempDir dir;
    const std::string path = dir.file("repair.ringdb");
    std::map<std::uint64_t, std::string> model;
    auto write_and_drop = [&path, &model](std::uint64_t first) {
        auto db = sync_wait(Database::open(path));
        REQUIRE(db.has_value());
        auto txn = write(*db);
        auto table = sync_wait(txn.open_table(kBlobs));
        REQUIRE(table.has_value());
        for (std::uint64_t k = first; k < first + 200; ++k) {
            model[k] = value_for(k, 300);
            REQUIRE(sync_wait(table->insert(k, model[k])).has_value());
        }
        REQUIRE(sync_wait(txn.commit()).has_value());
        // Dropped without close(): the next open must repair (no saved allocator state).
    };
    {
        Database db = create_db(path);
        REQUIRE(sync_wait(db.close()).has_value());
    }
    write_and_drop(0);
    {
        ringdb::DatabaseOptions options;
        options.repair_callback = [](double) { return false; };
        auto refused = sync_wait(Database::open(path, options));
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == Errc::repair_aborted);
    }
    std::vector<double> progress;
    {
        ringdb::DatabaseOptions options;
        options.repair_callback = [&progress](double p) {
            progress.push_back(p);
            return true;
        };
        auto db = sync_wait(Database::open(path, options));
        REQUIRE(db.has_value());
        CHECK(read_all(*db) == model);
        require_verifies(*db);
        REQUIRE(sync_wait(db->close()).has_value());
    }
    REQUIRE_FALSE(progress.empty());
    for (double p : progress) {
        CHECK(p >= 0.0);
        CHECK(p < 1.0);
    }
    CHECK(std::is_sorted(progress.begin(), progress.end()));
    // After a clean close there is nothing to repair: the callback is not called.
    progress.clear();
    write_and_drop(1000);
    {
        auto db = sync_wait(Database::open(path));  // repairs without a callback
        REQUIRE(db.has_value());
        REQUIRE(sync_wait(db->close()).has_value());
    }
    {
        ringdb::DatabaseOptions options;
        options.repair_callback = [&progress](double p) {
            progress.push_back(p);
            return true;
        };
        auto db = sync_wait(Database::open(path, options));
        REQUIRE(db.has_value());
        CHECK(progress.empty());
        CHECK(read_all(*db) == model);
        REQUIRE(sync_wait(db->close()).has_value());
    }
}

TEST_CASE("the shrink policy decides whether a commit trims the file", "[maintenance]") {
    ringdb::test::TempDir dir;
    for (ringdb::ShrinkPolicy policy : {ringdb::ShrinkPolicy::never, ringdb::ShrinkPolicy::maximum,
                                        ringdb::ShrinkPolicy::normal}) {
        const std::string path = dir.file("shrink" + std::to_string(static_cast<int>(policy)));
        Database db = create_db(path);
        {
            auto txn = write(db);
            auto table = sync_wait(txn.open_table(kBlobs));
            REQUIRE(table.has_value());
            for (std::uint64_t k = 0; k < 40; ++k) {
                REQUIRE(sync_wait(table->insert(k, value_for(k, 100 * 1024))).has_value());
            }
            REQUIRE(sync_wait(txn.commit()).has_value());
        }
        const auto full = std::filesystem::file_size(path);
        // Delete everything, then two more commits so the freed blocks are reclaimed and the
        // end of the file is free when the last commit decides.
        for (int round = 0; round < 3; ++round) {
            auto txn = write(db);
            txn.set_shrink_policy(policy);
            txn.set_two_phase_commit(true);  // checkpoints reclaim and trim; logged commits not
            if (round == 0) {
                auto table = sync_wait(txn.open_table(kBlobs));
                REQUIRE(table.has_value());
                REQUIRE(sync_wait(table->drain_all()).has_value());
            }
            REQUIRE(sync_wait(txn.commit()).has_value());
        }
        const auto after = std::filesystem::file_size(path);
        INFO("policy " << static_cast<int>(policy) << " full " << full << " after " << after);
        if (policy == ringdb::ShrinkPolicy::never) {
            CHECK(after >= full);
        } else {
            CHECK(after < full / 4);  // normal trims too: most of the file is free at its end
        }
        REQUIRE(sync_wait(db.close()).has_value());
    }
}

TEST_CASE("a file from a newer format is refused and left untouched", "[maintenance]") {
    ringdb::test::TempDir dir;
    const std::string path = dir.file("newer.ringdb");
    {
        Database db = create_db(path);
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kNumbers));
        REQUIRE(table.has_value());
        REQUIRE(sync_wait(table->insert(1, 2)).has_value());
        REQUIRE(sync_wait(txn.commit()).has_value());
        REQUIRE(sync_wait(db.close()).has_value());
    }
    for (auto [offset, value] : {std::pair<std::size_t, char>{8, 3}, {16, 2}}) {
        std::vector<char> image = read_bytes(path);
        const char original = image[offset];
        image[offset] = value;  // format version 3, or an unknown feature flag
        {
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out.write(image.data(), static_cast<std::streamsize>(image.size()));
        }
        auto refused = sync_wait(Database::open(path));
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == Errc::upgrade_required);
        auto read_only = sync_wait(ringdb::ReadOnlyDatabase::open(path));
        REQUIRE_FALSE(read_only.has_value());
        CHECK(read_only.error().code == Errc::upgrade_required);
        CHECK(read_bytes(path) == image);  // nothing written
        image[offset] = original;
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(image.data(), static_cast<std::streamsize>(image.size()));
    }
    auto db = sync_wait(Database::open(path));
    REQUIRE(db.has_value());
    REQUIRE(sync_wait(db->close()).has_value());
}
