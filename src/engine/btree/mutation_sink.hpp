#pragma once
// MutationSink: where a tree reports its changes, so that a write transaction can describe
// them in its commit log record (docs/design.md section 10). A Btree with a sink reports each
// successful insert (the key and the value as stored) and each removal of a present key,
// exactly once, after the tree has changed. Multimap handles report their operations
// themselves (a multimap's outer values name pages, which replay would not reproduce).

#include <cstddef>
#include <span>

namespace ringdb::engine {

class MutationSink {
public:
    MutationSink() = default;
    MutationSink(const MutationSink&) = delete;
    MutationSink& operator=(const MutationSink&) = delete;
    virtual ~MutationSink() = default;

    virtual void inserted(std::span<const std::byte> key, std::span<const std::byte> value) = 0;
    virtual void removed(std::span<const std::byte> key) = 0;
    // Multimap operations (MultimapHandle).
    virtual void multimap_inserted(std::span<const std::byte> key,
                                   std::span<const std::byte> value) = 0;
    virtual void multimap_removed(std::span<const std::byte> key,
                                  std::span<const std::byte> value) = 0;
    virtual void multimap_key_removed(std::span<const std::byte> key) = 0;
};

}  // namespace ringdb::engine
