// Leaf and branch page layout: byte-exact encoding, in-place edits equal to rebuilding, and
// parsing of damaged or random pages (always an error, never a crash or an out-of-bounds read;
// run under ASan).

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "btree_test_support.hpp"
#include "engine/btree/page_layout.hpp"
#include "io/sim_device.hpp"
#include "util/endian.hpp"

using namespace ringdb::engine;           // NOLINT: test file
using namespace ringdb::engine::testing;  // NOLINT: test file
using ringdb::Errc;

namespace {

const PageNumber kPage = PageNumber::make(3, 0);

std::vector<std::pair<Bytes, Bytes>> random_entries(std::mt19937_64& rng, std::size_t n) {
    std::map<Bytes, Bytes> sorted;
    while (sorted.size() < n) {
        Bytes key = filled(rng() % 12, static_cast<std::uint32_t>(rng()));
        sorted[key] = filled(rng() % 20, static_cast<std::uint32_t>(rng()));
    }
    return {sorted.begin(), sorted.end()};
}

Bytes build(const std::vector<std::pair<Bytes, Bytes>>& entries, std::size_t block = 4096) {
    EntrySeq seq;
    for (const auto& [k, v] : entries) {
        REQUIRE(seq.count() < 4);
        seq.add_entry(k, v);
    }
    Bytes page(block);
    write_leaf(page, seq, 0, seq.count());
    return page;
}

// Builds a leaf of any size by growing it in place from one entry.
Bytes build_in_place(const std::vector<std::pair<Bytes, Bytes>>& entries) {
    Bytes page = build({entries[0]});
    for (std::size_t i = 1; i < entries.size(); ++i) {
        leaf_insert_in_place(page, static_cast<std::uint32_t>(i), entries[i].first,
                             entries[i].second);
    }
    return page;
}

}  // namespace

TEST_CASE("leaf encoding follows design.md byte for byte", "[engine][btree]") {
    Bytes page = build({{bytes_of("ab"), bytes_of("xyz")}, {bytes_of("c"), bytes_of("")}});
    // type, zero, n=2, key ends (4+16+2=22, 23), value ends (26, 26), keys, values.
    CHECK(page[0] == std::byte{1});
    CHECK(page[1] == std::byte{0});
    CHECK(ringdb::util::load_le16(page.data() + 2) == 2);
    CHECK(ringdb::util::load_le32(page.data() + 4) == 22);
    CHECK(ringdb::util::load_le32(page.data() + 8) == 23);
    CHECK(ringdb::util::load_le32(page.data() + 12) == 26);
    CHECK(ringdb::util::load_le32(page.data() + 16) == 26);
    CHECK(std::memcmp(page.data() + 20, "abcxyz", 6) == 0);
    CHECK(page[26] == std::byte{0});
    auto view = LeafView::parse(page, kPage);
    REQUIRE(view.has_value());
    CHECK(view->count() == 2);
    CHECK(view->used_length() == 26);
    CHECK(to_bytes(view->key(1)) == bytes_of("c"));
    CHECK(view->value(1).empty());
}

TEST_CASE("branch encoding follows design.md byte for byte", "[engine][btree]") {
    Bytes k0 = bytes_of("m");
    std::vector<BranchItem> items{
            {PageNumber::make(4, 0), {1, 2}, k0},
            {PageNumber::make(8, 2), {3, 4}, {}},
    };
    Bytes page(4096);
    std::uint32_t used = write_branch(page, items);
    CHECK(used == 8 + 32 + 16 + 4 + 1);
    CHECK(page[0] == std::byte{2});
    CHECK(ringdb::util::load_le16(page.data() + 2) == 1);
    CHECK(ringdb::util::load_le64(page.data() + 8) == 1);   // child 0 checksum low
    CHECK(ringdb::util::load_le64(page.data() + 16) == 2);  // child 0 checksum high
    CHECK(ringdb::util::load_le64(page.data() + 40) == PageNumber::make(4, 0).raw());
    CHECK(ringdb::util::load_le64(page.data() + 48) == PageNumber::make(8, 2).raw());
    CHECK(ringdb::util::load_le32(page.data() + 56) == 61);
    CHECK(page[60] == std::byte{'m'});
    auto view = BranchView::parse(page, kPage);
    REQUIRE(view.has_value());
    CHECK(view->child(1) == PageNumber::make(8, 2));
    CHECK(view->child_checksum(1) == ringdb::util::Checksum128{3, 4});
    CHECK(view->used_length() == used);
    CHECK(view->find_child(bytes_of("a"), compare_bytes) == 0);
    CHECK(view->find_child(bytes_of("m"), compare_bytes) == 0);
    CHECK(view->find_child(bytes_of("n"), compare_bytes) == 1);
}

