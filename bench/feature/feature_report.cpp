// feature_report: feature_bench's header, table, goals and ratio lines (feature_report.hpp).

#include "feature/feature_report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "common/bench_report.hpp"

namespace ringdb::bench {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string first_field(const char* path, const char* prefix) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) {
            std::size_t colon = line.find(':');
            std::size_t start = line.find_first_not_of(" \t", colon + 1);
            return colon == std::string::npos || start == std::string::npos ? line
                                                                            : line.substr(start);
        }
    }
    return "?";
}

std::string time_text(std::optional<double> seconds) {
    if (!seconds) {
        return "n/a";
    }
    char buffer[32];
    if (*seconds < 0.1) {
        std::snprintf(buffer, sizeof(buffer), "%.2f ms", *seconds * 1e3);
    } else if (*seconds < 10) {
        std::snprintf(buffer, sizeof(buffer), "%.0f ms", *seconds * 1e3);
    } else {
        std::snprintf(buffer, sizeof(buffer), "%.2f s", *seconds);
    }
    return buffer;
}

std::string size_text(std::optional<double> bytes) {
    if (!bytes) {
        return "n/a";
    }
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.1f MiB", *bytes / kMiB);
    return buffer;
}

/// Nanoseconds per operation.
std::string per_op_text(std::optional<double> seconds, std::uint64_t ops) {
    if (!seconds || ops == 0) {
        return "n/a";
    }
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.0f ns", *seconds * 1e9 / static_cast<double>(ops));
    return buffer;
}

std::string spread_text(const FeatureResults& results, const std::string& cell) {
    std::optional<double> spread = results.spread_percent(cell);
    if (!spread) {
        return "-";
    }
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.0f%%", *spread);
    return buffer;
}

std::optional<double> ratio_of(std::optional<double> ours, std::optional<double> theirs) {
    if (!ours || !theirs || !(*theirs > 0)) {
        return std::nullopt;
    }
    return *ours / *theirs;
}

void print_counters(const FeatureSetup& setup, const FeatureResults& results) {
    const FeatureSizes& s = setup.sizes;
    std::printf("\n1. counters: %s increments (+1, u64 little-endian) of %s counters\n   "
                "chosen by a seeded RNG, %s per transaction / WriteBatch, not synced (ringdb\n"
                "   Durability::none; rocksdb sync=false, WAL on), then every counter read back "
                "and checked\n   (total %s); the ratios use the totals\n",
                grouped(s.increments).c_str(), grouped(s.counter_keys).c_str(),
                grouped(s.merge_batch).c_str(), grouped(s.increments).c_str());
    std::printf("   %-40s %11s %11s %11s %7s\n", "workload", "increments", "read-back", "total",
                "spread");
    const char* rows[][2] = {{"merge", "ringdb merge_in (numeric_add)"},
                             {"get_insert", "ringdb get + add + insert"},
                             {"rocksdb_merge", "rocksdb Merge (u64 add operator)"}};
    for (const auto& row : rows) {
        std::string cell = row[0];
        std::printf("   %-40s %11s %11s %11s %7s\n", row[1],
                    time_text(results.median(cell + ".increments")).c_str(),
                    time_text(results.median(cell + ".read_back")).c_str(),
                    time_text(results.median(cell + ".total")).c_str(),
                    spread_text(results, cell + ".total").c_str());
    }
}

void print_timed_pair(const FeatureResults& results, const char* cell, const char* label,
                      std::uint64_t ops) {
    std::printf("   %-40s %11s %11s %7s\n", label, time_text(results.median(cell)).c_str(),
                per_op_text(results.median(cell), ops).c_str(), spread_text(results, cell).c_str());
}

