#pragma once
// Result<T>: a value or an Error.
//
// The interface is the subset of C++23 `std::expected<T, Error>` that ringdb uses:
// has_value(), explicit operator bool, value(), error(), operator*, operator->, value_or()
// and and_then(). The class is [[nodiscard]]: a dropped Result is a compile warning (an error
// in CI), which is the point of having our own type. `Status` is `Result<void>`.
//
// Unlike std::expected, an `Error` converts implicitly into any Result, so a function returns
// failures as `return Error{Errc::io, errno};` and `co_return error;`.
//
// REQUIRES: value(), operator* and operator-> are called only when has_value(); error() only
// when !has_value(). Violations terminate (they are programming errors, not I/O outcomes).

#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

#include <ringdb/error.hpp>

namespace ringdb {

namespace detail {
[[noreturn]] void result_misuse(const char* what) noexcept;
}  // namespace detail

template <typename T>
class [[nodiscard]] Result {
    static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");
    static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "Result<Error> is ambiguous");

public:
    using value_type = T;

    Result() requires std::is_default_constructible_v<T> : has_(true) { new (&value_) T(); }
    Result(const T& v) : has_(true) { new (&value_) T(v); }             // NOLINT: implicit
    Result(T&& v) : has_(true) { new (&value_) T(std::move(v)); }       // NOLINT: implicit
    Result(Error e) noexcept : has_(false) { new (&error_) Error(e); }  // NOLINT: implicit
    Result(Errc c) noexcept : Result(Error{c}) {}                        // NOLINT: implicit

    template <typename U>
        requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
                 !std::is_same_v<std::decay_t<U>, Error> &&
                 !std::is_same_v<std::decay_t<U>, Errc> &&
                 !std::is_same_v<std::decay_t<U>, Result>)
    Result(U&& v) : has_(true) {  // NOLINT: implicit, like std::expected
        new (&value_) T(std::forward<U>(v));
    }

    Result(const Result& other) : has_(other.has_) {
        if (has_) {
            new (&value_) T(other.value_);
        } else {
            new (&error_) Error(other.error_);
        }
    }
    Result(Result&& other) noexcept(std::is_nothrow_move_constructible_v<T>) : has_(other.has_) {
        if (has_) {
            new (&value_) T(std::move(other.value_));
        } else {
            new (&error_) Error(other.error_);
        }
    }
    Result& operator=(const Result& other) {
        if (this != &other) {
            destroy();
            has_ = other.has_;
            if (has_) {
                new (&value_) T(other.value_);
            } else {
                new (&error_) Error(other.error_);
            }
        }
        return *this;
    }
    Result& operator=(Result&& other) noexcept(std::is_nothrow_move_constructible_v<T>) {
        if (this != &other) {
            destroy();
            has_ = other.has_;
            if (has_) {
                new (&value_) T(std::move(other.value_));
            } else {
                new (&error_) Error(other.error_);
            }
        }
        return *this;
    }
    ~Result() { destroy(); }

    bool has_value() const noexcept { return has_; }
    explicit operator bool() const noexcept { return has_; }

    T& value() & {
        check_value();
        return value_;
    }
    const T& value() const& {
        check_value();
        return value_;
    }
    T&& value() && {
        check_value();
        return std::move(value_);
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const {
        if (has_) {
            detail::result_misuse("Result::error() called on a value");
        }
        return error_;
    }

    template <typename U>
    T value_or(U&& fallback) const& {
        return has_ ? value_ : static_cast<T>(std::forward<U>(fallback));
    }
    template <typename U>
    T value_or(U&& fallback) && {
        return has_ ? std::move(value_) : static_cast<T>(std::forward<U>(fallback));
    }

    /// Calls f(value) when there is a value; f returns a Result. Propagates the error otherwise.
    template <typename F>
    auto and_then(F&& f) & {
        using R = std::invoke_result_t<F, T&>;
        return has_ ? std::forward<F>(f)(value_) : R(error_);
    }
    template <typename F>
    auto and_then(F&& f) && {
        using R = std::invoke_result_t<F, T&&>;
        return has_ ? std::forward<F>(f)(std::move(value_)) : R(error_);
    }

private:
    void check_value() const {
        if (!has_) {
            detail::result_misuse("Result::value() called on an error");
        }
    }
    void destroy() noexcept {
        if (has_) {
            value_.~T();
        }
    }

    union {
        T value_;
        Error error_;
    };
    bool has_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    using value_type = void;

    Result() noexcept = default;
    Result(Error e) noexcept : error_(e), has_(false) {}  // NOLINT: implicit
    Result(Errc c) noexcept : Result(Error{c}) {}         // NOLINT: implicit

    bool has_value() const noexcept { return has_; }
    explicit operator bool() const noexcept { return has_; }
    void value() const {
        if (!has_) {
            detail::result_misuse("Status::value() called on an error");
        }
    }
    void operator*() const { value(); }

    const Error& error() const {
        if (has_) {
            detail::result_misuse("Status::error() called on success");
        }
        return error_;
    }

    template <typename F>
    auto and_then(F&& f) const {
        using R = std::invoke_result_t<F>;
        return has_ ? std::forward<F>(f)() : R(error_);
    }

private:
    Error error_{};
    bool has_ = true;
};

using Status = Result<void>;

/// A successful Status, for readability: `return ok();`.
inline Status ok() noexcept { return Status{}; }

}  // namespace ringdb
