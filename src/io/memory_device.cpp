#include "io/memory_device.hpp"

#include <algorithm>
#include <cstring>

#include "util/try.hpp"

namespace ringdb::io {

namespace {
// Writes past this point are rejected rather than attempted (a bad offset, not a big file).
constexpr std::uint64_t kMemoryMax = std::uint64_t{1} << 40;
}  // namespace

Status MemoryDevice::check_open() const {
    if (closed_) {
        return Error{Errc::device_closed};
    }
    return ok();
}

Task<Result<std::uint64_t>> MemoryDevice::length() {
    std::lock_guard lock(mutex_);
    RINGDB_CO_TRY(check_open());
    co_return static_cast<std::uint64_t>(bytes_.size());
}

Task<Status> MemoryDevice::read(std::uint64_t offset, std::span<std::byte> buffer) {
    std::lock_guard lock(mutex_);
    RINGDB_CO_TRY(check_open());
    if (offset > bytes_.size() || buffer.size() > bytes_.size() - offset) {
        co_return Error{Errc::out_of_range, 0, std::max<std::uint64_t>(offset, bytes_.size())};
    }
    if (!buffer.empty()) {
        std::memcpy(buffer.data(), bytes_.data() + offset, buffer.size());
    }
    co_return ok();
}

Task<Status> MemoryDevice::write(std::uint64_t offset, std::span<const std::byte> data) {
    std::lock_guard lock(mutex_);
    RINGDB_CO_TRY(check_open());
    if (offset > kMemoryMax || data.size() > kMemoryMax - offset) {
        co_return Error{Errc::no_space, 0, offset};
    }
    std::uint64_t end = offset + data.size();
    if (end > bytes_.size()) {
        bytes_.resize(end);
    }
    if (!data.empty()) {
        std::memcpy(bytes_.data() + offset, data.data(), data.size());
    }
    co_return ok();
}

Task<Status> MemoryDevice::write_vectored(std::uint64_t offset,
                                          std::span<const std::span<const std::byte>> parts,
                                          bool) {
    std::lock_guard lock(mutex_);
    RINGDB_CO_TRY(check_open());
    std::uint64_t total = 0;
    for (std::span<const std::byte> part : parts) {
        if (part.size() > kMemoryMax - total) {
            co_return Error{Errc::no_space, 0, offset};
        }
        total += part.size();
    }
    if (offset > kMemoryMax || total > kMemoryMax - offset) {
        co_return Error{Errc::no_space, 0, offset};
    }
    if (total == 0) {
        co_return ok();  // nothing to write: the length does not change
    }
    if (offset + total > bytes_.size()) {
        bytes_.resize(offset + total);
    }
    std::uint64_t at = offset;
    for (std::span<const std::byte> part : parts) {
        if (!part.empty()) {
            std::memcpy(bytes_.data() + at, part.data(), part.size());
        }
        at += part.size();
    }
    co_return ok();
}

Task<Status> MemoryDevice::sync_data() {
    std::lock_guard lock(mutex_);
    co_return check_open();
}

Task<Status> MemoryDevice::sync_all() {
    std::lock_guard lock(mutex_);
    co_return check_open();
}

Task<Status> MemoryDevice::set_length(std::uint64_t length) {
    std::lock_guard lock(mutex_);
    RINGDB_CO_TRY(check_open());
    if (length > kMemoryMax) {
        co_return Error{Errc::no_space, 0, length};
    }
    bytes_.resize(length);
    co_return ok();
}

Task<Status> MemoryDevice::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    co_return ok();
}

std::vector<std::byte> MemoryDevice::snapshot() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

}  // namespace ringdb::io
