#pragma once
// The Asio adapter: ringdb coroutines inside an asio::io_context (standalone Asio 1.22.1).
//
// This header and src/asio/ are the only places in ringdb that include Asio; link the
// `ringdb_asio` CMake target to use them. It offers three things:
//   - AsioDriver: drives the calling thread's ringdb runtime (its io_uring and ThreadContext)
//     from an io_context, through an eventfd, so an Asio program does disk I/O without an
//     extra thread and without ever blocking its loop on the ring;
//   - as_awaitable(task): lets an asio::awaitable coroutine co_await any ringdb Task<T>;
//   - async_run(task, token): the completion-token form of any ringdb Task, with the Asio
//     shape void(std::error_code, U) for Task<Result<U>>;
//   - completion-token forms of the main Database calls, each one line over async_run:
//     async_create, async_open, async_begin_write, async_commit, async_submit_write_batch,
//     async_close (at the end of this header; docs/asio.md shows them in use).
//
// Thread rules. Each thread that starts adapter operations owns exactly one AsioDriver, built
// on that thread for an io_context that only that thread runs. An operation's ringdb task
// starts on the calling thread, may move to other threads (co_await schedule_on(...)), and
// always returns to the calling thread before its completion handler is submitted. The
// handler runs on its associated executor (by default the driver's io_context), always
// through asio::post: never inline inside the initiating call, and never inside the ringdb
// runtime's resumption loop.
//
// Lifetime: the driver keeps io_context::run() alive exactly while adapter operations (or
// Holds) are outstanding on its thread, so run() returns on its own once all ringdb work and
// handlers are done. A started ringdb task always runs to completion: Asio's per-operation
// cancellation (cancellation slots) is not supported.
//
// Asio 1.22.1 specifics:
//   - clang 14 (with libstdc++ 12) needs ASIO_HAS_CO_AWAIT and ASIO_HAS_STD_COROUTINE
//     defined, or asio::awaitable does not exist. The ringdb_asio target defines both
//     publicly when the compiler is Clang; code outside that target must do the same.
//   - as_tuple lives in asio::experimental (<asio/experimental/as_tuple.hpp>); later Asio
//     versions move it to asio::as_tuple. `co_await async_run(t, as_tuple(use_awaitable))`
//     yields std::tuple<std::error_code, U> and never throws for a ringdb error. With plain
//     use_awaitable a non-zero error_code is thrown as std::system_error (asio::system_error
//     is std::system_error in standalone Asio).
//   - g++ 12 destroys twice a capturing lambda or a braced aggregate with non-trivial
//     members built inside a co_await expression (asio issue #1007): hoist such objects into
//     named locals, and write `auto r = co_await ...; auto& [ec, v] = r;`. The adapter's own
//     initiation is a named, empty function object for this reason.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <ringdb/database.hpp>
#include <ringdb/error.hpp>
#include <ringdb/options.hpp>
#include <ringdb/result.hpp>
#include <ringdb/runtime.hpp>
#include <ringdb/task.hpp>

#if !defined(ASIO_HAS_CO_AWAIT) || !defined(ASIO_HAS_STD_COROUTINE)
#error "ringdb/asio.hpp needs Asio's C++20 coroutine support: with clang, define \
ASIO_HAS_CO_AWAIT and ASIO_HAS_STD_COROUTINE (the ringdb_asio target does)"
#endif

