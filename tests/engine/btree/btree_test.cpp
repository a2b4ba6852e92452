// Btree operations against a model map (randomised, seeded), with bytewise and custom key
// orders, small and large pages, large keys and values, copy-on-write snapshots, finalize and
// verify, free_all, and balance (height and fill) under bulk inserts and removals.

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

#include "btree_test_support.hpp"

using namespace ringdb::engine;           // NOLINT: test file
using namespace ringdb::engine::testing;  // NOLINT: test file
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

/// Compares the whole tree with the model: point lookups, first/last and a full scan.
void check_against_model(Btree& tree, const Model& model) {
    REQUIRE(tree.length() == model.size());
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    auto all = drain_front(cursor);
    REQUIRE(all.size() == model.size());
    auto it = model.begin();
    for (const auto& [k, v] : all) {
        REQUIRE(k == it->first);
        REQUIRE(v == it->second);
        ++it;
    }
    auto first = sync_wait(tree.first());
    auto last = sync_wait(tree.last());
    REQUIRE(first.has_value());
    REQUIRE(last.has_value());
    if (model.empty()) {
        CHECK_FALSE(first->has_value());
        CHECK_FALSE(last->has_value());
    } else {
        CHECK(to_bytes((*first)->key) == model.begin()->first);
        CHECK(to_bytes((*last)->value) == model.rbegin()->second);
    }
}

Bytes random_key(std::mt19937_64& rng, KeyCompare compare, std::uint32_t key_space) {
    std::uint32_t n = static_cast<std::uint32_t>(rng() % key_space);
    if (compare == compare_u32_le) {
        return u32_key(n);
    }
    // Variable-length keys with shared prefixes exercise bytewise order.
    std::string text = "k" + std::to_string(n % 97) + "/" + std::to_string(n);
    return bytes_of(text);
}

struct RandomRun {
    std::uint32_t page_size;
    KeyCompare compare;
    std::size_t max_value;
    int operations;
};

void run_random(const RandomRun& run) {
    std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed << " page_size=" << run.page_size);
    std::mt19937_64 rng(seed);
    MemoryTreePages pages(run.page_size);
    Btree tree(pages, run.compare, BtreeRoot{});
    Model model(ModelLess{run.compare});
    for (int op = 0; op < run.operations; ++op) {
        Bytes key = random_key(rng, run.compare, 3000);
        int dice = static_cast<int>(rng() % 100);
        if (dice < 55) {
            Bytes value = filled(rng() % (run.max_value + 1), static_cast<std::uint32_t>(op));
            auto old = insert(tree, key, value);
            auto it = model.find(key);
            REQUIRE(old.has_value() == (it != model.end()));
            if (old) {
                REQUIRE(*old == it->second);
            }
            model[key] = value;
        } else if (dice < 90) {
            auto old = remove(tree, key);
            auto it = model.find(key);
            REQUIRE(old.has_value() == (it != model.end()));
            if (old) {
                REQUIRE(*old == it->second);
                model.erase(it);
            }
        } else {
            auto value = get(tree, key);
            auto it = model.find(key);
            REQUIRE(value.has_value() == (it != model.end()));
            if (value) {
                REQUIRE(*value == it->second);
            }
        }
        if (op % 1000 == 999) {
            check_against_model(tree, model);
            check_tree(tree);
            // Commit now and then, so later edits copy committed pages on write.
            if (rng() % 2 == 0) {
                pages.commit(true);
            }
        }
    }
    check_against_model(tree, model);
    check_tree(tree);
}

}  // namespace

