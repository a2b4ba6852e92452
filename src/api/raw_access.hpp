#pragma once
// The engine state behind the untyped handles of <ringdb/raw_table.hpp>, shared by the files of
// src/api/ that reach it (raw_table.cpp, nearest.cpp).

#include <memory>

#include <ringdb/raw_table.hpp>
#include <ringdb/task.hpp>

#include "engine/table/table_handle.hpp"

namespace ringdb::detail {

struct RawTable::Impl : engine::TableHandle {
    using TableHandle::TableHandle;
};

struct RawRange::Impl : engine::TableRange {
    using TableRange::TableRange;

    // A range is opened per scan, often many times a second: its state (about 1 KiB, mostly
    // the cursor's paths) is recycled through the per-thread coroutine frame pool instead of
    // the global allocator.
    static void* operator new(std::size_t size) { return coro::detail::frame_allocate(size); }
    static void operator delete(void* block, std::size_t size) noexcept {
        coro::detail::frame_deallocate(block, size);
    }
};

/// The engine side of a handle, for the library's own extensions.
struct RawAccess {
    static engine::TableRange& range(RawRange& range) noexcept { return *range.impl_; }
    static const std::shared_ptr<RawTable::Impl>& table(const RawTable& table) noexcept {
        return table.impl_;
    }
};

}  // namespace ringdb::detail
