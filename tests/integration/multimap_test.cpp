// Multimap tables through the public API (docs/api.md, "Multimap tables"), and
// Table::insert_reserve.

#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"
#include "io/sim_device.hpp"

using ringdb::Bound;
using ringdb::Database;
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

constexpr ringdb::MultimapTableDefinition<std::uint64_t, std::string> kTags("tags");
constexpr ringdb::MultimapTableDefinition<std::string, std::uint32_t> kIndex("index");
constexpr ringdb::TableDefinition<std::uint64_t, std::string> kPlain("plain");
using Model = std::map<std::uint64_t, std::set<std::string>>;

Database open_db(const std::string& path, std::uint32_t page_size = 4096) {
    ringdb::DatabaseOptions options;
    options.page_size = page_size;
    auto db = sync_wait(Database::create(path, options));
    INFO((db ? "ok" : ringdb::to_string(db.error())));
    REQUIRE(db.has_value());
    return std::move(*db);
}

ringdb::WriteTransaction write(Database& db) {
    auto txn = sync_wait(db.begin_write());
    REQUIRE(txn.has_value());
    return std::move(*txn);
}

ringdb::MultimapTable<std::uint64_t, std::string> tags(ringdb::WriteTransaction& txn) {
    auto table = sync_wait(txn.open_multimap_table(kTags));
    INFO((table ? "ok" : ringdb::to_string(table.error())));
    REQUIRE(table.has_value());
    return std::move(*table);
}

template <class V>
std::vector<V> drain_values(ringdb::MultimapValue<V>& values, bool backwards = false) {
    std::vector<V> out;
    for (int guard = 0; guard < 1000000; ++guard) {
        auto next = backwards ? sync_wait(values.next_back()) : sync_wait(values.next());
        INFO((next ? "ok" : ringdb::to_string(next.error())));
        REQUIRE(next.has_value());
        if (!*next) {
            break;
        }
        out.push_back((*next)->value().value());
    }
    return out;
}

template <class Table>
std::vector<std::string> values_of(const Table& table, std::uint64_t key) {
    auto values = sync_wait(table.get(key));
    REQUIRE(values.has_value());
    std::uint64_t len = values->len();
    auto out = drain_values(*values);
    REQUIRE(out.size() == len);
    REQUIRE(values->is_empty());
    return out;
}

template <class Table>
Model read_model(const Table& table, bool backwards = false) {
    auto range = table.iter();
    REQUIRE(range.has_value());
    Model model;
    for (int guard = 0; guard < 100000; ++guard) {
        auto entry = backwards ? sync_wait(range->next_back()) : sync_wait(range->next());
        INFO((entry ? "ok" : ringdb::to_string(entry.error())));
        REQUIRE(entry.has_value());
        if (!*entry) {
            break;
        }
        auto values = drain_values((*entry)->values, backwards);
        REQUIRE_FALSE(values.empty());
        std::uint64_t key = (*entry)->key.value().value();
        REQUIRE(model.count(key) == 0);
        model[key] = std::set<std::string>(values.begin(), values.end());
        // Ascending forward, descending backward.
        if (backwards) {
            REQUIRE(std::is_sorted(values.rbegin(), values.rend()));
        } else {
            REQUIRE(std::is_sorted(values.begin(), values.end()));
        }
    }
    return model;
}

std::uint64_t pairs(const Model& model) {
    std::uint64_t n = 0;
    for (const auto& [k, v] : model) {
        n += v.size();
    }
    return n;
}

Model committed_model(Database& db) {
    auto txn = db.begin_read();
    REQUIRE(txn.has_value());
    auto table = sync_wait(txn->open_multimap_table(kTags));
    if (!table && table.error().code == Errc::table_does_not_exist) {
        return {};
    }
    REQUIRE(table.has_value());
    Model model = read_model(*table);
    REQUIRE(table->len() == pairs(model));
    return model;
}

ringdb::VerifyReport verify(Database& db) {
    auto report = sync_wait(db.verify_integrity(ringdb::VerifyLevel::full));
    REQUIRE(report.has_value());
    for (const auto& d : report->details) {
        UNSCOPED_INFO("corrupt page " << d.page << " in '" << d.table << "': " << d.description);
    }
    REQUIRE(report->valid);
    return *report;
}