TEST_CASE("btree basic operations", "[engine][btree]") {
    MemoryTreePages pages(4096);
    Btree tree(pages, compare_bytes, BtreeRoot{});
    CHECK(tree.empty());
    CHECK_FALSE(get(tree, bytes_of("a")).has_value());
    CHECK_FALSE(remove(tree, bytes_of("a")).has_value());
    CHECK_FALSE(insert(tree, bytes_of("b"), bytes_of("2")).has_value());
    CHECK_FALSE(insert(tree, bytes_of("a"), bytes_of("1")).has_value());
    CHECK(tree.length() == 2);
    auto old = insert(tree, bytes_of("a"), bytes_of("one"));
    REQUIRE(old.has_value());
    CHECK(*old == bytes_of("1"));
    CHECK(tree.length() == 2);
    CHECK(get(tree, bytes_of("a")) == bytes_of("one"));
    CHECK(insert(tree, bytes_of(""), bytes_of("empty key")) == std::nullopt);
    CHECK(get(tree, bytes_of("")) == bytes_of("empty key"));
    CHECK(remove(tree, bytes_of("b")) == bytes_of("2"));
    CHECK(tree.length() == 2);
    check_tree(tree);
    CHECK(remove(tree, bytes_of("a")) == bytes_of("one"));
    CHECK(remove(tree, bytes_of("")) == bytes_of("empty key"));
    CHECK(tree.empty());
    CHECK(tree.length() == 0);
    CHECK(pages.live_pages().empty());
    BtreeRoot root = finalize(tree);
    CHECK(root.page.is_null());
    CHECK(root.checksum.is_zero());
}

TEST_CASE("btree try_get answers from cached pages and defers to get on a miss",
          "[engine][btree]") {
    MemoryTreePages pages(512);
    Btree tree(pages, compare_bytes, BtreeRoot{});
    for (std::uint32_t i = 0; i < 600; ++i) {
        insert(tree, bytes_of("key" + std::to_string(i)), bytes_of("value" + std::to_string(i)));
    }
    finalize(tree);
    pages.commit();
    Bytes present = bytes_of("key321");
    Bytes absent = bytes_of("key321x");
    // Every page cached: answered synchronously, found and not found alike.
    auto hit = tree.try_get(present);
    REQUIRE(hit.has_value());
    REQUIRE(hit->has_value());
    REQUIRE(hit->value().has_value());
    CHECK(to_bytes(hit->value()->bytes) == bytes_of("value321"));
    auto miss = tree.try_get(absent);
    REQUIRE(miss.has_value());
    REQUIRE(miss->has_value());
    CHECK_FALSE(miss->value().has_value());
    // A page on the path not cached: no answer, get() reads it.
    pages.cache_misses = true;
    CHECK_FALSE(tree.try_get(present).has_value());
    auto read = sync_wait(tree.get(present));
    REQUIRE(read.has_value());
    REQUIRE(read->has_value());
    CHECK(to_bytes((*read)->bytes) == bytes_of("value321"));
    CHECK(pages.slow_reads > 0);
    // Some pages cached: every key still found through get().
    pages.cache_misses = false;
    pages.miss_one_in = 3;
    for (std::uint32_t i = 0; i < 600; i += 7) {
        auto value = sync_wait(tree.get(bytes_of("key" + std::to_string(i))));
        REQUIRE(value.has_value());
        REQUIRE(value->has_value());
        CHECK(to_bytes((*value)->bytes) == bytes_of("value" + std::to_string(i)));
    }
}

TEST_CASE("btree value guards survive later modification", "[engine][btree]") {
    MemoryTreePages pages(512);
    Btree tree(pages, compare_bytes, BtreeRoot{});
    insert(tree, bytes_of("key"), bytes_of("before"));
    auto guard = sync_wait(tree.get(bytes_of("key")));
    REQUIRE(guard.has_value());
    REQUIRE(guard->has_value());
    insert(tree, bytes_of("key"), bytes_of("after!"));  // same length: in-place overwrite
    for (int i = 0; i < 50; ++i) {
        insert(tree, u32_key(static_cast<std::uint32_t>(i)), filled(40, i));
    }
    CHECK(to_bytes((*guard)->bytes) == bytes_of("before"));
    CHECK(get(tree, bytes_of("key")) == bytes_of("after!"));
    CHECK(pages.private_copies >= 1);
}

