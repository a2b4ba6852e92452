// Multimap collections: inline leaf images and subtrees (docs/design.md section 4).

#include "engine/table/multimap.hpp"

#include <cstring>

#include "engine/btree/cursor.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

constexpr ByteView kEmpty{};

/// Bytes of a leaf image holding the entries of `seq` (their values are empty).
std::uint64_t image_size(const EntrySeq& seq) {
    std::uint64_t payload = 0;
    seq.for_each(0, seq.count(), [&](ByteView k, ByteView v) { payload += k.size() + v.size(); });
    return leaf_size(seq.count(), payload);
}

bool fits_inline(const EntrySeq& seq, std::uint32_t page_size) {
    return seq.count() <= kMaxLeafEntries && image_size(seq) < page_size / 2;
}

/// The collection value of an inline set made of `seq`. REQUIRES: fits_inline(seq).
Bytes inline_value(const EntrySeq& seq) {
    Bytes out(1 + image_size(seq));
    out[0] = std::byte{kCollectionInline};
    write_leaf(std::span<std::byte>(out).subspan(1), seq, 0, seq.count());
    return out;
}

Bytes subtree_value(const BtreeRoot& root) {
    Bytes out(1 + BtreeRoot::kEncodedSize);
    out[0] = std::byte{kCollectionSubtree};
    root.encode(out.data() + 1);
    return out;
}

void append_value(RemovedValues& out, ByteView value) {
    out.data.insert(out.data.end(), value.begin(), value.end());
    out.ends.push_back(out.data.size());
}

/// Builds a subtree holding the values of `seq` and stores it as the collection of `key`.
Task<Status> store_as_subtree(Btree& outer, KeyCompare value_order, MultimapState& state,
                              ByteView key, const EntrySeq& seq) {
    std::vector<ByteView> values;
    values.reserve(seq.count());
    seq.for_each(0, seq.count(), [&](ByteView k, ByteView) { values.push_back(k); });
    Btree sub(outer.pages(), value_order, BtreeRoot{});
    for (ByteView value : values) {
        RINGDB_CO_TRY(co_await sub.insert(value, kEmpty));
    }
    Bytes header = subtree_value(sub.root());
    RINGDB_CO_TRY(co_await outer.insert(key, header));
    state.dirty_subtrees.emplace(key.begin(), key.end());
    co_return ok();
}

/// The inline collection value equal to a subtree whose root is a leaf below P/2, or none.
Task<Result<std::optional<Bytes>>> small_root_image(Btree& sub) {
    const PageNumber root = sub.root().page;
    ReadPage read{sub.pages(), root};
    Result<PageRef> loaded = co_await read;
    if (!loaded) {
        co_return loaded.error();
    }
    PageRef ref = std::move(*loaded);
    RINGDB_CO_TRY(check_page(*ref, sub.root().checksum, root));
    if (page_type(ref->bytes()) != kLeafType) {
        co_return std::optional<Bytes>{};
    }
    RINGDB_CO_TRY_ASSIGN(LeafView leaf, parse_leaf(sub.pages(), *ref, root));
    const std::uint32_t used = leaf.used_length();
    if (used >= sub.pages().page_size() / 2) {
        co_return std::optional<Bytes>{};
    }
    Bytes value(1 + std::size_t{used});
    value[0] = std::byte{kCollectionInline};
    std::memcpy(value.data() + 1, ref->bytes().data(), used);
    co_return std::optional<Bytes>{std::move(value)};
}

void count_removed(MultimapState& state, std::uint64_t count) {
    state.pairs = state.pairs >= count ? state.pairs - count : 0;
    state.modifications += 1;
}

}  // namespace

Result<Collection> decode_collection(ByteView value, PageNumber page) {
    if (value.empty()) {
        return Error{Errc::corrupted, 0, page.raw()};
    }
    Collection c;
    switch (std::to_integer<std::uint8_t>(value[0])) {
        case kCollectionInline: {
            c.is_inline = true;
            c.image = value.subspan(1);
            RINGDB_TRY_ASSIGN(c.leaf, LeafView::parse(c.image, page));
            if (c.leaf.used_length() != c.image.size()) {
                return Error{Errc::corrupted, 0, page.raw()};
            }
            return c;
        }
        case kCollectionSubtree: {
            if (value.size() != 1 + BtreeRoot::kEncodedSize) {
                return Error{Errc::corrupted, 0, page.raw()};
            }
            c.is_inline = false;
            c.subtree = BtreeRoot::decode(value.data() + 1);
            if (c.subtree.page.is_null() || !c.subtree.page.is_valid() || c.subtree.length == 0) {
                return Error{Errc::corrupted, 0, page.raw()};
            }
            return c;
        }
        default:
            return Error{Errc::corrupted, 0, page.raw()};
    }
}

