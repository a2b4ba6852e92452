# Every header must compile on its own: one generated translation unit per header.
file(GLOB_RECURSE ringdb_public_headers RELATIVE ${PROJECT_SOURCE_DIR}/include
    ${PROJECT_SOURCE_DIR}/include/ringdb/*.hpp)
file(GLOB_RECURSE ringdb_private_headers RELATIVE ${PROJECT_SOURCE_DIR}/src
    ${PROJECT_SOURCE_DIR}/src/util/*.hpp ${PROJECT_SOURCE_DIR}/src/coro/*.hpp
    ${PROJECT_SOURCE_DIR}/src/io/*.hpp ${PROJECT_SOURCE_DIR}/src/engine/*.hpp)
set(ringdb_header_tus "")
foreach(h IN LISTS ringdb_public_headers ringdb_private_headers)
    if(h MATCHES "asio")
        continue()
    endif()
    string(MAKE_C_IDENTIFIER "${h}" id)
    set(tu ${CMAKE_BINARY_DIR}/header_check/${id}.cpp)
    if(h MATCHES "^ringdb/")
        file(WRITE ${tu}.in "#include <${h}>\n")
    else()
        file(WRITE ${tu}.in "#include \"${h}\"\n")
    endif()
    configure_file(${tu}.in ${tu} COPYONLY)
    list(APPEND ringdb_header_tus ${tu})
endforeach()
add_library(ringdb_header_check OBJECT ${ringdb_header_tus})
target_link_libraries(ringdb_header_check PRIVATE ringdb)