TEST_CASE("in-place leaf edits equal a rebuild", "[engine][btree]") {
    std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 200; ++round) {
        auto entries = random_entries(rng, 1 + rng() % 30);
        Bytes page = build_in_place(entries);
        // Insert at random positions by building from a shuffled order, then compare with
        // a leaf written in one pass.
        auto view = LeafView::parse(page, kPage);
        REQUIRE(view.has_value());
        REQUIRE(view->count() == entries.size());
        for (std::uint32_t i = 0; i < view->count(); ++i) {
            CHECK(to_bytes(view->key(i)) == entries[i].first);
            CHECK(to_bytes(view->value(i)) == entries[i].second);
        }
        // Remove a random entry in place; the page must equal the in-place build without it,
        // including the zeroed tail.
        if (entries.size() >= 2) {
            std::size_t victim = rng() % entries.size();
            leaf_remove_in_place(page, static_cast<std::uint32_t>(victim));
            entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(victim));
            CHECK(page == build_in_place(entries));
        }
        // Insert in the middle in place.
        Bytes key = entries.front().first;
        key.push_back(std::byte{0});  // sorts right after the first key (bytewise)
        if (entries.size() < 2 || compare_bytes(key, entries[1].first) < 0) {
            Bytes value = filled(rng() % 9, 7);
            leaf_insert_in_place(page, 1, key, value);
            entries.insert(entries.begin() + 1, {key, value});
            CHECK(page == build_in_place(entries));
        }
    }
}

TEST_CASE("damaged leaves and branches parse as corrupted", "[engine][btree]") {
    Bytes leaf = build({{bytes_of("ab"), bytes_of("xyz")}, {bytes_of("c"), bytes_of("q")}});
    SECTION("wrong type or nonzero pad") {
        Bytes bad = leaf;
        bad[0] = std::byte{3};
        CHECK(LeafView::parse(bad, kPage).error().code == Errc::corrupted);
        bad = leaf;
        bad[1] = std::byte{1};
        CHECK(LeafView::parse(bad, kPage).error().detail == kPage.raw());
    }
    SECTION("zero or huge count") {
        Bytes bad = leaf;
        ringdb::util::store_le16(bad.data() + 2, 0);
        CHECK_FALSE(LeafView::parse(bad, kPage).has_value());
        ringdb::util::store_le16(bad.data() + 2, 65535);
        CHECK_FALSE(LeafView::parse(bad, kPage).has_value());
    }
    SECTION("offsets out of order or past the block") {
        Bytes bad = leaf;
        ringdb::util::store_le32(bad.data() + 4, 25);  // key end 0 beyond key end 1
        CHECK_FALSE(LeafView::parse(bad, kPage).has_value());
        bad = leaf;
        ringdb::util::store_le32(bad.data() + 16, 5000);  // value end past the block
        CHECK_FALSE(LeafView::parse(bad, kPage).has_value());
        bad = leaf;
        ringdb::util::store_le32(bad.data() + 4, 3);  // key inside the header
        CHECK_FALSE(LeafView::parse(bad, kPage).has_value());
    }
    SECTION("branch with an invalid child or key offsets") {
        Bytes k0 = bytes_of("m");
        std::vector<BranchItem> items{{PageNumber::make(4, 0), {}, k0},
                                      {PageNumber::make(8, 2), {}, {}}};
        Bytes page(4096);
        write_branch(page, items);
        Bytes bad = page;
        ringdb::util::store_le64(bad.data() + 40, PageNumber::make(5, 1).raw());  // misaligned
        CHECK_FALSE(BranchView::parse(bad, kPage).has_value());
        bad = page;
        ringdb::util::store_le32(bad.data() + 56, 9000);
        CHECK_FALSE(BranchView::parse(bad, kPage).has_value());
        bad = page;
        ringdb::util::store_le16(bad.data() + 2, 200);  // header past the block
        CHECK_FALSE(BranchView::parse(bad, kPage).has_value());
    }
}

