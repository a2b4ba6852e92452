// io_report: formatting of io_bench's results. Every cell of the table is the median over
// the runs; the ratio column and the goal lines divide the uring median by the fio median.

#include "io/io_report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>

#include "common/bench_report.hpp"

namespace ringdb::bench {

namespace {

using Field = std::function<double(const Sample&)>;

std::vector<double> field_values(const std::vector<Sample>& samples, const Field& field) {
    std::vector<double> values;
    values.reserve(samples.size());
    for (const Sample& s : samples) {
        values.push_back(field(s));
    }
    return values;
}

double cell_median(const Results& results, Phase phase, Engine engine, const Field& field) {
    return median(field_values(results.cell(phase, engine), field));
}

/// (max - min) / median in percent.
double spread_percent(const std::vector<double>& values) {
    double m = median(values);
    if (values.empty() || m == 0) {
        return 0;
    }
    auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    return (*hi - *lo) / m * 100;
}

double ratio(double ours, double theirs) { return theirs > 0 ? ours / theirs : 0; }

struct Row {
    Phase phase;
    const char* label;
    const char* unit;
    Field field;
    int decimals;  // digits after the point in a cell
    const char* goal;
};

std::vector<Row> table_rows() {
    Field rate = [](const Sample& s) { return s.rate; };
    Field cpu = [](const Sample& s) { return s.cpu_us_per_op; };
    return {
            {Phase::read_qd1, "randread 4k QD1", "IOPS", rate, 0, ""},
            {Phase::read_qd32, "randread 4k QD32", "IOPS", rate, 0, ">= 0.8"},
            {Phase::read_qd32, "randread 4k QD32 CPU", "us/read", cpu, 2, "<= 1.2"},
            {Phase::write_sync, "write 4k + fdatasync", "syncs/s", rate, 0, ">= 0.8"},
    };
}

void print_table(const Results& results) {
    std::printf("%-22s %-8s %11s %11s %11s %10s  %s\n", "phase", "unit", "uring", "posix",
                "fio", "uring/fio", "goal");
    for (const Row& row : table_rows()) {
        std::printf("%-22s %-8s", row.label, row.unit);
        for (Engine engine : kEngines) {
            std::printf(" %11.*f", row.decimals,
                        cell_median(results, row.phase, engine, row.field));
        }
        double r = ratio(cell_median(results, row.phase, Engine::uring, row.field),
                         cell_median(results, row.phase, Engine::fio, row.field));
        std::printf(" %10.3f  %s\n", r, row.goal);
    }
    std::printf("(posix QD32: the posix device's reads are synchronous, so 32 coroutines on one "
                "thread keep one read in flight: it is QD1.)\n");
}

void print_spread(const Results& results) {
    std::printf("\nper-run values (run 1..%d) and spread = (max - min) / median:\n",
                results.runs());
    for (const Row& row : table_rows()) {
        for (Engine engine : kEngines) {
            auto values = field_values(results.cell(row.phase, engine), row.field);
            std::printf("  %-22s %-8s %-5s", row.label, row.unit, engine_name(engine));
            for (double v : values) {
                std::printf(" %11.*f", row.decimals, v);
            }
            std::printf("   spread %5.1f%%\n", spread_percent(values));
        }
    }
}

std::string read_first_line(const std::string& path, const std::string& prefix) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) {
            return line;
        }
    }
    return "";
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

}  // namespace

const char* phase_label(Phase phase) {
    switch (phase) {
        case Phase::read_qd1:
            return "randread 4k QD1";
        case Phase::read_qd32:
            return "randread 4k QD32";
        case Phase::write_sync:
            return "write 4k + fdatasync";
    }
    return "?";
}

const char* engine_name(Engine engine) {
    switch (engine) {
        case Engine::uring:
            return "uring";
        case Engine::posix:
            return "posix";
        case Engine::fio:
            return "fio";
    }
    return "?";
}

void Results::add(Phase phase, Engine engine, const Sample& sample) {
    cells_[static_cast<std::size_t>(phase)][static_cast<std::size_t>(engine)].push_back(sample);
}

const std::vector<Sample>& Results::cell(Phase phase, Engine engine) const {
    return cells_[static_cast<std::size_t>(phase)][static_cast<std::size_t>(engine)];
}

void print_header(int argc, char** argv, const std::string& dir, const std::string& fio_version,
                  std::uint64_t size_mib, std::uint64_t sync_mib, double seconds, int runs) {
    char date[64];
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &utc);
    utsname names{};
    ::uname(&names);
    std::string cpu = read_first_line("/proc/cpuinfo", "model name");
    std::size_t colon = cpu.find(':');
    cpu = colon == std::string::npos ? "unknown" : cpu.substr(colon + 2);
    char resolved[4096];
    const char* shown = ::realpath(dir.c_str(), resolved) != nullptr ? resolved : dir.c_str();

    std::printf("io_bench: ringdb file devices (uring, posix) vs fio, same files, same run\n");
    std::printf("date:     %s\n", date);
    std::printf("kernel:   %s %s\n", names.sysname, names.release);
    std::printf("machine:  %ld CPUs, %s\n", ::sysconf(_SC_NPROCESSORS_ONLN), cpu.c_str());
    std::printf("dir:      %s (%s)\n", shown, filesystem_name(dir).c_str());
    std::printf("fio:      %s\n", fio_version.c_str());
    std::printf("command: ");
    for (int i = 0; i < argc; ++i) {
        std::printf(" %s", argv[i]);
    }
    std::printf("\nsetup:    %llu MiB read file, %llu MiB write file, %.3g s per phase and "
                "engine, %d run(s), median per cell\n",
                static_cast<unsigned long long>(size_mib),
                static_cast<unsigned long long>(sync_mib), seconds, runs);
    std::printf("load:     %s (1/5/15 min, at start)\n\n", load_average().c_str());
    std::fflush(stdout);
}

void print_report(const Results& results, double elapsed_seconds) {
    print_table(results);
    print_spread(results);

    Field submit = [](const Sample& s) { return s.ops_per_submit; };
    std::printf("\nuring QD32: ring operations per submitting io_uring_enter, per run:");
    for (double v : field_values(results.cell(Phase::read_qd32, Engine::uring), submit)) {
        std::printf(" %.1f", v);
    }
    std::printf("\n");
    std::printf("phases took %.0f s; load at end %s\n\n", elapsed_seconds,
                load_average().c_str());

    Field rate = [](const Sample& s) { return s.rate; };
    Field cpu = [](const Sample& s) { return s.cpu_us_per_op; };
    std::printf("ratio uring_read_qd32_iops_vs_fio %.3f\n",
                ratio(cell_median(results, Phase::read_qd32, Engine::uring, rate),
                      cell_median(results, Phase::read_qd32, Engine::fio, rate)));
    std::printf("ratio uring_cpu_per_read_vs_fio %.3f\n",
                ratio(cell_median(results, Phase::read_qd32, Engine::uring, cpu),
                      cell_median(results, Phase::read_qd32, Engine::fio, cpu)));
    std::printf("ratio uring_sync_rate_vs_fio %.3f\n",
                ratio(cell_median(results, Phase::write_sync, Engine::uring, rate),
                      cell_median(results, Phase::write_sync, Engine::fio, rate)));
}

}  // namespace ringdb::bench