Task<Result<bool>> multimap_insert(Btree& outer, KeyCompare value_order, MultimapState& state,
                                   ByteView key, ByteView value) {
    const std::uint32_t page_size = outer.pages().page_size();
    RINGDB_CO_TRY_ASSIGN(auto found, co_await outer.get(key));
    if (!found) {
        EntrySeq seq;
        seq.add_entry(value, kEmpty);
        if (fits_inline(seq, page_size)) {
            Bytes collection = inline_value(seq);
            RINGDB_CO_TRY(co_await outer.insert(key, collection));
        } else {
            RINGDB_CO_TRY(co_await store_as_subtree(outer, value_order, state, key, seq));
        }
        state.pairs += 1;
        state.modifications += 1;
        co_return false;
    }
    RINGDB_CO_TRY_ASSIGN(Collection c, decode_collection(found->bytes, outer.root().page));
    if (c.is_inline) {
        LeafView::Search at = c.leaf.search(value, value_order);
        if (at.found) {
            co_return true;
        }
        EntrySeq seq;
        if (at.index > 0) {
            seq.add_range(c.leaf, 0, at.index);
        }
        seq.add_entry(value, kEmpty);
        if (at.index < c.leaf.count()) {
            seq.add_range(c.leaf, at.index, c.leaf.count());
        }
        if (fits_inline(seq, page_size)) {
            Bytes collection = inline_value(seq);
            found.reset();
            RINGDB_CO_TRY(co_await outer.insert(key, collection));
        } else {
            // `seq` points into the outer page that `found` holds.
            RINGDB_CO_TRY(co_await store_as_subtree(outer, value_order, state, key, seq));
        }
    } else {
        Btree sub(outer.pages(), value_order, c.subtree);
        found.reset();
        RINGDB_CO_TRY_ASSIGN(auto existing, co_await sub.get(value));
        if (existing) {
            co_return true;
        }
        RINGDB_CO_TRY(co_await sub.insert(value, kEmpty));
        Bytes header = subtree_value(sub.root());
        RINGDB_CO_TRY(co_await outer.insert(key, header));
        state.dirty_subtrees.emplace(key.begin(), key.end());
    }
    state.pairs += 1;
    state.modifications += 1;
    co_return false;
}

Task<Result<bool>> multimap_remove(Btree& outer, KeyCompare value_order, MultimapState& state,
                                   ByteView key, ByteView value) {
    RINGDB_CO_TRY_ASSIGN(auto found, co_await outer.get(key));
    if (!found) {
        co_return false;
    }
    RINGDB_CO_TRY_ASSIGN(Collection c, decode_collection(found->bytes, outer.root().page));
    if (c.is_inline) {
        LeafView::Search at = c.leaf.search(value, value_order);
        if (!at.found) {
            co_return false;
        }
        if (c.leaf.count() == 1) {
            found.reset();
            RINGDB_CO_TRY(co_await outer.remove(key));
        } else {
            EntrySeq seq;
            if (at.index > 0) {
                seq.add_range(c.leaf, 0, at.index);
            }
            if (at.index + 1 < c.leaf.count()) {
                seq.add_range(c.leaf, at.index + 1, c.leaf.count());
            }
            Bytes collection = inline_value(seq);
            found.reset();
            RINGDB_CO_TRY(co_await outer.insert(key, collection));
        }
        count_removed(state, 1);
        co_return true;
    }
    Btree sub(outer.pages(), value_order, c.subtree);
    found.reset();
    RINGDB_CO_TRY_ASSIGN(auto removed, co_await sub.remove(value));
    if (!removed) {
        co_return false;
    }
    if (sub.empty()) {
        RINGDB_CO_TRY(co_await outer.remove(key));
    } else {
        RINGDB_CO_TRY_ASSIGN(auto image, co_await small_root_image(sub));
        if (image) {
            RINGDB_CO_TRY(co_await sub.free_all());
            RINGDB_CO_TRY(co_await outer.insert(key, *image));
        } else {
            Bytes header = subtree_value(sub.root());
            RINGDB_CO_TRY(co_await outer.insert(key, header));
            state.dirty_subtrees.emplace(key.begin(), key.end());
        }
    }
    count_removed(state, 1);
    co_return true;
}

