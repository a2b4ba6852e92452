add_library(ringdb_sanitizers INTERFACE)
if(RINGDB_SANITIZE)
    target_compile_options(ringdb_sanitizers INTERFACE
        -fsanitize=${RINGDB_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(ringdb_sanitizers INTERFACE -fsanitize=${RINGDB_SANITIZE})
    target_compile_definitions(ringdb_sanitizers INTERFACE RINGDB_SANITIZED=1)
endif()
