#pragma once
// sleep_for: a pause that does not park the thread where io_uring is available.

#include <chrono>

#include <ringdb/task.hpp>

namespace ringdb::io {

/// Completes after `duration`. On a thread with a ring it is an io_uring timeout: the thread
/// goes on running its other coroutines meanwhile. Where rings are unavailable the calling
/// thread sleeps (the POSIX fallback blocks, as its file I/O does).
Task<void> sleep_for(std::chrono::nanoseconds duration);

}  // namespace ringdb::io
