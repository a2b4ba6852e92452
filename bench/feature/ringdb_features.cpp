// feature_bench's ringdb side (see ringdb_features.hpp): the public API only. Every loop runs
// inside one coroutine started by one sync_wait, and the coroutines follow
// docs/coroutines.md: one co_await per statement bound to a named local, the merge operator
// hoisted into a named local, no co_await in a conditional expression.

#include "feature/ringdb_features.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include <ringdb/ringdb.hpp>

namespace ringdb::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr TableDefinition<std::uint64_t, std::uint64_t> kCounters("counters");
constexpr TableDefinition<std::uint64_t, SmallValue> kPairs("pairs");
using WideValue = std::array<std::uint8_t, kSmallValueBytes + 8>;
constexpr TableDefinition<std::uint64_t, WideValue> kWidePairs("wide_pairs");
constexpr TtlTableDefinition<std::uint64_t, SmallValue> kTtlPairs("ttl_pairs");
constexpr TableDefinition<std::uint64_t, ByteView> kDocs("docs");

// The TTL cells' clock: a fixed start (2026-01-01 00:00 UTC), moved on by the purge cell.
constexpr std::int64_t kClockStart = 1'767'225'600'000;
constexpr std::chrono::milliseconds kLongTtl{3'600'000};
constexpr std::chrono::milliseconds kShortTtl{1'000};
constexpr std::uint64_t kFullChecks = 1'000;

[[noreturn]] void raise(const char* what, const Error& error) {
    throw FeatureError(std::string("ringdb: ") + what + ": " + to_string(error));
}

void check(const char* what, const Status& status) {
    if (!status) {
        raise(what, status.error());
    }
}

template <class T>
T check(const char* what, Result<T> result) {
    if (!result) {
        raise(what, result.error());
    }
    return std::move(*result);
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

ByteView view_of(std::string_view text) { return std::as_bytes(std::span(text)); }

Task<Result<Database>> open_db(std::string path, DatabaseOptions options, bool create) {
    if (create) {
        auto created = co_await Database::create(std::move(path), std::move(options));
        co_return created;
    }
    auto opened = co_await Database::open(std::move(path), std::move(options));
    co_return opened;
}

Task<Status> close_db(Database* db) {
    Status closed = co_await db->close();
    co_return closed;
}

Task<Result<bool>> compact_db(Database* db) {
    auto moved = co_await db->compact();
    co_return moved;
}

/// An open database, closed by close() or (best effort, after an error) by the destructor.
class Session {
public:
    Session(const std::string& path, DatabaseOptions options, bool create)
        : db_(opened(path, ringdb::sync_wait(open_db(path, std::move(options), create)))) {}
    ~Session() {
        if (db_) {
            Status ignored = ringdb::sync_wait(close_db(&*db_));
            (void)ignored;
        }
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    Database* db() { return &*db_; }
    void close() {
        Status closed = ringdb::sync_wait(close_db(&*db_));
        db_.reset();
        check("close", closed);
    }

private:
    static Database opened(const std::string& path, Result<Database> db) {
        if (!db) {
            raise(("open " + path).c_str(), db.error());
        }
        return std::move(*db);
    }
    std::optional<Database> db_;
};

// ---- counters ----

Task<Status> merge_batch(Database* db, const std::uint32_t* keys, std::size_t count) {
    auto txn = co_await db->begin_write();
    if (!txn) {
        co_return txn.error();
    }
    txn->set_durability(Durability::none);
    auto table = co_await txn->open_table(kCounters);
    if (!table) {
        co_return table.error();
    }
    const MergeOperator add = MergeOperator::numeric_add();
    const std::uint64_t one = 1;
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t key = keys[i];
        Status merged = co_await table->merge_in(key, one, add);
        if (!merged) {
            co_return merged;
        }
    }
    Status committed = co_await txn->commit();
    co_return committed;
}

Task<Status> get_insert_batch(Database* db, const std::uint32_t* keys, std::size_t count) {
    auto txn = co_await db->begin_write();
    if (!txn) {
        co_return txn.error();
    }
    txn->set_durability(Durability::none);
    auto table = co_await txn->open_table(kCounters);
    if (!table) {
        co_return table.error();
    }
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t key = keys[i];
        std::uint64_t counter = 1;
        {
            auto got = co_await table->get(key);
            if (!got) {
                co_return got.error();
            }
            if (*got) {
                auto old = (*got)->value();
                if (!old) {
                    co_return old.error();
                }
                counter += *old;
            }
        }
        auto previous = co_await table->insert(key, counter);
        if (!previous) {
            co_return previous.error();
        }
    }
    Status committed = co_await txn->commit();
    co_return committed;
}

Task<Status> increment_all(Database* db, const CounterWork* work, bool by_hand) {
    const std::size_t total = work->keys.size();
    for (std::size_t start = 0; start < total; start += work->batch) {
        const std::size_t count = std::min<std::size_t>(work->batch, total - start);
        const std::uint32_t* keys = work->keys.data() + start;
        if (by_hand) {
            Status done = co_await get_insert_batch(db, keys, count);
            if (!done) {
                co_return done;
            }
        } else {
            Status done = co_await merge_batch(db, keys, count);
            if (!done) {
                co_return done;
            }
        }
    }
    co_return ok();
}

/// Reads every counter; returns how many differ from work->expected, and their total in
/// `total`.
Task<Result<std::uint64_t>> read_counters(Database* db, const CounterWork* work,
                                          std::uint64_t* total) {
    auto txn = db->begin_read();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kCounters);
    if (!table) {
        co_return table.error();
    }
    std::uint64_t wrong = 0;
    for (std::size_t k = 0; k < work->expected.size(); ++k) {
        const std::uint64_t key = k;
        auto got = co_await table->get(key);
        if (!got) {
            co_return got.error();
        }
        std::uint64_t counter = 0;
        if (*got) {
            auto value = (*got)->value();
            if (!value) {
                co_return value.error();
            }
            counter = *value;
        }
        *total += counter;
        wrong += counter != work->expected[k] ? 1 : 0;
    }
    co_return wrong;
}

