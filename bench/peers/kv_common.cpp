// What kv_bench and peer_commit_bench share beside kv_peers.hpp's inline parts.

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>

#include "peers/kv_peers.hpp"

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

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
        if (!item.empty()) {
            items.push_back(item);
        }
    }
    return items;
}

std::unique_ptr<KvEngine> make_named_engine(const std::string& name, std::uint64_t cache_bytes) {
    if (name == "ringdb") {
        return make_ringdb_engine(cache_bytes);
    }
    if (name == "lmdb") {
        return make_lmdb_engine();
    }
    if (name == "rocksdb") {
        return make_rocksdb_engine();
    }
    if (name == "leveldb") {
        return make_leveldb_engine();
    }
    if (name == "sqlite-wal" || name == "sqlite-rj") {
        return make_sqlite_engine(name == "sqlite-wal");
    }
    return nullptr;
}

}  // namespace ringdb::bench
