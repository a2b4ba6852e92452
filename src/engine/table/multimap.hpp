#pragma once
// Multimap tables in the engine (docs/design.md section 4, "Multimap tables").
//
// A multimap's outer tree maps each key to a collection: an inline leaf image while the set is
// small, else the BtreeRoot of a subtree whose keys are the values. The functions here work on
// the outer Btree of a table opened in a write transaction (modifications) or of any snapshot
// (walks); subtree pages are reached, allocated and freed through the outer tree's TreePages,
// so they take part in copy-on-write, freed-page accounting and the Merkle tree.
//
// MultimapState is the per-transaction state of one open multimap: its pair count (the table's
// length) and the keys whose subtrees were modified and still carry a placeholder checksum in
// their collection. finalize_subtrees() must run before the outer tree is finalized.
//
// Concurrency: as for Btree, modifying functions must not overlap other operations on the same
// table. Parameter lifetime: co_await every Task in the full-expression that created it.

#include <cstdint>
#include <functional>
#include <optional>
#include <set>

#include <ringdb/bytes.hpp>
#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/btree.hpp"
#include "engine/btree/page_layout.hpp"

namespace ringdb::engine {

inline constexpr std::uint8_t kCollectionInline = 1;
inline constexpr std::uint8_t kCollectionSubtree = 2;

/// Bytewise order of owned keys (std::less<Bytes> trips g++ 12's -Wstringop-overread at -O2).
struct BytesLess {
    bool operator()(const Bytes& a, const Bytes& b) const noexcept {
        return compare_bytes(a, b) < 0;
    }
};

struct MultimapState {
    std::uint64_t pairs = 0;
    /// Incremented by every modification; iterators over subtrees of a write transaction use
    /// it to refuse stepping after the table changed under them.
    std::uint64_t modifications = 0;
    /// Keys (as given to insert/remove) whose subtree root checksum is a placeholder.
    std::set<Bytes, BytesLess> dirty_subtrees;
};

/// A decoded collection value. `image` and `leaf` point into the bytes given to
/// decode_collection and are valid while they are.
struct Collection {
    bool is_inline = true;
    ByteView image;      // inline: the leaf image
    LeafView leaf;       // inline: the parsed image (values are its keys)
    BtreeRoot subtree;   // subtree: its root
    /// Number of values in the set.
    std::uint64_t count() const noexcept { return is_inline ? leaf.count() : subtree.length; }
};

/// Validates and decodes a collection value read from an outer leaf. Errors: corrupted (a bad
/// tag, a malformed leaf image, a bad subtree header); detail = `page`'s raw number.
Result<Collection> decode_collection(ByteView value, PageNumber page);

/// Adds `value` to the set of `key`; returns true if the pair existed already (no change).
/// REQUIRES: sizes checked by the caller (check_pair_length). Errors: io, no_space, corrupted.
Task<Result<bool>> multimap_insert(Btree& outer, KeyCompare value_order, MultimapState& state,
                                   ByteView key, ByteView value);

/// Removes the pair; returns whether it existed. Errors: io, no_space, corrupted.
Task<Result<bool>> multimap_remove(Btree& outer, KeyCompare value_order, MultimapState& state,
                                   ByteView key, ByteView value);

/// Values taken out of a set, ascending, owned: value i is data[ends[i-1] (or 0), ends[i]).
struct RemovedValues {
    Bytes data;
    std::vector<std::size_t> ends;
};

/// Removes `key` with its whole set and frees its subtree pages; returns the removed values
/// (none if the key was absent). The values are copied into memory before the pages are freed.
/// Errors: io, no_space, corrupted.
Task<Result<std::optional<RemovedValues>>> multimap_remove_all(Btree& outer, KeyCompare value_order,
                                                               MultimapState& state, ByteView key);

/// Removes `key` with its set without collecting the values; returns whether it existed.
Task<Result<bool>> multimap_remove_key(Btree& outer, MultimapState& state, ByteView key);

/// Finalizes every subtree modified since the last call and stores its real BtreeRoot in the
/// outer tree. Errors: io, no_space, corrupted.
Task<Status> multimap_finalize_subtrees(Btree& outer, MultimapState& state);

/// Frees every page of the multimap (subtrees, then the outer tree) and leaves it empty.
/// Errors: io, corrupted.
Task<Status> multimap_free_all(Btree& outer);

/// Calls `visit` with the key and raw collection value of every entry of an outer tree, in key
/// order. Errors: io, corrupted, or what `visit` returns.
using CollectionVisitor = std::function<Task<Status>(ByteView key, ByteView value)>;
Task<Status> for_each_collection(TreePages& pages, const BtreeRoot& outer,
                                 const CollectionVisitor& visit);

/// Calls `visit` with the root of every subtree collection of an outer tree.
/// Errors: io, corrupted (a malformed collection), or what `visit` returns.
using SubtreeVisitor = std::function<Task<Status>(const BtreeRoot& subtree)>;
Task<Status> for_each_subtree(TreePages& pages, const BtreeRoot& outer,
                              const SubtreeVisitor& visit);

}  // namespace ringdb::engine
