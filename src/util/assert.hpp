#pragma once
// Assertions.
//
// RINGDB_ASSERT(cond) stays on in every build: use it for cheap invariants (page type, key
// order, slot bounds, queue limits). RINGDB_DEBUG_ASSERT(cond) is for expensive checks and is
// compiled out when NDEBUG is defined. RINGDB_ASSERT_CTX(cond, what, id) also reports a context
// value such as a transaction or page id.
//
// Never assert on data read from disk or received from a caller: that is input, and it gets an
// Error (Errc::corrupted, Errc::invalid_argument), not a crash.

#include <cstdint>

namespace ringdb::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line, const char* what,
                                std::uint64_t id) noexcept;
}  // namespace ringdb::detail

#define RINGDB_ASSERT(cond)                                                          \
    do {                                                                             \
        if (!(cond)) [[unlikely]] {                                                  \
            ::ringdb::detail::assert_failed(#cond, __FILE__, __LINE__, nullptr, 0);  \
        }                                                                            \
    } while (false)

#define RINGDB_ASSERT_CTX(cond, what, id)                                                  \
    do {                                                                                   \
        if (!(cond)) [[unlikely]] {                                                        \
            ::ringdb::detail::assert_failed(#cond, __FILE__, __LINE__, (what),             \
                                            static_cast<std::uint64_t>(id));               \
        }                                                                                  \
    } while (false)

#ifdef NDEBUG
#define RINGDB_DEBUG_ASSERT(cond) \
    do {                          \
    } while (false)
#else
#define RINGDB_DEBUG_ASSERT(cond) RINGDB_ASSERT(cond)
#endif