void print_ttl(const FeatureSetup& setup, const FeatureResults& results) {
    const FeatureSizes& s = setup.sizes;
    std::printf("\n2. TTL inserts: %s pairs (u64 keys in scattered order, 16-byte values), %s "
                "per durable\n   transaction\n",
                grouped(s.ttl_pairs).c_str(), grouped(s.ttl_batch).c_str());
    std::printf("   %-40s %11s %11s %7s\n", "workload", "time", "per insert", "spread");
    print_timed_pair(results, "ttl_insert", "ringdb insert_with_ttl (TTL table, 1 h)",
                     s.ttl_pairs);
    print_timed_pair(results, "plain_insert", "ringdb insert (plain table)", s.ttl_pairs);
    print_timed_pair(results, "wide_insert", "ringdb insert (plain, 24-byte values)",
                     s.ttl_pairs);

    std::printf("\n3. purge: %s expired entries (inserted untimed with a 1 s TTL, the clock then "
                "moved 2 s on)\n   against removing the same keys one by one; one durable "
                "transaction each\n",
                grouped(s.purge_pairs).c_str());
    std::printf("   %-40s %11s %11s %7s\n", "workload", "time", "per entry", "spread");
    print_timed_pair(results, "purge", "ringdb purge_expired() (TTL table)", s.purge_pairs);
    print_timed_pair(results, "remove", "ringdb remove() each key, key order", s.purge_pairs);
}

void print_compression(const FeatureSetup& setup, const FeatureResults& results) {
    const FeatureSizes& s = setup.sizes;
    const double raw = static_cast<double>(s.values) * (kValueBytes + 8);
    std::printf("\n4. compression: %s JSON-like values of %zu bytes (u64 keys 0..N-1, loaded in "
                "key order,\n   %s per transaction / WriteBatch), then compacted and closed; raw "
                "keys + values %.1f MiB\n",
                grouped(s.values).c_str(), kValueBytes, grouped(s.value_batch).c_str(),
                raw / kMiB);
    std::printf("   %-40s %11s %11s %11s %7s %7s\n", "database", "ingest", "compaction",
                "file size", "vs raw", "spread");
    const char* rows[][2] = {{"ringdb_none", "ringdb, no compression"},
                             {"ringdb_zstd", "ringdb, zstd level 3 (min_size 64)"},
                             {"ringdb_lz4", "ringdb, lz4 level 1 (min_size 64)"},
                             {"rocksdb_zstd", "rocksdb, kZSTD level 3"},
                             {"rocksdb_lz4", "rocksdb, kLZ4Compression"}};
    for (const auto& row : rows) {
        std::string cell = row[0];
        std::optional<double> bytes = results.median(cell + ".bytes");
        char versus[32] = "n/a";
        if (bytes) {
            std::snprintf(versus, sizeof(versus), "%.3f", *bytes / raw);
        }
        std::printf("   %-40s %11s %11s %11s %7s %7s\n", row[1],
                    time_text(results.median(cell + ".ingest")).c_str(),
                    time_text(results.median(cell + ".compact")).c_str(),
                    size_text(bytes).c_str(), versus,
                    spread_text(results, cell + ".bytes").c_str());
    }
    if (!setup.rocksdb_missing.empty()) {
        std::printf("   (this RocksDB was built without %s: those cells are n/a)\n",
                    setup.rocksdb_missing.c_str());
    }
}

void print_reads(const FeatureSetup& setup, const FeatureResults& results) {
    const FeatureSizes& s = setup.sizes;
    std::printf("\n5. point reads: %s random gets (seeded) of the compacted ringdb databases of "
                "cell 4, reopened\n   with a %.0f MiB cache, after an untimed warm-up pass of "
                "the same gets; one read transaction\n",
                grouped(s.reads).c_str(), static_cast<double>(setup.cache_bytes) / kMiB);
    std::printf("   %-40s %11s %11s %7s\n", "database", "time", "per read", "spread");
    print_timed_pair(results, "ringdb_none.reads", "ringdb, no compression", s.reads);
    print_timed_pair(results, "ringdb_zstd.reads", "ringdb, zstd level 3", s.reads);
    print_timed_pair(results, "ringdb_lz4.reads", "ringdb, lz4 level 1", s.reads);
}

