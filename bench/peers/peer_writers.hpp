#pragma once
// peer_writers: the peers' side of a commit cell, shared by commit_bench and
// peer_commit_bench. K threads each loop one durable insert of a 24-byte key and a 150-byte
// value (KvEngine::write(rng, 1, true)) until the deadline; the engine's own group commit, if
// it has one, merges what arrives together.

#include <cstdint>
#include <string>

#include "peers/kv_peers.hpp"

namespace ringdb::bench {

struct PeerWriters {
    double seconds = 0;           // wall time of the cell
    std::uint64_t commits = 0;    // durable inserts that returned
    double commits_per_second = 0;
    double p99_us = 0;            // commit latency, nearest-rank p99 over every thread's commits
};

/// Whether `engine`'s write() may be called from several threads at once and merges
/// concurrent writers into one log write and one sync: RocksDB and LevelDB. LMDB and SQLite
/// let writers take turns (one sync per commit, so their K = 1 rate is their rate at any K).
bool merges_concurrent_writers(const std::string& engine);

/// Runs K writer threads on `engine` for `seconds`. REQUIRES: k == 1 or
/// merges_concurrent_writers(engine.name()). Rethrows the first writer's exception.
PeerWriters run_peer_writers(KvEngine& engine, int k, double seconds, std::uint64_t seed);

/// A fresh database of `name` in `dir` (emptied first) holding `prefill` pairs of the kv_bench
/// stream, inserted durably 10,000 to a transaction. The caller closes it.
std::unique_ptr<KvEngine> open_prefilled(const std::string& name, const std::string& dir,
                                         std::uint64_t prefill);

}  // namespace ringdb::bench
