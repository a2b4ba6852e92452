// The seeded workload and the recovery checks described in sim_workload.hpp.

#include "sim_workload.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

namespace ringdb::test {

namespace {

using NumbersTable = Table<std::uint64_t, std::string>;
using NamesTable = Table<std::string, std::uint64_t>;
using TtlNotes = TtlTable<std::uint64_t, std::string>;

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h;
}

std::uint64_t hash_text(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : s) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    return h;
}

bool typed_failure(const Error& error) {
    return error.code == Errc::io || error.code == Errc::no_space ||
           error.code == Errc::previous_io;
}

// A range bound of the model: 0 unbounded, 1 included, 2 excluded.
template <class K>
struct ModelBound {
    int kind = 0;
    K key{};

    Bound<K> bound() const {
        if (kind == 1) {
            return Bound<K>::included(key);
        }
        if (kind == 2) {
            return Bound<K>::excluded(key);
        }
        return Bound<K>::unbounded();
    }
    bool admits_from_below(const K& k) const {  // as a lower bound
        return kind == 0 || (kind == 1 ? !(k < key) : key < k);
    }
    bool admits_from_above(const K& k) const {  // as an upper bound
        return kind == 0 || (kind == 1 ? !(key < k) : k < key);
    }
};

template <class K, class V>
std::uint64_t model_drain(std::map<K, V>& map, const ModelBound<K>& lower,
                          const ModelBound<K>& upper) {
    std::uint64_t removed = 0;
    for (auto it = map.begin(); it != map.end();) {
        if (lower.admits_from_below(it->first) && upper.admits_from_above(it->first)) {
            it = map.erase(it);
            ++removed;
        } else {
            ++it;
        }
    }
    return removed;
}

class Runner {
public:
    Runner(std::shared_ptr<io::SimDevice> sim, const WorkloadOptions& options)
        : sim_(std::move(sim)), options_(options), rng_(options.seed) {
        result_.commits.push_back(DbState{});
    }

    WorkloadResult run(bool close_at_end) {
        sim_->set_latency(options_.latency);
        WorkloadResult result = run_all(close_at_end);
        sim_->set_latency(0);
        return result;
    }

private:
    WorkloadResult run_all(bool close_at_end) {
        auto opened = open_sim(sim_, true, compression_for(options_.seed),
                               options_.checkpoint_bytes);
        if (!opened) {
            note_error(opened.error(), "create");
            return std::move(result_);
        }
        db_.emplace(std::move(*opened));
        result_.created = true;
        for (int t = 0; t < options_.transactions && !stopped_; ++t) {
            run_transaction();
            if (!stopped_ && rng_() % 10 == 0) {
                close_and_reopen(true);
            }
        }
        if (!stopped_) {
            result_.finished = true;
            if (close_at_end) {
                close_and_reopen(false);
            }
        }
        result_.open_at_end = db_.has_value();
        db_.reset();
        return std::move(result_);
    }

    // Records an error; returns true when the workload must stop.
    bool note_error(const Error& error, const char* where) {
        if (!typed_failure(error)) {
            violate(std::string("untyped error from ") + where + ": " + to_string(error));
        }
        if (!result_.first_error) {
            result_.first_error = error;
        }
        if (!options_.keep_going || sim_->poisoned()) {
            stopped_ = true;
        }
        return stopped_;
    }

    void violate(std::string what) {
        if (result_.violation.empty()) {
            result_.violation = std::move(what);
        }
        stopped_ = true;
    }

    std::string value_for(std::uint64_t key) {
        std::uint64_t size = rng_() % 8 == 0 ? 300 + rng_() % 1400 : rng_() % 40;
        std::string value(size, '\0');
        std::uint64_t salt = rng_();
        for (std::size_t i = 0; i < value.size(); ++i) {
            value[i] = static_cast<char>('a' + (key + salt + i * 7) % 26);
        }
        return value;
    }