struct Goal {
    const char* name;
    std::optional<double> value;
    bool higher_is_better;
    double bound;
    const char* meaning;
};

std::optional<double> ttl_bytes_floor(const FeatureResults& r) {
    return ratio_of(r.median("wide_insert"), r.median("plain_insert"));
}

std::optional<double> ttl_vs_same_bytes(const FeatureResults& r) {
    return ratio_of(r.median("ttl_insert"), r.median("wide_insert"));
}

std::vector<Goal> goals(const FeatureResults& r) {
    return {
            {"merge_vs_rocksdb", ratio_of(r.median("rocksdb_merge.total"), r.median("merge.total")),
             true, 1.0, "rocksdb / ringdb time, cell 1 (higher is better)"},
            {"merge_vs_get_insert", ratio_of(r.median("merge.total"), r.median("get_insert.total")),
             false, 1.0, "merge_in / get + add + insert, cell 1"},
            {"ttl_insert_vs_insert", ratio_of(r.median("ttl_insert"), r.median("plain_insert")),
             false, 1.15, "insert_with_ttl / insert, cell 2"},
            {"purge_vs_remove", ratio_of(r.median("purge"), r.median("remove")), false, 1.0,
             "purge_expired() / remove() x N, cell 3"},
            {"zstd_size_vs_rocksdb",
             ratio_of(r.median("ringdb_zstd.bytes"), r.median("rocksdb_zstd.bytes")), false, 1.0,
             "ringdb / rocksdb bytes on disk, cell 4"},
            {"lz4_size_vs_rocksdb",
             ratio_of(r.median("ringdb_lz4.bytes"), r.median("rocksdb_lz4.bytes")), false, 1.0,
             "ringdb / rocksdb bytes on disk, cell 4"},
            {"zstd_read_vs_uncompressed",
             ratio_of(r.median("ringdb_zstd.reads"), r.median("ringdb_none.reads")), false, 1.5,
             "zstd / uncompressed read time, cell 5"},
    };
}

void print_notes(const FeatureSetup& setup, const FeatureResults& results, double elapsed) {
    std::printf("\nnotes: cells are medians of %d run(s)%s; spread = (max - min) / median;\n"
                "       every workload runs in a fresh database; counters and reads are checked; "
                "total %.1f s\n",
                setup.runs, setup.quick ? " (--quick: counts cut 50x)" : "", elapsed);
    std::optional<double> none = results.median("ringdb_none.bytes");
    std::optional<double> zstd = results.median("ringdb_zstd.bytes");
    if (none && zstd && *zstd > 0.9 * *none) {
        std::printf("# ringdb's zstd file is %.0f%% of the uncompressed one: value compression "
                    "is not in\n# effect in this build\n", *zstd / *none * 100);
    }
}

void print_goals(const FeatureResults& results) {
    std::printf("\ngoals:\n");
    for (const Goal& g : goals(results)) {
        const char* verdict = "n/a";
        if (g.value) {
            bool met = g.higher_is_better ? *g.value >= g.bound : *g.value <= g.bound;
            verdict = met ? "met" : "not met";
        }
        char value[32] = "n/a";
        if (g.value) {
            std::snprintf(value, sizeof(value), "%.3f", *g.value);
        }
        std::printf("  %-27s %7s  %s %.2f  %-8s %s\n", g.name, value,
                    g.higher_is_better ? ">=" : "<=", g.bound, verdict, g.meaning);
    }
    // Limits, not goals: what a TTL entry's 8-byte expiry costs by itself in cell 2.
    auto text = [](std::optional<double> value) {
        char out[32] = "n/a";
        if (value) {
            std::snprintf(out, sizeof(out), "%.3f", *value);
        }
        return std::string(out);
    };
    std::printf("\nlimits:\n");
    std::printf("  %-27s %7s  plain insert of 24-byte / of 16-byte values, cell 2: the\n"
                "  %-27s %7s  least ttl_insert_vs_insert can be with an 8-byte expiry\n",
                "ttl_bytes_floor", text(ttl_bytes_floor(results)).c_str(), "", "");
    std::printf("  %-27s %7s  insert_with_ttl / plain insert of the same bytes, cell 2\n",
                "ttl_insert_vs_same_bytes", text(ttl_vs_same_bytes(results)).c_str());
    std::printf("\n");
    for (const Goal& g : goals(results)) {
        if (g.value) {
            std::printf("ratio %s %.3f\n", g.name, *g.value);
        } else {
            std::printf("ratio %s n/a (a cell did not run)\n", g.name);
        }
    }
    for (const auto& [name, value] :
         {std::pair{"ttl_bytes_floor", ttl_bytes_floor(results)},
          std::pair{"ttl_insert_vs_same_bytes", ttl_vs_same_bytes(results)}}) {
        if (value) {
            std::printf("limit %s %.3f\n", name, *value);
        }
    }
}

}  // namespace

