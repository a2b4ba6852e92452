// kv_bench's SQLite adapter, in two variants: WAL with synchronous=FULL ("sqlite-wal") and the
// default rollback journal with synchronous=FULL ("sqlite-rj"). One WITHOUT ROWID table
// (key BLOB PRIMARY KEY, value BLOB): the key is the B-tree key, as in the other engines.
// Otherwise default settings (page size, cache). Transactions are explicit BEGIN/COMMIT;
// nosync transactions run with synchronous=OFF. Every read()/range() call opens its own
// connection (SQLite connections are not shared between threads here) and reads inside one
// BEGIN/COMMIT, a snapshot. Compaction is VACUUM (then a truncating checkpoint in WAL mode).

#include <sqlite3.h>

#include <memory>
#include <string>

#include "peers/kv_peers.hpp"

namespace ringdb::bench {
namespace {

void check(sqlite3* db, int rc, const char* what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        throw KvError(std::string("sqlite: ") + what + ": " +
                      (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    }
}

/// A connection, closed with its owner.
class Connection {
public:
    explicit Connection(const std::string& path) {
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
        if (rc != SQLITE_OK) {
            sqlite3_close(db_);
            db_ = nullptr;
            check(nullptr, rc, "open");
        }
    }
    ~Connection() { sqlite3_close(db_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    sqlite3* get() const { return db_; }
    void exec(const char* sql) const {
        check(db_, sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), sql);
    }

private:
    sqlite3* db_ = nullptr;
};

/// A prepared statement, finalized with its owner.
class Statement {
public:
    Statement(sqlite3* db, const char* sql) : db_(db) {
        check(db, sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr), sql);
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    /// Binds a blob the caller keeps alive until the step (no copy: destructor nullptr).
    void bind(int index, const unsigned char* data, std::size_t size) {
        check(db_, sqlite3_bind_blob(stmt_, index, data, static_cast<int>(size), nullptr), "bind");
    }
    void bind_int(int index, int value) {
        check(db_, sqlite3_bind_int(stmt_, index, value), "bind");
    }
    /// Steps once: true for a row, false when done.
    bool step() {
        int rc = sqlite3_step(stmt_);
        check(db_, rc, "step");
        return rc == SQLITE_ROW;
    }
    void reset() { sqlite3_reset(stmt_); }
    sqlite3_stmt* get() const { return stmt_; }

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class SqliteEngine final : public KvEngine {
public:
    explicit SqliteEngine(bool wal) : wal_(wal) {}

    std::string name() const override { return wal_ ? "sqlite-wal" : "sqlite-rj"; }
    std::string version() const override { return sqlite3_libversion(); }

    void open(const std::string& dir) override {
        path_ = dir + "/kv.sqlite";
        main_ = std::make_unique<Connection>(path_);
        main_->exec(wal_ ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE");
        main_->exec("PRAGMA synchronous=FULL");
        main_->exec("CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) "
                    "WITHOUT ROWID");
    }

    void close() override { main_.reset(); }

    void write(Wyrand& rng, std::uint64_t count, bool durable) override {
        if (!durable) {
            main_->exec("PRAGMA synchronous=OFF");
        }
        main_->exec("BEGIN");
        {
            Statement insert(main_->get(), "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)");
            Pair pair;
            for (std::uint64_t i = 0; i < count; ++i) {
                pair.draw(rng);
                insert.bind(1, pair.key.data(), pair.key.size());
                insert.bind(2, pair.value.data(), pair.value.size());
                insert.step();
                insert.reset();
            }
        }
        main_->exec("COMMIT");
        if (!durable) {
            main_->exec("PRAGMA synchronous=FULL");
        }
    }

    std::uint64_t len() override {
        Statement count(main_->get(), "SELECT COUNT(*) FROM kv");
        count.step();
        return static_cast<std::uint64_t>(sqlite3_column_int64(count.get(), 0));
    }

    std::uint64_t read(Wyrand& rng, std::uint64_t count) override {
        Connection reader(path_);
        reader.exec("BEGIN");
        std::uint64_t found = 0;
        {
            Statement get(reader.get(), "SELECT value FROM kv WHERE key = ?");
            Pair pair;
            for (std::uint64_t i = 0; i < count; ++i) {
                pair.draw(rng);
                get.bind(1, pair.key.data(), pair.key.size());
                if (get.step()) {
                    const void* data = sqlite3_column_blob(get.get(), 0);
                    auto size = static_cast<std::size_t>(sqlite3_column_bytes(get.get(), 0));
                    found += pair.value_is(data, size) ? 1 : 0;
                }
                get.reset();
            }
        }
        reader.exec("COMMIT");
        return found;
    }

    std::uint64_t range(Wyrand& rng, std::uint64_t count, int width) override {
        Connection reader(path_);
        reader.exec("BEGIN");
        std::uint64_t seen = 0;
        {
            Statement scan(reader.get(),
                           "SELECT key, value FROM kv WHERE key >= ? ORDER BY key LIMIT ?");
            Pair pair;
            for (std::uint64_t i = 0; i < count; ++i) {
                pair.draw(rng);
                scan.bind(1, pair.key.data(), pair.key.size());
                scan.bind_int(2, width);
                while (scan.step()) {
                    ++seen;
                }
                scan.reset();
            }
        }
        reader.exec("COMMIT");
        return seen;
    }

    std::uint64_t remove(Wyrand& rng, std::uint64_t count) override {
        main_->exec("BEGIN");
        std::uint64_t removed = 0;
        {
            Statement del(main_->get(), "DELETE FROM kv WHERE key = ?");
            Pair pair;
            for (std::uint64_t i = 0; i < count; ++i) {
                pair.draw(rng);
                del.bind(1, pair.key.data(), pair.key.size());
                del.step();
                removed += static_cast<std::uint64_t>(sqlite3_changes(main_->get()));
                del.reset();
            }
        }
        main_->exec("COMMIT");
        return removed;
    }

    std::optional<std::uint64_t> compact() override {
        main_->exec("VACUUM");
        if (wal_) {
            main_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
        }
        return directory_bytes(path_.substr(0, path_.rfind('/')));
    }

private:
    bool wal_;
    std::string path_;
    std::unique_ptr<Connection> main_;
};

}  // namespace

std::unique_ptr<KvEngine> make_sqlite_engine(bool wal) {
    return std::make_unique<SqliteEngine>(wal);
}

}  // namespace ringdb::bench
