// io_bench: ringdb's file devices against the physical limits fio measures in the same run
// (4 KiB random reads and write+fdatasync, the floor any storage engine sits on).
//
// Phases, each run for the uring device, the posix device and fio:
//   1. randread QD1:  4 KiB random aligned reads, O_DIRECT, one in flight;
//   2. randread QD32: the same with 32 in flight (32 coroutines on one thread for ringdb; the
//      posix device's reads are synchronous, so its QD32 is really QD1, shown as such);
//   3. write+fdatasync: 4 KiB buffered writes, sequential over an existing, fully written
//      file (wrapping at its end), each followed by fdatasync, one at a time.
// Both sides do the same thing in every phase: the same file, block size, O_DIRECT flag,
// uniform random offsets with replacement (fio --norandommap), and for phase 3 the same
// sequential overwrite of the same preexisting file, so fdatasync flushes data only.
//
// Before each ringdb phase the file's cached pages are dropped, as fio does (invalidate=1).
//
// Within each run every phase runs all three engines back to back, the engine order rotating
// from run to run, so drift on this shared machine affects all engines alike. An unmeasured
// warm-up comes first. Each cell is the median over the runs. The last lines are the goals,
// `ratio <name> <value>`.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <ringdb/options.hpp>

#include "common/fio_runner.hpp"
#include "common/scratch_files.hpp"
#include "io/device_workloads.hpp"
#include "io/io_report.hpp"

namespace ringdb::bench {
namespace {

struct Options {
    std::string dir;  // empty: pick one (see choose_base_dir)
    std::uint64_t size_mib = 1024;
    double seconds = 5;
    int runs = 3;
    bool quick = false;
    std::string fio = "fio";
};

void print_usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: io_bench [--dir DIR] [--size-mib N] [--seconds S] [--runs R] [--quick]\n"
                 "                [--fio PATH]\n"
                 "  --dir DIR      directory on a real disk (not tmpfs); default: the current\n"
                 "                 directory, else $TMPDIR, else /var/tmp\n"
                 "  --size-mib N   size of the random-read file (default 1024)\n"
                 "  --seconds S    seconds per phase and engine (default 5)\n"
                 "  --runs R       runs; each cell is the median (default 3)\n"
                 "  --quick        smoke test: 64 MiB file, 1 s phases, 1 run\n"
                 "  --fio PATH     the fio executable (default: fio on PATH)\n");
}

bool parse_number(const char* text, double& out) {
    char* end = nullptr;
    errno = 0;
    double value = std::strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(value > 0)) {
        return false;
    }
    out = value;
    return true;
}

/// Parses argv into `options`; returns false (after printing why) on a bad command line.
bool parse_options(int argc, char** argv, Options& options) {
    bool explicit_size = false;
    bool explicit_seconds = false;
    bool explicit_runs = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        std::size_t eq = arg.find('=');
        bool has_inline = arg.rfind("--", 0) == 0 && eq != std::string::npos;
        if (has_inline) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        if (arg == "--quick") {
            options.quick = true;
            continue;
        }
        if (arg == "--help" || arg == "-h") {
            print_usage(stdout);
            std::exit(0);
        }
        bool takes_value = arg == "--dir" || arg == "--size-mib" || arg == "--seconds" ||
                           arg == "--runs" || arg == "--fio";
        if (!takes_value) {
            std::fprintf(stderr, "io_bench: unknown option '%s'\n", argv[i]);
            return false;
        }
        if (!has_inline) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "io_bench: %s needs a value\n", arg.c_str());
                return false;
            }
            value = argv[++i];
        }
        double number = 0;
        bool numeric = arg == "--size-mib" || arg == "--seconds" || arg == "--runs";
        if (numeric && !parse_number(value.c_str(), number)) {
            std::fprintf(stderr, "io_bench: %s wants a positive number, not '%s'\n",
                         arg.c_str(), value.c_str());
            return false;
        }
        if (arg == "--dir") {
            options.dir = value;
        } else if (arg == "--fio") {
            options.fio = value;
        } else if (arg == "--size-mib") {
            options.size_mib = static_cast<std::uint64_t>(number);
            explicit_size = true;
        } else if (arg == "--seconds") {
            options.seconds = number;
            explicit_seconds = true;
        } else {
            options.runs = static_cast<int>(number);
            explicit_runs = true;
        }
    }
    // --quick sets the defaults it names; explicit flags still win.
    if (options.quick) {
        options.size_mib = explicit_size ? options.size_mib : 64;
        options.seconds = explicit_seconds ? options.seconds : 1;
        options.runs = explicit_runs ? options.runs : 1;
    }
    if (options.size_mib < 1 || options.runs < 1 || options.runs > 100 ||
        options.seconds > 3600) {
        std::fprintf(stderr, "io_bench: --size-mib >= 1, 1 <= --runs <= 100, --seconds <= 3600\n");
        return false;
    }
    return true;
}