TEST_CASE("random bytes never parse into an out-of-bounds view", "[engine][btree]") {
    std::uint64_t seed = test_seed();
    INFO("RINGDB_SEED=" << seed);
    std::mt19937_64 rng(seed);
    int parsed = 0;
    int rejected = 0;
    for (int round = 0; round < 3000; ++round) {
        Bytes page(512);
        for (auto& b : page) {
            b = static_cast<std::byte>(rng());
        }
        page[0] = static_cast<std::byte>(1 + round % 2);
        page[1] = std::byte{0};
        ringdb::util::store_le16(page.data() + 2, static_cast<std::uint16_t>(1 + rng() % 8));
        ringdb::util::store_le32(page.data() + 4, 0);
        // Whatever parses must be readable in full without leaving the block; whatever does
        // not is reported as corruption of this page.
        auto leaf = LeafView::parse(page, kPage);
        auto branch = BranchView::parse(page, kPage);
        for (const ringdb::Error* e : {leaf ? nullptr : &leaf.error(),
                                       branch ? nullptr : &branch.error()}) {
            if (e != nullptr) {
                CHECK(e->code == ringdb::Errc::corrupted);
                ++rejected;
            } else {
                ++parsed;
            }
        }
        if (leaf) {
            std::size_t total = 0;
            for (std::uint32_t i = 0; i < leaf->count(); ++i) {
                total += leaf->key(i).size() + leaf->value(i).size();
            }
            CHECK(total <= page.size());
            (void)leaf->search(bytes_of("k"), compare_bytes);
        }
        if (branch) {
            for (std::uint32_t i = 0; i < branch->key_count(); ++i) {
                CHECK(branch->key(i).size() <= page.size());
            }
            (void)branch->find_child(bytes_of("k"), compare_bytes);
        }
    }
    REQUIRE(parsed + rejected == 6000);
}

TEST_CASE("leaf partition halves by bytes and isolates huge entries", "[engine][btree]") {
    std::vector<std::uint64_t> prefix{0};
    auto add = [&](std::uint64_t size) { prefix.push_back(prefix.back() + size + 8); };
    SECTION("even entries split in the middle") {
        for (int i = 0; i < 10; ++i) {
            add(92);
        }
        std::vector<std::uint32_t> ends;
        partition_leaf(prefix, 512, ends);
        CHECK(ends == std::vector<std::uint32_t>{5, 10});
    }
    SECTION("a huge entry gets its own piece") {
        add(100);
        add(5000);
        add(100);
        std::vector<std::uint32_t> ends;
        partition_leaf(prefix, 512, ends);
        CHECK(ends == std::vector<std::uint32_t>{1, 2, 3});
    }
}

TEST_CASE("a branch's search index finds the same child as the plain search",
          "[engine][btree]") {
    // Keys from a tiny alphabet with zero bytes, lengths 0 to 12: many separators share their
    // first eight bytes, and short keys collide with their zero-padded longer neighbours
    // ("ab" and "ab\0"), which the index must break ties on by comparing whole keys.
    std::uint64_t seed = ringdb::io::SimDevice::seed_from_environment(std::random_device{}());
    INFO("seed " << seed << " (RINGDB_SEED)");
    std::mt19937_64 rng(seed);
    auto draw = [&rng] {
        Bytes key(rng() % 13);
        const std::byte alphabet[] = {std::byte{0}, std::byte{1}, std::byte{'a'}};
        for (std::byte& b : key) {
            b = alphabet[rng() % 3];
        }
        return key;
    };
    for (int round = 0; round < 20; ++round) {
        std::set<Bytes> separators;
        while (separators.size() < 80) {
            separators.insert(draw());
        }
        std::vector<BranchItem> items;
        std::uint64_t child = 1;
        for (const Bytes& key : separators) {
            items.push_back({PageNumber::make(child++, 0), {}, key});
        }
        items.push_back({PageNumber::make(child, 0), {}, {}});
        MutPageRef buffer = PageBuffer::make(4096);
        write_branch(buffer->bytes(), items);
        auto plain = BranchView::parse(buffer->bytes(), kPage);
        REQUIRE(plain.has_value());
        // parse_branch validates a committed buffer once and attaches the index; later parses
        // (trusted) pick it up again.
        auto indexed = parse_branch(false, *buffer, kPage);
        REQUIRE(indexed.has_value());
        REQUIRE(buffer->search_index() != nullptr);
        auto again = parse_branch(false, *buffer, kPage);
        REQUIRE(again.has_value());
        std::vector<Bytes> probes(separators.begin(), separators.end());
        for (int i = 0; i < 400; ++i) {
            probes.push_back(draw());
        }
        for (const Bytes& probe : probes) {
            std::uint32_t expected = plain->find_child(probe, compare_bytes);
            REQUIRE(indexed->find_child(probe, compare_bytes) == expected);
            REQUIRE(again->find_child(probe, compare_bytes) == expected);
        }
    }
}

