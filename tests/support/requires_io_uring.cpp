// Linked into the test binaries that need io_uring: catch_main.cpp calls this and exits 77
// (reported as skipped by ctest) where no ring can be set up.

#include <string>

#include "io/ring.hpp"

extern "C" const char* ringdb_test_skip_reason() {
    static std::string reason;
    auto probe = ringdb::io::Ring::probe();
    if (probe) {
        return nullptr;
    }
    reason = "io_uring unavailable: " + ringdb::to_string(probe.error());
    return reason.c_str();
}