std::string random_value(std::mt19937_64& rng) {
    std::uint64_t kind = rng() % 20;
    std::size_t length = kind == 0 ? 200 + rng() % 1200 : 1 + rng() % 24;
    std::string out(length, 'a');
    for (char& c : out) {
        c = static_cast<char>('a' + rng() % 4);
    }
    return out;
}

}  // namespace

TEST_CASE("Multimap insert, len, sorted values and duplicates", "[integration][multimap]") {
    ringdb::test::TempDir dir;
    auto db = open_db(dir.file("db"));
    auto txn = write(db);
    auto table = tags(txn);
    REQUIRE(table.is_empty());
    REQUIRE(sync_wait(table.insert(1, "world")).value() == false);
    REQUIRE(sync_wait(table.insert(1, "hello")).value() == false);
    REQUIRE(sync_wait(table.insert(1, "world")).value() == true);  // already there
    REQUIRE(sync_wait(table.insert(2, "x")).value() == false);
    REQUIRE(table.len() == 3);
    REQUIRE_FALSE(table.is_empty());
    REQUIRE(values_of(table, 1) == std::vector<std::string>{"hello", "world"});
    REQUIRE(values_of(table, 3).empty());

    auto both = sync_wait(table.get(1));
    REQUIRE(both->len() == 2);
    REQUIRE(sync_wait(both->next_back()).value()->value().value() == "world");
    REQUIRE(both->len() == 1);
    REQUIRE(sync_wait(both->next()).value()->value().value() == "hello");
    REQUIRE(both->is_empty());
    REQUIRE_FALSE(sync_wait(both->next()).value().has_value());
    REQUIRE_FALSE(sync_wait(both->next_back()).value().has_value());
    REQUIRE(sync_wait(txn.commit()).has_value());

    auto reader = db.begin_read();
    auto snapshot = sync_wait(reader->open_multimap_table(kTags));
    REQUIRE(snapshot.has_value());
    REQUIRE(snapshot->len() == 3);
    REQUIRE(read_model(*snapshot) == Model{{1, {"hello", "world"}}, {2, {"x"}}});
    REQUIRE(read_model(*snapshot, true) == Model{{1, {"hello", "world"}}, {2, {"x"}}});
}

TEST_CASE("Multimap remove, remove_all, ranges and drains", "[integration][multimap]") {
    ringdb::test::TempDir dir;
    auto db = open_db(dir.file("db"));
    auto txn = write(db);
    auto table = tags(txn);
    for (std::uint64_t k = 0; k < 20; ++k) {
        for (int v = 0; v < 3; ++v) {
            REQUIRE(sync_wait(table.insert(k, "v" + std::to_string(v))).has_value());
        }
    }
    REQUIRE(table.len() == 60);

    SECTION("remove one value, then remove_all returns the rest ascending") {
        auto values = sync_wait(table.get(7));
        REQUIRE(values->len() == 3);
        REQUIRE(sync_wait(table.remove(7, "v1")).value() == true);
        REQUIRE(sync_wait(table.remove(7, "v1")).value() == false);
        REQUIRE(sync_wait(table.remove(99, "v1")).value() == false);
        auto removed = sync_wait(table.remove_all(7));
        REQUIRE(removed.has_value());
        REQUIRE(removed->len() == 2);
        REQUIRE(drain_values(*removed) == std::vector<std::string>{"v0", "v2"});
        REQUIRE(values_of(table, 7).empty());
        REQUIRE(table.len() == 57);
        auto missing = sync_wait(table.remove_all(7));
        REQUIRE(missing->is_empty());
        // Removing the last value removes the key.
        REQUIRE(sync_wait(table.remove(8, "v0")).value());
        REQUIRE(sync_wait(table.remove(8, "v1")).value());
        REQUIRE(sync_wait(table.remove(8, "v2")).value());
        REQUIRE(table.len() == 54);
        Model model = read_model(table);
        REQUIRE(model.size() == 18);
        REQUIRE(model.count(8) == 0);
    }
    SECTION("range over keys, both directions, inverted and empty ranges") {
        auto range = table.range(Bound<std::uint64_t>::included(3),
                                 Bound<std::uint64_t>::excluded(6));
        REQUIRE(range.has_value());
        auto last = sync_wait(range->next_back()).value();
        REQUIRE(last->key.value().value() == 5);
        auto first = sync_wait(range->next()).value();
        REQUIRE(first->key.value().value() == 3);
        REQUIRE(drain_values(first->values).size() == 3);
        auto middle = sync_wait(range->next()).value();
        REQUIRE(middle->key.value().value() == 4);
        REQUIRE_FALSE(sync_wait(range->next()).value().has_value());
        auto inverted = table.range(Bound<std::uint64_t>::included(6),
                                    Bound<std::uint64_t>::included(3));
        REQUIRE_FALSE(sync_wait(inverted->next()).value().has_value());
    }
    SECTION("drain a range returns the number of keys, drain_all empties the table") {
        auto drained = sync_wait(table.drain(Bound<std::uint64_t>::included(5),
                                             Bound<std::uint64_t>::excluded(15)));
        REQUIRE(drained.value() == 10);
        REQUIRE(table.len() == 30);
        REQUIRE(read_model(table).size() == 10);
        REQUIRE(sync_wait(table.drain_all()).value() == 10);
        REQUIRE(table.len() == 0);
        REQUIRE(table.is_empty());
    }
    REQUIRE(sync_wait(txn.commit()).has_value());
    verify(db);
}

