// kv_report: kv_bench's counts, samples and printed report. Cells are medians over the runs;
// the two ratio columns divide ringdb's median by LMDB's and by the best peer's (smallest time
// or size) of the same run set.

#include "kv/kv_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace ringdb::bench {

namespace {

constexpr std::array<KvPhase, kKvPhaseCount> kRows = {
        KvPhase::bulk_load,    KvPhase::individual_writes, KvPhase::batch_writes,
        KvPhase::nosync_writes, KvPhase::len,              KvPhase::random_reads,
        KvPhase::range_reads,  KvPhase::reads_t1,          KvPhase::reads_t2,
        KvPhase::reads_t4,     KvPhase::removals,          KvPhase::size_open,
        KvPhase::size_closed,  KvPhase::compaction,        KvPhase::size_compacted,
        KvPhase::bulk_load_cpu, KvPhase::random_reads_cpu, KvPhase::range_reads_cpu};

std::size_t index_of(KvPhase phase) { return static_cast<std::size_t>(phase); }

std::string count_text(std::uint64_t value) {
    std::string digits = std::to_string(value);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out.push_back(',');
        }
        out.push_back(digits[i]);
    }
    return out;
}

std::string row_label(KvPhase phase, const Counts& c) {
    switch (phase) {
        case KvPhase::bulk_load: return "bulk load (" + count_text(c.n) + ")";
        case KvPhase::individual_writes:
            return "individual writes (" + count_text(c.individual) + ")";
        case KvPhase::batch_writes:
            return "batch writes (" + count_text(c.batches) + " x " + count_text(c.batch_size) +
                   ")";
        case KvPhase::nosync_writes: return "nosync writes (" + count_text(c.nosync) + ")";
        case KvPhase::len: return "len()";
        case KvPhase::random_reads: return "random reads (2 x " + count_text(c.reads) + ")";
        case KvPhase::range_reads:
            return "range reads (2 x " + count_text(c.ranges) + " x " +
                   std::to_string(c.range_width) + ")";
        case KvPhase::reads_t1: return "reads, 1 thread (" + count_text(c.n) + ")";
        case KvPhase::reads_t2: return "reads, 2 threads (" + count_text(c.n) + ")";
        case KvPhase::reads_t4: return "reads, 4 threads (" + count_text(c.n) + ")";
        case KvPhase::removals: return "removals (" + count_text(c.n / 2) + ")";
        case KvPhase::size_open: return "size after removals, open";
        case KvPhase::size_closed: return "size after close";
        case KvPhase::compaction: return "compaction time";
        case KvPhase::size_compacted: return "size compacted";
        case KvPhase::bulk_load_cpu: return "CPU time: bulk load";
        case KvPhase::random_reads_cpu: return "CPU time: random reads";
        case KvPhase::range_reads_cpu: return "CPU time: range reads";
    }
    return "?";
}

std::string cell_text(double value, bool is_size) {
    char buffer[32];
    if (std::isnan(value)) {
        return "n/a";
    }
    if (is_size) {
        std::snprintf(buffer, sizeof(buffer), "%.1f MiB", value / (1024.0 * 1024.0));
    } else if (value < 0.1) {
        std::snprintf(buffer, sizeof(buffer), "%.2f ms", value * 1e3);
    } else if (value < 10) {
        std::snprintf(buffer, sizeof(buffer), "%.0f ms", value * 1e3);
    } else {
        std::snprintf(buffer, sizeof(buffer), "%.2f s", value);
    }
    return buffer;
}

std::string ratio_text(double ours, double theirs) {
    if (std::isnan(ours) || std::isnan(theirs) || theirs <= 0) {
        return "n/a";
    }
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.3f", ours / theirs);
    return buffer;
}

bool has(const KvResults& results, const std::string& engine) {
    const auto& e = results.engines();
    return std::find(e.begin(), e.end(), engine) != e.end();
}

/// The smallest median among the peers (every engine but ringdb), NaN if none.
double best_peer(const KvResults& results, KvPhase phase) {
    double best = std::nan("");
    for (const std::string& engine : results.engines()) {
        double v = results.median(engine, phase);
        if (engine != "ringdb" && !std::isnan(v) && (std::isnan(best) || v < best)) {
            best = v;
        }
    }
    return best;
}

void print_table(const KvResults& results, const Counts& counts) {
    std::printf("%-34s", "phase");
    for (const std::string& engine : results.engines()) {
        std::printf(" %12s", engine.c_str());
    }
    std::printf(" %12s %12s\n", "ringdb/lmdb", "ringdb/best");
    for (KvPhase phase : kRows) {
        bool is_size = kv_phase_is_size(phase);
        std::printf("%-34s", row_label(phase, counts).c_str());
        for (const std::string& engine : results.engines()) {
            std::printf(" %12s", cell_text(results.median(engine, phase), is_size).c_str());
        }
        double ours = has(results, "ringdb") ? results.median("ringdb", phase) : std::nan("");
        double lmdb = has(results, "lmdb") ? results.median("lmdb", phase) : std::nan("");
        std::printf(" %12s %12s\n", ratio_text(ours, lmdb).c_str(),
                    ratio_text(ours, best_peer(results, phase)).c_str());
    }
}

