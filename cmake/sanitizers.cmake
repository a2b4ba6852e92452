add_library(ringdb_sanitizers INTERFACE)
if(RINGDB_SANITIZE)
    target_compile_options(ringdb_sanitizers INTERFACE
        -fsanitize=${RINGDB_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(ringdb_sanitizers INTERFACE -fsanitize=${RINGDB_SANITIZE})
    target_compile_definitions(ringdb_sanitizers INTERFACE RINGDB_SANITIZED=1)
    if(RINGDB_SANITIZE MATCHES "undefined" AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        # clang 14 cannot emit UBSan's function-type prologue for coroutine funclets in
        # templates ("Cannot represent a difference across sections", llvm issue 49689).
        target_compile_options(ringdb_sanitizers INTERFACE -fno-sanitize=function)
    endif()
endif()
