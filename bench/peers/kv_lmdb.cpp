// kv_bench's LMDB adapter. Default environment flags (durable commits: LMDB syncs the data
// and the meta page on every commit), a 64 GiB map (sparse; only the used part is in the file)
// and one unnamed database. Nosync transactions switch MDB_NOSYNC on for their commit only.
// Compaction is mdb_env_copy2 with MDB_CP_COMPACT into a sibling directory, whose size is the
// compacted size (LMDB never shrinks its own file).

#include <lmdb.h>

#include <filesystem>
#include <string>

#include "peers/kv_peers.hpp"

namespace ringdb::bench {
namespace {

void check(int rc, const char* what) {
    if (rc != MDB_SUCCESS) {
        throw KvError(std::string("lmdb: ") + what + ": " + mdb_strerror(rc));
    }
}

MDB_val val_of(const unsigned char* data, std::size_t size) {
    MDB_val v;
    v.mv_size = size;
    v.mv_data = const_cast<unsigned char*>(data);  // LMDB's API is not const-correct
    return v;
}

/// Aborts a transaction that an exception leaves behind.
class Txn {
public:
    Txn(MDB_env* env, unsigned flags) { check(mdb_txn_begin(env, nullptr, flags, &txn_), "begin"); }
    ~Txn() {
        if (txn_ != nullptr) {
            mdb_txn_abort(txn_);
        }
    }
    Txn(const Txn&) = delete;
    Txn& operator=(const Txn&) = delete;
    MDB_txn* get() const { return txn_; }
    void commit() {
        MDB_txn* txn = txn_;
        txn_ = nullptr;
        check(mdb_txn_commit(txn), "commit");
    }

private:
    MDB_txn* txn_ = nullptr;
};

class LmdbEngine final : public KvEngine {
public:
    ~LmdbEngine() override {
        if (env_ != nullptr) {
            mdb_env_close(env_);
        }
    }

    std::string name() const override { return "lmdb"; }
    std::string version() const override { return mdb_version(nullptr, nullptr, nullptr); }

    void open(const std::string& dir) override {
        dir_ = dir;
        check(mdb_env_create(&env_), "env_create");
        check(mdb_env_set_mapsize(env_, std::size_t{64} << 30), "set_mapsize");
        check(mdb_env_open(env_, dir.c_str(), 0, 0644), "env_open");
        Txn txn(env_, 0);
        check(mdb_dbi_open(txn.get(), nullptr, 0, &dbi_), "dbi_open");
        txn.commit();
    }

    void close() override {
        mdb_env_close(env_);
        env_ = nullptr;
    }

    void write(Wyrand& rng, std::uint64_t count, bool durable) override {
        if (!durable) {
            check(mdb_env_set_flags(env_, MDB_NOSYNC, 1), "set_flags");
        }
        Txn txn(env_, 0);
        Pair pair;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            MDB_val key = val_of(pair.key.data(), pair.key.size());
            MDB_val value = val_of(pair.value.data(), pair.value.size());
            check(mdb_put(txn.get(), dbi_, &key, &value, 0), "put");
        }
        txn.commit();
        if (!durable) {
            check(mdb_env_set_flags(env_, MDB_NOSYNC, 0), "set_flags");
        }
    }

    std::uint64_t len() override {
        Txn txn(env_, MDB_RDONLY);
        MDB_stat stat;
        check(mdb_stat(txn.get(), dbi_, &stat), "stat");
        return stat.ms_entries;
    }

    std::uint64_t read(Wyrand& rng, std::uint64_t count) override {
        Txn txn(env_, MDB_RDONLY);
        std::uint64_t found = 0;
        Pair pair;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            MDB_val key = val_of(pair.key.data(), pair.key.size());
            MDB_val value;
            int rc = mdb_get(txn.get(), dbi_, &key, &value);
            if (rc == MDB_NOTFOUND) {
                continue;
            }
            check(rc, "get");
            found += pair.value_is(value.mv_data, value.mv_size) ? 1 : 0;
        }
        return found;
    }

    std::uint64_t range(Wyrand& rng, std::uint64_t count, int width) override {
        Txn txn(env_, MDB_RDONLY);
        MDB_cursor* cursor = nullptr;
        check(mdb_cursor_open(txn.get(), dbi_, &cursor), "cursor_open");
        std::uint64_t seen = 0;
        Pair pair;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            MDB_val key = val_of(pair.key.data(), pair.key.size());
            MDB_val value;
            int rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
            for (int j = 0; j < width && rc == MDB_SUCCESS; ++j) {
                ++seen;
                rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
            }
            if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
                mdb_cursor_close(cursor);
                check(rc, "cursor_get");
            }
        }
        mdb_cursor_close(cursor);
        return seen;
    }

    std::uint64_t remove(Wyrand& rng, std::uint64_t count) override {
        Txn txn(env_, 0);
        std::uint64_t removed = 0;
        Pair pair;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            MDB_val key = val_of(pair.key.data(), pair.key.size());
            int rc = mdb_del(txn.get(), dbi_, &key, nullptr);
            if (rc == MDB_NOTFOUND) {
                continue;
            }
            check(rc, "del");
            ++removed;
        }
        txn.commit();
        return removed;
    }

    std::optional<std::uint64_t> compact() override {
        std::string copy = dir_ + ".compact";
        std::filesystem::create_directories(copy);
        check(mdb_env_copy2(env_, copy.c_str(), MDB_CP_COMPACT), "env_copy2");
        std::uint64_t bytes = directory_bytes(copy);
        std::filesystem::remove_all(copy);
        return bytes;
    }

private:
    std::string dir_;
    MDB_env* env_ = nullptr;
    MDB_dbi dbi_ = 0;
};

}  // namespace

std::unique_ptr<KvEngine> make_lmdb_engine() { return std::make_unique<LmdbEngine>(); }

}  // namespace ringdb::bench
