// commit_workload: the group-commit cells of commit_bench (see commit_workload.hpp).

#include "commit/commit_workload.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <utility>

namespace ringdb::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kKeyBytes = 24;
constexpr std::size_t kValueBytes = 150;
// A committer's loop bound: far above what any window allows (a commit takes microseconds at
// the very least), so it only guards against a runaway loop.
constexpr std::uint64_t kCommitsPerCommitterMax = std::uint64_t{1} << 32;

/// One 24/150 pair, trivially copyable so a batch can capture it by value.
struct Pair {
    std::array<unsigned char, kKeyBytes> key{};
    std::array<unsigned char, kValueBytes> value{};
};

/// splitmix64: a small, fast, well-mixed stream; each committer has its own.
class KeyStream {
public:
    explicit KeyStream(std::uint64_t seed) : state_(seed) {}

    std::uint64_t next() {
        state_ += 0x9e3779b97f4a7c15ULL;
        std::uint64_t z = state_;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    void fill(unsigned char* out, std::size_t size) {
        for (std::size_t i = 0; i < size; i += 8) {
            std::uint64_t word = next();
            for (std::size_t b = 0; b < 8 && i + b < size; ++b) {
                out[i + b] = static_cast<unsigned char>(word >> (8 * b));
            }
        }
    }

    Pair draw() {
        Pair pair;
        fill(pair.key.data(), pair.key.size());
        fill(pair.value.data(), pair.value.size());
        return pair;
    }

private:
    std::uint64_t state_;
};

ByteView view_of(const unsigned char* data, std::size_t size) {
    return std::as_bytes(std::span<const unsigned char>(data, size));
}

Task<Status> insert_pair(WriteTransaction& txn, Pair pair) {
    auto table = co_await txn.open_table(kCommitTable);
    if (!table) {
        co_return table.error();
    }
    ByteView key = view_of(pair.key.data(), pair.key.size());
    ByteView value = view_of(pair.value.data(), pair.value.size());
    auto inserted = co_await table->insert(key, value);
    if (!inserted) {
        co_return inserted.error();
    }
    co_return ok();
}

Task<Status> prefill_task(Database* db, std::uint64_t count, std::uint64_t seed) {
    auto txn = co_await db->begin_write();
    if (!txn) {
        co_return txn.error();
    }
    KeyStream stream(seed);
    for (std::uint64_t i = 0; i < count; ++i) {
        Pair pair = stream.draw();
        Status inserted = co_await insert_pair(*txn, pair);
        if (!inserted) {
            co_return inserted;
        }
    }
    Status committed = co_await txn->commit();
    co_return committed;
}

struct Snapshot {
    Clock::time_point at;
    GroupCommitStats stats;
    std::uint64_t write_bytes = 0;
    double cpu_seconds = 0;
};

double process_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// The measured window, shared by the committers of a cell. Phases: 0 warming up, 1 taking
/// the opening snapshot, 2 measuring, 3 taking the closing snapshot, 4 closed. Each snapshot
/// is written by the one committer that moved the phase on, and read by the caller after all
/// committers finished.
struct Window {
    Clock::time_point warm_end;
    Clock::time_point end;
    std::atomic<int> phase{0};
    Snapshot open;
    Snapshot close;
};

Snapshot take_snapshot(const Database& db) {
    Snapshot s;
    s.at = Clock::now();
    s.stats = db.group_commit_stats();
    s.write_bytes = process_write_bytes().value_or(0);
    s.cpu_seconds = process_cpu_seconds();
    return s;
}

/// Called by a committer after each completed commit: opens or closes the window when due.
void observe(Window& window, const Database& db, Clock::time_point now) {
    int phase = window.phase.load(std::memory_order_acquire);
    if (phase == 0 && now >= window.warm_end) {
        if (window.phase.compare_exchange_strong(phase, 1, std::memory_order_acq_rel)) {
            window.open = take_snapshot(db);
            window.phase.store(2, std::memory_order_release);
        }
    } else if (phase == 2 && now >= window.end) {
        if (window.phase.compare_exchange_strong(phase, 3, std::memory_order_acq_rel)) {
            window.close = take_snapshot(db);
            window.phase.store(4, std::memory_order_release);
        }
    }
}

struct Committer {
    explicit Committer(std::uint64_t seed) : stream(seed) {}
    KeyStream stream;
    std::vector<double> latencies_us;
};

/// One committer: submits one-insert batches until the window is closed.
Task<Status> commit_loop(Database* db, coro::ThreadContext* thread, Window* window,
                         Committer* self) {
    if (thread != nullptr) {
        co_await coro::schedule_on(*thread);
    }
    for (std::uint64_t i = 0; i < kCommitsPerCommitterMax; ++i) {
        if (window->phase.load(std::memory_order_acquire) >= 3) {
            break;
        }
        Pair pair = self->stream.draw();
        WriteBatch batch = [pair](WriteTransaction& txn) { return insert_pair(txn, pair); };
        Clock::time_point submitted = Clock::now();
        Status outcome = co_await db->submit_write_batch(std::move(batch));
        if (!outcome) {
            co_return outcome;
        }
        Clock::time_point done = Clock::now();
        if (submitted >= window->warm_end && done <= window->end) {
            self->latencies_us.push_back(
                    std::chrono::duration<double, std::micro>(done - submitted).count());
        }
        observe(*window, *db, done);
    }
    co_return ok();
}

}  // namespace