struct Files {
    std::string dir;
    std::string data;  // random-read file
    std::uint64_t data_bytes = 0;
    std::string sync;  // write+fdatasync file
    std::uint64_t sync_bytes = 0;
};

/// fio splits --filename on ':' (several files); a literal colon takes a backslash.
std::string fio_filename(const std::string& path) {
    std::string escaped;
    for (char c : path) {
        if (c == ':') {
            escaped.push_back('\\');
        }
        escaped.push_back(c);
    }
    return "--filename=" + escaped;
}

std::vector<std::string> fio_randread_args(const Files& files, int depth, double seconds) {
    return {"--name=randread_qd" + std::to_string(depth),
            fio_filename(files.data),
            "--size=" + std::to_string(files.data_bytes),
            "--ioengine=io_uring",
            "--direct=1",
            "--rw=randread",
            "--bs=4k",
            "--iodepth=" + std::to_string(depth),
            "--norandommap",
            "--randrepeat=0",
            "--time_based",
            "--runtime=" + std::to_string(std::llround(seconds * 1000)) + "ms"};
}

std::vector<std::string> fio_write_sync_args(const Files& files, double seconds) {
    return {"--name=write_fdatasync",
            fio_filename(files.sync),
            "--size=" + std::to_string(files.sync_bytes),
            "--ioengine=sync",
            "--rw=write",
            "--bs=4k",
            "--fdatasync=1",
            "--time_based",
            "--runtime=" + std::to_string(std::llround(seconds * 1000)) + "ms"};
}

/// Drops the file's clean pages from the page cache, as fio does before each job
/// (invalidate=1), so both sides start from the same cache state.
void drop_cached_pages(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
}

/// Runs one (phase, engine) cell once and records it. Returns false on failure.
bool run_cell(const Options& options, const Files& files, const FioRunner& fio, Phase phase,
              Engine engine, int run, Results& results) {
    int depth = phase == Phase::read_qd1 ? 1 : 32;
    Sample sample;
    if (engine == Engine::fio) {
        std::vector<std::string> args = phase == Phase::write_sync
                                                ? fio_write_sync_args(files, options.seconds)
                                                : fio_randread_args(files, depth, options.seconds);
        std::string error;
        auto r = fio.run(args, error);
        if (!r) {
            std::fprintf(stderr, "io_bench: fio failed: %s\n", error.c_str());
            return false;
        }
        // fio counts fdatasync calls in sync.lat_ns.N; each follows one write.
        double syncs = r->syncs > 0 ? r->syncs : r->write_ios;
        double ops = phase == Phase::write_sync ? syncs : r->read_ios;
        sample.rate = ops / r->runtime_seconds;
        sample.cpu_us_per_op = ops > 0 ? r->cpu_seconds * 1e6 / ops : 0;
    } else {
        IoBackend backend = engine == Engine::uring ? IoBackend::uring : IoBackend::posix;
        std::optional<Measurement> m;
        if (phase == Phase::write_sync) {
            drop_cached_pages(files.sync);
            m = run_write_sync(backend, files.sync, files.sync_bytes, options.seconds);
        } else {
            drop_cached_pages(files.data);
            auto seed = static_cast<std::uint64_t>(run) * 131 + static_cast<std::uint64_t>(depth);
            m = run_random_reads(backend, files.data, files.data_bytes, depth, options.seconds,
                                 seed);
        }
        if (!m) {
            return false;
        }
        sample.rate = m->rate();
        sample.cpu_us_per_op = m->cpu_us_per_operation();
        if (engine == Engine::uring && m->ring_submit_calls > 0) {
            sample.ops_per_submit = static_cast<double>(m->ring_operations) /
                                    static_cast<double>(m->ring_submit_calls);
        }
    }
    std::fprintf(stderr, "  run %d  %-22s %-5s %10.0f /s  %7.2f us CPU/op\n", run + 1,
                 phase_label(phase), engine_name(engine), sample.rate, sample.cpu_us_per_op);
    results.add(phase, engine, sample);
    return true;
}

