#pragma once
// Whole-database maintenance: compaction (Database::compact) and the integrity check with
// repair (Database::check_integrity). docs/api.md, "Compaction and integrity check".

#include <memory>

#include <ringdb/result.hpp>
#include <ringdb/task.hpp>

#include "engine/db/database_core.hpp"

namespace ringdb::engine {

/// Moves pages towards the start of the file and trims it, in rounds of durable commits until a
/// round moves nothing. Returns whether any page moved. Needs exclusive use: a live read
/// transaction or savepoint is Errc::transaction_in_progress (checked before every round);
/// waits for the writer like begin_write. Errors: database_closed, invalid_argument
/// (read-only), previous_io, io, no_space, corrupted.
Task<Result<bool>> compact_database(std::shared_ptr<DatabaseCore> core);

/// Makes every commit durable, drops the page cache, re-reads the header and every page of the
/// last commit from the file and verifies them; falls back to the previous commit when the
/// last one is damaged, and replaces the allocator when it disagrees with the trees (repairs
/// are committed durably). Returns true when nothing needed repair. Needs exclusive use as
/// compact_database. Errors: corrupted (no intact commit), transaction_in_progress,
/// database_closed, invalid_argument (read-only), previous_io, io.
Task<Result<bool>> check_database_integrity(std::shared_ptr<DatabaseCore> core);

}  // namespace ringdb::engine
