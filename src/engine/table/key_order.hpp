#pragma once
// The key order of a stored table, known from its key type name alone (docs/design.md
// section 4, "Key order"). Verification and repair, which run without the user's C++ types,
// use it to check key order; for a type whose order is not known here (user-defined and most
// composite types) it returns null and the order check is skipped (docs/quirks.md Q-14).

#include <ringdb/type_name.hpp>

#include "engine/btree/tree_pages.hpp"

namespace ringdb::engine {

KeyCompare key_order_for(const TypeName& key_type);

}  // namespace ringdb::engine