namespace ringdb {

struct AsioDriverOptions {
    /// Drive the thread's io_uring (created if needed) through its notify eventfd. false, or a
    /// thread where io_uring cannot be set up, selects the ring-less mode described at
    /// AsioDriver. Ignored (the ring is used) when this thread already has a ring.
    /// REQUIRES with false: no io_uring device is used on this thread while the driver lives
/// (the ring would take over the thread's wake-ups; an assertion catches it at the next pump).
    bool use_ring = true;
};

struct AsioDriverStats {
    std::uint64_t wakeups = 0;  // eventfd readiness events handled
    std::uint64_t pumps = 0;    // ThreadContext::pump() turns run by the driver
};

/// Drives the calling thread's ringdb runtime from an asio::io_context.
///
/// With a ring (the default), the driver registers the ring's notify eventfd with the
/// io_context (asio::posix::stream_descriptor) and keeps one read on it pending while work is
/// outstanding. A completion posted by the kernel, or a coroutine posted to this thread by
/// another thread (which wakes the ring and so produces a completion), makes the eventfd
/// readable; the driver then runs ThreadContext::pump(), which submits prepared operations,
/// reaps completions and resumes ready coroutines. Starting an operation schedules a pump as
/// well, because a coroutine started from an Asio handler prepares its SQE without submitting
/// it; pumps are coalesced, so many operations started together share one io_uring_enter.
///
/// Without a ring (io_uring unavailable, or use_ring = false), file devices use the POSIX
/// backend, whose calls complete synchronously and block the thread for their duration; the
/// driver then installs a small eventfd reactor on the thread (owned by its ThreadContext, kept
/// until the thread exits), so cross-thread resumptions (schedule_on back to this thread) still
/// wake the io_context. Nothing else changes.
///
/// The driver never busy-polls: it pumps only after eventfd readiness, after an operation
/// starts, and again after a pump that resumed something (which may have made more work
/// ready without a completion to announce it).
///
/// Thread rules: construct, use and destroy on the thread that runs `io` (io_context::run
/// on any other thread is a programming error, caught by an assertion). One driver per thread.
/// Lifetime: `io` must outlive the driver and every operation started through it (each holds
/// work on its handler's executor). Destroying the driver with operations outstanding is
/// allowed: they stay suspended until a later driver (or a sync_wait) drives this thread, and
/// their handlers are then submitted as usual.
class AsioDriver {
public:
    /// Binds the calling thread's runtime to `io`.
    /// Throws std::system_error if the eventfd cannot be created, duplicated or registered
    /// with the ring (EMFILE, ENOMEM). REQUIRES: no other AsioDriver on this thread.
    explicit AsioDriver(asio::io_context& io, AsioDriverOptions options = {});
    ~AsioDriver();
    AsioDriver(const AsioDriver&) = delete;
    AsioDriver& operator=(const AsioDriver&) = delete;

    using executor_type = asio::io_context::executor_type;
    /// The io_context's executor; the default executor of adapter completion handlers.
    executor_type get_executor() const noexcept;

    /// Whether the thread's io_uring is driven (false: the ring-less mode).
    bool uses_ring() const noexcept;
    /// Adapter operations and Holds outstanding on this thread. Owning thread only.
    std::size_t outstanding() const noexcept;
    AsioDriverStats stats() const noexcept;

    /// Runs a pump soon from the io_context. Call it after starting ringdb work on this thread
    /// by other means than the adapter (TaskScope::spawn from a plain handler), so that its
    /// prepared operations are submitted. Owning thread only.
    void schedule_pump();

    /// Counts as one outstanding operation while alive: the driver keeps serving this thread
    /// (and io_context::run() keeps running) even with no adapter operation in flight. Use it
    /// for ringdb work the adapter does not see, such as coroutines other threads send here.
    /// Move-only; destroy it on the driver's thread.
    class [[nodiscard]] Hold {
    public:
        Hold(Hold&& other) noexcept : active_(std::exchange(other.active_, false)) {}
        Hold& operator=(Hold&&) = delete;
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;
        ~Hold();

    private:
        friend class AsioDriver;
        Hold() noexcept : active_(true) {}
        bool active_;
    };
    Hold hold();

