// Range cursors (forward, backward, mixed; every bound kind; empty and inverted ranges;
// modification while open) and the handling of damaged pages by every tree operation.

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>

#include "btree_test_support.hpp"
#include "engine/btree/split_keys.hpp"

using namespace ringdb::engine;           // NOLINT: test file
using namespace ringdb::engine::testing;  // NOLINT: test file
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

Bound make_bound(BoundKind kind, const Bytes& key) {
    return kind == BoundKind::unbounded ? Bound::unbounded() : Bound{kind, key};
}

bool above_lower(const Model& model, const Bytes& key, BoundKind kind, const Bytes& bound) {
    int c = model.key_comp().compare(key, bound);
    return kind == BoundKind::unbounded || c > 0 || (c == 0 && kind == BoundKind::included);
}

bool below_upper(const Model& model, const Bytes& key, BoundKind kind, const Bytes& bound) {
    int c = model.key_comp().compare(key, bound);
    return kind == BoundKind::unbounded || c < 0 || (c == 0 && kind == BoundKind::included);
}

/// Steps the cursor from the front (true) or the back; none at the end.
std::optional<std::pair<Bytes, Bytes>> step(Cursor& cursor, bool forward) {
    Cursor::Entry e;
    bool fast = forward ? cursor.try_next(e) : cursor.try_next_back(e);
    if (!fast) {
        auto r = forward ? sync_wait(cursor.next()) : sync_wait(cursor.next_back());
        REQUIRE(r.has_value());
        if (!*r) {
            return std::nullopt;
        }
        e = **r;
    }
    return std::pair<Bytes, Bytes>{to_bytes(e.key), to_bytes(e.value)};
}

/// Builds a tree and a model of `count` entries with keys i * 3 (u32 order).
void fill(Btree& tree, Model& model, std::uint32_t count, std::size_t value_size) {
    for (std::uint32_t i = 0; i < count; ++i) {
        Bytes key = u32_key(i * 3);
        Bytes value = filled(value_size, i);
        insert(tree, key, value);
        model[key] = value;
    }
}

}  // namespace

TEST_CASE("cursor ranges match the model from both ends", "[engine][btree]") {
    std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    MemoryTreePages pages(512);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Model model(ModelLess{compare_u32_le});
    fill(tree, model, 1500, 20);
    finalize(tree);
    pages.commit();
    // 0: every page cached; 1: none (asynchronous reads); 2: a third missing, so cached
    // seeks and leaf crossings meet an uncached page half way and fall back.
    int caching = GENERATE(0, 1, 2);
    pages.cache_misses = caching == 1;
    pages.miss_one_in = caching == 2 ? 3 : 0;
    const BoundKind kinds[] = {BoundKind::unbounded, BoundKind::included, BoundKind::excluded};
    for (int round = 0; round < 300; ++round) {
        BoundKind lower_kind = kinds[rng() % 3];
        BoundKind upper_kind = kinds[rng() % 3];
        Bytes lower = u32_key(static_cast<std::uint32_t>(rng() % 4600));
        Bytes upper = u32_key(static_cast<std::uint32_t>(rng() % 4600));
        if (round % 10 == 0) {
            upper = lower;  // equal bounds: one entry or nothing
        }
        std::vector<std::pair<Bytes, Bytes>> expected;
        for (const auto& [k, v] : model) {
            if (above_lower(model, k, lower_kind, lower) &&
                below_upper(model, k, upper_kind, upper)) {
                expected.emplace_back(k, v);
            }
        }
        Cursor cursor(tree, make_bound(lower_kind, lower), make_bound(upper_kind, upper));
        // Take entries from a random mix of ends; front ones in order, back ones reversed.
        std::size_t front = 0;
        std::size_t back = expected.size();
        int mode = static_cast<int>(rng() % 3);  // 0 forward, 1 backward, 2 mixed
        while (true) {
            bool forward = mode == 0 || (mode == 2 && rng() % 2 == 0);
            auto entry = step(cursor, forward);
            if (!entry) {
                CHECK(front == back);
                break;
            }
            REQUIRE(front < back);
            if (forward) {
                REQUIRE(*entry == expected[front]);
                ++front;
            } else {
                REQUIRE(*entry == expected[back - 1]);
                --back;
            }
        }
        // Both ends stay finished.
        CHECK_FALSE(step(cursor, true).has_value());
        CHECK_FALSE(step(cursor, false).has_value());
    }
    if (caching != 0) {
        CHECK(pages.slow_reads > 0);
    }
    if (caching == 2) {
        CHECK(pages.fast_reads > 0);
    }
}

