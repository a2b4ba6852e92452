// kv_bench's ringdb adapter: the public API only, driven from plain threads with sync_wait.
//
// Table type: ByteView -> ByteView ("&[u8]" to "&[u8]"), as redb's benchmark uses &[u8] keys
// and values. Options: the defaults, except the page cache size given on the command line.
// Each KvEngine call is one sync_wait of one coroutine on the calling thread; the threaded
// reads call read() from several std::threads at once, each with its own ReadTransaction (and
// its own io_uring, created by the runtime on the thread's first I/O).

#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include <ringdb/ringdb.hpp>

#include "peers/kv_peers.hpp"

namespace ringdb::bench {
namespace {

constexpr TableDefinition<ByteView, ByteView> kTable("kv");

ByteView view_of(const unsigned char* data, std::size_t size) {
    return std::as_bytes(std::span<const unsigned char>(data, size));
}

[[noreturn]] void raise(const char* what, const Error& error) {
    throw KvError(std::string("ringdb: ") + what + ": " + to_string(error));
}

Task<Result<Database>> create_db(std::string path, DatabaseOptions options) {
    auto db = co_await Database::create(std::move(path), std::move(options));
    co_return db;
}

Task<Status> close_db(Database* db) {
    Status closed = co_await db->close();
    co_return closed;
}

// Database::compact needs exclusive use: no read transaction may be live, and the harness
// holds none between calls (every ReadTransaction lives inside one of these coroutines).
Task<Result<bool>> compact_db(Database* db) {
    auto moved = co_await db->compact();
    co_return moved;
}

Task<Status> write_pairs(Database* db, Wyrand* rng, std::uint64_t count, bool durable) {
    auto txn = co_await db->begin_write();
    if (!txn) {
        co_return txn.error();
    }
    if (!durable) {
        txn->set_durability(Durability::none);
    }
    auto table = co_await txn->open_table(kTable);
    if (!table) {
        co_return table.error();
    }
    Pair pair;
    for (std::uint64_t i = 0; i < count; ++i) {
        pair.draw(*rng);
        ByteView key = view_of(pair.key.data(), pair.key.size());
        ByteView value = view_of(pair.value.data(), pair.value.size());
        auto inserted = co_await table->insert(key, value);
        if (!inserted) {
            co_return inserted.error();
        }
    }
    Status committed = co_await txn->commit();
    co_return committed;
}

Task<Result<std::uint64_t>> count_entries(Database* db) {
    auto txn = db->begin_read();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kTable);
    if (!table) {
        co_return table.error();
    }
    co_return table->len();
}

Task<Result<std::uint64_t>> read_pairs(Database* db, Wyrand* rng, std::uint64_t count) {
    auto txn = db->begin_read();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kTable);
    if (!table) {
        co_return table.error();
    }
    std::uint64_t found = 0;
    Pair pair;
    for (std::uint64_t i = 0; i < count; ++i) {
        pair.draw(*rng);
        ByteView key = view_of(pair.key.data(), pair.key.size());
        auto got = co_await table->get(key);
        if (!got) {
            co_return got.error();
        }
        if (*got && pair.value_is((*got)->bytes().data(), (*got)->bytes().size())) {
            ++found;
        }
    }
    co_return found;
}

Task<Result<std::uint64_t>> scan_pairs(Database* db, Wyrand* rng, std::uint64_t count,
                                       int width) {
    auto txn = db->begin_read();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kTable);
    if (!table) {
        co_return table.error();
    }
    std::uint64_t seen = 0;
    Pair pair;
    for (std::uint64_t i = 0; i < count; ++i) {
        pair.draw(*rng);
        ByteView key = view_of(pair.key.data(), pair.key.size());
        auto lower = Bound<ByteView>::included(key);
        auto upper = Bound<ByteView>::unbounded();
        auto range = table->range(lower, upper);
        if (!range) {
            co_return range.error();
        }
        for (int j = 0; j < width; ++j) {
            auto entry = co_await range->next();
            if (!entry) {
                co_return entry.error();
            }
            if (!*entry) {
                break;
            }
            ++seen;
        }
    }
    co_return seen;
}

