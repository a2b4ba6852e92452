// kv_bench's RocksDB adapter. Default options (create_if_missing), durable writes with
// WriteOptions::sync = true (the WAL is synced on every write batch), one WriteBatch per
// transaction. Reads use a snapshot per call, as a read transaction would; each range scan
// opens an iterator, as redb's RocksDB adapter does. len() iterates (RocksDB has no exact
// count). Compaction is CompactRange over everything.

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string>

#include "peers/kv_peers.hpp"

namespace ringdb::bench {
namespace {

void check(const rocksdb::Status& status, const char* what) {
    if (!status.ok()) {
        throw KvError(std::string("rocksdb: ") + what + ": " + status.ToString());
    }
}

rocksdb::Slice slice_of(const unsigned char* data, std::size_t size) {
    return rocksdb::Slice(static_cast<const char*>(static_cast<const void*>(data)), size);
}

/// A snapshot released when the call ends.
class Snapshot {
public:
    explicit Snapshot(rocksdb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {}
    ~Snapshot() { db_->ReleaseSnapshot(snapshot_); }
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;
    rocksdb::ReadOptions options() const {
        rocksdb::ReadOptions read;
        read.snapshot = snapshot_;
        return read;
    }

private:
    rocksdb::DB* db_;
    const rocksdb::Snapshot* snapshot_;
};

class RocksdbEngine final : public KvEngine {
public:
    std::string name() const override { return "rocksdb"; }
    std::string version() const override {
        return std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
               std::to_string(ROCKSDB_PATCH);
    }

    void open(const std::string& dir) override {
        dir_ = dir;
        rocksdb::Options options;
        options.create_if_missing = true;
        rocksdb::DB* db = nullptr;
        check(rocksdb::DB::Open(options, dir, &db), "open");
        db_.reset(db);
    }

    void close() override {
        check(db_->Close(), "close");
        db_.reset();
    }

    void write(Wyrand& rng, std::uint64_t count, bool durable) override {
        rocksdb::WriteBatch batch;
        Pair pair;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            check(batch.Put(slice_of(pair.key.data(), pair.key.size()),
                            slice_of(pair.value.data(), pair.value.size())),
                  "put");
        }
        rocksdb::WriteOptions options;
        options.sync = durable;
        check(db_->Write(options, &batch), "write");
    }

    std::uint64_t len() override {
        Snapshot snapshot(db_.get());
        std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snapshot.options()));
        std::uint64_t count = 0;
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
            ++count;
        }
        check(it->status(), "iterate");
        return count;
    }

    std::uint64_t read(Wyrand& rng, std::uint64_t count) override {
        Snapshot snapshot(db_.get());
        rocksdb::ReadOptions options = snapshot.options();
        std::uint64_t found = 0;
        Pair pair;
        rocksdb::PinnableSlice value;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            value.Reset();
            rocksdb::Status status = db_->Get(options, db_->DefaultColumnFamily(),
                                              slice_of(pair.key.data(), pair.key.size()), &value);
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
        rocksdb::ReadOptions options = snapshot.options();
        std::uint64_t seen = 0;
        Pair pair;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
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
        rocksdb::WriteBatch batch;
        Pair pair;
        for (std::uint64_t i = 0; i < count; ++i) {
            pair.draw(rng);
            check(batch.Delete(slice_of(pair.key.data(), pair.key.size())), "delete");
        }
        rocksdb::WriteOptions options;
        options.sync = true;
        check(db_->Write(options, &batch), "write");
        return count;
    }

    std::optional<std::uint64_t> compact() override {
        rocksdb::CompactRangeOptions options;
        check(db_->CompactRange(options, nullptr, nullptr), "compact");
        return directory_bytes(dir_);
    }

private:
    std::string dir_;
    std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

std::unique_ptr<KvEngine> make_rocksdb_engine() { return std::make_unique<RocksdbEngine>(); }

}  // namespace ringdb::bench