TEST_CASE("cursor over empty and inverted ranges yields nothing", "[engine][btree]") {
    MemoryTreePages pages(4096);
    Btree tree(pages, compare_reverse, BtreeRoot{});
    SECTION("empty tree") {
        Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
        CHECK_FALSE(step(cursor, true).has_value());
        CHECK_FALSE(step(cursor, false).has_value());
    }
    for (int i = 0; i < 10; ++i) {
        insert(tree, bytes_of(std::to_string(i)), bytes_of("v"));
    }
    // Reverse order: "9" < "8" < ... < "0".
    SECTION("inverted") {
        Bytes a = bytes_of("3");
        Bytes b = bytes_of("7");
        Cursor cursor(tree, Bound::included(a), Bound::included(b));
        CHECK(cursor.finished());
        CHECK_FALSE(step(cursor, true).has_value());
    }
    SECTION("equal bounds with an excluded side") {
        Bytes a = bytes_of("5");
        Cursor cursor(tree, Bound::included(a), Bound::excluded(a));
        CHECK_FALSE(step(cursor, false).has_value());
    }
    SECTION("custom order range 7..=3 yields 7,6,5,4,3") {
        Bytes a = bytes_of("7");
        Bytes b = bytes_of("3");
        Cursor cursor(tree, Bound::included(a), Bound::included(b));
        auto all = drain_front(cursor);
        REQUIRE(all.size() == 5);
        CHECK(all.front().first == bytes_of("7"));
        CHECK(all.back().first == bytes_of("3"));
    }
}

TEST_CASE("cursor steps inside a leaf are synchronous", "[engine][btree]") {
    MemoryTreePages pages(4096);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Model model(ModelLess{compare_u32_le});
    fill(tree, model, 2000, 8);
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    std::size_t fast = 0;
    std::size_t slow = 0;
    while (true) {
        Cursor::Entry e;
        if (cursor.try_next(e)) {
            ++fast;
            continue;
        }
        auto r = sync_wait(cursor.next());
        REQUIRE(r.has_value());
        if (!*r) {
            break;
        }
        ++slow;
    }
    CHECK(fast + slow == 2000);
    TreeReport report = check_tree(tree);
    CHECK(slow == report.leaf_pages);  // one slow step per leaf: the load
}

TEST_CASE("cursor with modification: extract-style removal while iterating",
          "[engine][btree]") {
    std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    MemoryTreePages pages(512);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Model model(ModelLess{compare_u32_le});
    fill(tree, model, 1000, 30);
    bool commit_first = GENERATE(false, true);
    if (commit_first) {
        finalize(tree);
        pages.commit();
    }
    Bytes lower = u32_key(300);
    Cursor cursor(tree, Bound::included(lower), Bound::unbounded());
    std::size_t seen = 0;
    while (auto entry = step(cursor, rng() % 4 != 0)) {
        ++seen;
        REQUIRE(model.contains(entry->first));
        REQUIRE(model[entry->first] == entry->second);
        if (rng() % 2 == 0) {
            // Remove what was just returned, like extract_if.
            REQUIRE(remove(tree, entry->first) == entry->second);
            model.erase(entry->first);
        }
        if (rng() % 10 == 0) {
            // Inserting behind both ends is never returned; ahead of them it may be.
            insert(tree, u32_key(1), bytes_of("behind"));
            model[u32_key(1)] = bytes_of("behind");
        }
    }
    CHECK(seen == 1000 - 100);
    {
        Cursor all(tree, Bound::unbounded(), Bound::unbounded());
        auto entries = drain_front(all);
        REQUIRE(entries.size() == model.size());
    }
    check_tree(tree);
}

TEST_CASE("cursor keeps its leaf while the tree changes under it", "[engine][btree]") {
    MemoryTreePages pages(4096);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Model model(ModelLess{compare_u32_le});
    fill(tree, model, 50, 8);
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    auto first = step(cursor, true);
    REQUIRE(first);
    Cursor::Entry held;
    REQUIRE(cursor.try_next(held));
    Bytes held_key = to_bytes(held.key);
    // Remove the next entries; the held spans still read the old bytes (private copy).
    remove(tree, u32_key(6));
    remove(tree, u32_key(9));
    CHECK(to_bytes(held.key) == held_key);
    CHECK(pages.private_copies >= 1);
    // The next step re-seeks: 6 and 9 are gone.
    auto next = step(cursor, true);
    REQUIRE(next);
    CHECK(next->first == u32_key(12));
}

