#pragma once
// Helpers shared by the B-tree tests: byte strings, key orders, a model map with the tree's
// order, seeds, and synchronous wrappers around the tree's coroutines.

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/sync_wait.hpp>

#include "engine/btree/btree.hpp"
#include "engine/btree/cursor.hpp"
#include "engine/btree/verify.hpp"
#include "memory_tree_pages.hpp"
#include "util/endian.hpp"

namespace ringdb::engine::testing {

using Bytes = std::vector<std::byte>;

inline Bytes bytes_of(std::string_view text) {
    Bytes out(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        out[i] = static_cast<std::byte>(text[i]);
    }
    return out;
}

inline Bytes u32_key(std::uint32_t v) {
    Bytes out(4);
    util::store_le32(out.data(), v);
    return out;
}

inline Bytes filled(std::size_t size, std::uint32_t seed) {
    Bytes out(size);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : out) {
        x = x * 1103515245u + 12345u;
        b = static_cast<std::byte>(x >> 24);
    }
    return out;
}

/// Little-endian u32 keys compared numerically (a custom order unlike bytewise order).
inline int compare_u32_le(std::span<const std::byte> a, std::span<const std::byte> b) {
    if (a.size() != 4 || b.size() != 4) {
        return compare_bytes(a, b);
    }
    std::uint32_t x = util::load_le32(a.data());
    std::uint32_t y = util::load_le32(b.data());
    return x < y ? -1 : (x > y ? 1 : 0);
}

/// Reverse bytewise order.
inline int compare_reverse(std::span<const std::byte> a, std::span<const std::byte> b) {
    return compare_bytes(b, a);
}

struct ModelLess {
    KeyCompare compare;
    bool operator()(const Bytes& a, const Bytes& b) const { return compare(a, b) < 0; }
};
using Model = std::map<Bytes, Bytes, ModelLess>;

inline std::uint64_t test_seed() {
    if (const char* text = std::getenv("RINGDB_SEED")) {
        return std::strtoull(text, nullptr, 10);
    }
    return std::random_device{}();
}

inline Bytes to_bytes(std::span<const std::byte> s) { return Bytes(s.begin(), s.end()); }

// Synchronous wrappers (tests only).
inline std::optional<Bytes> get(Btree& tree, const Bytes& key) {
    auto r = sync_wait(tree.get(key));
    REQUIRE(r.has_value());
    if (!*r) {
        return std::nullopt;
    }
    return to_bytes((*r)->bytes);
}

inline std::optional<Bytes> insert(Btree& tree, const Bytes& key, const Bytes& value) {
    auto r = sync_wait(tree.insert(key, value));
    REQUIRE(r.has_value());
    return *r;
}

inline std::optional<Bytes> remove(Btree& tree, const Bytes& key) {
    auto r = sync_wait(tree.remove(key));
    REQUIRE(r.has_value());
    return *r;
}

inline BtreeRoot finalize(Btree& tree) {
    auto r = sync_wait(tree.finalize());
    REQUIRE(r.has_value());
    return *r;
}

inline TreeReport verify(TreePages& pages, KeyCompare compare, const BtreeRoot& root) {
    auto r = sync_wait(verify_tree(pages, compare, root));
    REQUIRE(r.has_value());
    for (const auto& p : r->problems) {
        UNSCOPED_INFO("problem at page " << p.page.raw() << ": " << p.what);
    }
    return std::move(*r);
}

/// Finalizes and verifies; returns the report.
inline TreeReport check_tree(Btree& tree) {
    BtreeRoot root = finalize(tree);
    TreeReport report = verify(tree.pages(), tree.compare(), root);
    CHECK(report.ok());
    CHECK(report.entries == tree.length());
    return report;
}

inline std::set<PageNumber> reachable_pages(TreePages& pages, PageNumber root) {
    std::set<PageNumber> out;
    std::function<void(PageNumber)> collect = [&out](PageNumber p) {
        REQUIRE(out.insert(p).second);
    };
    // In-memory test pages never need a checksum check: the root reference carries none.
    Status s = sync_wait(visit_pages(pages, BtreeRoot{root, {}, 0}, collect));
    REQUIRE(s.has_value());
    return out;
}

/// All entries of a cursor, taken from the front.
inline std::vector<std::pair<Bytes, Bytes>> drain_front(Cursor& cursor) {
    std::vector<std::pair<Bytes, Bytes>> out;
    for (int guard = 0; guard < 10'000'000; ++guard) {
        Cursor::Entry e;
        if (!cursor.try_next(e)) {
            auto r = sync_wait(cursor.next());
            REQUIRE(r.has_value());
            if (!*r) {
                break;
            }
            e = **r;
        }
        out.emplace_back(to_bytes(e.key), to_bytes(e.value));
    }
    return out;
}

}  // namespace ringdb::engine::testing