    struct Impl;  // defined in src/asio/asio_driver.cpp

private:
    std::shared_ptr<Impl> impl_;
};

namespace detail {

/// Registers an adapter operation with the calling thread's driver and schedules a pump.
/// Returns the driver's executor. Asserts that the thread has a driver.
asio::io_context::executor_type asio_operation_begin();
/// Ends an operation registered by asio_operation_begin, on the same thread.
void asio_operation_end() noexcept;

/// How an operation's outcome reaches its handler.
enum class AsioDelivery {
    exception_and_value,     // void(std::exception_ptr, T) or void(std::exception_ptr)
    exception_and_optional,  // void(std::exception_ptr, std::optional<T>)
    error_code,              // Result<U>: void(std::error_code, U) or void(std::error_code)
};

template <typename T>
struct AsioResultOf {
    static constexpr bool is_result = false;
};
template <typename U>
struct AsioResultOf<Result<U>> {
    static constexpr bool is_result = true;
    using value_type = U;
};

template <AsioDelivery D, typename T>
struct AsioSignature {
    using type = void(std::exception_ptr, T);
};
template <>
struct AsioSignature<AsioDelivery::exception_and_value, void> {
    using type = void(std::exception_ptr);
};
template <typename T>
struct AsioSignature<AsioDelivery::exception_and_optional, T> {
    using type = void(std::exception_ptr, std::optional<T>);
};
/// The value argument of an error_code handler for a Result<U>: U itself, or std::optional<U>
/// when U has no default constructor (a Database or WriteTransaction handle), since the error
/// case must pass some value.
template <typename U>
using AsioErrorCodeValue =
        std::conditional_t<std::is_default_constructible_v<U>, U, std::optional<U>>;

template <typename U>
struct AsioSignature<AsioDelivery::error_code, Result<U>> {
    using type = void(std::error_code, AsioErrorCodeValue<U>);
};
template <>
struct AsioSignature<AsioDelivery::error_code, Result<void>> {
    using type = void(std::error_code);
};

template <typename T>
inline constexpr AsioDelivery kAsioRunDelivery = AsioResultOf<T>::is_result
                                                         ? AsioDelivery::error_code
                                                         : AsioDelivery::exception_and_value;

struct AsioVoid {};
template <typename T>
using AsioStored = std::conditional_t<std::is_void_v<T>, AsioVoid, T>;

/// The posted function that invokes a handler with an operation's outcome.
template <AsioDelivery D, typename T, typename Handler>
struct AsioCompletion {
    Handler handler;
    std::exception_ptr exception;
    std::optional<AsioStored<T>> value;