    std::string name_key() {
        std::uint64_t n = rng_() % 200;
        std::string key = "k" + std::to_string(n);
        if (n % 17 == 0) {
            key.append(150 + n, static_cast<char>('A' + n % 26));  // long keys
        }
        return key;
    }

    template <class K>
    ModelBound<K> random_bound(const K& key) {
        ModelBound<K> bound;
        bound.kind = static_cast<int>(rng_() % 3);
        bound.key = key;
        return bound;
    }

    // Each step returns false when the transaction must end (an error was noted).
    bool step_numbers(WriteTransaction& txn, std::optional<NumbersTable>& table, DbState& work);
    bool step_names(WriteTransaction& txn, std::optional<NamesTable>& table, DbState& work);
    bool step_ttl(WriteTransaction& txn, std::optional<TtlNotes>& table, DbState& work);
    bool merge_number(NumbersTable& table, std::uint64_t key, DbState& work);
    bool merge_name(NamesTable& table, const std::string& key, DbState& work);
    void run_transaction();
    void finish_transaction(WriteTransaction& txn, DbState& work);
    void close_and_reopen(bool reopen);

    std::shared_ptr<io::SimDevice> sim_;
    WorkloadOptions options_;
    std::mt19937_64 rng_;
    WorkloadResult result_;
    std::optional<Database> db_;
    DbState model_;  // the latest successful commit
    bool stopped_ = false;
};

bool Runner::step_numbers(WriteTransaction& txn, std::optional<NumbersTable>& table,
                          DbState& work) {
    if (!table) {
        auto opened = sync_wait(txn.open_table(kNumbersTable));
        if (!opened) {
            note_error(opened.error(), "open_table numbers");
            return false;
        }
        table.emplace(std::move(*opened));
        work.has_numbers = true;
    }
    std::uint64_t choice = rng_() % 10;
    std::uint64_t key = rng_() % 300;
    if (choice == 0) {
        if (!merge_number(*table, key, work)) {
            return false;
        }
    } else if (choice < 6) {
        std::string value = value_for(key);
        auto previous = sync_wait(table->insert(key, value));
        if (!previous) {
            note_error(previous.error(), "insert numbers");
            return false;
        }
        auto it = work.numbers.find(key);
        bool expected = it != work.numbers.end();
        if (previous->has_value() != expected ||
            (expected && (*previous)->value().value_or("?") != it->second)) {
            violate("insert returned the wrong previous value for " + std::to_string(key));
            return false;
        }
        work.numbers[key] = value;
    } else if (choice < 9) {
        auto removed = sync_wait(table->remove(key));
        if (!removed) {
            note_error(removed.error(), "remove numbers");
            return false;
        }
        if (removed->has_value() != (work.numbers.erase(key) == 1)) {
            violate("remove disagreed with the model for " + std::to_string(key));
            return false;
        }
    } else {
        std::uint64_t high = key + rng_() % 40;
        auto lower = random_bound(key);
        auto upper = random_bound(high);
        Bound<std::uint64_t> from = lower.bound();
        Bound<std::uint64_t> to = upper.bound();
        auto drained = sync_wait(table->drain(from, to));
        if (!drained) {
            note_error(drained.error(), "drain numbers");
            return false;
        }
        if (*drained != model_drain(work.numbers, lower, upper)) {
            violate("drain removed a different number of entries than the model");
            return false;
        }
    }
    if (table->len() != work.numbers.size()) {
        violate("numbers len() disagrees with the model");
        return false;
    }
    return true;
}

