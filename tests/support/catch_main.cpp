// The one Catch2 main of the suite. A test binary that needs a facility the machine may lack
// (io_uring) defines ringdb_test_skip_reason(); when it returns a reason the binary exits with
// 77, which ctest reports as skipped (SKIP_RETURN_CODE).

#define CATCH_CONFIG_RUNNER
#include <cstdio>

#include <catch2/catch.hpp>

extern "C" __attribute__((weak)) const char* ringdb_test_skip_reason();

int main(int argc, char** argv) {
    if (ringdb_test_skip_reason != nullptr) {
        if (const char* reason = ringdb_test_skip_reason()) {
            std::printf("skipped: %s\n", reason);
            return 77;
        }
    }
    return Catch::Session().run(argc, argv);
}
