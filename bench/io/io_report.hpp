#pragma once
// io_report: io_bench's phases, engines, collected samples and printed report (the header
// describing the machine and run, the table of medians, the spread, and the goal lines).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ringdb::bench {

enum class Phase { read_qd1, read_qd32, write_sync };
enum class Engine { uring, posix, fio };

inline constexpr std::array<Phase, 3> kPhases = {Phase::read_qd1, Phase::read_qd32,
                                                 Phase::write_sync};
inline constexpr std::array<Engine, 3> kEngines = {Engine::uring, Engine::posix, Engine::fio};

const char* phase_label(Phase phase);
const char* engine_name(Engine engine);

/// One measurement of one (phase, engine) cell.
struct Sample {
    double rate = 0;            // IOPS, or write+fdatasync pairs per second
    double cpu_us_per_op = 0;   // process (ringdb) or job (fio) usr+sys per operation
    double ops_per_submit = 0;  // uring only: ring operations per submitting io_uring_enter
};

/// Samples of every cell over all runs.
class Results {
public:
    explicit Results(int runs) : runs_(runs) {}
    void add(Phase phase, Engine engine, const Sample& sample);
    const std::vector<Sample>& cell(Phase phase, Engine engine) const;
    int runs() const { return runs_; }

private:
    int runs_;
    std::array<std::array<std::vector<Sample>, 3>, 3> cells_;
};

/// Prints what the README needs next to the table: date, kernel, CPU, directory and file
/// system, fio version, command line and configuration.
void print_header(int argc, char** argv, const std::string& dir, const std::string& fio_version,
                  std::uint64_t size_mib, std::uint64_t sync_mib, double seconds, int runs);

/// Prints the table of medians, the spread across runs, notes, and last the goal lines
/// `ratio <name> <value>`.
void print_report(const Results& results, double elapsed_seconds);

}  // namespace ringdb::bench
