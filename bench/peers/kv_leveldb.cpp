// kv_bench's LevelDB adapter, the twin of kv_rocksdb.cpp. Default options (create_if_missing),
// durable writes with WriteOptions::sync = true (the log is synced on every write batch), one
// WriteBatch per transaction. Reads use a snapshot per call, as a read transaction would; each
// range scan opens an iterator. len() iterates (LevelDB has no exact count). Compaction is
// CompactRange over everything.

#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <memory>
#include <string>

#include "peers/kv_peers.hpp"

namespace ringdb::bench {
namespace {

void check(const leveldb::Status& status, const char* what) {
    if (!status.ok()) {
        throw KvError(std::string("leveldb: ") + what + ": " + status.ToString());
    }
}

leveldb::Slice slice_of(const unsigned char* data, std::size_t size) {
    return leveldb::Slice(static_cast<const char*>(static_cast<const void*>(data)), size);
}

/// A snapshot released when the call ends.
class Snapshot {
public:
    explicit Snapshot(leveldb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {}
    ~Snapshot() { db_->ReleaseSnapshot(snapshot_); }
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;
    leveldb::ReadOptions options() const {
        leveldb::ReadOptions read;
        read.snapshot = snapshot_;
        return read;
    }

private:
    leveldb::DB* db_;
    const leveldb::Snapshot* snapshot_;
};

class LeveldbEngine final : public KvEngine {
public:
    std::string name() const override { return "leveldb"; }
    std::string version() const override {
        return std::to_string(leveldb::kMajorVersion) + "." +
               std::to_string(leveldb::kMinorVersion);
    }

    void open(const std::string& dir) override {
        dir_ = dir;
        leveldb::Options options;
        options.create_if_missing = true;
        leveldb::DB* db = nullptr;
        check(leveldb::DB::Open(options, dir, &db), "open");
        db_.reset(db);
    }

    void close() override {
        db_.reset();  // LevelDB closes in its destructor
    }

    void write(Wyrand& rng, std::uint64_t count, bool durable) override {
        leveldb::WriteBatch batch;
        Pair pair;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            batch.Put(slice_of(pair.key.data(), pair.key.size()),
                      slice_of(pair.value.data(), pair.value.size()));
        }
        leveldb::WriteOptions options;
        options.sync = durable;
        check(db_->Write(options, &batch), "write");
    }

    std::uint64_t len() override {
        Snapshot snapshot(db_.get());
        std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(snapshot.options()));
        std::uint64_t count = 0;
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
            ++count;
        }
        check(it->status(), "iterate");
        return count;
    }

    std::uint64_t read(Wyrand& rng, std::uint64_t count) override {
        Snapshot snapshot(db_.get());
        leveldb::ReadOptions options = snapshot.options();
        std::uint64_t found = 0;
        Pair pair;
        std::string value;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            leveldb::Status status =
                    db_->Get(options, slice_of(pair.key.data(), pair.key.size()), &value);
            if (status.IsNotFound()) {
                continue;
            }
            check(status, "get");
            found += pair.value_is(value.data(), value.size()) ? 1 : 0;
        }
        return found;
    }

    std::uint64_t range(Wyrand& rng, std::uint64_t count, int width) override {
        Snapshot snapshot(db_.get());
        leveldb::ReadOptions options = snapshot.options();
        std::uint64_t seen = 0;
        Pair pair;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(options));
            it->Seek(slice_of(pair.key.data(), pair.key.size()));
            for (int j = 0; j < width && it->Valid(); ++j) {
                ++seen;
                it->Next();
            }
            check(it->status(), "iterate");
        }
        return seen;
    }

    std::uint64_t remove(Wyrand& rng, std::uint64_t count) override {
        // A blind delete cannot say whether the key existed; the count asked is reported.
        leveldb::WriteBatch batch;
        Pair pair;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            batch.Delete(slice_of(pair.key.data(), pair.key.size()));
        }
        leveldb::WriteOptions options;
        options.sync = true;
        check(db_->Write(options, &batch), "write");
        return count;
    }

    std::optional<std::uint64_t> compact() override {
        db_->CompactRange(nullptr, nullptr);
        return directory_bytes(dir_);
    }

private:
    std::string dir_;
    std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

std::unique_ptr<KvEngine> make_leveldb_engine() { return std::make_unique<LeveldbEngine>(); }

}  // namespace ringdb::bench