bool Runner::step_names(WriteTransaction& txn, std::optional<NamesTable>& table, DbState& work) {
    if (!table) {
        auto opened = sync_wait(txn.open_table(kNamesTable));
        if (!opened) {
            note_error(opened.error(), "open_table names");
            return false;
        }
        table.emplace(std::move(*opened));
        work.has_names = true;
    }
    std::uint64_t choice = rng_() % 10;
    std::string key = name_key();
    if (choice == 0) {
        if (!merge_name(*table, key, work)) {
            return false;
        }
    } else if (choice < 6) {
        std::uint64_t value = rng_();
        auto previous = sync_wait(table->insert(key, value));
        if (!previous) {
            note_error(previous.error(), "insert names");
            return false;
        }
        if (previous->has_value() != (work.names.count(key) == 1)) {
            violate("names insert disagreed with the model");
            return false;
        }
        work.names[key] = value;
    } else if (choice < 8) {
        auto removed = sync_wait(table->remove(key));
        if (!removed) {
            note_error(removed.error(), "remove names");
            return false;
        }
        if (removed->has_value() != (work.names.erase(key) == 1)) {
            violate("names remove disagreed with the model");
            return false;
        }
    } else if (choice < 9) {
        bool back = rng_() % 2 == 0;
        auto popped = back ? sync_wait(table->pop_last()) : sync_wait(table->pop_first());
        if (!popped) {
            note_error(popped.error(), "pop names");
            return false;
        }
        if (popped->has_value() != !work.names.empty()) {
            violate("pop disagreed with the model");
            return false;
        }
        if (!work.names.empty()) {
            auto it = back ? std::prev(work.names.end()) : work.names.begin();
            if ((*popped)->key.value().value_or("?") != it->first) {
                violate("pop returned the wrong key");
                return false;
            }
            work.names.erase(it);
        }
    } else {
        auto lower = random_bound(key);
        auto upper = random_bound(name_key());
        Bound<std::string> from = lower.bound();
        Bound<std::string> to = upper.bound();
        auto drained = sync_wait(table->drain(from, to));
        if (!drained) {
            note_error(drained.error(), "drain names");
            return false;
        }
        if (*drained != model_drain(work.names, lower, upper)) {
            violate("names drain removed a different number of entries than the model");
            return false;
        }
    }
    return true;
}

bool Runner::merge_number(NumbersTable& table, std::uint64_t key, DbState& work) {
    const std::string piece = value_for(key).substr(0, 1 + rng_() % 30);
    const MergeOperator append = MergeOperator::bytes_append();
    auto merged = sync_wait(table.merge_in(key, piece, append));
    if (!merged) {
        note_error(merged.error(), "merge numbers");
        return false;
    }
    work.numbers[key] += piece;
    return true;
}

bool Runner::merge_name(NamesTable& table, const std::string& key, DbState& work) {
    const std::uint64_t operand = rng_() % 1000;
    const MergeOperator add = MergeOperator::numeric_add();
    auto merged = sync_wait(table.merge_in(key, operand, add));
    if (!merged) {
        note_error(merged.error(), "merge names");
        return false;
    }
    work.names[key] += operand;  // a missing key starts from the operand, as 0 + operand
    return true;
}

bool Runner::step_ttl(WriteTransaction& txn, std::optional<TtlNotes>& table, DbState& work) {
    if (!table) {
        auto opened = sync_wait(txn.open_ttl_table(kTtlTable));
        if (!opened) {
            note_error(opened.error(), "open_ttl_table");
            return false;
        }
        table.emplace(std::move(*opened));
        work.has_ttl = true;
    }
    const std::uint64_t choice = rng_() % 10;
    const std::uint64_t key = rng_() % 100;
    Result<std::optional<TtlGuard<std::string>>> done = std::optional<TtlGuard<std::string>>{};
    if (choice < 7) {
        std::string value = value_for(key);
        // Long enough that nothing expires during a run, however slow the machine.
        done = choice < 4 ? sync_wait(table->insert_with_ttl(key, value, std::chrono::hours(24)))
                          : sync_wait(table->insert(key, value));
        work.ttl[key] = std::move(value);
    } else if (choice < 9) {
        done = sync_wait(table->remove(key));
        work.ttl.erase(key);
    } else {
        auto purged = sync_wait(table->purge_expired());
        if (!purged) {
            note_error(purged.error(), "purge_expired");
            return false;
        }
        if (*purged != 0) {
            violate("purge_expired removed entries that had not expired");
            return false;
        }
    }
    if (!done) {
        note_error(done.error(), "ttl write");
        return false;
    }
    if (table->len() != work.ttl.size()) {
        violate("ttl len() disagrees with the model");
        return false;
    }
    return true;
}