TEST_CASE("a dirty branch is searched without an index", "[engine][btree]") {
    Bytes separator = bytes_of("m");
    std::vector<BranchItem> items{{PageNumber::make(4, 0), {}, separator},
                                  {PageNumber::make(8, 0), {}, {}}};
    MutPageRef buffer = PageBuffer::make(4096);
    write_branch(buffer->bytes(), items);
    // A dirty page may still change in place: parsing it must not attach an index.
    auto dirty = parse_branch(true, *buffer, kPage);
    REQUIRE(dirty.has_value());
    REQUIRE(buffer->search_index() == nullptr);
    REQUIRE(buffer->validated_as() == 0);
    CHECK(dirty->find_child(bytes_of("z"), compare_bytes) == 1);
}

TEST_CASE("threads validating one branch at once share one search index",
          "[engine][btree][threads]") {
    // The first parse of a committed buffer builds and installs the index; racing parses must
    // all end up using the one that was installed (the others free theirs), and a reader that
    // trusts the validation mark must see the index (TSan checks the ordering).
    std::vector<Bytes> keys;
    for (int i = 0; i < 60; ++i) {
        keys.push_back(filled(10, static_cast<std::uint32_t>(1000 + i)));
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::vector<BranchItem> items;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        items.push_back({PageNumber::make(i + 1, 0), {}, keys[i]});
    }
    items.push_back({PageNumber::make(keys.size() + 1, 0), {}, {}});
    auto plain_page = Bytes(4096);
    write_branch(plain_page, items);
    auto plain = BranchView::parse(plain_page, kPage);
    REQUIRE(plain.has_value());
    for (int round = 0; round < 20; ++round) {
        MutPageRef buffer = PageBuffer::make(4096);
        std::memcpy(buffer->data(), plain_page.data(), plain_page.size());
        constexpr int kThreads = 4;
        std::atomic<int> mismatches{0};
        std::atomic<int> go{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                go.fetch_add(1);
                while (go.load() < kThreads) {
                }
                auto view = parse_branch(false, *buffer, kPage);
                if (!view) {
                    mismatches.fetch_add(1);
                    return;
                }
                for (std::size_t i = 0; i < keys.size(); i += 1 + static_cast<std::size_t>(t)) {
                    if (view->find_child(keys[i], compare_bytes) !=
                        plain->find_child(keys[i], compare_bytes)) {
                        mismatches.fetch_add(1);
                    }
                }
            });
        }
        for (std::thread& thread : threads) {
            thread.join();
        }
        REQUIRE(mismatches.load() == 0);
        REQUIRE(buffer->search_index() != nullptr);
    }
}

TEST_CASE("a leaf tells whether a run of values has one width", "[engine][btree]") {
    const Bytes same = build_in_place({{bytes_of("a"), filled(4, 1)},
                                       {bytes_of("b"), filled(4, 2)},
                                       {bytes_of("c"), filled(4, 3)}});
    auto leaf = LeafView::parse(same, PageNumber::from_raw(0));
    REQUIRE(leaf.has_value());
    CHECK(leaf->values_have_width(0, 3, 4));
    CHECK(leaf->values_have_width(1, 2, 4));
    CHECK_FALSE(leaf->values_have_width(0, 3, 3));
    // Widths 4, 5 and 3 total 12, as three of 4 would: each one is checked.
    const Bytes mixed = build_in_place({{bytes_of("a"), filled(4, 1)},
                                        {bytes_of("b"), filled(5, 2)},
                                        {bytes_of("c"), filled(3, 3)}});
    auto uneven = LeafView::parse(mixed, PageNumber::from_raw(0));
    REQUIRE(uneven.has_value());
    CHECK_FALSE(uneven->values_have_width(0, 3, 4));
    CHECK(uneven->values_have_width(0, 1, 4));
    CHECK(uneven->values_have_width(2, 3, 3));
}
