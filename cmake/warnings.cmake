add_library(ringdb_warnings INTERFACE)
target_compile_options(ringdb_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Woverloaded-virtual -Wimplicit-fallthrough -Wformat=2)
if(RINGDB_WERROR)
    target_compile_options(ringdb_warnings INTERFACE -Werror)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # g++ 12 does not guarantee the symmetric-transfer tail call below -O2 without this flag
    # (docs/coroutines.md); with it a loop of synchronously completing awaits keeps a flat stack.
    target_compile_options(ringdb_warnings INTERFACE -foptimize-sibling-calls)
endif()
