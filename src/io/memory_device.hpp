#pragma once
// MemoryDevice: a BlockDevice held in memory. Every operation completes immediately and
// "durability" is trivially true; use SimDevice to model crashes. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "io/block_device.hpp"

namespace ringdb::io {

class MemoryDevice final : public BlockDevice {
public:
    MemoryDevice() = default;
    /// A device whose initial content is `image` (for example a crash image of a SimDevice).
    explicit MemoryDevice(std::vector<std::byte> image) : bytes_(std::move(image)) {}

    Task<Result<std::uint64_t>> length() override;
    Task<Status> read(std::uint64_t offset, std::span<std::byte> buffer) override;
    Task<Status> write(std::uint64_t offset, std::span<const std::byte> data) override;
    /// One write under the lock: readers see all of the parts or none of them.
    Task<Status> write_vectored(std::uint64_t offset,
                                std::span<const std::span<const std::byte>> parts,
                                bool direct) override;
    Task<Status> sync_data() override;
    Task<Status> sync_all() override;
    Task<Status> set_length(std::uint64_t length) override;
    Task<Status> close() override;
    const char* kind() const noexcept override { return "memory"; }

    /// A copy of the current content.
    std::vector<std::byte> snapshot() const;

private:
    Status check_open() const;

    mutable std::mutex mutex_;
    std::vector<std::byte> bytes_;  // guarded by mutex_
    bool closed_ = false;           // guarded by mutex_
};

}  // namespace ringdb::io