void FeatureResults::add_counters(const std::string& workload, const CounterTimes& times) {
    add(workload + ".increments", times.increments);
    add(workload + ".read_back", times.read_back);
    add(workload + ".total", times.increments + times.read_back);
}

void FeatureResults::add_build(const std::string& workload, const BuildResult& build) {
    add(workload + ".ingest", build.ingest);
    add(workload + ".compact", build.compact);
    add(workload + ".bytes", static_cast<double>(build.bytes));
}

std::optional<double> FeatureResults::median(const std::string& cell) const {
    auto it = samples_.find(cell);
    if (it == samples_.end() || it->second.empty()) {
        return std::nullopt;
    }
    return bench::median(it->second);
}

std::optional<double> FeatureResults::spread_percent(const std::string& cell) const {
    auto it = samples_.find(cell);
    std::optional<double> m = median(cell);
    if (it == samples_.end() || it->second.size() < 2 || !m || !(*m > 0)) {
        return std::nullopt;
    }
    auto [lo, hi] = std::minmax_element(it->second.begin(), it->second.end());
    return (*hi - *lo) / *m * 100;
}

void print_feature_header(int argc, char** argv, const FeatureSetup& setup) {
    char date[64];
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &utc);
    utsname names{};
    ::uname(&names);
    std::printf("feature_bench: merge operators, TTL tables and value compression, ringdb "
                "against RocksDB\n               and against itself without the feature, "
                "same run\n");
    std::printf("date:       %s\n", date);
    std::printf("machine:    %s, %ld cpus, %s memory\n",
                first_field("/proc/cpuinfo", "model name").c_str(),
                ::sysconf(_SC_NPROCESSORS_ONLN), first_field("/proc/meminfo", "MemTotal").c_str());
    std::printf("kernel:     %s %s %s\n", names.sysname, names.release, names.machine);
    std::printf("directory:  %s (%s)\n", setup.dir.c_str(), filesystem_name(setup.dir).c_str());
    std::printf("command:   ");
    for (int i = 0; i < argc; ++i) {
        std::printf(" %s", argv[i]);
    }
    std::string missing;
    if (!setup.rocksdb_missing.empty()) {
        missing = " (built without " + setup.rocksdb_missing + ")";
    }
    std::printf("\nversions:   ringdb this tree, rocksdb %s%s\n", setup.rocksdb_version.c_str(),
                missing.c_str());
    std::printf("runs:       %d, each cell the median%s\n", setup.runs,
                setup.quick ? " (--quick)" : "");
    std::fflush(stdout);
}

void print_feature_report(const FeatureSetup& setup, const FeatureResults& results,
                          double elapsed_seconds) {
    print_counters(setup, results);
    print_ttl(setup, results);
    print_compression(setup, results);
    print_reads(setup, results);
    print_notes(setup, results, elapsed_seconds);
    print_goals(results);
}

}  // namespace ringdb::bench