void print_spread(const KvResults& results, const Counts& counts) {
    std::printf("\nspread across %d runs, (max - min) / median:\n", results.runs());
    for (KvPhase phase : kRows) {
        std::printf("%-34s", row_label(phase, counts).c_str());
        for (const std::string& engine : results.engines()) {
            double s = results.spread_percent(engine, phase);
            std::printf(" %11.0f%%", std::isnan(s) ? 0.0 : s);
        }
        std::printf("\n");
    }
}

void print_ratio(const KvResults& results, const char* name, KvPhase ours, KvPhase theirs) {
    double a = has(results, "ringdb") ? results.median("ringdb", ours) : std::nan("");
    double b = has(results, "lmdb") ? results.median("lmdb", theirs) : std::nan("");
    std::printf("ratio %s %s\n", name, ratio_text(a, b).c_str());
}

}  // namespace

const char* kv_phase_key(KvPhase phase) {
    constexpr std::array<const char*, kKvPhaseCount> kKeys = {
            "bulk_load",   "individual_writes", "batch_writes", "nosync_writes",
            "len",         "random_reads",      "range_reads",  "reads_1_thread",
            "reads_2_threads", "reads_4_threads", "removals",   "size_open",
            "size_closed", "compaction",        "size_compacted", "bulk_load_cpu",
            "random_reads_cpu", "range_reads_cpu"};
    return kKeys[index_of(phase)];
}

bool kv_phase_is_size(KvPhase phase) {
    return phase == KvPhase::size_open || phase == KvPhase::size_closed ||
           phase == KvPhase::size_compacted;
}

Counts Counts::full(std::uint64_t n) {
    Counts c;
    c.n = n;
    c.individual = 1'000;
    c.batches = 100;
    c.batch_size = 1'000;
    c.nosync = 50'000;
    c.reads = std::min<std::uint64_t>(1'000'000, n);
    c.ranges = std::min<std::uint64_t>(500'000, std::max<std::uint64_t>(n / 2, 1));
    return c;
}

Counts Counts::quick(std::uint64_t n) {
    Counts c;
    c.n = n;
    c.individual = 100;
    c.batches = 10;
    c.batch_size = 1'000;
    c.nosync = 2'000;
    c.reads = n;
    c.ranges = std::max<std::uint64_t>(n / 2, 1);
    return c;
}

void KvResults::add(const std::string& engine, KvPhase phase, double value) {
    samples_[engine][index_of(phase)].push_back(value);
}

double KvResults::median(const std::string& engine, KvPhase phase) const {
    auto it = samples_.find(engine);
    if (it == samples_.end() || it->second[index_of(phase)].empty()) {
        return std::nan("");
    }
    std::vector<double> values = it->second[index_of(phase)];
    if (std::any_of(values.begin(), values.end(), [](double v) { return std::isnan(v); })) {
        return std::nan("");
    }
    std::sort(values.begin(), values.end());
    std::size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double KvResults::spread_percent(const std::string& engine, KvPhase phase) const {
    double m = median(engine, phase);
    auto it = samples_.find(engine);
    if (std::isnan(m) || m <= 0 || it == samples_.end()) {
        return std::nan("");
    }
    const std::vector<double>& values = it->second[index_of(phase)];
    auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    return (*hi - *lo) / m * 100;
}

void print_kv_report(const KvResults& results, const Counts& counts, double elapsed_seconds) {
    print_table(results, counts);
    if (results.runs() > 1) {
        print_spread(results, counts);
    }
    std::printf("\nnotes: cells are medians of %d run(s); times include each commit; reads check "
                "every value; sqlite-rj is the default rollback journal; total %.1f s\n",
                results.runs(), elapsed_seconds);
    bool ringdb_compacts = has(results, "ringdb") &&
                           !std::isnan(results.median("ringdb", KvPhase::size_compacted));
    if (!ringdb_compacts) {
        std::printf("# ringdb's compaction did not run: compacted_size_vs_lmdb uses ringdb's "
                    "size after close (close trims the file) over LMDB's compacted copy\n");
    }
    print_ratio(results, "bulk_load_time_vs_lmdb", KvPhase::bulk_load, KvPhase::bulk_load);
    print_ratio(results, "individual_writes_time_vs_lmdb", KvPhase::individual_writes,
                KvPhase::individual_writes);
    print_ratio(results, "batch_writes_time_vs_lmdb", KvPhase::batch_writes, KvPhase::batch_writes);
    print_ratio(results, "random_reads_time_vs_lmdb", KvPhase::random_reads, KvPhase::random_reads);
    print_ratio(results, "range_reads_time_vs_lmdb", KvPhase::range_reads, KvPhase::range_reads);
    print_ratio(results, "threaded_reads_time_vs_lmdb", KvPhase::reads_t4, KvPhase::reads_t4);
    print_ratio(results, "removals_time_vs_lmdb", KvPhase::removals, KvPhase::removals);
    print_ratio(results, "bulk_load_cpu_vs_lmdb", KvPhase::bulk_load_cpu, KvPhase::bulk_load_cpu);
    print_ratio(results, "random_reads_cpu_vs_lmdb", KvPhase::random_reads_cpu,
                KvPhase::random_reads_cpu);
    print_ratio(results, "range_reads_cpu_vs_lmdb", KvPhase::range_reads_cpu,
                KvPhase::range_reads_cpu);
    print_ratio(results, "compacted_size_vs_lmdb",
                ringdb_compacts ? KvPhase::size_compacted : KvPhase::size_closed,
                KvPhase::size_compacted);
}

}  // namespace ringdb::bench
