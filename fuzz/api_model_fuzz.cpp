// Fuzz target: API sequences checked against a model (docs/testing.md G5). Each input byte
// pair is one operation on a u64 -> u64 table (insert, remove, get, first/last, pop, range
// with any bound kinds from either end, drain, retain, commit durable or not, abort, clean
// reopen, crash) and every result is compared with a std::map. A mismatch aborts.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>

#include "fuzz_input.hpp"
#include "sim_workload.hpp"

namespace {

using ringdb::sync_wait;
using Model = std::map<std::uint64_t, std::uint64_t>;
using Key = std::uint64_t;
constexpr ringdb::TableDefinition<Key, std::uint64_t> kTable("fuzz");

[[noreturn]] void mismatch(const char* what) {
    std::fprintf(stderr, "api_model fuzz: %s\n", what);
    std::abort();
}

void expect(bool ok, const char* what) {
    if (!ok) {
        mismatch(what);
    }
}

struct Bounds {
    int lower_kind;
    Key lower;
    int upper_kind;
    Key upper;

    bool contains(Key k) const {
        bool above = lower_kind == 0 || (lower_kind == 1 ? k >= lower : k > lower);
        bool below = upper_kind == 0 || (upper_kind == 1 ? k <= upper : k < upper);
        return above && below;
    }
    static ringdb::Bound<Key> make(int kind, Key key) {
        if (kind == 1) {
            return ringdb::Bound<Key>::included(key);
        }
        return kind == 2 ? ringdb::Bound<Key>::excluded(key) : ringdb::Bound<Key>::unbounded();
    }
};

class Session {
public:
    explicit Session(std::shared_ptr<ringdb::io::SimDevice> sim) : sim_(std::move(sim)) {
        auto db = ringdb::test::open_sim(sim_, true);
        expect(db.has_value(), "create failed");
        db_.emplace(std::move(*db));
    }

    void step(std::uint8_t op, std::uint8_t arg, ringdb::fuzz::FuzzInput& input) {
        if (op % 16 >= 12) {
            finish_or_reopen(op % 16, arg);
            return;
        }
        ensure_txn();
        Key key = arg % 48;
        auto& table = *table_;
        switch (op % 16) {
            case 0:
            case 1:
            case 2: {
                std::uint64_t value = input.byte();
                auto previous = sync_wait(table.insert(key, value));
                expect(previous.has_value(), "insert failed");
                auto it = work_.find(key);
                expect(previous->has_value() == (it != work_.end()), "insert: previous presence");
                if (it != work_.end()) {
                    expect((*previous)->value().value() == it->second, "insert: previous value");
                }
                work_[key] = value;
                break;
            }
            case 3:
            case 4: {
                auto removed = sync_wait(table.remove(key));
                expect(removed.has_value(), "remove failed");
                expect(removed->has_value() == (work_.erase(key) == 1), "remove: presence");
                break;
            }
            case 5: {
                auto got = sync_wait(table.get(key));
                expect(got.has_value(), "get failed");
                auto it = work_.find(key);
                expect(got->has_value() == (it != work_.end()), "get: presence");
                if (it != work_.end()) {
                    expect((*got)->value().value() == it->second, "get: value");
                }
                break;
            }
            case 6: {
                bool back = arg % 2 == 1;
                auto popped = back ? sync_wait(table.pop_last()) : sync_wait(table.pop_first());
                expect(popped.has_value(), "pop failed");
                expect(popped->has_value() == !work_.empty(), "pop: presence");
                if (!work_.empty()) {
                    auto it = back ? std::prev(work_.end()) : work_.begin();
                    expect((*popped)->key.value().value() == it->first, "pop: key");
                    work_.erase(it);
                }
                break;
            }
            case 7:
            case 8:
                scan(random_bounds(arg, input), input.byte());
                break;
            case 9: {
                Bounds b = random_bounds(arg, input);
                auto lower = Bounds::make(b.lower_kind, b.lower);
                auto upper = Bounds::make(b.upper_kind, b.upper);
                auto drained = sync_wait(table.drain(lower, upper));
                expect(drained.has_value(), "drain failed");
                std::uint64_t expected = std::erase_if(
                        work_, [&b](const auto& entry) { return b.contains(entry.first); });
                expect(*drained == expected, "drain: count");
                break;
            }
            case 10: {
                std::uint64_t modulus = 2 + arg % 3;
                auto retained = sync_wait(table.retain(
                        [modulus](Key k, std::uint64_t) { return k % modulus != 0; }));
                expect(retained.has_value(), "retain failed");
                std::uint64_t expected = std::erase_if(
                        work_, [modulus](const auto& entry) { return entry.first % modulus == 0; });
                expect(*retained == expected, "retain: count");
                break;
            }
            default: {
                expect(table.len() == work_.size(), "len");
                auto first = sync_wait(table.first());
                expect(first.has_value() && first->has_value() == !work_.empty(), "first");
                break;
            }
        }
    }