void Runner::run_transaction() {
    auto txn = sync_wait(db_->begin_write());
    if (!txn) {
        note_error(txn.error(), "begin_write");
        stopped_ = true;  // without a transaction the workload cannot go on
        return;
    }
    DbState work = model_;
    if (rng_() % 12 == 0) {
        auto deleted = sync_wait(txn->delete_table("names"));
        if (!deleted) {
            note_error(deleted.error(), "delete_table");
            return;
        }
        if (*deleted != work.has_names) {
            violate("delete_table disagreed with the model");
            return;
        }
        work.has_names = false;
        work.names.clear();
    }
    std::optional<NumbersTable> numbers;
    std::optional<NamesTable> names;
    std::optional<TtlNotes> ttl;
    int ops = 1 + static_cast<int>(rng_() % static_cast<std::uint64_t>(options_.ops_max));
    for (int op = 0; op < ops; ++op) {
        const std::uint64_t which = rng_() % 6;
        bool ok = which < 3   ? step_numbers(*txn, numbers, work)
                  : which < 5 ? step_names(*txn, names, work)
                              : step_ttl(*txn, ttl, work);
        if (!ok) {
            return;  // the transaction is dropped, which aborts it
        }
    }
    numbers.reset();
    names.reset();
    ttl.reset();
    finish_transaction(*txn, work);
}

void Runner::finish_transaction(WriteTransaction& txn, DbState& work) {
    std::uint64_t kind = rng_() % 20;
    if (kind < 2) {
        txn.abort();
        return;
    }
    bool durable = kind >= 8;
    txn.set_durability(durable ? Durability::immediate : Durability::none);
    txn.set_two_phase_commit(kind >= 8 && kind < 11);
    txn.set_quick_repair(kind >= 11 && kind < 13);
    bool poisoned_before = sim_->poisoned();
    result_.commits.push_back(work);
    result_.last_attempted = result_.commits.size() - 1;
    Status committed = sync_wait(txn.commit());
    if (committed) {
        if (poisoned_before) {
            violate("a commit succeeded after the device had failed");
            return;
        }
        model_ = work;
        if (durable) {
            result_.last_durable = result_.last_attempted;
        }
        return;
    }
    if (note_error(committed.error(), "commit")) {
        return;
    }
    // The commit failed but the database is still usable: it holds the old or the new state.
    auto now = read_state(*db_);
    if (!now) {
        note_error(now.error(), "read after a failed commit");
        return;
    }
    if (*now == work) {
        model_ = work;
    } else if (!(*now == model_)) {
        violate("after a failed commit the database is neither the old nor the new state");
    }
}

void Runner::close_and_reopen(bool reopen) {
    bool poisoned_before = sim_->poisoned();
    result_.commits.push_back(model_);
    result_.last_attempted = result_.commits.size() - 1;
    Status closed = sync_wait(db_->close());
    db_.reset();
    if (!closed) {
        note_error(closed.error(), "close");
        stopped_ = true;
        return;
    }
    if (poisoned_before) {
        violate("close succeeded after the device had failed");
        return;
    }
    result_.last_durable = result_.last_attempted;
    if (!reopen) {
        return;
    }
    sim_->reopen();
    auto opened = open_sim(sim_, false, {}, options_.checkpoint_bytes);
    if (!opened) {
        note_error(opened.error(), "reopen");
        stopped_ = true;
        return;
    }
    db_.emplace(std::move(*opened));
    auto state = read_state(*db_);
    if (!state) {
        note_error(state.error(), "read after reopen");
        stopped_ = true;
        return;
    }
    if (!(*state == model_)) {
        violate("after a clean close and reopen the content changed: " + describe(*state) +
                " expected " + describe(model_));
    }
}

}  // namespace

