// Bulk inserts in one write transaction: the dirty-page table (DirtyMap), the synchronous insert
// fast path (Btree::try_insert) and the reuse of freed dirty buffers, checked against models
// with a cache too small to hold the tree, guards held across splits, aborts and savepoint
// restores.

#include <atomic>
#include <string>
#include <thread>

#include "savepoint_support.hpp"

using namespace ringdb::test;    // NOLINT: test file
using namespace ringdb::engine;  // NOLINT: test file
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

constexpr std::uint64_t kSystemWobble = 8;  // as in savepoint_test.cpp
constexpr ringdb::TableDefinition<std::uint64_t, std::string> kTexts("texts");

std::shared_ptr<DatabaseCore> open_tiny_cache(std::unique_ptr<ringdb::io::BlockDevice> device) {
    ringdb::DatabaseOptions options = without_log();
    options.cache_size = 16 * 512;  // 16 pages of 512 bytes: evictions all the time
    return open_small(std::move(device), options);
}

std::shared_ptr<SavepointHandle> take_savepoint(const std::shared_ptr<DatabaseCore>& core) {
    auto txn = writer(core);
    auto savepoint = sync_wait(txn->ephemeral_savepoint());
    REQUIRE(savepoint.has_value());
    commit(*txn);
    return *savepoint;
}

/// Inserts `count` random keys below `range` (new ones and replacements) into `table`.
void bulk_insert(OpenTable& table, Model& model, std::mt19937_64& rng, std::uint64_t count,
                 std::uint64_t range) {
    for (std::uint64_t i = 0; i < count; ++i) {
        std::uint64_t k = rng() % range;
        std::uint64_t v = rng() | 1;
        store(table, k, v);
        model[k] = v;
    }
}

OpenTable* texts(WriteTxn& txn) {
    auto table = sync_wait(txn.open_table(kTexts.schema(), &ringdb::Codec<std::uint64_t>::compare));
    REQUIRE(table.has_value());
    return *table;
}

}  // namespace

TEST_CASE("DirtyMap matches a model under random inserts and erases", "[engine][bulk]") {
    auto seed = savepoint_test_seed();
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    DirtyMap map;
    std::map<std::uint64_t, MutPageRef> model;
    for (int step = 0; step < 20000; ++step) {
        // Few distinct pages, so that probe runs, wrap-around and backward shifts all happen.
        const std::uint64_t raw = 1 + rng() % 700;
        const PageNumber page = PageNumber::from_raw(raw);
        if (rng() % 3 != 0) {
            if (model.count(raw) == 0) {
                MutPageRef buffer = PageBuffer::make(64);
                buffer->data()[0] = static_cast<std::byte>(raw);
                map.insert(page, buffer);
                model[raw] = buffer;
            }
        } else {
            MutPageRef removed = map.erase(page);
            auto it = model.find(raw);
            if (it == model.end()) {
                REQUIRE(removed == nullptr);
            } else {
                REQUIRE(removed == it->second);
                model.erase(it);
            }
        }
        REQUIRE(map.size() == model.size());
        if (step % 500 == 0) {
            for (std::uint64_t probe = 1; probe <= 700; ++probe) {
                MutPageRef* found = map.find(PageNumber::from_raw(probe));
                auto it = model.find(probe);
                REQUIRE((found != nullptr) == (it != model.end()));
                REQUIRE(map.contains(PageNumber::from_raw(probe)) == (it != model.end()));
                if (found != nullptr) {
                    REQUIRE(*found == it->second);
                }
            }
            std::size_t visited = 0;
            map.for_each([&](PageNumber number, MutPageRef& buffer) {
                ++visited;
                REQUIRE(model.at(number.raw()) == buffer);
            });
            REQUIRE(visited == model.size());
        }
    }
    map.clear();
    REQUIRE(map.size() == 0);
    REQUIRE(map.find(PageNumber::from_raw(1)) == nullptr);
}