    void close() {
        table_.reset();
        txn_.reset();
        if (db_) {
            auto closed = sync_wait(db_->close());
            expect(closed.has_value(), "close failed");
        }
    }

private:
    void ensure_txn() {
        if (txn_) {
            return;
        }
        auto txn = sync_wait(db_->begin_write());
        expect(txn.has_value(), "begin_write failed");
        txn_.emplace(std::move(*txn));
        auto table = sync_wait(txn_->open_table(kTable));
        expect(table.has_value(), "open_table failed");
        table_.emplace(std::move(*table));
        work_ = committed_;
    }

    Bounds random_bounds(std::uint8_t arg, ringdb::fuzz::FuzzInput& input) {
        std::uint8_t b = input.byte();
        return Bounds{arg % 3, static_cast<Key>(b % 48), (arg / 3) % 3, static_cast<Key>(arg % 48)};
    }

    // Walks a range, choosing the end by the bits of `pattern`, against the model.
    void scan(const Bounds& b, std::uint8_t pattern) {
        auto lower = Bounds::make(b.lower_kind, b.lower);
        auto upper = Bounds::make(b.upper_kind, b.upper);
        auto range = table_->range(lower, upper);
        expect(range.has_value(), "range failed");
        std::vector<Key> expected;
        for (const auto& [k, v] : work_) {
            if (b.contains(k)) {
                expected.push_back(k);
            }
        }
        std::size_t front = 0;
        std::size_t back = expected.size();
        for (int i = 0; i < 64; ++i) {
            bool from_back = ((pattern >> (i % 8)) & 1) != 0;
            auto entry = from_back ? sync_wait(range->next_back()) : sync_wait(range->next());
            expect(entry.has_value(), "range step failed");
            if (front == back) {
                expect(!entry->has_value(), "range: entries past the end");
                return;
            }
            expect(entry->has_value(), "range: ended early");
            Key want = from_back ? expected[--back] : expected[front++];
            expect((*entry)->key.value().value() == want, "range: key");
            expect((*entry)->value.value().value() == work_.at(want), "range: value");
        }
    }

    void check_committed() {
        auto txn = db_->begin_read();
        expect(txn.has_value(), "begin_read failed");
        auto table = sync_wait(txn->open_table(kTable));
        if (!table) {
            expect(table.error().code == ringdb::Errc::table_does_not_exist && committed_.empty(),
                   "open_table for reading failed");
            return;
        }
        auto range = table->iter();
        Model seen;
        for (int guard = 0; guard < 100; ++guard) {
            auto entry = sync_wait(range->next());
            expect(entry.has_value(), "scan failed");
            if (!*entry) {
                break;
            }
            seen[(*entry)->key.value().value()] = (*entry)->value.value().value();
        }
        expect(seen == committed_, "committed content differs from the model");
    }

    void finish_or_reopen(std::uint8_t op, std::uint8_t arg) {
        if (op == 12 || op == 13) {  // commit
            if (!txn_) {
                return;
            }
            bool durable = arg % 2 == 0;
            txn_->set_durability(durable ? ringdb::Durability::immediate
                                         : ringdb::Durability::none);
            txn_->set_two_phase_commit(arg % 4 == 2);
            table_.reset();
            auto committed = sync_wait(txn_->commit());
            expect(committed.has_value(), "commit failed");
            txn_.reset();
            committed_ = work_;
            if (durable) {
                durable_ = committed_;
            }
        } else if (op == 14) {  // abort
            table_.reset();
            txn_.reset();
        } else {  // close and reopen, or crash and reopen
            bool crash = arg % 2 == 1;
            table_.reset();
            txn_.reset();
            if (crash) {
                db_.reset();
                auto image = sim_->crash_image(ringdb::io::CrashMode::durable_only);
                sim_ = std::make_shared<ringdb::io::SimDevice>(arg, std::move(image));
                committed_ = durable_;
            } else {
                auto closed = sync_wait(db_->close());
                expect(closed.has_value(), "close failed");
                db_.reset();
                sim_->reopen();
                durable_ = committed_;
            }
            auto db = ringdb::test::open_sim(sim_, false);
            expect(db.has_value(), "reopen failed");
            db_.emplace(std::move(*db));
        }
        check_committed();
    }

    std::shared_ptr<ringdb::io::SimDevice> sim_;
    std::optional<ringdb::Database> db_;
    std::optional<ringdb::WriteTransaction> txn_;
    std::optional<ringdb::Table<Key, std::uint64_t>> table_;
    Model committed_;  // the latest commit
    Model durable_;    // the latest durable commit
    Model work_;       // the live transaction's view
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ringdb::fuzz::FuzzInput input(data, size);
    Session session(std::make_shared<ringdb::io::SimDevice>(3));
    for (int ops = 0; ops < 400 && input.remaining() >= 2; ++ops) {
        std::uint8_t op = input.byte();
        std::uint8_t arg = input.byte();
        session.step(op, arg, input);
    }
    session.close();
    return 0;
}
