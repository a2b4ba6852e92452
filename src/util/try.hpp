#pragma once
// Error propagation macros. Statement form only: GNU statement expressions are broken with
// co_await in g++ (see docs/coroutines.md).
//
//   RINGDB_TRY(status_expr);                 // plain function returning Result/Status
//   RINGDB_TRY_ASSIGN(auto x, result_expr);  // plain function: x = value or return the error
//   RINGDB_CO_TRY(status_expr);              // coroutine: co_return the error
//   RINGDB_CO_TRY_ASSIGN(auto x, result_expr);
//
// In coroutines the expression is typically `co_await something`; it is evaluated once and
// bound to a named local, which satisfies the one-co_await-per-statement rule.

#include <utility>

#define RINGDB_CONCAT_INNER(a, b) a##b
#define RINGDB_CONCAT(a, b) RINGDB_CONCAT_INNER(a, b)
#define RINGDB_TMP RINGDB_CONCAT(ringdb_try_, __LINE__)

#define RINGDB_TRY(expr)                  \
    do {                                  \
        auto ringdb_try_status_ = (expr); \
        if (!ringdb_try_status_) {        \
            return ringdb_try_status_.error(); \
        }                                 \
    } while (false)

#define RINGDB_TRY_ASSIGN(decl, expr) \
    auto RINGDB_TMP = (expr);         \
    if (!RINGDB_TMP) {                \
        return RINGDB_TMP.error();    \
    }                                 \
    decl = std::move(*RINGDB_TMP)

#define RINGDB_CO_TRY(expr)                    \
    do {                                       \
        auto ringdb_try_status_ = (expr);      \
        if (!ringdb_try_status_) {             \
            co_return ringdb_try_status_.error(); \
        }                                      \
    } while (false)

#define RINGDB_CO_TRY_ASSIGN(decl, expr) \
    auto RINGDB_TMP = (expr);            \
    if (!RINGDB_TMP) {                   \
        co_return RINGDB_TMP.error();    \
    }                                    \
    decl = std::move(*RINGDB_TMP)
