#pragma once
// FuzzInput: reads typed values from libFuzzer's bytes; past the end every read returns zero,
// so any input decodes to some run.

#include <cstddef>
#include <cstdint>

namespace ringdb::fuzz {

class FuzzInput {
public:
    FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    bool empty() const { return offset_ >= size_; }
    std::size_t remaining() const { return empty() ? 0 : size_ - offset_; }
    std::uint8_t byte() { return empty() ? 0 : data_[offset_++]; }
    std::uint64_t u64() {
        std::uint64_t value = 0;
        for (int i = 0; i < 8; ++i) {
            value |= static_cast<std::uint64_t>(byte()) << (8 * i);
        }
        return value;
    }
    std::uint32_t u16() { return static_cast<std::uint32_t>(byte()) | (byte() << 8); }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t offset_ = 0;
};

}  // namespace ringdb::fuzz