// ---- TTL and plain pairs ----

// The same pairs as insert_batch's plain branch, each value padded to a TTL entry's size.
Task<Status> insert_wide(WriteTransaction& txn, std::uint64_t first, std::uint64_t count) {
    auto table = co_await txn.open_table(kWidePairs);
    if (!table) {
        co_return table.error();
    }
    for (std::uint64_t i = first; i < first + count; ++i) {
        const std::uint64_t key = scattered_key(i);
        const SmallValue small = small_value(i);
        WideValue value{};
        std::copy(small.begin(), small.end(), value.begin());
        auto previous = co_await table->insert(key, value);
        if (!previous) {
            co_return previous.error();
        }
    }
    co_return ok();
}

Task<Status> insert_batch(Database* db, std::uint64_t first, std::uint64_t count,
                          std::optional<std::chrono::milliseconds> ttl, bool wide = false) {
    auto txn = co_await db->begin_write();
    if (!txn) {
        co_return txn.error();
    }
    if (wide) {
        Status done = co_await insert_wide(*txn, first, count);
        if (!done) {
            co_return done;
        }
    } else if (ttl) {
        auto table = co_await txn->open_ttl_table(kTtlPairs);
        if (!table) {
            co_return table.error();
        }
        for (std::uint64_t i = first; i < first + count; ++i) {
            const std::uint64_t key = scattered_key(i);
            const SmallValue value = small_value(i);
            auto previous = co_await table->insert_with_ttl(key, value, *ttl);
            if (!previous) {
                co_return previous.error();
            }
        }
    } else {
        auto table = co_await txn->open_table(kPairs);
        if (!table) {
            co_return table.error();
        }
        for (std::uint64_t i = first; i < first + count; ++i) {
            const std::uint64_t key = scattered_key(i);
            const SmallValue value = small_value(i);
            auto previous = co_await table->insert(key, value);
            if (!previous) {
                co_return previous.error();
            }
        }
    }
    Status committed = co_await txn->commit();
    co_return committed;
}

Task<Status> insert_all(Database* db, std::uint64_t count, std::uint64_t batch,
                        std::optional<std::chrono::milliseconds> ttl, bool wide = false) {
    for (std::uint64_t first = 0; first < count; first += batch) {
        Status done =
                co_await insert_batch(db, first, std::min(batch, count - first), ttl, wide);
        if (!done) {
            co_return done;
        }
    }
    co_return ok();
}