Task<Result<std::optional<RemovedValues>>> multimap_remove_all(Btree& outer, KeyCompare value_order,
                                                               MultimapState& state, ByteView key) {
    RINGDB_CO_TRY_ASSIGN(auto found, co_await outer.get(key));
    if (!found) {
        co_return std::optional<RemovedValues>{};
    }
    RINGDB_CO_TRY_ASSIGN(Collection c, decode_collection(found->bytes, outer.root().page));
    RemovedValues out;
    if (c.is_inline) {
        out.ends.reserve(c.leaf.count());
        for (std::uint32_t i = 0; i < c.leaf.count(); ++i) {
            append_value(out, c.leaf.key(i));
        }
        found.reset();
    } else {
        Btree sub(outer.pages(), value_order, c.subtree);
        found.reset();
        {
            Cursor cursor(sub, Bound::unbounded(), Bound::unbounded());
            for (std::uint64_t guard = 0; guard <= sub.length(); ++guard) {
                RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
                if (!entry) {
                    break;
                }
                append_value(out, entry->key);
            }
        }
        if (out.ends.size() != sub.length()) {
            co_return Error{Errc::corrupted, 0, c.subtree.page.raw()};
        }
        RINGDB_CO_TRY(co_await sub.free_all());
    }
    RINGDB_CO_TRY(co_await outer.remove(key));
    count_removed(state, out.ends.size());
    co_return std::optional<RemovedValues>{std::move(out)};
}

Task<Result<bool>> multimap_remove_key(Btree& outer, MultimapState& state, ByteView key) {
    RINGDB_CO_TRY_ASSIGN(auto found, co_await outer.get(key));
    if (!found) {
        co_return false;
    }
    RINGDB_CO_TRY_ASSIGN(Collection c, decode_collection(found->bytes, outer.root().page));
    const std::uint64_t count = c.count();
    found.reset();
    if (!c.is_inline) {
        Btree sub(outer.pages(), &compare_bytes, c.subtree);
        RINGDB_CO_TRY(co_await sub.free_all());
    }
    RINGDB_CO_TRY(co_await outer.remove(key));
    count_removed(state, count);
    co_return true;
}

Task<Status> multimap_finalize_subtrees(Btree& outer, MultimapState& state) {
    std::set<Bytes, BytesLess> keys;
    keys.swap(state.dirty_subtrees);
    for (const Bytes& key : keys) {
        RINGDB_CO_TRY_ASSIGN(auto found, co_await outer.get(key));
        if (!found) {
            continue;  // removed since
        }
        RINGDB_CO_TRY_ASSIGN(Collection c, decode_collection(found->bytes, outer.root().page));
        found.reset();
        if (c.is_inline || !outer.pages().is_dirty(c.subtree.page)) {
            continue;  // back inline, or untouched since the last finalize
        }
        Btree sub(outer.pages(), &compare_bytes, c.subtree);
        RINGDB_CO_TRY_ASSIGN(BtreeRoot root, co_await sub.finalize());
        Bytes header = subtree_value(root);
        RINGDB_CO_TRY(co_await outer.insert(key, header));
    }
    co_return ok();
}

namespace {

struct CollectionsToSubtrees {
    const SubtreeVisitor* visit;
    PageNumber outer_root;

    Task<Status> operator()(ByteView, ByteView value) {
        RINGDB_CO_TRY_ASSIGN(Collection c, decode_collection(value, outer_root));
        if (c.is_inline) {
            co_return ok();
        }
        Status visited = co_await (*visit)(c.subtree);
        co_return visited;
    }
};

struct FreeSubtree {
    TreePages* pages;

    Task<Status> operator()(const BtreeRoot& root) {
        Btree sub(*pages, &compare_bytes, root);
        Status freed = co_await sub.free_all();
        co_return freed;
    }
};

}  // namespace

Task<Status> for_each_collection(TreePages& pages, const BtreeRoot& outer,
                                 const CollectionVisitor& visit) {
    Btree tree(pages, &compare_bytes, outer);
    Cursor cursor(tree, Bound::unbounded(), Bound::unbounded());
    for (std::uint64_t guard = 0; guard <= tree.length(); ++guard) {
        RINGDB_CO_TRY_ASSIGN(auto entry, co_await cursor.next());
        if (!entry) {
            co_return ok();
        }
        Status visited = co_await visit(entry->key, entry->value);
        RINGDB_CO_TRY(visited);
    }
    co_return Error{Errc::corrupted, 0, outer.page.raw()};
}

Task<Status> for_each_subtree(TreePages& pages, const BtreeRoot& outer,
                              const SubtreeVisitor& visit) {
    CollectionsToSubtrees adapter{&visit, outer.page};
    CollectionVisitor each = adapter;
    Status walked = co_await for_each_collection(pages, outer, each);
    co_return walked;
}

Task<Status> multimap_free_all(Btree& outer) {
    FreeSubtree freer{&outer.pages()};
    SubtreeVisitor visit = freer;
    const BtreeRoot root = outer.root();
    RINGDB_CO_TRY(co_await for_each_subtree(outer.pages(), root, visit));
    Status freed = co_await outer.free_all();
    co_return freed;
}

}  // namespace ringdb::engine
