// Model-based tests (docs/testing.md G8): random operations on two tables of different key
// orders (signed integers, strings) through the public API, each checked against a std::map:
// insert, remove, get, first/last, pop, len, ranges with every combination of bound kinds
// walked from both ends, drain, retain_in and extract_from_if over ranges; commits durable and
// not, aborts, read snapshots that must not see later commits, clean reopens, and crashes
// (which keep the last durable commit, or a non-durable one after it that a background
// checkpoint made durable; nothing else). After every reopen the whole content is
// compared. CI runs a few seeds; RINGDB_LONG=1 many more. RINGDB_SEED replays one.

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim_workload.hpp"

using ringdb::Bound;
using ringdb::sync_wait;
using ringdb::io::SimDevice;

namespace {

constexpr ringdb::TableDefinition<std::int64_t, std::string> kSigned("signed");
constexpr ringdb::TableDefinition<std::string, std::uint64_t> kStrings("strings");
// Background checkpoints often (8 held 512-byte pages make one due): a non-durable commit may
// then be durable when a crash comes.
constexpr std::uint64_t kCheckpointBytes = 4 * 1024;

template <class K>
struct ModelRange {
    int lower_kind = 0;  // 0 unbounded, 1 included, 2 excluded
    K lower{};
    int upper_kind = 0;
    K upper{};

    bool contains(const K& k) const {
        bool above = lower_kind == 0 || (lower_kind == 1 ? !(k < lower) : lower < k);
        bool below = upper_kind == 0 || (upper_kind == 1 ? !(upper < k) : k < upper);
        return above && below;
    }
    static Bound<K> bound(int kind, const K& key) {
        if (kind == 1) {
            return Bound<K>::included(key);
        }
        return kind == 2 ? Bound<K>::excluded(key) : Bound<K>::unbounded();
    }
    Bound<K> lower_bound() const { return bound(lower_kind, lower); }
    Bound<K> upper_bound() const { return bound(upper_kind, upper); }
};

template <class K, class V>
std::vector<K> keys_in(const std::map<K, V>& map, const ModelRange<K>& range) {
    std::vector<K> keys;
    for (const auto& [k, v] : map) {
        if (range.contains(k)) {
            keys.push_back(k);
        }
    }
    return keys;
}

// Walks `table`'s range from both ends (chosen by rng) and compares with the model.
template <class Table, class K, class V>
void check_range(const Table& table, const std::map<K, V>& model, const ModelRange<K>& range,
                 std::mt19937_64& rng) {
    auto walk = table.range(range.lower_bound(), range.upper_bound());
    REQUIRE(walk.has_value());
    std::vector<K> expected = keys_in(model, range);
    std::size_t front = 0;
    std::size_t back = expected.size();
    for (std::size_t step = 0; step <= expected.size() + 1; ++step) {
        bool from_back = rng() % 2 == 0;
        auto entry = from_back ? sync_wait(walk->next_back()) : sync_wait(walk->next());
        REQUIRE(entry.has_value());
        if (front == back) {
            REQUIRE_FALSE(entry->has_value());
            return;
        }
        REQUIRE(entry->has_value());
        const K& want = from_back ? expected[--back] : expected[front++];
        REQUIRE((*entry)->key.value().value() == want);
        REQUIRE((*entry)->value.value().value() == model.at(want));
    }
    FAIL("the range did not end");
}

// Every pair of `definition`'s table in `txn` (none if the table does not exist).
template <class Definition, class K, class V>
void read_table(ringdb::ReadTransaction& txn, const Definition& definition,
                std::map<K, V>& out) {
    auto table = sync_wait(txn.open_table(definition));
    if (!table) {
        REQUIRE(table.error().code == ringdb::Errc::table_does_not_exist);
        return;
    }
    auto walk = table->range(Bound<K>::unbounded(), Bound<K>::unbounded());
    REQUIRE(walk.has_value());
    for (;;) {
        auto entry = sync_wait(walk->next());
        REQUIRE(entry.has_value());
        if (!entry->has_value()) {
            return;
        }
        out[(*entry)->key.value().value()] = (*entry)->value.value().value();
    }
}

template <class Table, class K, class V>
void check_all(const Table& table, const std::map<K, V>& model, std::mt19937_64& rng) {
    REQUIRE(table.len() == model.size());
    check_range(table, model, ModelRange<K>{}, rng);
}

class ModelRun {
public:
    explicit ModelRun(std::uint64_t seed) : rng_(seed), seed_(seed) {
        sim_ = std::make_shared<SimDevice>(seed);
        auto db = ringdb::test::open_sim(sim_, true, {}, kCheckpointBytes);
        REQUIRE(db.has_value());
        db_.emplace(std::move(*db));
    }

