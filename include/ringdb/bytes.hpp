#pragma once
// Byte-string vocabulary of the typed layer.
//
// `Bytes` is an owned byte string and `ByteView` a borrowed one. Both are also table types
// ("&[u8]", docs/encodings.md): see <ringdb/codec_bytes.hpp>.

#include <cstddef>
#include <span>
#include <vector>

namespace ringdb {

/// An owned byte string.
using Bytes = std::vector<std::byte>;

/// A borrowed byte string. It does not own its bytes: its lifetime is that of the buffer it
/// points into.
using ByteView = std::span<const std::byte>;

}  // namespace ringdb
