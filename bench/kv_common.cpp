// What kv_bench and peer_commit_bench share beside kv_peers.hpp's inline parts.

#include <filesystem>
#include <string>
#include <system_error>

#include "kv_peers.hpp"

namespace ringdb::bench {

std::uint64_t directory_bytes(const std::string& dir) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec)) {
            total += it->file_size(ec);
        }
    }
    return total;
}

}  // namespace ringdb::bench