    void operator()() {
        if constexpr (D == AsioDelivery::error_code) {
            // An exception is a bug or bad_alloc, not a ringdb error: like any exception
            // thrown by a handler, it leaves through io_context::run().
            if (exception) {
                std::rethrow_exception(exception);
            }
            using U = typename AsioResultOf<T>::value_type;
            T& result = *value;
            if constexpr (std::is_void_v<U>) {
                std::move(handler)(result ? std::error_code{} : to_error_code(result.error()));
            } else if (result) {
                std::move(handler)(std::error_code{}, AsioErrorCodeValue<U>(std::move(*result)));
            } else {
                std::move(handler)(to_error_code(result.error()), AsioErrorCodeValue<U>{});
            }
        } else if constexpr (D == AsioDelivery::exception_and_optional) {
            std::move(handler)(exception, std::move(value));
        } else if constexpr (std::is_void_v<T>) {
            std::move(handler)(exception);
        } else if (exception) {
            std::move(handler)(exception, T{});
        } else {
            std::move(handler)(exception, std::move(*value));
        }
    }
};

/// A coroutine that nobody awaits: it frees its own frame when it ends.
struct AsioOperation {
    struct promise_type {
        static void* operator new(std::size_t size) { return coro::detail::frame_allocate(size); }
        static void operator delete(void* frame, std::size_t size) noexcept {
            coro::detail::frame_deallocate(frame, size);
        }
        AsioOperation get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

template <AsioDelivery D, typename T, typename Handler>
AsioOperation asio_run_operation(Task<T> task, Handler handler) {
    asio::io_context::executor_type fallback = asio_operation_begin();
    coro::ThreadContext& origin = coro::ThreadContext::current();
    auto executor = asio::get_associated_executor(handler, fallback);
    auto work = asio::make_work_guard(executor);
    AsioCompletion<D, T, Handler> completion{std::move(handler), nullptr, std::nullopt};
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(task);
            completion.value.emplace();
        } else {
            T value = co_await std::move(task);
            completion.value.emplace(std::move(value));
        }
    } catch (...) {
        completion.exception = std::current_exception();
    }
    // The operation count and the driver belong to the starting thread.
    co_await coro::schedule_on(origin);
    asio_operation_end();
    asio::post(executor, std::move(completion));
}

/// The initiation: a named function object, not a lambda (asio issue #1007 on g++).
template <AsioDelivery D, typename T>
struct AsioRunInitiation {
    template <typename Handler>
    void operator()(Handler&& handler, Task<T> task) const {
        asio_run_operation<D, T, std::decay_t<Handler>>(std::move(task),
                                                        std::forward<Handler>(handler));
    }
};

template <AsioDelivery D, typename T, typename CompletionToken>
auto asio_initiate_run(Task<T> task, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, typename AsioSignature<D, T>::type>(
            AsioRunInitiation<D, T>{}, token, std::move(task));
}

template <typename T>
asio::awaitable<T> asio_await_unwrap(Task<T> task) {
    std::optional<T> value = co_await asio_initiate_run<AsioDelivery::exception_and_optional>(
            std::move(task), asio::use_awaitable);
    co_return std::move(*value);
}

}  // namespace detail

/// `co_await as_awaitable(task)` inside an asio::awaitable coroutine runs a ringdb task and
/// yields its result; an exception thrown by the task is rethrown in the awaiting coroutine.
/// The task starts on the calling thread when the awaiting coroutine suspends (its first I/O
/// goes out with the next pump), and the awaiting coroutine resumes on its own executor.
/// Results are delivered as they are: a Task<Result<U>> yields the Result<U>.
/// REQUIRES: an AsioDriver on the calling thread. A non-default-constructible T costs one
/// extra awaitable frame.
template <typename T>
asio::awaitable<T> as_awaitable(Task<T> task) {
    if constexpr (std::is_void_v<T> || std::is_default_constructible_v<T>) {
        return detail::asio_initiate_run<detail::AsioDelivery::exception_and_value>(
                std::move(task), asio::use_awaitable);
    } else {
        return detail::asio_await_unwrap(std::move(task));
    }
}

/// The completion-token form of a ringdb task, implemented with asio::async_initiate. The task
/// starts at initiation on the calling thread (for asio::use_awaitable: when the awaiting
/// coroutine suspends); the handler runs on its associated executor, defaulting to the
/// driver's io_context, with the work of that executor held until then.
/// Completion signature:
///   Task<Result<U>>  void(std::error_code, U): on error, to_error_code(error) and a value-
///                    initialised U. A U without a default constructor (a Database or
///                    WriteTransaction handle) is passed as std::optional<U>: engaged exactly
///                    when the error_code is zero. Task<Status> gives void(std::error_code).
///                    An exception thrown by the task (a bug or bad_alloc) propagates out of
///                    the io_context::run() call that would have run the handler.
///   Task<T>          void(std::exception_ptr, T), or void(std::exception_ptr) for void.
/// Works with plain callbacks, asio::use_awaitable (which throws std::system_error for a
/// non-zero error_code) and asio::experimental::as_tuple(asio::use_awaitable).
/// REQUIRES: an AsioDriver on the calling thread; for a Task<T> that is not a Result, T
/// default-constructible (as_awaitable takes any T).
template <typename T, typename CompletionToken>
auto async_run(Task<T> task, CompletionToken&& token) {
    constexpr detail::AsioDelivery kDelivery = detail::kAsioRunDelivery<T>;
    if constexpr (kDelivery != detail::AsioDelivery::error_code) {
        static_assert(std::is_void_v<T> || std::is_default_constructible_v<T>,
                      "async_run needs a default-constructible result type; use as_awaitable");
    }
    return detail::asio_initiate_run<kDelivery>(std::move(task),
                                                std::forward<CompletionToken>(token));
}

// --- Completion-token forms of the main Database calls -------------------------------------
//
// Each is async_run over the Database call of the same name (see its contract in
// <ringdb/database.hpp> for the errors, delivered as std::error_code values of ringdb's
// category: compare them with ringdb::Errc). All need an AsioDriver on the calling thread.
// Calls that yield a handle deliver it as std::optional (engaged exactly when the error_code is
// zero), because a failed call has no handle to pass:
//
//   std::optional<ringdb::Database> db =
//           co_await ringdb::async_create(path, options, asio::use_awaitable);  // throws
//   auto r = co_await ringdb::async_begin_write(*db, as_tuple(asio::use_awaitable));
//   auto& [ec, txn] = r;                                                     // no throw
//
// Lifetimes: a Database passed by reference must outlive the operation (like an Asio I/O
// object); a WriteTransaction or WriteBatch is taken by value and owned by the operation.
// g++ 12: an argument with non-trivial members taken by value (WriteTransaction, WriteBatch,
// DatabaseOptions) is a temporary of the calling full-expression. In an awaitable, make the
// operation in its own statement, then await it (see the header comment):
//   auto submitting = ringdb::async_submit_write_batch(db, std::move(batch), token);
//   auto done = co_await std::move(submitting);

/// Database::create (opens `path`, creating the database if the file is missing or empty).
/// Signature: void(std::error_code, std::optional<Database>).
template <typename CompletionToken>
auto async_create(std::string path, DatabaseOptions options, CompletionToken&& token) {
    return async_run(Database::create(std::move(path), std::move(options)),
                     std::forward<CompletionToken>(token));
}
template <typename CompletionToken>
auto async_create(std::string path, CompletionToken&& token) {
    return async_create(std::move(path), DatabaseOptions{}, std::forward<CompletionToken>(token));
}

/// Database::open (an existing database; a missing file is an io error with ENOENT, i.e.
/// std::errc::no_such_file_or_directory). Signature: void(std::error_code,
/// std::optional<Database>).
template <typename CompletionToken>
auto async_open(std::string path, DatabaseOptions options, CompletionToken&& token) {
    return async_run(Database::open(std::move(path), std::move(options)),
                     std::forward<CompletionToken>(token));
}
template <typename CompletionToken>
auto async_open(std::string path, CompletionToken&& token) {
    return async_open(std::move(path), DatabaseOptions{}, std::forward<CompletionToken>(token));
}

/// Database::begin_write: completes once the previous write transaction has ended (the wait
/// is asynchronous; the io_context keeps serving other handlers meanwhile).
/// Signature: void(std::error_code, std::optional<WriteTransaction>).
template <typename CompletionToken>
auto async_begin_write(Database& db, CompletionToken&& token) {
    return async_run(db.begin_write(), std::forward<CompletionToken>(token));
}

namespace detail {
/// Commits a transaction the operation owns (src/asio/asio_calls.cpp).
Task<Status> asio_commit_owned(WriteTransaction txn);
}  // namespace detail

/// WriteTransaction::commit on a transaction the operation takes over (pass std::move(txn);
/// the transaction is over whatever the outcome). Errors: as commit (io, no_space,
/// transaction_finished, and invalid_argument for a group-commit batch's handle).
/// Signature: void(std::error_code).
template <typename CompletionToken>
auto async_commit(WriteTransaction txn, CompletionToken&& token) {
    return async_run(detail::asio_commit_owned(std::move(txn)),
                     std::forward<CompletionToken>(token));
}

/// Database::submit_write_batch: completes when the batch's group is durable (group commit,
/// docs/group_commit.md); batch_failed and peer_failed as documented there (a batch that got
/// peer_failed may be submitted again). Signature: void(std::error_code).
template <typename CompletionToken>
auto async_submit_write_batch(Database& db, WriteBatch batch, CompletionToken&& token) {
    return async_run(db.submit_write_batch(std::move(batch)),
                     std::forward<CompletionToken>(token));
}

/// Database::close: drains the group committer, makes the final commit and closes the file.
/// Errors: transaction_in_progress (a write transaction is live; nothing is closed),
/// previous_io, io. Signature: void(std::error_code).
template <typename CompletionToken>
auto async_close(Database& db, CompletionToken&& token) {
    return async_run(db.close(), std::forward<CompletionToken>(token));
}

}  // namespace ringdb
