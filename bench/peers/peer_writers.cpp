#include "peers/peer_writers.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <thread>
#include <vector>

namespace ringdb::bench {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

bool merges_concurrent_writers(const std::string& engine) {
    return engine == "rocksdb" || engine == "leveldb";
}

PeerWriters run_peer_writers(KvEngine& engine, int k, double seconds, std::uint64_t seed) {
    std::atomic<bool> stop{false};
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(k));
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(k));
    const auto start = Clock::now();
    for (int t = 0; t < k; ++t) {
        threads.emplace_back([&, t] {
            Wyrand rng(seed * 1024 + static_cast<std::uint64_t>(t) + 1);
            std::vector<double>& mine = latencies[static_cast<std::size_t>(t)];
            try {
                while (!stop.load(std::memory_order_relaxed)) {
                    const auto before = Clock::now();
                    engine.write(rng, 1, true);
                    mine.push_back(
                            std::chrono::duration<double, std::micro>(Clock::now() - before)
                                    .count());
                }
            } catch (...) {
                errors[static_cast<std::size_t>(t)] = std::current_exception();
                failed.store(true);
            }
        });
    }
    while (!failed.load() &&
           std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop.store(true);
    for (std::thread& t : threads) {
        t.join();
    }
    PeerWriters cell;
    cell.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    for (const std::exception_ptr& e : errors) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
    std::vector<double> all;
    for (const std::vector<double>& mine : latencies) {
        all.insert(all.end(), mine.begin(), mine.end());
    }
    cell.commits = all.size();
    cell.commits_per_second = static_cast<double>(cell.commits) / cell.seconds;
    if (!all.empty()) {
        std::sort(all.begin(), all.end());
        const auto rank = static_cast<std::size_t>(
                std::ceil(0.99 * static_cast<double>(all.size())));
        cell.p99_us = all[std::max<std::size_t>(rank, 1) - 1];
    }
    return cell;
}

std::unique_ptr<KvEngine> open_prefilled(const std::string& name, const std::string& dir,
                                         std::uint64_t prefill) {
    constexpr std::uint64_t kRingdbCache = std::uint64_t{1024} << 20;
    std::unique_ptr<KvEngine> engine = make_named_engine(name, kRingdbCache);
    if (engine == nullptr) {
        throw KvError("unknown engine '" + name + "'");
    }
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    engine->open(dir);
    Wyrand rng(kSeed);
    for (std::uint64_t done = 0; done < prefill; done += 10'000) {
        engine->write(rng, std::min<std::uint64_t>(10'000, prefill - done), true);
    }
    return engine;
}

}  // namespace ringdb::bench