TEST_CASE("Multimap type checks, open twice, delete, rename and list",
          "[integration][multimap]") {
    ringdb::test::TempDir dir;
    auto db = open_db(dir.file("db"));
    {
        auto txn = write(db);
        {
            auto table = tags(txn);
            REQUIRE(sync_wait(table.insert(1, "a")).has_value());
            auto twice = sync_wait(txn.open_multimap_table(kTags));
            REQUIRE(twice.error().code == Errc::table_already_open);
        }
        // Reopening in the same transaction sees the earlier changes.
        auto again = tags(txn);
        REQUIRE(again.len() == 1);
        REQUIRE(sync_wait(txn.open_table(kPlain)).has_value());
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    constexpr ringdb::MultimapTableDefinition<std::uint64_t, std::uint64_t> kWrongValue("tags");
    constexpr ringdb::TableDefinition<std::uint64_t, std::string> kTagsAsPlain("tags");
    constexpr ringdb::MultimapTableDefinition<std::uint64_t, std::string> kPlainAsMulti("plain");
    {
        auto txn = write(db);
        REQUIRE(sync_wait(txn.open_multimap_table(kWrongValue)).error().code ==
                Errc::table_type_mismatch);
        REQUIRE(sync_wait(txn.open_table(kTagsAsPlain)).error().code == Errc::table_is_multimap);
        REQUIRE(sync_wait(txn.open_multimap_table(kPlainAsMulti)).error().code ==
                Errc::table_is_not_multimap);
        REQUIRE(sync_wait(txn.delete_table("tags")).error().code == Errc::table_is_multimap);
        REQUIRE(sync_wait(txn.delete_multimap_table("plain")).error().code ==
                Errc::table_is_not_multimap);
        REQUIRE(sync_wait(txn.rename_table("tags", "t2")).error().code == Errc::table_is_multimap);
        REQUIRE(sync_wait(txn.rename_multimap_table("plain", "p2")).error().code ==
                Errc::table_is_not_multimap);
        REQUIRE(sync_wait(txn.list_tables()).value() == std::vector<std::string>{"plain"});
        REQUIRE(sync_wait(txn.list_multimap_tables()).value() == std::vector<std::string>{"tags"});
    }
    {
        auto reader = db.begin_read();
        REQUIRE(sync_wait(reader->open_multimap_table(kWrongValue)).error().code ==
                Errc::table_type_mismatch);
        REQUIRE(sync_wait(reader->open_table(kTagsAsPlain)).error().code ==
                Errc::table_is_multimap);
        REQUIRE(sync_wait(reader->open_multimap_table(kPlainAsMulti)).error().code ==
                Errc::table_is_not_multimap);
        REQUIRE(sync_wait(reader->list_multimap_tables()).value() ==
                std::vector<std::string>{"tags"});
    }
    {
        auto txn = write(db);
        REQUIRE(sync_wait(txn.rename_multimap_table("tags", "labels")).has_value());
        REQUIRE(sync_wait(txn.rename_multimap_table("tags", "x")).error().code ==
                Errc::table_does_not_exist);
        REQUIRE(sync_wait(txn.rename_multimap_table("labels", "plain")).error().code ==
                Errc::table_exists);
        constexpr ringdb::MultimapTableDefinition<std::uint64_t, std::string> kLabels("labels");
        {
            auto labels = sync_wait(txn.open_multimap_table(kLabels));
            REQUIRE(labels->len() == 1);
            REQUIRE(values_of(*labels, 1) == std::vector<std::string>{"a"});
        }
        REQUIRE(tags(txn).is_empty());  // the old name opens as a new, empty table
        REQUIRE(sync_wait(txn.delete_multimap_table("labels")).value() == true);
        REQUIRE(sync_wait(txn.delete_multimap_table("labels")).value() == false);
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    auto reader = db.begin_read();
    constexpr ringdb::MultimapTableDefinition<std::uint64_t, std::string> kLabels("labels");
    REQUIRE(sync_wait(reader->open_multimap_table(kLabels)).error().code ==
            Errc::table_does_not_exist);
    REQUIRE(sync_wait(reader->list_multimap_tables()).value() == std::vector<std::string>{"tags"});
    verify(db);
}

TEST_CASE("Multimap values and ranges outlive their table and transaction",
          "[integration][multimap]") {
    ringdb::test::TempDir dir;
    auto db = open_db(dir.file("db"), 512);
    {
        auto txn = write(db);
        auto table = tags(txn);
        for (int v = 0; v < 300; ++v) {  // a subtree at this page size
            REQUIRE(sync_wait(table.insert(1, "value" + std::to_string(1000 + v))).has_value());
        }
        REQUIRE(sync_wait(table.insert(2, "small")).has_value());
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    std::optional<ringdb::MultimapValue<std::string>> big;
    std::optional<ringdb::MultimapRange<std::uint64_t, std::string>> range;
    {
        auto reader = db.begin_read();
        auto table = sync_wait(reader->open_multimap_table(kTags));
        REQUIRE(table.has_value());
        big.emplace(std::move(sync_wait(table->get(1)).value()));
        range.emplace(std::move(table->iter().value()));
    }
    // Later commits remove everything and reuse the pages.
    for (int round = 0; round < 3; ++round) {
        auto txn = write(db);
        auto table = tags(txn);
        REQUIRE(sync_wait(table.remove_all(1)).has_value());
        for (int v = 0; v < 300; ++v) {
            REQUIRE(sync_wait(table.insert(1 + round, "other" + std::to_string(v))).has_value());
        }
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    REQUIRE(big->len() == 300);
    auto values = drain_values(*big);
    REQUIRE(values.size() == 300);
    REQUIRE(values.front() == "value1000");
    REQUIRE(values.back() == "value1299");
    auto first = sync_wait(range->next()).value();
    REQUIRE(first->key.value().value() == 1);
    REQUIRE(drain_values(first->values).size() == 300);
    auto second = sync_wait(range->next()).value();
    REQUIRE(drain_values(second->values) == std::vector<std::string>{"small"});
    verify(db);
}

TEST_CASE("Sets move inline to subtree and back; pages follow", "[integration][multimap]") {
    ringdb::test::TempDir dir;
    auto db = open_db(dir.file("db"), 512);
    auto pages_with = [&db](int count) {
        auto txn = write(db);
        {
            auto table = tags(txn);
            std::vector<std::string> expected;
            auto current = values_of(table, 1);
            for (const auto& v : current) {
                REQUIRE(sync_wait(table.remove(1, v)).has_value());
            }
            for (int v = 0; v < count; ++v) {
                expected.push_back("v" + std::to_string(100 + v));
                REQUIRE(sync_wait(table.insert(1, expected.back())).has_value());
            }
            REQUIRE(values_of(table, 1) == expected);
            REQUIRE(table.len() == static_cast<std::uint64_t>(count));
        }
        REQUIRE(sync_wait(txn.commit()).has_value());
        return verify(db).pages_checked;
    };
    std::uint64_t small = pages_with(2);
    std::uint64_t large = pages_with(400);
    REQUIRE(large > small + 4);  // the subtree's pages
    // Shrinking one value at a time crosses back to inline; every step reads back exactly.
    {
        auto txn = write(db);
        auto table = tags(txn);
        for (int v = 399; v >= 1; --v) {
            REQUIRE(sync_wait(table.remove(1, "v" + std::to_string(100 + v))).value());
            if (v % 37 == 0 || v < 20) {
                REQUIRE(values_of(table, 1).size() == static_cast<std::size_t>(v));
            }
        }
        REQUIRE(values_of(table, 1) == std::vector<std::string>{"v100"});
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    // Back inline: the subtree's pages (far more than three) are gone; the system tables (the
    // freed lists) may have grown by a page or two meanwhile.
    REQUIRE(verify(db).pages_checked <= small + 3);
    REQUIRE(pages_with(2) <= small + 3);
}

TEST_CASE("Many values under one long key are stored compactly", "[integration][multimap]") {
    ringdb::test::TempDir dir;
    auto db = open_db(dir.file("db"));
    std::string key(1000, 'k');
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_multimap_table(kIndex));
        REQUIRE(table.has_value());
        for (std::uint32_t v = 0; v < 10000; ++v) {
            REQUIRE(sync_wait(table->insert(key, v * 7919 % 10007)).has_value());
        }
        REQUIRE(table->len() == 10000);
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    auto report = verify(db);
    REQUIRE(report.pages_checked * 4096 <= 1024 * 1024);
    auto reader = db.begin_read();
    auto table = sync_wait(reader->open_multimap_table(kIndex));
    auto values = sync_wait(table->get(key));
    REQUIRE(values->len() == 10000);
    auto all = drain_values(*values);
    REQUIRE(std::is_sorted(all.begin(), all.end()));
    REQUIRE(std::set<std::uint32_t>(all.begin(), all.end()).size() == 10000);
}

TEST_CASE("A write transaction's subtree iterator refuses to step after a modification",
          "[integration][multimap]") {
    ringdb::test::TempDir dir;
    auto db = open_db(dir.file("db"), 512);
    auto txn = write(db);
    auto table = tags(txn);
    for (int v = 0; v < 200; ++v) {
        REQUIRE(sync_wait(table.insert(1, "v" + std::to_string(1000 + v))).has_value());
    }
    REQUIRE(sync_wait(table.insert(2, "inline")).has_value());
    auto big = sync_wait(table.get(1));
    auto small = sync_wait(table.get(2));
    REQUIRE(sync_wait(big->next()).value()->value().value() == "v1000");
    REQUIRE(sync_wait(table.insert(1, "v0")).has_value());
    REQUIRE(sync_wait(big->next()).error().code == Errc::invalid_argument);
    // Inline sets are snapshots.
    REQUIRE(sync_wait(table.remove(2, "inline")).value());
    REQUIRE(sync_wait(small->next()).value()->value().value() == "inline");
    REQUIRE(sync_wait(txn.commit()).has_value());
    auto after = sync_wait(table.get(1));
    REQUIRE(after.error().code == Errc::transaction_finished);
}

TEST_CASE("Multimap against a model: random operations, aborts, reopens and crashes",
          "[integration][multimap][model]") {
    auto seed = ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    ringdb::test::TempDir dir;
    std::string path = dir.file("db");
    std::optional<Database> db(open_db(path, 512));
    Model model;
    for (int round = 0; round < 40; ++round) {
        Model next = model;
        bool abort = rng() % 6 == 0;
        {
            auto txn = write(*db);
            auto table = tags(txn);
            int ops = 1 + static_cast<int>(rng() % 120);
            for (int op = 0; op < ops; ++op) {
                std::uint64_t key = rng() % 12;
                std::uint64_t kind = rng() % 100;
                if (kind < 62) {
                    std::string value = random_value(rng);
                    bool existed = next[key].count(value) != 0;
                    REQUIRE(sync_wait(table.insert(key, value)).value() == existed);
                    next[key].insert(value);
                } else if (kind < 92) {
                    std::string value;
                    auto it = next.find(key);
                    if (it != next.end() && rng() % 4 != 0) {
                        auto pick = it->second.begin();
                        std::advance(pick, static_cast<long>(rng() % it->second.size()));
                        value = *pick;
                    } else {
                        value = random_value(rng);
                    }
                    bool existed = it != next.end() && it->second.erase(value) != 0;
                    if (it != next.end() && it->second.empty()) {
                        next.erase(it);
                    }
                    REQUIRE(sync_wait(table.remove(key, value)).value() == existed);
                } else if (kind < 97) {
                    auto removed = sync_wait(table.remove_all(key));
                    REQUIRE(removed.has_value());
                    auto values = drain_values(*removed);
                    std::vector<std::string> expected;
                    if (next.count(key) != 0) {
                        expected.assign(next[key].begin(), next[key].end());
                    }
                    REQUIRE(values == expected);
                    next.erase(key);
                } else {
                    std::uint64_t hi = key + rng() % 4;
                    auto drained = sync_wait(table.drain(Bound<std::uint64_t>::included(key),
                                                         Bound<std::uint64_t>::excluded(hi)));
                    std::uint64_t expected = 0;
                    for (auto it = next.lower_bound(key); it != next.end() && it->first < hi;) {
                        it = next.erase(it);
                        ++expected;
                    }
                    REQUIRE(drained.value() == expected);
                }
                REQUIRE(table.len() == pairs(next));
            }
            if (rng() % 3 == 0) {
                REQUIRE(read_model(table) == next);
            }
            if (abort) {
                txn.abort();
            } else {
                REQUIRE(sync_wait(txn.commit()).has_value());
                model = next;
            }
        }
        INFO("round " << round);
        REQUIRE(committed_model(*db) == model);
        std::uint64_t event = rng() % 8;
        if (event == 0) {
            REQUIRE(sync_wait(db->close()).has_value());
            db.reset();
            db.emplace(open_db(path, 512));
        } else if (event == 1) {
            db.reset();  // dropped without close: the next open repairs
            db.emplace(open_db(path, 512));
        }
        if (event <= 1 || round % 8 == 7) {
            verify(*db);
            REQUIRE(committed_model(*db) == model);
        }
    }
    verify(*db);
}

TEST_CASE("insert_reserve: fill the view, finish, read back", "[integration][insert_reserve]") {
    constexpr ringdb::TableDefinition<std::string, ringdb::Bytes> kBlobs("blobs");
    constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kCounters("counters");
    constexpr ringdb::TableDefinition<std::uint64_t, bool> kFlags("flags");
    ringdb::test::TempDir dir;
    auto db = open_db(dir.file("db"));
    auto as_text = [](const ringdb::Bytes& bytes) {
        std::string text;
        for (std::byte b : bytes) {
            text.push_back(static_cast<char>(b));
        }
        return text;
    };
    {
        auto txn = write(db);
        auto table = sync_wait(txn.open_table(kBlobs));
        REQUIRE(table.has_value());
        {
            auto reserved = sync_wait(table->insert_reserve("hello", 5));
            REQUIRE(reserved.has_value());
            REQUIRE(reserved->len() == 5);
            // The key holds zeros until finish().
            auto zeros = sync_wait(table->get("hello")).value();
            REQUIRE(zeros->value().value() == ringdb::Bytes(5));
            std::memcpy(reserved->as_mut().data(), "world", 5);
            REQUIRE(sync_wait(reserved->finish()).has_value());
        }
        REQUIRE(as_text(sync_wait(table->get("hello")).value()->value().value()) == "world");
        {
            // Dropped without finish(): the zero bytes stay.
            auto reserved = sync_wait(table->insert_reserve("dropped", 3));
            REQUIRE(reserved.has_value());
            std::memcpy(reserved->as_mut().data(), "abc", 3);
        }
        REQUIRE(sync_wait(table->get("dropped")).value()->value().value() == ringdb::Bytes(3));
        // Replacing an existing value, and an empty reservation.
        {
            auto reserved = sync_wait(table->insert_reserve("hello", 2));
            std::memcpy(reserved->as_mut().data(), "hi", 2);
            REQUIRE(sync_wait(reserved->finish()).has_value());
            auto empty = sync_wait(table->insert_reserve("empty", 0));
            REQUIRE(sync_wait(empty->finish()).has_value());
        }
        REQUIRE(as_text(sync_wait(table->get("hello")).value()->value().value()) == "hi");
        REQUIRE(sync_wait(table->get("empty")).value()->value().value().empty());
        REQUIRE(table->len() == 3);
        // Size limits as insert; the table is unchanged.
        auto huge = sync_wait(table->insert_reserve("huge", ringdb::kMaxValueLength + 1));
        REQUIRE(huge.error().code == Errc::value_too_large);
        REQUIRE_FALSE(sync_wait(table->get("huge")).value().has_value());
        REQUIRE(table->len() == 3);
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    {
        auto txn = write(db);
        auto counters = sync_wait(txn.open_table(kCounters));
        REQUIRE(sync_wait(counters->insert_reserve(1, 5)).error().code == Errc::invalid_argument);
        REQUIRE(counters->is_empty());
        auto reserved = sync_wait(counters->insert_reserve(1, 8));
        REQUIRE(reserved.has_value());
        reserved->as_mut()[0] = std::byte{42};
        REQUIRE(sync_wait(reserved->finish()).has_value());
        REQUIRE(sync_wait(counters->get(1)).value()->value().value() == 42);

        // Bytes that do not decode as V are refused; the stored value stays as it was.
        auto flags = sync_wait(txn.open_table(kFlags));
        auto flag = sync_wait(flags->insert_reserve(7, 1));
        flag->as_mut()[0] = std::byte{9};
        REQUIRE(sync_wait(flag->finish()).error().code == Errc::invalid_argument);
        REQUIRE(sync_wait(flags->get(7)).value()->value().value() == false);
        flag->as_mut()[0] = std::byte{1};
        REQUIRE(sync_wait(flag->finish()).has_value());
        REQUIRE(sync_wait(flags->get(7)).value()->value().value() == true);

        // A live reservation keeps its table open.
        REQUIRE(sync_wait(txn.commit()).has_value());
        REQUIRE(sync_wait(flag->finish()).error().code == Errc::transaction_finished);
    }
    auto reader = db.begin_read();
    auto blobs = sync_wait(reader->open_table(kBlobs));
    REQUIRE(as_text(sync_wait(blobs->get("hello")).value()->value().value()) == "hi");
    REQUIRE(sync_wait(blobs->get("dropped")).value()->value().value() == ringdb::Bytes(3));
    verify(db);
}

TEST_CASE("insert_reserve keeps the table open until the reservation is gone",
          "[integration][insert_reserve]") {
    constexpr ringdb::TableDefinition<std::uint64_t, ringdb::Bytes> kBlobs("blobs");
    ringdb::test::TempDir dir;
    auto db = open_db(dir.file("db"));
    auto txn = write(db);
    std::optional<ringdb::ReservedValue<std::uint64_t, ringdb::Bytes>> reserved;
    {
        auto table = sync_wait(txn.open_table(kBlobs));
        auto r = sync_wait(table->insert_reserve(1, 4));
        REQUIRE(r.has_value());
        reserved.emplace(std::move(*r));
    }
    REQUIRE(sync_wait(txn.open_table(kBlobs)).error().code == Errc::table_already_open);
    std::memcpy(reserved->as_mut().data(), "data", 4);
    REQUIRE(sync_wait(reserved->finish()).has_value());
    reserved.reset();
    auto table = sync_wait(txn.open_table(kBlobs));
    REQUIRE(table.has_value());
    REQUIRE(sync_wait(table->get(1)).value()->value().value().size() == 4);
    REQUIRE(sync_wait(txn.commit()).has_value());
}