TEST_CASE("btree rejects oversized pairs without changing the tree", "[engine][btree]") {
    MemoryTreePages pages(4096);
    Btree tree(pages, compare_bytes, BtreeRoot{});
    std::vector<std::byte> huge_backing(1);
    // A span claiming more than 3 GiB is refused before any byte is read.
    std::span<const std::byte> huge(huge_backing.data(), kMaxKeyOrValueLength + 1);
    auto r = sync_wait(tree.insert(bytes_of("k"), huge));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == Errc::value_too_large);
    CHECK(tree.empty());
}

TEST_CASE("btree random operations match a model (bytewise, 4 KiB)", "[engine][btree]") {
    run_random(RandomRun{4096, compare_bytes, 200, 20000});
}

TEST_CASE("btree random operations match a model (u32 order, 512 B)", "[engine][btree]") {
    run_random(RandomRun{512, compare_u32_le, 60, 20000});
}

TEST_CASE("btree random operations match a model (reverse order, large values)",
          "[engine][btree]") {
    run_random(RandomRun{512, compare_reverse, 1500, 6000});
}

TEST_CASE("btree large values and keys", "[engine][btree]") {
    std::uint32_t page_size = GENERATE(512u, 4096u);
    MemoryTreePages pages(page_size);
    Btree tree(pages, compare_bytes, BtreeRoot{});
    Model model(ModelLess{compare_bytes});
    std::vector<std::size_t> sizes{page_size + 1, 3 * page_size, 1 << 20, 10, page_size / 2};
    for (std::uint32_t i = 0; i < 40; ++i) {
        Bytes key = filled(i % 3 == 0 ? 1024 : 8, i);
        Bytes value = filled(sizes[i % sizes.size()], i + 100);
        insert(tree, key, value);
        model[key] = value;
    }
    check_against_model(tree, model);
    TreeReport report = check_tree(tree);
    CHECK(report.height >= 2);
    // Shrink the huge values, then remove everything.
    for (auto& [key, value] : model) {
        value = filled(value.size() % 97, 5);
        insert(tree, key, value);
    }
    check_against_model(tree, model);
    check_tree(tree);
    pages.commit(true);
    for (const auto& entry : model) {
        REQUIRE(remove(tree, entry.first) == entry.second);
    }
    CHECK(tree.empty());
    check_tree(tree);
}

TEST_CASE("btree single huge entry gets a higher-order leaf", "[engine][btree]") {
    MemoryTreePages pages(4096);
    Btree tree(pages, compare_bytes, BtreeRoot{});
    insert(tree, bytes_of("big"), filled(4096 * 3, 1));
    CHECK(tree.root().page.order() == order_for(4 + 8 + 3 + 4096 * 3, 4096));
    insert(tree, bytes_of("small"), bytes_of("x"));
    // The small entry does not join the huge leaf.
    TreeReport report = check_tree(tree);
    CHECK(report.leaf_pages == 2);
    CHECK(report.height == 2);
}

TEST_CASE("btree stays balanced under bulk inserts and removals", "[engine][btree]") {
    std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    MemoryTreePages pages(4096);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    std::vector<std::uint32_t> keys(200000);
    std::iota(keys.begin(), keys.end(), 0u);
    std::shuffle(keys.begin(), keys.end(), rng);
    Bytes value = filled(16, 9);
    for (std::uint32_t k : keys) {
        insert(tree, u32_key(k), value);
    }
    TreeReport full = check_tree(tree);
    CHECK(full.height <= 4);
    CHECK(full.min_fill_bytes >= 4096 / 3 - 64);
    pages.commit(true);
    std::shuffle(keys.begin(), keys.end(), rng);
    for (std::size_t i = 0; i < 199000; ++i) {
        REQUIRE(remove(tree, u32_key(keys[i])).has_value());
    }
    TreeReport small = check_tree(tree);
    CHECK(small.height < full.height);
    CHECK(small.entries == 1000);
    CHECK(small.min_fill_bytes >= 4096 / 3 - 64);
    CHECK(pages.live_pages().size() == small.leaf_pages + small.branch_pages);
}

