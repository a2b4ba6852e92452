#pragma once
// Temporary files for device tests, removed when the fixture ends.

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <ringdb/sync_wait.hpp>

#include "io/file_device.hpp"
#include "io/device_contract.hpp"

namespace ringdb::test {

class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        const char* base = std::getenv("RINGDB_TEST_DIR");
        std::filesystem::path root = base != nullptr ? std::filesystem::path(base)
                                                     : std::filesystem::temp_directory_path();
        path_ = root / ("ringdb-test-" + std::to_string(::getpid()) + "-" +
                        std::to_string(counter.fetch_add(1)));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline std::unique_ptr<io::BlockDevice> open_or_fail(const std::string& path,
                                                     io::FileOptions options) {
    auto device = sync_wait(io::open_file(path, options));
    INFO("open " << path << ": " << (device ? "ok" : to_string(device.error())));
    REQUIRE(device.has_value());
    return std::move(*device);
}

/// Which of the first `count` 4 KiB blocks of a file are in the kernel's page cache (mincore
/// on a read-only mapping; mapping does not read anything in).
inline std::vector<bool> resident_pages(const std::string& path, std::size_t count) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    void* map = ::mmap(nullptr, count * 4096, PROT_READ, MAP_SHARED, fd, 0);
    REQUIRE(map != MAP_FAILED);
    std::vector<unsigned char> vec(count);
    REQUIRE(::mincore(map, count * 4096, vec.data()) == 0);
    ::munmap(map, count * 4096);
    ::close(fd);
    std::vector<bool> resident(count);
    for (std::size_t i = 0; i < count; ++i) {
        resident[i] = (vec[i] & 1U) != 0;
    }
    return resident;
}

