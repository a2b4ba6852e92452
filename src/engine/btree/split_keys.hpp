#pragma once
// Keys that cut a tree into parts of similar size, for scans split over several threads.

#include <cstddef>
#include <vector>

#include <ringdb/bytes.hpp>
#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/btree/btree.hpp"

namespace ringdb::engine {

/// Up to `parts - 1` separator keys, ascending, taken evenly from the shallowest level of
/// branches that has enough of them (at most three levels below the root are read). Part i
/// holds the keys from cut i-1 (included) up to cut i (excluded). Parts hold about the same
/// number of leaves when the tree is balanced, which it is by construction. Fewer cuts come
/// back for a small tree (none for a tree that is one leaf or empty). Errors: io, corrupted.
Task<Result<std::vector<Bytes>>> split_keys(const Btree& tree, std::size_t parts);

}  // namespace ringdb::engine