TEST_CASE("damaged committed pages are reported, never trusted", "[engine][btree]") {
    std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    MemoryTreePages pages(512);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Model model(ModelLess{compare_u32_le});
    fill(tree, model, 400, 20);
    BtreeRoot root = finalize(tree);
    pages.commit();
    std::set<PageNumber> all = reachable_pages(pages, root.page);
    std::vector<PageNumber> list(all.begin(), all.end());

    SECTION("a flipped byte is found by verify at that page") {
        for (int round = 0; round < 20; ++round) {
            PageNumber victim = list[rng() % list.size()];
            auto image = pages.image(victim);
            std::size_t offset = rng() % 64;
            image->data()[offset] ^= std::byte{0x5a};
            TreeReport report = verify(pages, compare_u32_le, root);
            REQUIRE_FALSE(report.ok());
            bool found = false;
            for (const auto& p : report.problems) {
                found = found || p.page == victim;
            }
            CHECK(found);
            image->data()[offset] ^= std::byte{0x5a};
        }
        CHECK(verify(pages, compare_u32_le, root).ok());
    }
    SECTION("a damaged header makes reads return corrupted") {
        PageNumber victim = tree.root().page;
        pages.image(victim)->data()[0] = std::byte{7};  // neither leaf nor branch
        auto got = sync_wait(tree.get(u32_key(3)));
        REQUIRE_FALSE(got.has_value());
        CHECK(got.error().code == Errc::corrupted);
        CHECK(got.error().detail == victim.raw());
        auto ins = sync_wait(tree.insert(u32_key(5), bytes_of("x")));
        CHECK(ins.error().code == Errc::corrupted);
        Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
        auto r = sync_wait(cursor.next());
        CHECK(r.error().code == Errc::corrupted);
        std::function<void(PageNumber)> ignore = [](PageNumber) {};
        ringdb::Status visited = sync_wait(visit_pages(pages, root, ignore));
        CHECK(visited.error().code == Errc::corrupted);
    }
    SECTION("a branch listing a child twice makes a range report corrupted, not loop") {
        // The root's second child replaced by its first: a forward scan would meet the same
        // keys again after the first child, a backward one after the second.
        auto image = pages.image(tree.root().page);
        auto branch = BranchView::trusted(image->bytes());
        REQUIRE(branch.child_count() >= 2);
        std::memcpy(image->data() + branch.child_offset(1), image->data() + branch.child_offset(0),
                    8);
        std::memcpy(image->data() + branch.checksum_offset(1),
                    image->data() + branch.checksum_offset(0), 16);
        for (bool forward : {true, false}) {
            Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
            ringdb::Result<std::optional<Cursor::Entry>> last = std::optional<Cursor::Entry>{};
            std::size_t steps = 0;
            for (; steps < 2 * model.size() + 2; ++steps) {
                last = forward ? sync_wait(cursor.next()) : sync_wait(cursor.next_back());
                if (!last || !*last) {
                    break;
                }
            }
            INFO("forward " << forward << " steps " << steps);
            REQUIRE_FALSE(last.has_value());
            CHECK(last.error().code == Errc::corrupted);
            CHECK(steps < model.size());
        }
    }
    SECTION("garbage pages: every operation fails cleanly") {
        for (int round = 0; round < 200; ++round) {
            PageNumber victim = list[rng() % list.size()];
            auto image = pages.image(victim);
            Bytes saved(image->data(), image->data() + image->size());
            for (std::size_t i = 0; i < image->size(); ++i) {
                image->data()[i] = static_cast<std::byte>(rng());
            }
            image->data()[0] = static_cast<std::byte>(1 + rng() % 2);
            image->data()[1] = std::byte{0};
            Btree copy(pages, compare_u32_le, root);
            (void)sync_wait(copy.get(u32_key(static_cast<std::uint32_t>(rng() % 1200))));
            (void)sync_wait(copy.remove(u32_key(static_cast<std::uint32_t>(rng() % 1200))));
            Cursor cursor(copy, Bound::unbounded(), Bound::unbounded());
            for (int i = 0; i < 500; ++i) {
                auto r = sync_wait(cursor.next());
                if (!r || !*r) {
                    break;
                }
            }
            TreeReport report = verify(pages, compare_u32_le, root);
            CHECK_FALSE(report.ok());
            std::memcpy(image->data(), saved.data(), saved.size());
            pages.commit();  // keep whatever the failed edits allocated, as committed pages
            pages.forget_frees();
        }
    }
}

