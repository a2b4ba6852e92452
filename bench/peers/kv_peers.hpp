#pragma once
// kv_bench's common vocabulary: the wyrand generator of the KV workload (fastrand's
// generator, which redb's benchmark uses, so the key set is redb's), the 24/150-byte pair drawn
// from it, and the small interface every engine adapter (ringdb and its peers) implements.
//
// Adapters draw their pairs from the generator they are handed, inside the timed loop, exactly
// as redb's benchmark does: every engine pays the same generator cost.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ringdb::bench {

inline constexpr std::size_t kKeySize = 24;
inline constexpr std::size_t kValueSize = 150;
inline constexpr std::uint64_t kSeed = 3;

/// wyrand: s += C0; t = (128-bit) s * (s ^ C1); out = low64(t) ^ high64(t).
class Wyrand {
    // g++'s 128-bit integer: one multiply instruction. __extension__ keeps -Wpedantic quiet.
    __extension__ typedef unsigned __int128 U128;

public:
    explicit Wyrand(std::uint64_t seed) noexcept : state_(seed) {}

    std::uint64_t next() noexcept {
        state_ += 0x2d358dccaa6c78a5ULL;
        U128 t = static_cast<U128>(state_) * static_cast<U128>(state_ ^ 0x8bb84b93962eacc9ULL);
        return static_cast<std::uint64_t>(t) ^ static_cast<std::uint64_t>(t >> 64);
    }

    /// Fills `out` 8 bytes per draw, little-endian; a tail shorter than 8 bytes takes the first
    /// bytes of one extra draw (fastrand's fill).
    void fill(unsigned char* out, std::size_t size) noexcept {
        std::size_t done = 0;
        for (; done + 8 <= size; done += 8) {
            store_le(out + done, next(), 8);
        }
        if (done < size) {
            store_le(out + done, next(), size - done);
        }
    }

private:
    static void store_le(unsigned char* out, std::uint64_t v, std::size_t count) noexcept {
        for (std::size_t i = 0; i < count; ++i) {
            out[i] = static_cast<unsigned char>(v >> (8 * i));
        }
    }
    std::uint64_t state_;
};

/// One key/value pair of the stream: the key first, then the value, from the same generator.
struct Pair {
    std::array<unsigned char, kKeySize> key{};
    std::array<unsigned char, kValueSize> value{};

    void draw(Wyrand& rng) noexcept {
        rng.fill(key.data(), key.size());
        rng.fill(value.data(), value.size());
    }
    bool value_is(const void* data, std::size_t size) const noexcept {
        return size == kValueSize && std::memcmp(data, value.data(), kValueSize) == 0;
    }
};

/// A failure inside an adapter: the run stops and says which engine and what.
class KvError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What one engine must offer. Every call is synchronous (ringdb's adapter bridges with
/// sync_wait). read() and range() may be called from several threads at once; each call is
/// one read transaction (snapshot) of its own.
class KvEngine {
public:
    virtual ~KvEngine() = default;
    virtual std::string name() const = 0;
    /// The library's version, for the report's header.
    virtual std::string version() const = 0;
    /// Opens (creating when missing) the database in directory `dir`, which exists.
    virtual void open(const std::string& dir) = 0;
    virtual void close() = 0;
    /// One write transaction inserting the next `count` pairs of `rng`; `durable` commits
    /// wait for the disk (one sync or the engine's equivalent).
    virtual void write(Wyrand& rng, std::uint64_t count, bool durable) = 0;
    /// Number of entries, counted in a read transaction.
    virtual std::uint64_t len() = 0;
    /// `count` point gets of the next pairs of `rng`; returns how many found the pair's value.
    virtual std::uint64_t read(Wyrand& rng, std::uint64_t count) = 0;
    /// `count` scans of up to `width` entries from the next keys of `rng` (included) upward;
    /// returns the number of entries seen.
    virtual std::uint64_t range(Wyrand& rng, std::uint64_t count, int width) = 0;
    /// One durable write transaction removing the keys of the next `count` pairs of `rng`;
    /// returns how many existed.
    virtual std::uint64_t remove(Wyrand& rng, std::uint64_t count) = 0;
    /// Compacts the open database and returns its compacted size in bytes, or none when the
    /// engine cannot compact.
    virtual std::optional<std::uint64_t> compact() = 0;
};

/// The non-empty items of a comma-separated list ("ringdb,lmdb").
std::vector<std::string> split_list(const std::string& text);

/// Bytes of the regular files under `dir`, recursively.
std::uint64_t directory_bytes(const std::string& dir);

/// The adapters, one file each. `cache_bytes` is ringdb's page cache.
std::unique_ptr<KvEngine> make_ringdb_engine(std::uint64_t cache_bytes);
std::unique_ptr<KvEngine> make_lmdb_engine();
std::unique_ptr<KvEngine> make_rocksdb_engine();
std::unique_ptr<KvEngine> make_leveldb_engine();
/// `wal`: WAL with synchronous=FULL; otherwise the default rollback journal (also FULL).
std::unique_ptr<KvEngine> make_sqlite_engine(bool wal);
/// The adapter named "ringdb", "lmdb", "rocksdb", "leveldb", "sqlite-wal" or "sqlite-rj", or
/// null for any other name.
std::unique_ptr<KvEngine> make_named_engine(const std::string& name, std::uint64_t cache_bytes);

}  // namespace ringdb::bench
