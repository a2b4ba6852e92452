// SimDevice: the simulated disk (model in sim_device.hpp).
//
// Invariants, all under mutex_:
//  - every log entry is non-empty and lies inside live (a shrink cuts the log), so replaying
//    any subset of the log never makes an image longer than live;
//  - log entries are in completion order and their sequence numbers increase;
//  - durable_meta_ is never longer than live: both follow every set_length, and only live
//    takes unsynced writes;
//  - once poisoned_ is set, no call changes live, durable or the log until reopen() or crash().
// Each operation is split in two: issue() (checks, counting, fault choice, latency draw) and
// complete_*() (the effect). Latency suspends between the two without holding the mutex.

#include "io/sim_device.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <utility>

#include <ringdb/runtime.hpp>

#include "util/assert.hpp"
#include "util/try.hpp"

namespace ringdb::io {

namespace {

void apply_bytes(std::vector<std::byte>& image, std::uint64_t offset,
                 std::span<const std::byte> bytes) {
    if (bytes.empty()) {
        return;
    }
    std::uint64_t end = offset + bytes.size();
    if (end > image.size()) {
        image.resize(end);
    }
    std::memcpy(image.data() + offset, bytes.data(), bytes.size());
}

void apply_write(std::vector<std::byte>& image, const SimWrite& write) {
    apply_bytes(image, write.offset, write.bytes);
}

/// Where a write torn at cut point `index` stops: its start for index 0, else the index-th
/// sector boundary strictly inside the write.
std::uint64_t torn_cut(const SimWrite& write, std::uint64_t index) {
    if (index == 0) {
        return write.offset;
    }
    std::uint64_t first = (write.offset / kSimSectorSize + 1) * kSimSectorSize;
    return first + (index - 1) * kSimSectorSize;
}

/// How many cut points a torn write can have: its start plus each sector boundary inside it.
std::uint64_t torn_cut_count(const SimWrite& write) {
    std::uint64_t end = write.offset + write.bytes.size();
    std::uint64_t first = (write.offset / kSimSectorSize + 1) * kSimSectorSize;
    if (first >= end) {
        return 1;
    }
    return 2 + (end - 1 - first) / kSimSectorSize;
}

bool exceeds_device(std::uint64_t offset, std::uint64_t size) {
    return offset > kSimDeviceMax || size > kSimDeviceMax - offset;
}

}  // namespace

const char* crash_mode_name(CrashMode mode) noexcept {
    switch (mode) {
        case CrashMode::durable_only:
            return "durable_only";
        case CrashMode::random_subset:
            return "random_subset";
        case CrashMode::torn_write:
            return "torn_write";
        case CrashMode::reordered:
            return "reordered";
    }
    return "unknown";
}

const char* op_kind_name(OpKind kind) noexcept {
    switch (kind) {
        case OpKind::read:
            return "read";
        case OpKind::write:
            return "write";
        case OpKind::sync:
            return "sync";
        case OpKind::set_length:
            return "set_length";
    }
    return "unknown";
}

SimDevice::SimDevice(std::uint64_t seed) : seed_(seed), random_state_(seed) {}

SimDevice::SimDevice(std::uint64_t seed, std::vector<std::byte> image)
    : seed_(seed),
      random_state_(seed),
      live_(image),
      durable_(image),
      durable_meta_(std::move(image)) {}

std::unique_ptr<SimDevice> SimDevice::from_image(std::vector<std::byte> image, std::uint64_t seed) {
    return std::make_unique<SimDevice>(seed, std::move(image));
}

std::unique_ptr<MemoryDevice> SimDevice::memory_from_image(std::vector<std::byte> image) {
    return std::make_unique<MemoryDevice>(std::move(image));
}

std::uint64_t SimDevice::seed_from_environment(std::uint64_t fallback) {
    const char* text = std::getenv("RINGDB_SEED");
    if (text == nullptr || *text == '\0') {
        return fallback;
    }
    char* end = nullptr;
    unsigned long long value = std::strtoull(text, &end, 0);
    if (end == nullptr || *end != '\0') {
        return fallback;
    }
    return static_cast<std::uint64_t>(value);
}

// splitmix64: tiny, fast, and every seed (zero included) gives a full-period stream.
std::uint64_t SimDevice::next_random_locked() {
    random_state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = random_state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// The modulo bias is below 2^-40 for the small bounds used here, far below what a test sees.
std::uint64_t SimDevice::uniform_locked(std::uint64_t bound) {
    RINGDB_ASSERT(bound > 0);
    return next_random_locked() % bound;
}

Status SimDevice::check_usable_locked() const {
    if (closed_) {
        return Error{Errc::device_closed};
    }
    if (poisoned_) {
        return Error{Errc::previous_io};
    }
    return ok();
}

Error SimDevice::poison_locked(Error error) {
    poisoned_ = true;
    return error;
}

SimDevice::Ticket SimDevice::issue(OpKind kind, Status arguments) {
    std::lock_guard lock(mutex_);
    Ticket ticket;
    ticket.status = check_usable_locked();
    if (!ticket.status) {
        return ticket;
    }
    if (!arguments) {
        ticket.status = arguments;
        return ticket;
    }
    auto k = static_cast<std::size_t>(kind);
    std::uint64_t index = calls_[k]++;
    Fault& fault = faults_[k];
    if (fault.armed &&
        (index == fault.index || (fault.mode == FaultMode::persistent && index > fault.index))) {
        ticket.status = Error::from_errno(fault.err);
        if (fault.mode == FaultMode::once) {
            fault.armed = false;
        }
    }
    ticket.reached_disk = true;
    ticket.epoch = epoch_;
    ticket.sync_mark = next_sequence_;
    if (latency_rounds_max_ > 0) {
        ticket.delay_rounds = static_cast<std::uint32_t>(uniform_locked(latency_rounds_max_ + 1));
    }
    return ticket;
}

Status SimDevice::check_completion_locked(const Ticket& ticket) const {
    if (ticket.epoch != epoch_) {
        return Error{Errc::device_closed};
    }
    return check_usable_locked();
}

Task<Result<std::uint64_t>> SimDevice::length() {
    std::lock_guard lock(mutex_);
    RINGDB_CO_TRY(check_usable_locked());
    co_return static_cast<std::uint64_t>(live_.size());
}

Task<Status> SimDevice::read(std::uint64_t offset, std::span<std::byte> buffer) {
    return read_as(offset, buffer, false);
}

Task<Status> SimDevice::read_uncached(std::uint64_t offset, std::span<std::byte> buffer) {
    return read_as(offset, buffer, true);
}

Task<Status> SimDevice::read_as(std::uint64_t offset, std::span<std::byte> buffer,
                                bool uncached) {
    Status arguments = ok();
    if (buffer.size() > kSimDeviceMax) {
        arguments = Error{Errc::invalid_argument, 0, buffer.size()};
    }
    Ticket ticket = issue(OpKind::read, arguments);
    if (!ticket.reached_disk) {
        co_return ticket.status;
    }
    for (std::uint32_t round = 0; round < ticket.delay_rounds; ++round) {
        co_await coro::yield_now();
    }
    co_return complete_read(ticket, offset, buffer, uncached);
}

Status SimDevice::complete_read(const Ticket& ticket, std::uint64_t offset,
                                std::span<std::byte> buffer, bool uncached) {
    std::lock_guard lock(mutex_);
    RINGDB_TRY(check_completion_locked(ticket));
    if (!ticket.status) {
        return ticket.status;  // an injected read fault: nothing changes, nothing is poisoned
    }
    if (offset > live_.size() || buffer.size() > live_.size() - offset) {
        return Error{Errc::out_of_range, 0, std::max<std::uint64_t>(offset, live_.size())};
    }
    if (!buffer.empty()) {
        std::memcpy(buffer.data(), live_.data() + offset, buffer.size());
    }
    if (uncached && !lost_.empty()) {
        for (std::size_t i = 0; i < buffer.size(); ++i) {
            std::uint64_t at = offset + i;
            if (at < lost_.size() && lost_[at] != 0) {
                buffer[i] = at < durable_.size() ? durable_[at] : std::byte{0};
            }
        }
    }
    return ok();
}

Task<Status> SimDevice::write(std::uint64_t offset, std::span<const std::byte> data) {
    Status arguments = ok();
    if (exceeds_device(offset, data.size())) {
        arguments = Error{Errc::invalid_argument, 0, offset};
    }
    Ticket ticket = issue(OpKind::write, arguments);
    if (!ticket.reached_disk) {
        co_return ticket.status;
    }
    for (std::uint32_t round = 0; round < ticket.delay_rounds; ++round) {
        co_await coro::yield_now();
    }
    co_return complete_write(ticket, offset, data);
}

Status SimDevice::complete_write(const Ticket& ticket, std::uint64_t offset,
                                 std::span<const std::byte> data) {
    std::lock_guard lock(mutex_);
    RINGDB_TRY(check_completion_locked(ticket));
    if (!ticket.status) {
        return poison_locked(
                Error{ticket.status.error().code, ticket.status.error().sys_errno, offset});
    }
    if (data.empty()) {
        return ok();
    }
    RINGDB_ASSERT_CTX(log_.size() < kSimLogMax, "unsynced writes", log_.size());
    apply_bytes(live_, offset, data);
    if (!lost_.empty()) {
        mark_lost_locked(offset, data.size(), false);
    }
    LogEntry entry;
    entry.sequence = next_sequence_++;
    entry.write.offset = offset;
    entry.write.bytes.assign(data.begin(), data.end());
    log_.push_back(std::move(entry));
    return ok();
}

Task<Status> SimDevice::write_vectored(std::uint64_t offset,
                                       std::span<const std::span<const std::byte>> parts,
                                       bool) {
    std::size_t total = 0;
    for (std::span<const std::byte> part : parts) {
        total += part.size();
    }
    std::vector<std::byte> joined;
    joined.reserve(total);
    for (std::span<const std::byte> part : parts) {
        joined.insert(joined.end(), part.begin(), part.end());
    }
    Status written = co_await write(offset, joined);
    co_return written;
}

Task<Status> SimDevice::sync_data() {
    return sync(false);
}

Task<Status> SimDevice::sync_all() {
    return sync(true);
}

Task<Status> SimDevice::sync(bool with_metadata) {
    Ticket ticket = issue(OpKind::sync, ok());
    if (!ticket.reached_disk) {
        co_return ticket.status;
    }
    for (std::uint32_t round = 0; round < ticket.delay_rounds; ++round) {
        co_await coro::yield_now();
    }
    co_return complete_sync(ticket, with_metadata);
}

void SimDevice::mark_lost_locked(std::uint64_t offset, std::size_t length, bool lost) {
    lost_.resize(live_.size(), 0);
    auto begin = std::min<std::uint64_t>(lost_.size(), offset);
    auto end = std::min<std::uint64_t>(lost_.size(), offset + length);
    std::fill(lost_.begin() + static_cast<std::ptrdiff_t>(begin),
              lost_.begin() + static_cast<std::ptrdiff_t>(end),
              lost ? std::uint8_t{1} : std::uint8_t{0});
}

Status SimDevice::complete_sync(const Ticket& ticket, bool with_metadata) {
    std::lock_guard lock(mutex_);
    RINGDB_TRY(check_completion_locked(ticket));
    auto covered = [&ticket](const LogEntry& e) {
        return e.sequence < ticket.sync_mark;
    };
    if (!ticket.status) {
        // Never retried by a correct caller. With marked-clean pages the covered writes leave
        // the log (no later sync will write them) but stay in live, which is the hazard.
        if (pages_marked_clean_) {
            // In log order, so that a write issued after the sync (still in the log) ends up
            // on top of the lost bytes it overwrites.
            for (const LogEntry& entry : log_) {
                mark_lost_locked(entry.write.offset, entry.write.bytes.size(), covered(entry));
            }
            std::erase_if(log_, covered);
        }
        return poison_locked(ticket.status.error());
    }
    for (const LogEntry& entry : log_) {
        if (covered(entry)) {
            apply_write(durable_, entry.write);
            apply_write(durable_meta_, entry.write);
        }
    }
    std::erase_if(log_, covered);
    if (with_metadata) {
        // The length is now the live one. Writes lost to a failed sync keep their durable (or
        // zero) bytes: they are in live but were never applied to durable_meta_.
        durable_meta_.resize(live_.size());
        durable_ = durable_meta_;
    }
    return ok();
}

Task<Status> SimDevice::set_length(std::uint64_t length) {
    Status arguments = ok();
    if (length > kSimDeviceMax) {
        arguments = Error{Errc::invalid_argument, 0, length};
    }
    Ticket ticket = issue(OpKind::set_length, arguments);
    if (!ticket.reached_disk) {
        co_return ticket.status;
    }
    for (std::uint32_t round = 0; round < ticket.delay_rounds; ++round) {
        co_await coro::yield_now();
    }
    co_return complete_set_length(ticket, length);
}

Status SimDevice::complete_set_length(const Ticket& ticket, std::uint64_t length) {
    std::lock_guard lock(mutex_);
    RINGDB_TRY(check_completion_locked(ticket));
    if (!ticket.status) {
        return poison_locked(
                Error{ticket.status.error().code, ticket.status.error().sys_errno, length});
    }
    live_.resize(length);
    if (!lost_.empty()) {
        lost_.resize(length, 0);
    }
    durable_meta_.resize(length);
    // Dirty data past the new end is discarded with the pages that held it.
    for (LogEntry& entry : log_) {
        if (entry.write.offset >= length) {
            entry.write.bytes.clear();
        } else if (entry.write.bytes.size() > length - entry.write.offset) {
            entry.write.bytes.resize(length - entry.write.offset);
        }
    }
    std::erase_if(log_, [](const LogEntry& e) { return e.write.bytes.empty(); });
    return ok();
}

Task<Status> SimDevice::close() {
    std::lock_guard lock(mutex_);
    if (closed_) {
        co_return ok();
    }
    closed_ = true;
    if (poisoned_) {
        co_return Error{Errc::previous_io};
    }
    co_return ok();
}

std::vector<std::byte> SimDevice::crash(CrashMode mode) {
    std::lock_guard lock(mutex_);
    std::vector<std::byte> image = build_image_locked(mode);
    reboot_locked(image);
    last_crash_mode_ = mode;
    return image;
}

std::vector<std::byte> SimDevice::crash_image(CrashMode mode) {
    std::lock_guard lock(mutex_);
    return build_image_locked(mode);
}

std::vector<std::byte> SimDevice::crash_any() {
    CrashMode mode;
    {
        std::lock_guard lock(mutex_);
        mode = static_cast<CrashMode>(uniform_locked(kCrashModeCount));
    }
    return crash(mode);
}

CrashMode SimDevice::last_crash_mode() const {
    std::lock_guard lock(mutex_);
    return last_crash_mode_;
}

std::vector<std::byte> SimDevice::build_image_locked(CrashMode mode) {
    if (mode == CrashMode::durable_only) {
        return durable_;
    }
    // The coin is drawn even when no metadata is pending, so the random stream (and with it
    // every later choice) does not depend on the history of set_length calls.
    bool metadata_landed = (next_random_locked() & 1) != 0;
    std::vector<std::byte> image = metadata_landed ? durable_meta_ : durable_;
    switch (mode) {
        case CrashMode::durable_only:
            break;
        case CrashMode::random_subset:
            for (const LogEntry& entry : log_) {
                if ((next_random_locked() & 1) != 0) {
                    apply_write(image, entry.write);
                }
            }
            break;
        case CrashMode::torn_write:
            apply_torn_locked(image);
            break;
        case CrashMode::reordered:
            apply_reordered_locked(image);
            break;
    }
    if (metadata_landed) {
        image.resize(live_.size());
    }
    return image;
}

void SimDevice::apply_torn_locked(std::vector<std::byte>& image) {
    if (log_.empty()) {
        return;
    }
    std::size_t torn = static_cast<std::size_t>(uniform_locked(log_.size()));
    for (std::size_t i = 0; i < torn; ++i) {
        apply_write(image, log_[i].write);
    }
    const SimWrite& write = log_[torn].write;
    std::uint64_t cut = torn_cut(write, uniform_locked(torn_cut_count(write)));
    RINGDB_ASSERT(cut >= write.offset && cut < write.offset + write.bytes.size());
    auto landed = static_cast<std::size_t>(cut - write.offset);
    apply_bytes(image, write.offset, std::span(write.bytes).first(landed));
}

void SimDevice::apply_reordered_locked(std::vector<std::byte>& image) {
    std::vector<std::size_t> order(log_.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // Fisher-Yates with the seeded stream (std::shuffle's use of the engine is unspecified,
    // which would make images differ between standard libraries).
    for (std::size_t i = order.size(); i > 1; --i) {
        auto j = static_cast<std::size_t>(uniform_locked(i));
        std::swap(order[i - 1], order[j]);
    }
    for (std::size_t index : order) {
        if ((next_random_locked() & 1) != 0) {
            apply_write(image, log_[index].write);
        }
    }
}

void SimDevice::reboot_locked(const std::vector<std::byte>& image) {
    live_ = image;
    lost_.clear();
    durable_ = image;
    durable_meta_ = image;
    log_.clear();
    ++epoch_;
    closed_ = false;
    poisoned_ = false;
    for (Fault& fault : faults_) {
        fault = Fault{};
    }
}

void SimDevice::reopen() {
    std::lock_guard lock(mutex_);
    closed_ = false;
    poisoned_ = false;
}

void SimDevice::fail_at(OpKind kind, std::uint64_t k, FaultMode mode, int err) {
    RINGDB_ASSERT(err > 0);
    std::lock_guard lock(mutex_);
    Fault& fault = faults_[static_cast<std::size_t>(kind)];
    fault.armed = true;
    fault.index = k;
    fault.mode = mode;
    fault.err = err;
}

void SimDevice::clear_faults() {
    std::lock_guard lock(mutex_);
    for (Fault& fault : faults_) {
        fault = Fault{};
    }
}

std::uint64_t SimDevice::calls(OpKind kind) const {
    std::lock_guard lock(mutex_);
    return calls_[static_cast<std::size_t>(kind)];
}

void SimDevice::set_failed_pages_marked_clean(bool on) {
    std::lock_guard lock(mutex_);
    pages_marked_clean_ = on;
}

void SimDevice::set_latency(std::uint32_t rounds_max) {
    RINGDB_ASSERT(rounds_max <= kSimLatencyRoundsMax);
    std::lock_guard lock(mutex_);
    latency_rounds_max_ = rounds_max;
}

std::vector<std::byte> SimDevice::live_bytes() const {
    std::lock_guard lock(mutex_);
    return live_;
}

std::vector<std::byte> SimDevice::durable_bytes() const {
    std::lock_guard lock(mutex_);
    return durable_;
}

std::vector<SimWrite> SimDevice::unsynced_writes() const {
    std::lock_guard lock(mutex_);
    std::vector<SimWrite> writes;
    writes.reserve(log_.size());
    for (const LogEntry& entry : log_) {
        writes.push_back(entry.write);
    }
    return writes;
}

std::size_t SimDevice::unsynced_write_count() const {
    std::lock_guard lock(mutex_);
    return log_.size();
}

bool SimDevice::poisoned() const {
    std::lock_guard lock(mutex_);
    return poisoned_;
}

}  // namespace ringdb::io