    void run(int transactions) {
        for (int t = 0; t < transactions; ++t) {
            INFO("transaction " << t);
            one_transaction();
            std::uint64_t after = rng_() % 16;
            if (after == 0) {
                reopen(false);
            } else if (after == 1) {
                reopen(true);
            } else if (after < 4) {
                take_snapshot();
            }
            check_snapshots();
        }
        REQUIRE(sync_wait(db_->close()).has_value());
    }

private:
    std::int64_t signed_key() { return static_cast<std::int64_t>(rng_() % 400) - 200; }
    std::string string_key() {
        std::string key = "s" + std::to_string(rng_() % 150);
        if (rng_() % 10 == 0) {
            key.append(200 + rng_() % 600, 'x');  // keys longer than a page
        }
        return key;
    }
    std::string text_value() { return std::string(rng_() % 8 == 0 ? 600 : rng_() % 30, 'v'); }

    template <class K>
    ModelRange<K> random_range(K a, K b) {
        if (b < a && rng_() % 4 != 0) {
            std::swap(a, b);  // mostly ordered; sometimes inverted (must be empty)
        }
        return ModelRange<K>{static_cast<int>(rng_() % 3), a, static_cast<int>(rng_() % 3), b};
    }

    void signed_step(ringdb::Table<std::int64_t, std::string>& table,
                     std::map<std::int64_t, std::string>& model);
    void strings_step(ringdb::Table<std::string, std::uint64_t>& table,
                      std::map<std::string, std::uint64_t>& model);
    void one_transaction();
    void reopen(bool crash);
    void adopt_survivor();
    void check_content();
    void take_snapshot();
    void check_snapshots();