TEST_CASE("btree ascending inserts fill their leaves", "[engine][btree]") {
    MemoryTreePages pages(4096);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Bytes value = filled(100, 3);
    const std::uint32_t count = 5000;
    for (std::uint32_t k = 0; k < count; ++k) {
        insert(tree, u32_key(k), value);
        if (k % 1000 == 999) {
            finalize(tree);
            pages.commit(true);  // later appends copy committed leaves first
        }
    }
    TreeReport report = check_tree(tree);
    // 36 entries of 4 + 100 bytes (and 8 bytes of offsets) fit a 4 KiB leaf.
    const std::uint64_t per_leaf = (4096 - 4) / (4 + 100 + 8);
    CHECK(report.leaf_pages <= (count + per_leaf - 1) / per_leaf + 1);
    CHECK(report.min_fill_bytes >= 4096 / 3 - 64);
    // Keys inserted in the middle still split in halves.
    for (std::uint32_t k = 0; k < 500; ++k) {
        insert(tree, u32_key(count + 1000 - k), value);
    }
    CHECK(check_tree(tree).min_fill_bytes >= 4096 / 3 - 64);
}

TEST_CASE("btree inserts into a dirty leaf in place", "[engine][btree]") {
    MemoryTreePages pages(4096);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    // Descending inserts split leaves in halves, so they keep room (ascending ones would
    // pack them full).
    for (std::uint32_t i = 2000; i-- > 0;) {
        insert(tree, u32_key(i * 2), filled(20, i));
    }
    finalize(tree);
    std::uint64_t before = pages.allocations;
    // Filling gaps in existing dirty leaves allocates only for splits.
    for (std::uint32_t i = 0; i < 20; ++i) {
        insert(tree, u32_key(i * 100 + 1), filled(20, i));
    }
    CHECK(pages.allocations - before <= 6);
    check_tree(tree);
}

TEST_CASE("btree copy-on-write keeps committed snapshots intact", "[engine][btree]") {
    std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    std::uint32_t page_size = GENERATE(512u, 4096u);
    MemoryTreePages pages(page_size);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Model model(ModelLess{compare_u32_le});
    for (std::uint32_t i = 0; i < 3000; ++i) {
        Bytes key = u32_key(static_cast<std::uint32_t>(rng() % 10000));
        Bytes value = filled(rng() % 50, i);
        insert(tree, key, value);
        model[key] = value;
    }
    BtreeRoot committed = finalize(tree);
    pages.commit();
    std::set<PageNumber> old_pages = reachable_pages(pages, committed.page);

    Model new_model = model;
    for (std::uint32_t i = 0; i < 500; ++i) {
        Bytes key = u32_key(static_cast<std::uint32_t>(rng() % 10000));
        if (rng() % 2 == 0) {
            Bytes value = filled(rng() % 50, i + 7);
            insert(tree, key, value);
            new_model[key] = value;
        } else {
            remove(tree, key);
            new_model.erase(key);
        }
    }
    BtreeRoot updated = finalize(tree);
    // The committed tree reads exactly as before and still verifies.
    Btree snapshot(pages, compare_u32_le, committed);
    check_against_model(snapshot, model);
    CHECK(verify(pages, compare_u32_le, committed).ok());
    check_against_model(tree, new_model);
    CHECK(verify(pages, compare_u32_le, updated).ok());
    // Freed committed pages are exactly the old pages the new tree no longer uses, and every
    // page of the new tree is either old or dirty.
    std::set<PageNumber> new_pages = reachable_pages(pages, updated.page);
    std::set<PageNumber> replaced;
    std::set_difference(old_pages.begin(), old_pages.end(), new_pages.begin(), new_pages.end(),
                        std::inserter(replaced, replaced.end()));
    std::set<PageNumber> freed(pages.freed.begin(), pages.freed.end());
    CHECK(freed == replaced);
    // No dirty page leaks: every dirty page belongs to the new tree.
    std::size_t dirty_in_tree = 0;
    for (PageNumber page : new_pages) {
        CHECK((old_pages.contains(page) || pages.is_dirty(page)));
        dirty_in_tree += pages.is_dirty(page) ? 1 : 0;
    }
    CHECK(pages.dirty_count() == dirty_in_tree);
}