Task<Result<std::uint64_t>> purge_all(Database* db) {
    auto txn = co_await db->begin_write();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_ttl_table(kTtlPairs);
    if (!table) {
        co_return table.error();
    }
    auto purged = co_await table->purge_expired();
    if (!purged) {
        co_return purged.error();
    }
    Status committed = co_await txn->commit();
    if (!committed) {
        co_return committed.error();
    }
    co_return *purged;
}

Task<Result<std::uint64_t>> remove_all(Database* db, const std::vector<std::uint64_t>* keys) {
    auto txn = co_await db->begin_write();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kPairs);
    if (!table) {
        co_return table.error();
    }
    std::uint64_t removed = 0;
    for (const std::uint64_t key : *keys) {
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

DatabaseOptions clocked_options(const std::shared_ptr<std::atomic<std::int64_t>>& now) {
    DatabaseOptions options;
    options.clock = [now] { return now->load(std::memory_order_relaxed); };
    return options;
}

// ---- compressed values ----

Task<Status> load_values(Database* db, const ValueSet* values, std::uint64_t batch) {
    const std::uint64_t count = values->count();
    for (std::uint64_t first = 0; first < count; first += batch) {
        auto txn = co_await db->begin_write();
        if (!txn) {
            co_return txn.error();
        }
        const std::uint64_t end = std::min(first + batch, count);
        txn->set_durability(end == count ? Durability::immediate : Durability::none);
        auto table = co_await txn->open_table(kDocs);
        if (!table) {
            co_return table.error();
        }
        for (std::uint64_t key = first; key < end; ++key) {
            const ByteView value = view_of(values->value(key));
            auto previous = co_await table->insert(key, value);
            if (!previous) {
                co_return previous.error();
            }
        }
        Status committed = co_await txn->commit();
        if (!committed) {
            co_return committed;
        }
    }
    co_return ok();
}

/// What a pass of point reads saw: values found, values of the wrong size, and (when a full
/// check was asked) values whose bytes differ from the ValueSet's.
struct ReadTally {
    std::uint64_t found = 0;
    std::uint64_t wrong_size = 0;
    std::uint64_t wrong_bytes = 0;
    std::uint64_t touched = 0;  // a sum over the bytes read, so the reads are not optimised out
};

Task<Status> read_values(Database* db, const ValueSet* values,
                         const std::vector<std::uint64_t>* keys, std::uint64_t full_checks,
                         ReadTally* tally) {
    auto txn = db->begin_read();
    if (!txn) {
        co_return txn.error();
    }
    auto table = co_await txn->open_table(kDocs);
    if (!table) {
        co_return table.error();
    }
    const std::uint64_t checks = std::min<std::uint64_t>(full_checks, keys->size());
    for (std::size_t i = 0; i < keys->size(); ++i) {
        const std::uint64_t key = (*keys)[i];
        auto got = co_await table->get(key);
        if (!got) {
            co_return got.error();
        }
        if (!*got) {
            continue;
        }
        const ByteView bytes = (*got)->bytes();
        ++tally->found;
        tally->wrong_size += bytes.size() != kValueBytes ? 1 : 0;
        tally->touched += bytes.empty() ? 0 : static_cast<std::uint64_t>(bytes.back());
        if (i < checks) {
            std::string_view expected = values->value(key);
            bool same = bytes.size() == expected.size() &&
                        std::memcmp(bytes.data(), expected.data(), expected.size()) == 0;
            tally->wrong_bytes += same ? 0 : 1;
        }
    }
    co_return ok();
}

void expect_tally(const ReadTally& tally, std::uint64_t reads) {
    if (tally.found != reads || tally.wrong_size != 0 || tally.wrong_bytes != 0) {
        throw FeatureError("ringdb: point reads: found " + std::to_string(tally.found) + " of " +
                           std::to_string(reads) + ", " + std::to_string(tally.wrong_size) +
                           " of the wrong size, " + std::to_string(tally.wrong_bytes) +
                           " with other bytes than written");
    }
}

}  // namespace

CounterTimes ringdb_counters(const std::string& path, const CounterWork& work, bool by_hand) {
    Session session(path, DatabaseOptions{}, true);
    CounterTimes times;
    auto start = Clock::now();
    check("increments", ringdb::sync_wait(increment_all(session.db(), &work, by_hand)));
    times.increments = seconds_since(start);
    std::uint64_t total = 0;
    start = Clock::now();
    std::uint64_t wrong =
            check("read back", ringdb::sync_wait(read_counters(session.db(), &work, &total)));
    times.read_back = seconds_since(start);
    session.close();
    if (wrong != 0 || total != work.keys.size()) {
        throw FeatureError("ringdb: counters (" + std::string(by_hand ? "get+insert" : "merge") +
                           "): " + std::to_string(wrong) + " counters wrong, total " +
                           std::to_string(total) + " instead of " +
                           std::to_string(work.keys.size()));
    }
    return times;
}

