#pragma once
// DatabaseAccess: the test-only seam that opens a public Database on a device the caller
// provides (a SimDevice for crash and fault tests, a MemoryDevice for fuzzing) instead of a
// file. It is not part of the installed API: it lives under src/ and only tests and fuzz
// targets include it. No file lock is taken (there is no file).

#include <memory>

#include <ringdb/database.hpp>

#include "io/block_device.hpp"

namespace ringdb::detail {

struct DatabaseAccess {
    /// Opens (create = true: initialising an empty device) a read-write Database on `device`,
    /// with recovery exactly as Database::open. Errors: as Database::open.
    static Task<Result<Database>> open_device(std::unique_ptr<io::BlockDevice> device,
                                              DatabaseOptions options, bool create);
};

}  // namespace ringdb::detail