TEST_CASE("btree finalize computes checksums bottom-up", "[engine][btree]") {
    MemoryTreePages pages(512);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    for (std::uint32_t i = 0; i < 500; ++i) {
        insert(tree, u32_key(i), filled(30, i));
    }
    BtreeRoot root = finalize(tree);
    CHECK_FALSE(root.checksum.is_zero());
    CHECK(root.length == 500);
    CHECK(verify(pages, compare_u32_le, root).ok());
    // Finalizing again is stable; a committed tree is returned as is.
    CHECK(finalize(tree) == root);
    pages.commit();
    CHECK(finalize(tree) == root);
    // One change after commit dirties a path; finalize fixes exactly that path.
    insert(tree, u32_key(7), bytes_of("changed"));
    BtreeRoot changed = finalize(tree);
    CHECK(changed.page != root.page);
    CHECK(verify(pages, compare_u32_le, changed).ok());
    TreeReport stale = verify(pages, compare_u32_le, BtreeRoot{changed.page, root.checksum, 500});
    CHECK_FALSE(stale.ok());
}

TEST_CASE("btree free_all frees exactly the visited pages", "[engine][btree]") {
    bool committed = GENERATE(false, true);
    MemoryTreePages pages(512);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    for (std::uint32_t i = 0; i < 800; ++i) {
        insert(tree, u32_key(i * 7 % 800), filled(i % 3 == 0 ? 700 : 20, i));
    }
    BtreeRoot root = finalize(tree);
    if (committed) {
        pages.commit();
    }
    std::set<PageNumber> visited = reachable_pages(pages, root.page);
    CHECK(visited == pages.live_pages());
    pages.released.clear();
    ringdb::Status s = sync_wait(tree.free_all());
    REQUIRE(s.has_value());
    CHECK(tree.empty());
    CHECK(tree.length() == 0);
    const auto& freed_list = committed ? pages.freed : pages.released;
    std::set<PageNumber> freed(freed_list.begin(), freed_list.end());
    CHECK(freed.size() == freed_list.size());
    CHECK(freed == visited);
    CHECK(pages.live_pages().empty());
}

// Manual timing (hidden; run with "[btree-bench]" in an optimized build): bulk load of random
// 24-byte keys with 150-byte values in one transaction, finalize, then point lookups.
TEST_CASE("btree bulk load timing", "[.][btree-bench]") {
    std::mt19937_64 rng(42);
    MemoryTreePages pages(4096);
    Btree tree(pages, compare_bytes, BtreeRoot{});
    const std::size_t count = 1'000'000;
    std::vector<Bytes> keys(count);
    for (auto& key : keys) {
        key = filled(24, static_cast<std::uint32_t>(rng()));
    }
    Bytes value = filled(150, 3);
    auto start = std::chrono::steady_clock::now();
    for (const auto& key : keys) {
        (void)sync_wait(tree.insert(key, value));
    }
    BtreeRoot root = finalize(tree);
    auto loaded = std::chrono::steady_clock::now();
    std::size_t found = 0;
    for (std::size_t i = 0; i < count; i += 1) {
        auto r = sync_wait(tree.get(keys[(i * 7919) % count]));
        found += (r && *r) ? 1 : 0;
    }
    auto looked = std::chrono::steady_clock::now();
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    WARN("load+finalize " << ms(loaded - start) << " ms, 1M gets " << ms(looked - loaded)
                          << " ms, pages " << pages.live_pages().size() << ", root order "
                          << root.page.order());
    CHECK(found == count);
}