    std::mt19937_64 rng_;
    std::uint64_t seed_;
    std::shared_ptr<SimDevice> sim_;
    std::optional<ringdb::Database> db_;
    std::map<std::int64_t, std::string> signed_;  // committed
    std::map<std::string, std::uint64_t> strings_;
    std::map<std::int64_t, std::string> signed_durable_;
    std::map<std::string, std::uint64_t> strings_durable_;
    // The states of the non-durable commits since the last durable one, in order: a background
    // checkpoint may have made any prefix of them durable.
    std::vector<std::pair<std::map<std::int64_t, std::string>,
                          std::map<std::string, std::uint64_t>>>
            since_durable_;
    struct Snapshot {
        ringdb::ReadTransaction txn;
        std::map<std::int64_t, std::string> expected;
    };
    std::vector<Snapshot> snapshots_;
};

void ModelRun::signed_step(ringdb::Table<std::int64_t, std::string>& table,
                           std::map<std::int64_t, std::string>& model) {
    std::int64_t key = signed_key();
    switch (rng_() % 10) {
        case 0:
        case 1:
        case 2: {
            std::string value = text_value();
            auto previous = sync_wait(table.insert(key, value));
            REQUIRE(previous.has_value());
            REQUIRE(previous->has_value() == (model.count(key) == 1));
            model[key] = value;
            break;
        }
        case 3: {
            auto removed = sync_wait(table.remove(key));
            REQUIRE(removed.has_value());
            REQUIRE(removed->has_value() == (model.erase(key) == 1));
            break;
        }
        case 4: {
            auto got = sync_wait(table.get(key));
            REQUIRE(got.has_value());
            auto it = model.find(key);
            REQUIRE(got->has_value() == (it != model.end()));
            if (it != model.end()) {
                REQUIRE((*got)->value().value() == it->second);
            }
            break;
        }
        case 5: {
            auto range = random_range(key, signed_key());
            check_range(table, model, range, rng_);
            break;
        }
        case 6: {
            auto range = random_range(key, signed_key());
            auto drained = sync_wait(table.drain(range.lower_bound(), range.upper_bound()));
            REQUIRE(drained.has_value());
            REQUIRE(*drained == std::erase_if(model, [&range](const auto& e) {
                        return range.contains(e.first);
                    }));
            break;
        }
        case 7: {
            auto range = random_range(key, signed_key());
            auto removed = sync_wait(table.retain_in(
                    range.lower_bound(), range.upper_bound(),
                    [](std::int64_t k, const std::string&) { return k % 3 != 0; }));
            REQUIRE(removed.has_value());
            REQUIRE(*removed == std::erase_if(model, [&range](const auto& e) {
                        return range.contains(e.first) && e.first % 3 == 0;
                    }));
            break;
        }
        case 8: {
            // extract_from_if, stopped after a few entries: only those yielded are removed.
            auto range = random_range(key, signed_key());
            auto extract = table.extract_from_if(
                    range.lower_bound(), range.upper_bound(),
                    [](std::int64_t k, const std::string&) { return k % 2 == 0; });
            REQUIRE(extract.has_value());
            std::vector<std::int64_t> candidates;
            for (std::int64_t k : keys_in(model, range)) {
                if (k % 2 == 0) {
                    candidates.push_back(k);
                }
            }
            std::size_t take = rng_() % 5;
            for (std::size_t i = 0; i < take; ++i) {
                auto entry = sync_wait(extract->next());
                REQUIRE(entry.has_value());
                REQUIRE(entry->has_value() == (i < candidates.size()));
                if (i >= candidates.size()) {
                    break;
                }
                REQUIRE((*entry)->key.value().value() == candidates[i]);
                model.erase(candidates[i]);
            }
            break;
        }
        default: {
            auto first = sync_wait(table.first());
            auto last = sync_wait(table.last());
            REQUIRE(first.has_value());
            REQUIRE(last.has_value());
            REQUIRE(first->has_value() == !model.empty());
            if (!model.empty()) {
                REQUIRE((*first)->key.value().value() == model.begin()->first);
                REQUIRE((*last)->key.value().value() == model.rbegin()->first);
            }
            REQUIRE(table.len() == model.size());
            break;
        }
    }
}

void ModelRun::strings_step(ringdb::Table<std::string, std::uint64_t>& table,
                            std::map<std::string, std::uint64_t>& model) {
    std::string key = string_key();
    switch (rng_() % 6) {
        case 0:
        case 1: {
            std::uint64_t value = rng_();
            auto previous = sync_wait(table.insert(key, value));
            REQUIRE(previous.has_value());
            REQUIRE(previous->has_value() == (model.count(key) == 1));
            model[key] = value;
            break;
        }
        case 2: {
            auto removed = sync_wait(table.remove(key));
            REQUIRE(removed.has_value());
            REQUIRE(removed->has_value() == (model.erase(key) == 1));
            break;
        }
        case 3: {
            bool back = rng_() % 2 == 0;
            auto popped = back ? sync_wait(table.pop_last()) : sync_wait(table.pop_first());
            REQUIRE(popped.has_value());
            REQUIRE(popped->has_value() == !model.empty());
            if (!model.empty()) {
                auto it = back ? std::prev(model.end()) : model.begin();
                REQUIRE((*popped)->key.value().value() == it->first);
                model.erase(it);
            }
            break;
        }
        case 4: {
            auto range = random_range(key, string_key());
            check_range(table, model, range, rng_);
            break;
        }
        default: {
            auto range = random_range(key, string_key());
            auto drained = sync_wait(table.drain(range.lower_bound(), range.upper_bound()));
            REQUIRE(drained.has_value());
            REQUIRE(*drained == std::erase_if(model, [&range](const auto& e) {
                        return range.contains(e.first);
                    }));
            break;
        }
    }
}

void ModelRun::one_transaction() {
    auto txn = sync_wait(db_->begin_write());
    REQUIRE(txn.has_value());
    auto signed_table = sync_wait(txn->open_table(kSigned));
    REQUIRE(signed_table.has_value());
    auto strings_table = sync_wait(txn->open_table(kStrings));
    REQUIRE(strings_table.has_value());
    auto signed_work = signed_;
    auto strings_work = strings_;
    int ops = 1 + static_cast<int>(rng_() % 60);
    for (int op = 0; op < ops; ++op) {
        if (rng_() % 3 == 0) {
            strings_step(*strings_table, strings_work);
        } else {
            signed_step(*signed_table, signed_work);
        }
    }
    check_all(*signed_table, signed_work, rng_);  // the transaction sees its own changes
    std::uint64_t ending = rng_() % 10;
    if (ending == 0) {
        txn->abort();
        return;
    }
    bool durable = ending >= 4;
    txn->set_durability(durable ? ringdb::Durability::immediate : ringdb::Durability::none);
    txn->set_two_phase_commit(ending == 5);
    txn->set_quick_repair(ending == 6);
    REQUIRE(sync_wait(txn->commit()).has_value());
    signed_ = signed_work;
    strings_ = strings_work;
    if (durable) {
        signed_durable_ = signed_;
        strings_durable_ = strings_;
        since_durable_.clear();
    } else {
        since_durable_.emplace_back(signed_, strings_);
    }
}

void ModelRun::check_content() {
    auto txn = db_->begin_read();
    REQUIRE(txn.has_value());
    auto signed_table = sync_wait(txn->open_table(kSigned));
    auto strings_table = sync_wait(txn->open_table(kStrings));
    if (!signed_table) {  // nothing was ever committed
        REQUIRE(signed_.empty());
        REQUIRE(strings_.empty());
        return;
    }
    REQUIRE(strings_table.has_value());
    check_all(*signed_table, signed_, rng_);
    check_all(*strings_table, strings_, rng_);
}

void ModelRun::reopen(bool crash) {
    INFO((crash ? "crash" : "clean reopen"));
    snapshots_.clear();
    if (crash) {
        // Without a close, the last durable commit is what survives: non-durable ones are lost.
        db_.reset();
        auto image = sim_->crash_image(ringdb::io::CrashMode::durable_only);
        sim_ = std::make_shared<SimDevice>(seed_ + 1, std::move(image));
        signed_ = signed_durable_;
        strings_ = strings_durable_;
    } else {
        REQUIRE(sync_wait(db_->close()).has_value());
        db_.reset();
        sim_->reopen();
        signed_durable_ = signed_;
        strings_durable_ = strings_;
        since_durable_.clear();
    }
    auto db = ringdb::test::open_sim(sim_, false, {}, kCheckpointBytes);
    INFO((db ? "reopened" : ringdb::to_string(db.error())));
    REQUIRE(db.has_value());
    db_.emplace(std::move(*db));
    if (crash) {
        adopt_survivor();
    }
    auto report = sync_wait(db_->verify_integrity(ringdb::VerifyLevel::full));
    REQUIRE(report.has_value());
    REQUIRE(report->valid);
    check_content();
}

// After a crash: the database holds the last durable commit, or a non-durable one after it
// that a background checkpoint made durable. Which one becomes the model.
void ModelRun::adopt_survivor() {
    auto txn = db_->begin_read();
    REQUIRE(txn.has_value());
    std::map<std::int64_t, std::string> found_signed;
    std::map<std::string, std::uint64_t> found_strings;
    read_table(*txn, kSigned, found_signed);
    read_table(*txn, kStrings, found_strings);
    // The latest state that matches; if none does, the last durable one stays the model and
    // check_content() reports the difference.
    for (std::size_t i = since_durable_.size(); i-- > 0;) {
        if (since_durable_[i].first == found_signed && since_durable_[i].second == found_strings) {
            signed_ = since_durable_[i].first;
            strings_ = since_durable_[i].second;
            break;
        }
    }
    signed_durable_ = signed_;
    strings_durable_ = strings_;
    since_durable_.clear();
}

void ModelRun::take_snapshot() {
    auto txn = db_->begin_read();
    REQUIRE(txn.has_value());
    if (snapshots_.size() >= 3) {
        snapshots_.erase(snapshots_.begin());
    }
    snapshots_.push_back(Snapshot{std::move(*txn), signed_});
}

void ModelRun::check_snapshots() {
    for (Snapshot& snapshot : snapshots_) {
        auto table = sync_wait(snapshot.txn.open_table(kSigned));
        if (!table) {
            REQUIRE(table.error().code == ringdb::Errc::table_does_not_exist);
            REQUIRE(snapshot.expected.empty());
            continue;
        }
        check_all(*table, snapshot.expected, rng_);
    }
}

}  // namespace

TEST_CASE("Random operations on tables agree with a std::map model, across reopens and crashes",
          "[integration][model]") {
    const std::uint64_t seed = ringdb::test::base_seed();
    const int runs = ringdb::test::run_count(3, 60);
    for (int r = 0; r < runs; ++r) {
        INFO("RINGDB_SEED=" << seed + static_cast<std::uint64_t>(r));
        ModelRun run(seed + static_cast<std::uint64_t>(r));
        run.run(ringdb::test::long_runs() ? 150 : 40);
    }
}
