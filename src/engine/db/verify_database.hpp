#pragma once
// Whole-database verification over one snapshot (Database::verify_integrity).

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>
#include <ringdb/verify.hpp>

#include "engine/db/database_core.hpp"

namespace ringdb::engine {

/// Verifies the latest commit: slots, then every tree (table trees, user tables, system
/// tables). The snapshot is pinned for the duration, so it can run beside writers.
/// Errors: io, previous_io (problems found in the data are reported, not returned).
Task<Result<VerifyReport>> verify_database(std::shared_ptr<DatabaseCore> core,
                                                   VerifyLevel level);

}  // namespace ringdb::engine
