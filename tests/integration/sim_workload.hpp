#pragma once
// A seeded workload over the public API on a simulated disk, with the model of what it
// committed, and the checks that a recovered database equals one of those commits. Shared by
// the power-loss, I/O-fault and sync-failure tests (tests/integration/) and the fuzz targets
// (fuzz/), so it reports failures as text instead of Catch2 assertions.
//
// The workload: several tables of different key orders (u64 -> string, string -> u64, and a
// TTL table u64 -> string), inserts (values up to a few pages), merges (bytes append on
// strings, numeric add on integers), TTL inserts, removes and purges, range removes with every
// bound kind, pop, table deletion, a database created with value compression (none, LZ4 or
// zstd, chosen by the seed; compressed tables train their dictionaries after 8 KiB of values),
// commits of every durability (immediate, none, two-phase, quick
// repair), aborts, and clean close + reopen cycles. Everything is decided by one seeded
// stream, so a run replays exactly on a fresh SimDevice with the same seed: the device sees
// the same calls in the same order until a fault changes the outcome.
//
// The contract it checks while it runs: every error is typed (io, no_space or previous_io),
// and once the device has been poisoned (a failed write, sync or set_length), no commit and no
// close reports success.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ringdb/ringdb.hpp>

#include "api/database_access.hpp"
#include "io/sim_device.hpp"

namespace ringdb::test {

/// A BlockDevice that forwards to a SimDevice it shares with the test, so the test keeps the
/// simulated disk (and can crash it) after the Database that used it is gone.
class SharedSimDevice final : public io::BlockDevice {
public:
    explicit SharedSimDevice(std::shared_ptr<io::SimDevice> sim) : sim_(std::move(sim)) {}
    Task<Result<std::uint64_t>> length() override { return sim_->length(); }
    Task<Status> read(std::uint64_t offset, std::span<std::byte> buffer) override {
        return sim_->read(offset, buffer);
    }
    Task<Status> read_uncached(std::uint64_t offset, std::span<std::byte> buffer) override {
        return sim_->read_uncached(offset, buffer);
    }
    Task<Status> write(std::uint64_t offset, std::span<const std::byte> data) override {
        return sim_->write(offset, data);
    }
    Task<Status> write_vectored(std::uint64_t offset,
                                std::span<const std::span<const std::byte>> parts,
                                bool direct) override {
        return sim_->write_vectored(offset, parts, direct);
    }
    Task<Status> sync_data() override { return sim_->sync_data(); }
    Task<Status> sync_all() override { return sim_->sync_all(); }
    Task<Status> set_length(std::uint64_t length) override { return sim_->set_length(length); }
    Task<Status> close() override { return sim_->close(); }
    const char* kind() const noexcept override { return "sim"; }

private:
    std::shared_ptr<io::SimDevice> sim_;
};

/// The content of the database as the model sees it.
struct DbState {
    bool has_numbers = false;
    std::map<std::uint64_t, std::string> numbers;  // table "numbers"
    bool has_names = false;
    std::map<std::string, std::uint64_t> names;  // table "names"
    bool has_ttl = false;
    std::map<std::uint64_t, std::string> ttl;  // TTL table "ttl" (nothing expires in a run)

    bool operator==(const DbState&) const = default;
};

inline constexpr TableDefinition<std::uint64_t, std::string> kNumbersTable("numbers");
inline constexpr TableDefinition<std::string, std::uint64_t> kNamesTable("names");
inline constexpr TtlTableDefinition<std::uint64_t, std::string> kTtlTable("ttl");
/// Written by the checks after recovery (never part of DbState).
inline constexpr TableDefinition<std::uint64_t, std::uint64_t> kExtraTable("extra");

/// Whether the environment asks for long runs (RINGDB_LONG=1): more seeds and longer
/// workloads than the CI-sized defaults (docs/testing.md).
bool long_runs();
/// `ci` normally, `long_count` under RINGDB_LONG=1.
int run_count(int ci, int long_count);
/// The base seed of a randomised test: RINGDB_SEED, else a fresh random one.
std::uint64_t base_seed();

/// A one-line summary (table sizes and a content hash) for failure messages.
std::string describe(const DbState& state);

/// The database options every simulated database here uses: 512-byte pages (deep trees from
/// little data) and a small cache (so that pages are read back from the device).
DatabaseOptions sim_options();

/// The value compression a workload of `seed` creates its database with.
Compression compression_for(std::uint64_t seed);

/// Opens a Database on `sim` through the test seam (`compression` applies when it creates;
/// `checkpoint_bytes` replaces the default when not 0).
Result<Database> open_sim(const std::shared_ptr<io::SimDevice>& sim, bool create,
                          Compression compression = {}, std::uint64_t checkpoint_bytes = 0);
/// Opens a Database on `sim` with `options` (sim_options() with changes, for instance).
Result<Database> open_sim_with(const std::shared_ptr<io::SimDevice>& sim, bool create,
                               DatabaseOptions options);

/// Reads "numbers" and "names" through a new read transaction; any error is returned.
Result<DbState> read_state(Database& db);

struct WorkloadOptions {
    std::uint64_t seed = 0;
    int transactions = 20;
    int ops_max = 24;  // operations per transaction, at most
    /// After an error that did not poison the device (a failed read), keep going: abort the
    /// transaction and continue (the database must stay usable).
    bool keep_going = false;
    /// SimDevice latency (scheduler rounds an I/O may take, at most) while the workload runs:
    /// a background checkpoint then interleaves with the commits after the one that started it.
    std::uint32_t latency = 0;
    /// DatabaseOptions::checkpoint_bytes (0: the default). A small value makes logged commits
    /// start background checkpoints often; a non-durable commit may then become durable.
    std::uint64_t checkpoint_bytes = 0;
};

struct WorkloadResult {
    /// commits[0] is the empty database; then every commit attempted, in order (a close
    /// counts as a commit of the current state).
    std::vector<DbState> commits;
    std::size_t last_durable = 0;    // index of the last acknowledged durable commit
    std::size_t last_attempted = 0;  // index of the last commit attempted
    std::optional<Error> first_error;
    std::string violation;  // a broken contract seen while running; empty if none
    bool created = false;      // creating the database succeeded
    bool open_at_end = false;  // the database handle was still open when the workload ended
    bool finished = false;     // every transaction ran (no error stopped the workload)
};

/// Creates a database on `sim` (which must be empty) and runs the workload; stops at the
/// first error (unless keep_going and the device is not poisoned). With `close_at_end` a
/// successful run ends with close(). The Database is gone when this returns; the device keeps
/// whatever it was sent.
WorkloadResult run_workload(const std::shared_ptr<io::SimDevice>& sim,
                            const WorkloadOptions& options, bool close_at_end);

/// Opens a database on `sim` (a crash image or a reopened device; when the creation itself
/// failed, with create set, so that a half-initialised file is initialised again), verifies
/// it fully, reads
/// it and checks it equals commits[j] for some j in [last_durable, last_attempted]; then
/// writes to it, verifies again and checks nothing else changed (the allocator was rebuilt
/// correctly). Returns an empty string on success, else what went wrong.
std::string check_recovered(const std::shared_ptr<io::SimDevice>& sim,
                            const WorkloadResult& result);

}  // namespace ringdb::test