bool long_runs() {
    const char* value = std::getenv("RINGDB_LONG");
    return value != nullptr && std::string(value) != "0" && std::string(value) != "";
}

int run_count(int ci, int long_count) { return long_runs() ? long_count : ci; }

std::uint64_t base_seed() { return io::SimDevice::seed_from_environment(std::random_device{}()); }

std::string describe(const DbState& state) {
    std::uint64_t h = 0;
    for (const auto& [k, v] : state.numbers) {
        h = mix(mix(h, k), hash_text(v));
    }
    for (const auto& [k, v] : state.names) {
        h = mix(mix(h, hash_text(k)), v);
    }
    for (const auto& [k, v] : state.ttl) {
        h = mix(mix(h, k + 1), hash_text(v));
    }
    return "{numbers" + std::string(state.has_numbers ? "" : "(absent)") + " " +
           std::to_string(state.numbers.size()) + ", names" +
           std::string(state.has_names ? "" : "(absent)") + " " +
           std::to_string(state.names.size()) + ", ttl" +
           std::string(state.has_ttl ? "" : "(absent)") + " " + std::to_string(state.ttl.size()) +
           ", hash " + std::to_string(h) + "}";
}

DatabaseOptions sim_options() {
    DatabaseOptions options;
    options.page_size = 512;
    options.cache_size = 4 * 1024;
    // A small commit log: workloads wrap it and checkpoint while they commit.
    options.log_size = 64 * 1024;
    // Compressed tables train their dictionaries after a few values, so workloads write values
    // with dictionaries, and crash while one is stored.
    options.dictionary_sample_bytes = 8 * 1024;
    return options;
}

Compression compression_for(std::uint64_t seed) {
    switch (seed % 3) {
    case 1:
        return Compression{CompressionAlgorithm::lz4, 1, 32};
    case 2:
        return Compression{CompressionAlgorithm::zstd, 3, 32};
    default:
        return Compression{};
    }
}

Result<Database> open_sim(const std::shared_ptr<io::SimDevice>& sim, bool create,
                          Compression compression, std::uint64_t checkpoint_bytes) {
    DatabaseOptions options = sim_options();
    options.compression = compression;
    if (checkpoint_bytes != 0) {
        options.checkpoint_bytes = checkpoint_bytes;
    }
    return open_sim_with(sim, create, std::move(options));
}

Result<Database> open_sim_with(const std::shared_ptr<io::SimDevice>& sim, bool create,
                               DatabaseOptions options) {
    auto device = std::make_unique<SharedSimDevice>(sim);
    auto db = sync_wait(detail::DatabaseAccess::open_device(std::move(device), options, create));
    return db;
}

namespace {

template <class K, class V, class Table>
Status read_table(Table& table, std::map<K, V>& out) {
    auto range = table.iter();
    if (!range) {
        return range.error();
    }
    for (std::uint64_t guard = 0; guard <= table.len(); ++guard) {
        auto entry = sync_wait(range->next());
        if (!entry) {
            return entry.error();
        }
        if (!*entry) {
            if (out.size() != table.len()) {
                return Error{Errc::corrupted};  // len() disagrees with the entries
            }
            return ok();
        }
        auto key = (*entry)->key.value();
        auto value = (*entry)->value.value();
        if (!key || !value) {
            return Error{Errc::corrupted};
        }
        out[*key] = *value;
    }
    return Error{Errc::corrupted};  // more entries than len()
}

}  // namespace