TEST_CASE("cursor leaf runs consume the range a leaf at a time", "[engine][btree]") {
    std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    MemoryTreePages pages(512);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Model model(ModelLess{compare_u32_le});
    fill(tree, model, 1500, 20);
    finalize(tree);
    pages.commit();
    int caching = GENERATE(0, 1, 2);
    pages.cache_misses = caching == 1;
    pages.miss_one_in = caching == 2 ? 3 : 0;
    const BoundKind kinds[] = {BoundKind::unbounded, BoundKind::included, BoundKind::excluded};
    for (int round = 0; round < 200; ++round) {
        BoundKind lower_kind = kinds[rng() % 3];
        BoundKind upper_kind = kinds[rng() % 3];
        Bytes lower = u32_key(static_cast<std::uint32_t>(rng() % 4600));
        Bytes upper = u32_key(static_cast<std::uint32_t>(rng() % 4600));
        std::vector<std::pair<Bytes, Bytes>> expected;
        for (const auto& [k, v] : model) {
            if (above_lower(model, k, lower_kind, lower) &&
                below_upper(model, k, upper_kind, upper)) {
                expected.emplace_back(k, v);
            }
        }
        Cursor cursor(tree, make_bound(lower_kind, lower), make_bound(upper_kind, upper));
        // Some entries from the back first: the runs must stop where the back end is.
        std::size_t back = expected.size();
        for (std::uint64_t n = rng() % 40; n > 0 && step(cursor, false); --n) {
            --back;
        }
        std::size_t front = 0;
        while (auto entry = step(cursor, true)) {
            REQUIRE(front < back);
            REQUIRE(*entry == expected[front]);
            Cursor::LeafRun run = cursor.take_leaf_run();
            REQUIRE(run.last > run.first);
            for (std::uint32_t i = run.first; i < run.last; ++i) {
                REQUIRE(front < back);
                REQUIRE(to_bytes(run.view.key(i)) == expected[front].first);
                REQUIRE(to_bytes(run.view.value(i)) == expected[front].second);
                ++front;
            }
        }
        CHECK(front == back);
        // A run right after a backward step, or at the end, is empty.
        CHECK(cursor.take_leaf_run().first == cursor.take_leaf_run().last);
    }
}

TEST_CASE("cursor readahead lists the leaves that follow under the parent", "[engine][btree]") {
    MemoryTreePages pages(512);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Model model(ModelLess{compare_u32_le});
    fill(tree, model, 1500, 20);
    finalize(tree);
    pages.commit();
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    Cursor::Readahead state;
    std::set<PageNumber> listed;
    std::size_t leaves = 0;
    while (step(cursor, true)) {
        (void)cursor.take_leaf_run();
        ++leaves;
        std::vector<PageNumber> next;
        cursor.next_leaves(state, 4, next);
        CHECK(next.size() <= 4);
        for (PageNumber page : next) {
            CHECK(listed.insert(page).second);  // never listed twice
            PageRef ref = pages.try_read(page);
            REQUIRE(ref != nullptr);
            CHECK(page_type(ref->bytes()) == kLeafType);
        }
    }
    // With every branch cached, every leaf after the first is listed once, across parents.
    CHECK(leaves > 10);
    CHECK(listed.size() == leaves - 1);
}

TEST_CASE("cursor readahead lists an uncached next parent before its leaves",
          "[engine][btree]") {
    MemoryTreePages pages(512);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Model model(ModelLess{compare_u32_le});
    fill(tree, model, 1500, 20);
    finalize(tree);
    pages.commit();
    pages.miss_one_in = 3;  // a third of the committed pages look uncached to try_borrow
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    Cursor::Readahead state;
    std::size_t branches = 0;
    std::size_t leaves_listed = 0;
    std::set<PageNumber> listed;
    while (step(cursor, true)) {
        (void)cursor.take_leaf_run();
        std::vector<PageNumber> next;
        cursor.next_leaves(state, 8, next);
        for (PageNumber page : next) {
            CHECK(listed.insert(page).second);  // never listed twice
            pages.miss_one_in = 0;              // look at the page itself
            PageRef ref = pages.try_read(page);
            pages.miss_one_in = 3;
            REQUIRE(ref != nullptr);
            if (page_type(ref->bytes()) == kBranchType) {
                ++branches;
            } else {
                ++leaves_listed;
            }
        }
    }
    CHECK(branches > 0);
    CHECK(leaves_listed > 0);
}

TEST_CASE("split keys cut a tree into non-empty ascending parts", "[engine][btree]") {
    MemoryTreePages pages(512);
    Btree tree(pages, compare_u32_le, BtreeRoot{});
    Model model(ModelLess{compare_u32_le});
    {
        auto none = sync_wait(split_keys(tree, 4));
        REQUIRE(none.has_value());
        CHECK(none->empty());  // an empty tree
    }
    fill(tree, model, 1500, 20);
    finalize(tree);
    pages.commit();
    CHECK(sync_wait(split_keys(tree, 1))->empty());
    for (std::size_t parts = 2; parts <= 9; ++parts) {
        INFO("parts " << parts);
        auto cuts = sync_wait(split_keys(tree, parts));
        REQUIRE(cuts.has_value());
        REQUIRE(cuts->size() == parts - 1);
        std::vector<std::size_t> sizes(parts, 0);
        for (const auto& [key, value] : model) {
            std::size_t part = 0;
            while (part < cuts->size() && compare_u32_le(key, (*cuts)[part]) >= 0) {
                ++part;
            }
            ++sizes[part];
        }
        const auto [smallest, largest] = std::minmax_element(sizes.begin(), sizes.end());
        CHECK(*smallest > 0);
        CHECK(*largest <= 4 * *smallest);  // balanced within what one level's keys allow
    }
}