double CommitMeasurement::commits_per_second() const {
    return window_seconds > 0 ? static_cast<double>(commits) / window_seconds : 0;
}

double CommitMeasurement::syncs_per_second() const {
    return window_seconds > 0 ? static_cast<double>(groups) / window_seconds : 0;
}

double CommitMeasurement::group_size() const {
    return groups > 0 ? static_cast<double>(commits) / static_cast<double>(groups) : 0;
}

double CommitMeasurement::bytes_per_group() const {
    return groups > 0 ? static_cast<double>(written_bytes) / static_cast<double>(groups) : 0;
}

double CommitMeasurement::cpu_share() const {
    return window_seconds > 0 ? cpu_seconds / window_seconds : 0;
}

void CommitMeasurement::merge(const CommitMeasurement& other) {
    window_seconds += other.window_seconds;
    commits += other.commits;
    groups += other.groups;
    written_bytes += other.written_bytes;
    cpu_seconds += other.cpu_seconds;
    latencies_us.insert(latencies_us.end(), other.latencies_us.begin(),
                        other.latencies_us.end());
    std::sort(latencies_us.begin(), latencies_us.end());
}

double CommitMeasurement::latency_percentile_us(double p) const {
    if (latencies_us.empty()) {
        return 0;
    }
    double rank = std::ceil(p / 100.0 * static_cast<double>(latencies_us.size()));
    std::size_t index = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
    return latencies_us[std::min(index, latencies_us.size() - 1)];
}

Task<Result<Database>> create_db(std::string path, DatabaseOptions options) {
    auto db = co_await Database::create(std::move(path), std::move(options));
    co_return db;
}

Task<Result<Database>> open_db(std::string path, DatabaseOptions options) {
    auto db = co_await Database::open(std::move(path), std::move(options));
    co_return db;
}

Task<Status> close_db(Database* db) {
    Status closed = co_await db->close();
    co_return closed;
}

Status prefill(Database& db, std::uint64_t count, std::uint64_t seed) {
    Status done = sync_wait(prefill_task(&db, count, seed));
    return done;
}

std::optional<CommitMeasurement> run_commit_cell(Database& db, const CommitCell& cell,
                                                 std::string& error) {
    Window window;
    Clock::time_point start = Clock::now();
    auto span = [](double seconds) {
        return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    };
    window.warm_end = start + span(cell.warmup);
    window.end = window.warm_end + span(cell.seconds);

    std::vector<std::unique_ptr<Committer>> committers;
    for (int i = 0; i < cell.committers; ++i) {
        auto seed = cell.seed * 0x100000001b3ULL + static_cast<std::uint64_t>(i) * 7919 + 1;
        committers.push_back(std::make_unique<Committer>(seed));
    }
    std::vector<Status> outcomes;
    {
        // Declared before the tasks' use and destroyed after sync_wait returned: every
        // committer has finished by then, and no leader is left running (each submit returned).
        std::optional<coro::WorkerThread> first;
        std::optional<coro::WorkerThread> second;
        if (cell.threads == 2) {
            first.emplace();
            second.emplace();
        }
        std::vector<Task<Status>> tasks;
        for (int i = 0; i < cell.committers; ++i) {
            coro::ThreadContext* thread = nullptr;
            if (cell.threads == 2) {
                thread = i % 2 == 0 ? &first->context() : &second->context();
            }
            tasks.push_back(commit_loop(&db, thread, &window, committers[i].get()));
        }
        outcomes = sync_wait(when_all(std::move(tasks)));
    }
    for (const Status& outcome : outcomes) {
        if (!outcome) {
            error = "a commit failed: " + to_string(outcome.error());
            return std::nullopt;
        }
    }
    if (window.phase.load(std::memory_order_acquire) != 4) {
        error = "the window was never closed (no commit completed after it)";
        return std::nullopt;
    }

    CommitMeasurement m;
    m.window_seconds = std::chrono::duration<double>(window.close.at - window.open.at).count();
    m.commits = window.close.stats.batches - window.open.stats.batches;
    m.groups = window.close.stats.groups - window.open.stats.groups;
    m.written_bytes = window.close.write_bytes - window.open.write_bytes;
    m.cpu_seconds = window.close.cpu_seconds - window.open.cpu_seconds;
    if (window.close.stats.failed_groups != window.open.stats.failed_groups) {
        error = "a group failed during the window";
        return std::nullopt;
    }
    if (m.groups == 0 || m.window_seconds <= 0) {
        error = "no group became durable during the window";
        return std::nullopt;
    }
    for (const auto& c : committers) {
        m.latencies_us.insert(m.latencies_us.end(), c->latencies_us.begin(),
                              c->latencies_us.end());
    }
    std::sort(m.latencies_us.begin(), m.latencies_us.end());
    return m;
}

std::optional<std::uint64_t> process_write_bytes() {
    std::ifstream in("/proc/self/io");
    std::string line;
    while (std::getline(in, line)) {
        constexpr std::string_view kField = "write_bytes:";
        if (line.rfind(kField, 0) == 0) {
            std::istringstream value(line.substr(kField.size()));
            std::uint64_t bytes = 0;
            if (value >> bytes) {
                return bytes;
            }
        }
    }
    return std::nullopt;
}

}  // namespace ringdb::bench
