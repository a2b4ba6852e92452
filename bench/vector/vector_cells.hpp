#pragma once
// vector_cells: one run of each of vector_bench's cells. Each function appends this run's
// value to its cell in VectorResults (and its checks to the cell's CheckResult).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <ringdb/runtime.hpp>

#include "vector/faiss_peer.hpp"
#include "vector/hnsw_peer.hpp"
#include "vector/ringdb_vectors.hpp"
#include "vector/vector_data.hpp"
#include "vector/vector_report.hpp"

namespace ringdb::bench {

/// Cell 1: ns per call of every kernel at dimensions 128, 384 and 1536: `element_budget` / dim
/// calls of one query against a cycle of 32 vectors (in L1 or L2), in 5 slices interleaved
/// between the kernels; each kernel's fastest slice counts.
void measure_kernels(std::uint64_t element_budget, std::vector<KernelCell>& cells);

/// Cell 2: every query through ringdb's nearest_k, hnswlib's BruteforceSearch and FAISS's
/// IndexFlatL2 (ms per query, averaged over the queries), each result checked against
/// ringdb's. `ringdb_hits` receives ringdb's result of every query (cells 5 and 6 check
/// theirs against it).
bool measure_search(RingdbVectors& db, const HnswBruteForce& hnsw, const FaissFlat& faiss,
                    const VectorSet& queries, std::size_t k, VectorResults& results,
                    std::vector<std::vector<Hit>>& ringdb_hits, std::string& error);

/// Cell 3: seconds of one streaming read of the whole array.
double measure_stream(const VectorSet& set);

/// Cell 4: the Hamming nearest_k of each query's quantisation (ms per query), checked against
/// a brute-force scan of `codes` (kBinaryBytes per vector, row order).
bool measure_binary(RingdbVectors& db, std::span<const std::uint8_t> codes,
                    const VectorSet& queries, std::size_t k, VectorResults& results,
                    std::string& error);

/// Cell 6: nearest_k_parallel with `helper` (ms per query), checked against `single`.
bool measure_parallel(RingdbVectors& db, coro::ThreadContext& helper, const VectorSet& queries,
                      std::size_t k, const std::vector<std::vector<Hit>>& single,
                      VectorResults& results, std::string& error);

}  // namespace ringdb::bench
