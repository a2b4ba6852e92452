#pragma once
// The BlockDevice contract (src/io/block_device.hpp) as a reusable test body. Each device
// implementation's test calls check_device_contract() with a factory for fresh devices.

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <span>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include <ringdb/sync_wait.hpp>
#include <ringdb/when_all.hpp>

#include "io/block_device.hpp"

namespace ringdb::test {

using DeviceFactory = std::function<std::unique_ptr<io::BlockDevice>()>;

inline std::vector<std::byte> pattern(std::size_t size, unsigned seed) {
    std::vector<std::byte> bytes(size);
    std::uint32_t x = seed * 2654435761U + 1;
    for (auto& b : bytes) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<std::byte>(x & 0xff);
    }
    return bytes;
}

inline Task<Status> write_then_read_back(io::BlockDevice& device, std::uint64_t offset,
                                         std::vector<std::byte> data) {
    Status w = co_await device.write(offset, data);
    if (!w) {
        co_return w;
    }
    std::vector<std::byte> back(data.size());
    Status r = co_await device.read(offset, back);
    if (!r) {
        co_return r;
    }
    if (back != data) {
        co_return Error{Errc::corrupted, 0, offset};
    }
    co_return ok();
}

inline void check_device_contract(const DeviceFactory& make) {
    SECTION("written bytes read back and the length follows the furthest write") {
        auto device = make();
        auto data = pattern(8192, 1);
        REQUIRE(sync_wait(device->write(4096, data)).has_value());
        auto length = sync_wait(device->length());
        REQUIRE(*length == 4096 + 8192);
        std::vector<std::byte> back(8192);
        REQUIRE(sync_wait(device->read(4096, back)).has_value());
        REQUIRE(back == data);
        REQUIRE(sync_wait(device->sync_data()).has_value());
        REQUIRE(sync_wait(device->sync_all()).has_value());
    }
    SECTION("reading past the end is out_of_range") {
        auto device = make();
        REQUIRE(sync_wait(device->write(0, pattern(4096, 2))).has_value());
        std::vector<std::byte> buf(4096);
        auto past = sync_wait(device->read(4096, buf));
        REQUIRE(past.error().code == Errc::out_of_range);
        auto straddling = sync_wait(device->read(0, std::span(buf.data(), buf.size()).first(4096)));
        REQUIRE(straddling.has_value());
        std::vector<std::byte> big(8192);
        REQUIRE(sync_wait(device->read(0, big)).error().code == Errc::out_of_range);
    }
    SECTION("set_length grows with zeros and shrinks") {
        auto device = make();
        REQUIRE(sync_wait(device->write(0, pattern(4096, 3))).has_value());
        REQUIRE(sync_wait(device->set_length(1 << 20)).has_value());
        REQUIRE(*sync_wait(device->length()) == (1u << 20));
        std::vector<std::byte> tail(4096);
        REQUIRE(sync_wait(device->read((1 << 20) - 4096, tail)).has_value());
        REQUIRE(tail == std::vector<std::byte>(4096));
        REQUIRE(sync_wait(device->set_length(8192)).has_value());
        REQUIRE(*sync_wait(device->length()) == 8192);
        std::vector<std::byte> head(4096);
        REQUIRE(sync_wait(device->read(0, head)).has_value());
        REQUIRE(head == pattern(4096, 3));
    }
    SECTION("many operations in flight complete correctly") {
        auto device = make();
        std::vector<Task<Status>> tasks;
        for (unsigned i = 0; i < 300; ++i) {
            tasks.push_back(write_then_read_back(*device, std::uint64_t{i} * 4096,
                                                 pattern(4096, 100 + i)));
        }
        auto results = sync_wait(when_all(std::move(tasks)));
        for (auto& r : results) {
            REQUIRE(r.has_value());
        }
        REQUIRE(*sync_wait(device->length()) == 300u * 4096);
    }
    SECTION("write_vectored writes its parts back to back") {
        auto device = make();
        auto a = pattern(4096, 11);
        auto b = pattern(100, 12);
        std::vector<std::byte> empty;
        auto c = pattern(8192, 13);
        std::vector<std::span<const std::byte>> parts{a, empty, b, c};
        std::vector<std::byte> joined;
        for (auto part : parts) {
            joined.insert(joined.end(), part.begin(), part.end());
        }
        REQUIRE(sync_wait(device->write_vectored(4096, parts, false)).has_value());
        REQUIRE(*sync_wait(device->length()) == 4096 + joined.size());
        std::vector<std::byte> back(joined.size());
        REQUIRE(sync_wait(device->read(4096, back)).has_value());
        REQUIRE(back == joined);
        // The direct hint changes where the bytes go, never what reads see.
        std::vector<std::span<const std::byte>> swapped{c, a};
        REQUIRE(sync_wait(device->write_vectored(0, swapped, true)).has_value());
        std::vector<std::byte> front(8192 + 4096);
        REQUIRE(sync_wait(device->read(0, front)).has_value());
        REQUIRE(std::equal(c.begin(), c.end(), front.begin()));
        REQUIRE(std::equal(a.begin(), a.end(), front.begin() + 8192));
        // Only empty parts: nothing written, the length stays.
        std::vector<std::span<const std::byte>> nothing{empty, empty};
        REQUIRE(sync_wait(device->write_vectored(1 << 20, nothing, false)).has_value());
        REQUIRE(*sync_wait(device->length()) == 4096 + joined.size());
    }
    SECTION("read_vectored reads its parts back to back") {
        auto device = make();
        auto bytes = pattern(6 * 4096, 31);
        REQUIRE(sync_wait(device->write(0, bytes)).has_value());
        for (bool direct : {false, true}) {
            INFO("direct " << direct);
            // Page-aligned parts (the direct path where the device has one), an empty part,
            // and a part that is not a multiple of the alignment (always through the cache).
            auto* raw = static_cast<std::byte*>(std::aligned_alloc(4096, 5 * 4096));
            REQUIRE(raw != nullptr);
            std::vector<std::byte> odd(100);
            std::vector<std::span<std::byte>> parts{std::span(raw, 4096), {},
                                                    std::span(raw + 4096, 2 * 4096)};
            REQUIRE(sync_wait(device->read_vectored(4096, parts, direct)).has_value());
            CHECK(std::equal(raw, raw + 3 * 4096, bytes.begin() + 4096));
            std::vector<std::span<std::byte>> mixed{std::span(raw + 3 * 4096, 4096), odd};
            REQUIRE(sync_wait(device->read_vectored(0, mixed, direct)).has_value());
            CHECK(std::equal(raw + 3 * 4096, raw + 4 * 4096, bytes.begin()));
            CHECK(std::equal(odd.begin(), odd.end(), bytes.begin() + 4096));
            // Past the end of the file: out_of_range.
            std::vector<std::span<std::byte>> beyond{std::span(raw, 4096),
                                                     std::span(raw + 4096, 4096)};
            auto past = sync_wait(device->read_vectored(5 * 4096, beyond, direct));
            REQUIRE_FALSE(past.has_value());
            CHECK(past.error().code == ringdb::Errc::out_of_range);
            std::free(raw);
        }
    }
    SECTION("write_vectored with more parts than one system call takes") {
        auto device = make();
        std::vector<std::vector<std::byte>> chunks;
        std::vector<std::span<const std::byte>> parts;
        std::vector<std::byte> joined;
        for (unsigned i = 0; i < 1500; ++i) {
            chunks.push_back(pattern(16 + i % 7, 200 + i));
        }
        for (const auto& chunk : chunks) {
            parts.emplace_back(chunk);
            joined.insert(joined.end(), chunk.begin(), chunk.end());
        }
        REQUIRE(sync_wait(device->write_vectored(12345, parts, false)).has_value());
        std::vector<std::byte> back(joined.size());
        REQUIRE(sync_wait(device->read(12345, back)).has_value());
        REQUIRE(back == joined);
    }
    SECTION("a closed device refuses every call") {
        auto device = make();
        REQUIRE(sync_wait(device->write(0, pattern(4096, 4))).has_value());
        REQUIRE(sync_wait(device->close()).has_value());
        std::vector<std::byte> buf(4096);
        REQUIRE(sync_wait(device->read(0, buf)).error().code == Errc::device_closed);
        REQUIRE(sync_wait(device->write(0, buf)).error().code == Errc::device_closed);
        std::vector<std::span<const std::byte>> parts{buf};
        REQUIRE(sync_wait(device->write_vectored(0, parts, false)).error().code ==
                Errc::device_closed);
        REQUIRE(sync_wait(device->sync_data()).error().code == Errc::device_closed);
        REQUIRE(sync_wait(device->set_length(0)).error().code == Errc::device_closed);
        REQUIRE(sync_wait(device->length()).error().code == Errc::device_closed);
        REQUIRE(sync_wait(device->close()).has_value());
    }
}

}  // namespace ringdb::test