TEST_CASE("try_insert takes in-place inserts into dirty leaves and declines the rest",
          "[engine][bulk]") {
    auto core = open_small(std::make_unique<ringdb::io::SimDevice>(savepoint_test_seed()));
    Model model;
    {
        auto txn = writer(core);
        OpenTable* table = numbers(*txn);
        auto key = ringdb::encode(std::uint64_t{1});
        auto value = ringdb::encode(std::uint64_t{10});
        // An empty tree: the first leaf is created by insert().
        REQUIRE_FALSE(table->tree.try_insert(key, value).has_value());
        store(*table, 1, 10);
        // Now the root leaf is dirty and has room.
        auto key2 = ringdb::encode(std::uint64_t{2});
        auto fast = table->tree.try_insert(key2, value);
        REQUIRE(fast.has_value());
        REQUIRE(fast->has_value());
        REQUIRE_FALSE(fast->value().has_value());  // a new key
        auto again = table->tree.try_insert(key2, key2);
        REQUIRE(again.has_value());
        REQUIRE(again->has_value());
        REQUIRE(again->value().has_value());  // replaced: the old value comes back
        REQUIRE(table->tree.length() == 2);
        txn->close_table(table);
        commit(*txn);
        model[1] = 10;
        model[2] = 2;
    }
    auto txn = writer(core);
    OpenTable* table = numbers(*txn);
    // A committed leaf needs copy-on-write: declined, and the tree is untouched.
    auto key3 = ringdb::encode(std::uint64_t{3});
    REQUIRE_FALSE(table->tree.try_insert(key3, key3).has_value());
    REQUIRE(table->tree.length() == 2);
    // Too large: the error, without touching the tree.
    std::vector<std::byte> huge_key(1);
    std::span<const std::byte> huge_value(huge_key.data(), kMaxKeyOrValueLength + 1);
    auto refused = table->tree.try_insert(huge_key, huge_value);
    REQUIRE(refused.has_value());
    REQUIRE_FALSE(refused->has_value());
    REQUIRE(refused->error().code == Errc::value_too_large);
    auto read = sync_wait(read_tree(table->tree));
    REQUIRE(read.has_value());
    REQUIRE(*read == model);
}

TEST_CASE("Bulk inserts with a cache smaller than the tree match a model", "[engine][bulk]") {
    auto seed = savepoint_test_seed();
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_tiny_cache(std::move(owned));
    Model model;
    std::map<std::uint64_t, std::string> text_model;
    for (int round = 0; round < 3; ++round) {
        auto txn = writer(core);
        OpenTable* table = numbers(*txn);
        bulk_insert(*table, model, rng, 3000, 6000);
        // Values of varying length: replacements of another size, splits, merges of pieces.
        OpenTable* other = texts(*txn);
        for (int i = 0; i < 800; ++i) {
            std::uint64_t k = rng() % 1500;
            std::string text(rng() % 90, static_cast<char>('a' + rng() % 26));
            auto key = ringdb::encode(k);
            auto value = ringdb::encode(text);
            REQUIRE(sync_wait(other->tree.insert(key, value)).has_value());
            text_model[k] = text;
        }
        // The transaction sees its own inserts while committed pages keep being evicted.
        auto seen = sync_wait(read_tree(table->tree));
        REQUIRE(seen.has_value());
        REQUIRE(*seen == model);
        REQUIRE(other->tree.length() == text_model.size());
        for (const auto& [k, text] : text_model) {
            auto key = ringdb::encode(k);
            auto got = sync_wait(other->tree.get(key));
            REQUIRE(got.has_value());
            REQUIRE(got->has_value());
            auto decoded = ringdb::decode<std::string>((*got)->bytes);
            REQUIRE(decoded.has_value());
            REQUIRE(*decoded == text);
        }
        txn->close_table(table);
        txn->close_table(other);
        commit(*txn);
        REQUIRE(current_model(core) == model);
        REQUIRE(verifies(core));
    }
    std::uint64_t live = settled_pages(core);
    REQUIRE(repaired_pages(core, *sim, seed) == live);
    REQUIRE(current_model(core) == model);
}

TEST_CASE("Guards keep their bytes while bulk inserts split and rewrite their pages",
          "[engine][bulk]") {
    auto seed = savepoint_test_seed();
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto core = open_small(std::make_unique<ringdb::io::SimDevice>(seed));
    auto txn = writer(core);
    OpenTable* table = numbers(*txn);
    Model model;
    bulk_insert(*table, model, rng, 400, 100000);
    // Guards on dirty pages of this transaction: in-place inserts into their leaves, splits
    // (the old leaf is freed and its buffer offered for reuse) and same-size replacements of
    // the guarded values must leave the guarded bytes as they were.
    std::vector<std::pair<std::uint64_t, ValueRef>> guards;
    for (const auto& [k, v] : model) {
        if (guards.size() == 60) {
            break;
        }
        auto key = ringdb::encode(k);
        auto got = sync_wait(table->tree.get(key));
        REQUIRE(got.has_value());
        REQUIRE(got->has_value());
        guards.emplace_back(v, std::move(**got));
    }
    bulk_insert(*table, model, rng, 3000, 100000);
    for (std::size_t i = 0; i < guards.size(); i += 2) {
        auto it = model.begin();
        std::advance(it, static_cast<long>(i));
        store(*table, it->first, it->second + 2);
        model[it->first] = it->second + 2;
    }
    for (const auto& [expected, guard] : guards) {
        auto decoded = ringdb::decode<std::uint64_t>(guard.bytes);
        REQUIRE(decoded.has_value());
        REQUIRE(*decoded == expected);
    }
    auto seen = sync_wait(read_tree(table->tree));
    REQUIRE(seen.has_value());
    REQUIRE(*seen == model);
    guards.clear();
    txn->close_table(table);
    commit(*txn);
    REQUIRE(current_model(core) == model);
    REQUIRE(verifies(core));
}