double ringdb_insert_pairs(const std::string& path, std::uint64_t count, std::uint64_t batch,
                           PairKind kind) {
    auto now = std::make_shared<std::atomic<std::int64_t>>(kClockStart);
    Session session(path, clocked_options(now), true);
    std::optional<std::chrono::milliseconds> lifetime;
    if (kind == PairKind::ttl) {
        lifetime = kLongTtl;
    }
    const bool wide = kind == PairKind::plain_wide;
    auto start = Clock::now();
    check("insert", ringdb::sync_wait(insert_all(session.db(), count, batch, lifetime, wide)));
    double seconds = seconds_since(start);
    session.close();
    return seconds;
}

double ringdb_purge_expired(const std::string& path, std::uint64_t count, std::uint64_t batch) {
    auto now = std::make_shared<std::atomic<std::int64_t>>(kClockStart);
    Session session(path, clocked_options(now), true);
    std::optional<std::chrono::milliseconds> lifetime = kShortTtl;
    check("fill", ringdb::sync_wait(insert_all(session.db(), count, batch, lifetime)));
    now->store(kClockStart + 2 * kShortTtl.count(), std::memory_order_relaxed);
    auto start = Clock::now();
    std::uint64_t purged = check("purge_expired", ringdb::sync_wait(purge_all(session.db())));
    double seconds = seconds_since(start);
    session.close();
    if (purged != count) {
        throw FeatureError("ringdb: purge_expired removed " + std::to_string(purged) + " of " +
                           std::to_string(count) + " expired entries");
    }
    return seconds;
}

double ringdb_remove_each(const std::string& path, std::uint64_t count, std::uint64_t batch) {
    std::vector<std::uint64_t> keys;
    keys.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
        keys.push_back(scattered_key(i));
    }
    std::sort(keys.begin(), keys.end());
    Session session(path, DatabaseOptions{}, true);
    std::optional<std::chrono::milliseconds> plain;
    check("fill", ringdb::sync_wait(insert_all(session.db(), count, batch, plain)));
    auto start = Clock::now();
    std::uint64_t removed = check("remove", ringdb::sync_wait(remove_all(session.db(), &keys)));
    double seconds = seconds_since(start);
    session.close();
    if (removed != count) {
        throw FeatureError("ringdb: remove found " + std::to_string(removed) + " of " +
                           std::to_string(count) + " keys");
    }
    return seconds;
}

BuildResult ringdb_build_values(const std::string& path, const Compression& compression,
                                const ValueSet& values, std::uint64_t batch) {
    DatabaseOptions options;
    options.compression = compression;
    Session session(path, options, true);
    BuildResult result;
    auto start = Clock::now();
    check("load", ringdb::sync_wait(load_values(session.db(), &values, batch)));
    result.ingest = seconds_since(start);
    start = Clock::now();
    check("compact", ringdb::sync_wait(compact_db(session.db())));
    result.compact = seconds_since(start);
    session.close();
    std::error_code ec;
    result.bytes = std::filesystem::file_size(path, ec);
    if (ec) {
        throw FeatureError("ringdb: size of " + path + ": " + ec.message());
    }
    return result;
}

double ringdb_read_values(const std::string& path, std::uint64_t cache_bytes,
                          const ValueSet& values, const std::vector<std::uint64_t>& keys) {
    DatabaseOptions options;
    options.cache_size = cache_bytes;
    Session session(path, options, false);
    ReadTally warm;
    check("warm-up reads", ringdb::sync_wait(read_values(session.db(), &values, &keys,
                                                         kFullChecks, &warm)));
    expect_tally(warm, keys.size());
    ReadTally timed;
    auto start = Clock::now();
    check("reads", ringdb::sync_wait(read_values(session.db(), &values, &keys, 0, &timed)));
    double seconds = seconds_since(start);
    session.close();
    expect_tally(timed, keys.size());
    return seconds;
}

}  // namespace ringdb::bench