Task<Result<std::uint64_t>> remove_pairs(Database* db, Wyrand* rng, std::uint64_t count) {
    auto txn = co_await db->begin_write();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kTable);
    if (!table) {
        co_return table.error();
    }
    std::uint64_t removed = 0;
    Pair pair;
    for (std::uint64_t i = 0; i < count; ++i) {
        pair.draw(*rng);
        ByteView key = view_of(pair.key.data(), pair.key.size());
        auto old = co_await table->remove(key);
        if (!old) {
            co_return old.error();
        }
        removed += *old ? 1 : 0;
    }
    Status committed = co_await txn->commit();
    if (!committed) {
        co_return committed.error();
    }
    co_return removed;
}

class RingdbEngine final : public KvEngine {
public:
    explicit RingdbEngine(std::uint64_t cache_bytes) : cache_bytes_(cache_bytes) {}
    ~RingdbEngine() override {
        if (db_) {
            // Best effort: an exception elsewhere left it open; the directory goes away anyway.
            Status ignored = ringdb::sync_wait(close_db(&*db_));
            (void)ignored;
        }
    }

    std::string name() const override { return "ringdb"; }
    std::string version() const override { return "this tree"; }

    void open(const std::string& dir) override {
        path_ = (std::filesystem::path(dir) / "kv.ringdb").string();
        DatabaseOptions options;
        options.cache_size = cache_bytes_;
        auto db = ringdb::sync_wait(create_db(path_, options));
        if (!db) {
            raise("create", db.error());
        }
        db_.emplace(std::move(*db));
    }

    void close() override {
        Status closed = ringdb::sync_wait(close_db(&*db_));
        db_.reset();
        if (!closed) {
            raise("close", closed.error());
        }
    }

    void write(Wyrand& rng, std::uint64_t count, bool durable) override {
        Status written = ringdb::sync_wait(write_pairs(&*db_, &rng, count, durable));
        if (!written) {
            raise("write", written.error());
        }
    }

    std::uint64_t len() override { return check("len", ringdb::sync_wait(count_entries(&*db_))); }

    std::uint64_t read(Wyrand& rng, std::uint64_t count) override {
        return check("read", ringdb::sync_wait(read_pairs(&*db_, &rng, count)));
    }

    std::uint64_t range(Wyrand& rng, std::uint64_t count, int width) override {
        return check("range", ringdb::sync_wait(scan_pairs(&*db_, &rng, count, width)));
    }

    std::uint64_t remove(Wyrand& rng, std::uint64_t count) override {
        return check("remove", ringdb::sync_wait(remove_pairs(&*db_, &rng, count)));
    }

    // Compacts in place and returns the file size afterwards (the file is trimmed by the
    // last of compact()'s commits, so the size on disk is the compacted size).
    std::optional<std::uint64_t> compact() override {
        auto moved = ringdb::sync_wait(compact_db(&*db_));
        if (!moved) {
            raise("compact", moved.error());
        }
        std::error_code ec;
        std::uint64_t size = std::filesystem::file_size(path_, ec);
        if (ec) {
            throw KvError("ringdb: compact: size of " + path_ + ": " + ec.message());
        }
        return size;
    }

private:
    static std::uint64_t check(const char* what, const Result<std::uint64_t>& result) {
        if (!result) {
            raise(what, result.error());
        }
        return *result;
    }

    std::uint64_t cache_bytes_;
    std::string path_;
    std::optional<Database> db_;
};

}  // namespace

std::unique_ptr<KvEngine> make_ringdb_engine(std::uint64_t cache_bytes) {
    return std::make_unique<RingdbEngine>(cache_bytes);
}

}  // namespace ringdb::bench