int run_benchmark(int argc, char** argv, const Options& options) {
    auto base = choose_base_dir(options.dir, "io_bench",
                                "O_DIRECT reads would measure memory, not a disk");
    if (!base) {
        return 2;
    }
    std::string templ = *base + "/io_bench.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
        std::fprintf(stderr, "io_bench: cannot create a directory in %s: %s\n", base->c_str(),
                     std::strerror(errno));
        return 2;
    }
    Files files;
    char absolute[PATH_MAX];
    files.dir = ::realpath(templ.c_str(), absolute) != nullptr ? absolute : templ;
    files.data = files.dir + "/randread.dat";
    files.data_bytes = options.size_mib << 20;
    files.sync = files.dir + "/write_sync.dat";
    files.sync_bytes = std::min<std::uint64_t>(files.data_bytes, std::uint64_t{64} << 20);
    register_scratch({files.data, files.sync, files.dir + "/fio_report.json",
                      files.dir + "/fio.log"},
                     files.dir, "io_bench");
    std::atexit(cleanup_scratch);

    FioRunner fio(options.fio, files.dir);
    std::string error;
    auto fio_version = fio.version(error);
    if (!fio_version) {
        std::fprintf(stderr,
                     "io_bench: fio is required (it measures the physical limits in the same "
                     "run) but cannot be run: %s\n  install it (Debian: apt-get install fio) "
                     "or pass --fio PATH\n",
                     error.c_str());
        return 2;
    }

    print_header(argc, argv, files.dir, *fio_version, options.size_mib, files.sync_bytes >> 20,
                 options.seconds, options.runs);
    std::fprintf(stderr, "io_bench: writing %llu MiB + %llu MiB of test files in %s\n",
                 static_cast<unsigned long long>(options.size_mib),
                 static_cast<unsigned long long>(files.sync_bytes >> 20), files.dir.c_str());
    if (!create_filled_file(files.data, files.data_bytes, "io_bench") ||
        !create_filled_file(files.sync, files.sync_bytes, "io_bench")) {
        return 2;
    }

    // Unmeasured: sets up the thread's ring and io_uring's workers, and lets the disk absorb
    // the files just written before anything is timed.
    double warm_seconds = std::min(1.0, options.seconds);
    if (!run_random_reads(IoBackend::uring, files.data, files.data_bytes, 32, warm_seconds, 1) ||
        !run_write_sync(IoBackend::uring, files.sync, files.sync_bytes, warm_seconds)) {
        return 1;
    }

    Results results(options.runs);
    auto started = std::chrono::steady_clock::now();
    for (int run = 0; run < options.runs; ++run) {
        for (Phase phase : kPhases) {
            for (std::size_t k = 0; k < kEngines.size(); ++k) {
                Engine engine = kEngines[(k + static_cast<std::size_t>(run)) % kEngines.size()];
                if (!run_cell(options, files, fio, phase, engine, run, results)) {
                    return 1;
                }
            }
        }
    }
    double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    print_report(results, elapsed);
    return 0;
}

}  // namespace
}  // namespace ringdb::bench

int main(int argc, char** argv) {
    ringdb::bench::Options options;
    if (!ringdb::bench::parse_options(argc, argv, options)) {
        ringdb::bench::print_usage(stderr);
        return 2;
    }
    return ringdb::bench::run_benchmark(argc, argv, options);
}