TEST_CASE("Abort after bulk inserts leaves data and allocator as they were", "[engine][bulk]") {
    auto seed = savepoint_test_seed();
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_tiny_cache(std::move(owned));
    Model model;
    {
        auto txn = writer(core);
        bulk_insert(*numbers(*txn), model, rng, 2000, 4000);
        commit(*txn);
    }
    std::uint64_t baseline = settled_pages(core);
    {
        auto txn = writer(core);
        Model discarded = model;
        bulk_insert(*numbers(*txn), discarded, rng, 4000, 8000);
        txn->abort();
    }
    {
        // Dropping a transaction without commit or abort discards it the same way.
        auto txn = writer(core);
        Model discarded = model;
        bulk_insert(*numbers(*txn), discarded, rng, 4000, 8000);
    }
    REQUIRE(current_model(core) == model);
    REQUIRE(verifies(core));
    std::uint64_t live = settled_pages(core);
    REQUIRE(live <= baseline + kSystemWobble);
    REQUIRE(repaired_pages(core, *sim, seed) == live);
}

TEST_CASE("A savepoint restore after bulk inserts discards them without leaking",
          "[engine][bulk][savepoint]") {
    auto seed = savepoint_test_seed();
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto owned = std::make_unique<ringdb::io::SimDevice>(seed);
    auto* sim = owned.get();
    auto core = open_tiny_cache(std::move(owned));
    Model model;
    {
        auto txn = writer(core);
        bulk_insert(*numbers(*txn), model, rng, 1500, 3000);
        commit(*txn);
    }
    std::uint64_t baseline = settled_pages(core);
    const Model at_savepoint = model;
    auto savepoint = take_savepoint(core);
    {
        // A committed bulk load after the savepoint, then a second one in the transaction
        // that restores.
        auto txn = writer(core);
        bulk_insert(*numbers(*txn), model, rng, 3000, 9000);
        commit(*txn);
    }
    {
        auto txn = writer(core);
        OpenTable* table = numbers(*txn);
        bulk_insert(*table, model, rng, 3000, 9000);
        txn->close_table(table);
        auto restored = sync_wait(txn->restore_savepoint(savepoint));
        REQUIRE(restored.has_value());
        commit(*txn);
    }
    REQUIRE(current_model(core) == at_savepoint);
    REQUIRE(verifies(core));
    savepoint.reset();
    std::uint64_t live = settled_pages(core);
    REQUIRE(live <= baseline + kSystemWobble);
    REQUIRE(repaired_pages(core, *sim, seed) == live);
}

TEST_CASE("Two threads bulk-load two tables of one write transaction", "[engine][bulk][threads]") {
    // WritePages is shared by the transaction's tables: one thread's allocations grow the
    // dirty table while the other thread walks its own dirty pages.
    auto seed = savepoint_test_seed();
    INFO("seed " << seed);
    auto core = open_tiny_cache(std::make_unique<ringdb::io::SimDevice>(seed));
    constexpr ringdb::TableDefinition<std::uint64_t, std::uint64_t> kOther("other");
    auto txn = writer(core);
    OpenTable* first = numbers(*txn);
    auto opened =
            sync_wait(txn->open_table(kOther.schema(), &ringdb::Codec<std::uint64_t>::compare));
    REQUIRE(opened.has_value());
    OpenTable* second = *opened;
    Model first_model;
    Model second_model;
    std::atomic<bool> failed{false};
    auto load = [&failed](OpenTable* table, Model* model, std::uint64_t thread_seed) {
        std::mt19937_64 rng(thread_seed);
        for (int i = 0; i < 4000; ++i) {
            std::uint64_t k = rng() % 20000;
            std::uint64_t v = rng() | 1;
            auto key = ringdb::encode(k);
            auto value = ringdb::encode(v);
            if (!sync_wait(table->tree.insert(key, value))) {
                failed = true;
                return;
            }
            (*model)[k] = v;
        }
    };
    std::thread a(load, first, &first_model, seed);
    std::thread b(load, second, &second_model, seed + 1);
    a.join();
    b.join();
    REQUIRE_FALSE(failed.load());
    auto seen_first = sync_wait(read_tree(first->tree));
    auto seen_second = sync_wait(read_tree(second->tree));
    REQUIRE(seen_first.has_value());
    REQUIRE(seen_second.has_value());
    REQUIRE(*seen_first == first_model);
    REQUIRE(*seen_second == second_model);
    txn->close_table(first);
    txn->close_table(second);
    commit(*txn);
    REQUIRE(current_model(core) == first_model);
    REQUIRE(verifies(core));
}