Result<DbState> read_state(Database& db) {
    auto txn = db.begin_read();
    if (!txn) {
        return txn.error();
    }
    auto names = sync_wait(txn->list_tables());
    if (!names) {
        return names.error();
    }
    DbState state;
    for (const std::string& name : *names) {
        if (name == "numbers") {
            state.has_numbers = true;
        } else if (name == "names") {
            state.has_names = true;
        } else if (name == "ttl") {
            state.has_ttl = true;
        } else if (name != "extra") {
            return Error{Errc::corrupted};  // a table nobody created
        }
    }
    if (state.has_numbers) {
        auto table = sync_wait(txn->open_table(kNumbersTable));
        if (!table) {
            return table.error();
        }
        if (Status s = read_table(*table, state.numbers); !s) {
            return s.error();
        }
    }
    if (state.has_names) {
        auto table = sync_wait(txn->open_table(kNamesTable));
        if (!table) {
            return table.error();
        }
        if (Status s = read_table(*table, state.names); !s) {
            return s.error();
        }
    }
    if (state.has_ttl) {
        auto table = sync_wait(txn->open_ttl_table(kTtlTable));
        if (!table) {
            return table.error();
        }
        if (Status s = read_table(*table, state.ttl); !s) {
            return s.error();
        }
    }
    return state;
}

WorkloadResult run_workload(const std::shared_ptr<io::SimDevice>& sim,
                            const WorkloadOptions& options, bool close_at_end) {
    Runner runner(sim, options);
    return runner.run(close_at_end);
}

namespace {

std::string verify_failure(Database& db, const char* when) {
    auto report = sync_wait(db.verify_integrity(VerifyLevel::full));
    if (!report) {
        return std::string("verify_integrity ") + when + " failed: " + to_string(report.error());
    }
    if (!report->valid) {
        std::string detail = report->details.empty() ? std::string("no detail")
                                                     : report->details.front().description;
        return std::string("verify_integrity ") + when + " reported damage: " + detail;
    }
    return {};
}

}  // namespace

std::string check_recovered(const std::shared_ptr<io::SimDevice>& sim,
                            const WorkloadResult& result) {
    auto db = open_sim(sim, !result.created);
    if (!db && !result.created && db.error().code == Errc::corrupted) {
        // The creation itself was cut short: the file may hold the header without its magic,
        // which create() refuses as "not a database" (docs/errors.md, corrupted), by design.
        return {};
    }
    if (!db) {
        return "open after the crash failed: " + to_string(db.error());
    }
    if (std::string failure = verify_failure(*db, "after recovery"); !failure.empty()) {
        return failure;
    }
    auto state = read_state(*db);
    if (!state) {
        return "reading the recovered database failed: " + to_string(state.error());
    }
    bool matched = false;
    for (std::size_t j = result.last_durable; j <= result.last_attempted && !matched; ++j) {
        matched = result.commits[j] == *state;
    }
    if (!matched) {
        std::string seen = "none";
        for (std::size_t j = 0; j < result.commits.size(); ++j) {
            if (result.commits[j] == *state) {
                seen = std::to_string(j);
            }
        }
        return "recovered content " + describe(*state) + " is no commit in [" +
               std::to_string(result.last_durable) + ", " +
               std::to_string(result.last_attempted) + "] (it equals commit " + seen +
               "; last durable " + describe(result.commits[result.last_durable]) + ")";
    }
    // The recovered database accepts writes, and they disturb nothing already there (a wrong
    // allocator would hand out a live page).
    {
        auto txn = sync_wait(db->begin_write());
        if (!txn) {
            return "begin_write after recovery failed: " + to_string(txn.error());
        }
        auto extra = sync_wait(txn->open_table(kExtraTable));
        if (!extra) {
            return "open_table after recovery failed: " + to_string(extra.error());
        }
        for (std::uint64_t i = 0; i < 40; ++i) {
            auto inserted = sync_wait(extra->insert(i * 13, i));
            if (!inserted) {
                return "insert after recovery failed: " + to_string(inserted.error());
            }
        }
        Status committed = sync_wait(txn->commit());
        if (!committed) {
            return "commit after recovery failed: " + to_string(committed.error());
        }
    }
    if (std::string failure = verify_failure(*db, "after a write"); !failure.empty()) {
        return failure;
    }
    auto after = read_state(*db);
    if (!after || !(*after == *state)) {
        return "a write after recovery changed other tables";
    }
    Status closed = sync_wait(db->close());
    if (!closed) {
        return "close after recovery failed: " + to_string(closed.error());
    }
    return {};
}

}  // namespace ringdb::test