/// Behaviour specific to file devices, for one backend: open errors, poisoning after a failed
/// write or sync, O_DIRECT alignment, read-only files.
inline void check_file_behaviour(IoBackend backend) {
    TempDir dir;
    io::FileOptions create{.create = true, .backend = backend};

    SECTION("opening a missing file without create is an io error with ENOENT") {
        io::FileOptions plain{.backend = backend};
        auto device = sync_wait(io::open_file(dir.file("missing"), plain));
        REQUIRE(device.error().code == Errc::io);
        REQUIRE(device.error().sys_errno == ENOENT);
        REQUIRE(sync_wait(io::open_file("", plain)).error().code == Errc::invalid_argument);
    }
    SECTION("data survives close and reopen") {
        auto data = pattern(12288, 9);
        {
            auto device = open_or_fail(dir.file("keep"), create);
            REQUIRE(std::string(device->kind()) ==
                    (backend == IoBackend::uring ? "uring" : "posix"));
            REQUIRE(sync_wait(device->write(0, data)).has_value());
            REQUIRE(sync_wait(device->sync_all()).has_value());
            REQUIRE(sync_wait(device->close()).has_value());
        }
        io::FileOptions reopen{.backend = backend};
        auto device = open_or_fail(dir.file("keep"), reopen);
        std::vector<std::byte> back(data.size());
        REQUIRE(sync_wait(device->read(0, back)).has_value());
        REQUIRE(back == data);
    }
    SECTION("a failed write poisons the device for every later call") {
        // /dev/full fails every write with ENOSPC.
        io::FileOptions plain{.backend = backend};
        auto device = open_or_fail("/dev/full", plain);
        auto failed = sync_wait(device->write(0, pattern(4096, 5)));
        REQUIRE(failed.error().code == Errc::no_space);
        REQUIRE(failed.error().sys_errno == ENOSPC);
        std::vector<std::byte> buf(16);
        REQUIRE(sync_wait(device->read(0, buf)).error().code == Errc::previous_io);
        REQUIRE(sync_wait(device->write(0, buf)).error().code == Errc::previous_io);
        REQUIRE(sync_wait(device->sync_data()).error().code == Errc::previous_io);
        REQUIRE(sync_wait(device->sync_all()).error().code == Errc::previous_io);
        REQUIRE(sync_wait(device->close()).error().code == Errc::previous_io);
    }
    SECTION("a failed sync is final") {
        // fsync on a pipe fails with EINVAL: a sync that cannot be done must poison the device.
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        std::string path = "/proc/self/fd/" + std::to_string(fds[1]);
        io::FileOptions plain{.backend = backend};
        auto device = open_or_fail(path, plain);
        auto failed = sync_wait(device->sync_data());
        REQUIRE(failed.error().code == Errc::io);
        REQUIRE(failed.error().sys_errno == EINVAL);
        REQUIRE(sync_wait(device->sync_data()).error().code == Errc::previous_io);
        REQUIRE(sync_wait(device->sync_all()).error().code == Errc::previous_io);
        ::close(fds[0]);
        ::close(fds[1]);
    }
    SECTION("a read-only device refuses writes without poisoning") {
        {
            auto device = open_or_fail(dir.file("ro"), create);
            REQUIRE(sync_wait(device->write(0, pattern(4096, 6))).has_value());
        }
        io::FileOptions ro{.read_only = true, .backend = backend};
        auto device = open_or_fail(dir.file("ro"), ro);
        REQUIRE(sync_wait(device->write(0, pattern(16, 1))).error().code ==
                Errc::invalid_argument);
        std::vector<std::byte> back(4096);
        REQUIRE(sync_wait(device->read(0, back)).has_value());
        REQUIRE(back == pattern(4096, 6));
    }
    SECTION("O_DIRECT checks alignment and transfers aligned buffers") {
        io::FileOptions direct{.create = true, .direct = true, .backend = backend};
        auto opened = sync_wait(io::open_file(dir.file("direct"), direct));
        if (!opened && opened.error().sys_errno == EINVAL) {
            SUCCEED("skipped: the test directory's file system does not support O_DIRECT");
            return;
        }
        REQUIRE(opened.has_value());
        auto& device = *opened;
        REQUIRE(device->alignment() == io::kDirectAlignment);
        auto* raw = static_cast<std::byte*>(std::aligned_alloc(4096, 3 * 4096));
        std::unique_ptr<std::byte, decltype(&std::free)> buffer(raw, &std::free);
        auto data = pattern(2 * 4096, 7);
        std::memcpy(raw, data.data(), data.size());
        REQUIRE(sync_wait(device->write(4096, std::span(raw, 2 * 4096))).has_value());
        auto misaligned_address = sync_wait(device->write(0, std::span(raw + 512, 4096)));
        REQUIRE(misaligned_address.error().code == Errc::invalid_argument);
        auto misaligned_offset = sync_wait(device->read(100, std::span(raw, 4096)));
        REQUIRE(misaligned_offset.error().code == Errc::invalid_argument);
        auto misaligned_length = sync_wait(device->read(0, std::span(raw, 1000)));
        REQUIRE(misaligned_length.error().code == Errc::invalid_argument);
        std::memset(raw, 0, 3 * 4096);
        REQUIRE(sync_wait(device->read(4096, std::span(raw, 2 * 4096))).has_value());
        REQUIRE(std::memcmp(raw, data.data(), data.size()) == 0);
        REQUIRE(sync_wait(device->sync_data()).has_value());
    }
    SECTION("read_uncached returns the file's bytes for any range") {
        auto device = open_or_fail(dir.file("uncached"), create);
        auto data = pattern(3 * 4096 + 700, 8);
        REQUIRE(sync_wait(device->write(0, data)).has_value());  // buffered, not synced
        for (auto [offset, length] : {std::pair<std::size_t, std::size_t>{0, 4096},
                                      {100, 5000},
                                      {4096 + 17, 1},
                                      {3 * 4096, 700},
                                      {2 * 4096 + 1, 4096 + 699}}) {
            INFO("offset " << offset << " length " << length);
            std::vector<std::byte> back(length);
            REQUIRE(sync_wait(device->read_uncached(offset, back)).has_value());
            REQUIRE(std::memcmp(back.data(), data.data() + offset, length) == 0);
        }
        std::vector<std::byte> past(16);
        REQUIRE(sync_wait(device->read_uncached(data.size() - 8, past)).error().code ==
                Errc::out_of_range);
    }
    SECTION("direct_writes: aligned write_direct skips the page cache, write does not") {
        io::FileOptions mixed{.create = true, .direct_writes = true, .backend = backend};
        auto device = open_or_fail(dir.file("mixed"), mixed);
        REQUIRE(device->alignment() == 1);  // unaligned writes stay legal
        auto* raw = static_cast<std::byte*>(std::aligned_alloc(4096, 6 * 4096));
        std::unique_ptr<std::byte, decltype(&std::free)> buffer(raw, &std::free);
        // Block 0 through write_direct but unaligned (so buffered), blocks 1-2 direct, block
        // 3 buffered first and then overwritten directly: the direct write must replace the
        // cached copy. Block 4: aligned, but write() never bypasses the cache.
        REQUIRE(sync_wait(device->write_direct(0, pattern(4000, 1))).has_value());
        auto two = pattern(2 * 4096, 2);
        std::memcpy(raw, two.data(), two.size());
        REQUIRE(sync_wait(device->write_direct(4096, std::span(raw, 2 * 4096))).has_value());
        REQUIRE(sync_wait(device->write(3 * 4096, pattern(4096, 3))).has_value());
        std::vector<std::byte> cached_first(4096);
        REQUIRE(sync_wait(device->read(3 * 4096, cached_first)).has_value());
        auto last = pattern(4096, 4);
        std::memcpy(raw, last.data(), last.size());
        REQUIRE(sync_wait(device->write_direct(3 * 4096, std::span(raw, 4096))).has_value());
        REQUIRE(sync_wait(device->write(4 * 4096, std::span(raw, 4096))).has_value());
        // Blocks 5-6: one vectored write of two aligned parts with the direct hint (direct);
        // block 7: a vectored write with an unaligned part (buffered).
        auto vec = pattern(2 * 4096, 5);
        std::memcpy(raw + 4 * 4096, vec.data(), vec.size());
        std::vector<std::span<const std::byte>> aligned_parts{std::span(raw + 5 * 4096, 4096),
                                                              std::span(raw + 4 * 4096, 4096)};
        REQUIRE(sync_wait(device->write_vectored(5 * 4096, aligned_parts, true)).has_value());
        auto odd = pattern(4096, 6);
        std::vector<std::span<const std::byte>> odd_parts{std::span(odd).first(100),
                                                          std::span(odd).subspan(100)};
        REQUIRE(sync_wait(device->write_vectored(7 * 4096, odd_parts, true)).has_value());
        REQUIRE(sync_wait(device->sync_data()).has_value());
        // Where O_DIRECT works, the directly written blocks were never in the page cache;
        // the buffered block is (its dirty page was just synced, not dropped).
        io::FileOptions probe{.create = true, .direct = true, .backend = backend};
        auto direct_ok = sync_wait(io::open_file(dir.file("probe"), probe));
        if (direct_ok) {
            auto resident = resident_pages(dir.file("mixed"), 8);
            REQUIRE(resident[0]);
            REQUIRE_FALSE(resident[1]);
            REQUIRE_FALSE(resident[2]);
            REQUIRE(resident[4]);
            REQUIRE_FALSE(resident[5]);
            REQUIRE_FALSE(resident[6]);
            REQUIRE(resident[7]);
        }
        std::vector<std::byte> vectored(3 * 4096);
        REQUIRE(sync_wait(device->read(5 * 4096, vectored)).has_value());
        REQUIRE(std::memcmp(vectored.data(), vec.data() + 4096, 4096) == 0);
        REQUIRE(std::memcmp(vectored.data() + 4096, vec.data(), 4096) == 0);
        REQUIRE(std::memcmp(vectored.data() + 2 * 4096, odd.data(), odd.size()) == 0);

        std::vector<std::byte> back(4 * 4096);
        REQUIRE(sync_wait(device->read(0, back)).has_value());
        auto first = pattern(4000, 1);
        REQUIRE(std::memcmp(back.data(), first.data(), first.size()) == 0);
        REQUIRE(std::memcmp(back.data() + 4096, two.data(), two.size()) == 0);
        REQUIRE(std::memcmp(back.data() + 3 * 4096, last.data(), last.size()) == 0);

    }
}

}  // namespace ringdb::test
